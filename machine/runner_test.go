package machine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/machine"
)

// logExec records every effect as "effect:<f>" and handles a few commands:
// "dispatch:inc", "dispatch:noop", "panic".
func logExec(rec *recorder) func(string, func(cmsg)) {
	return func(f string, dispatch func(cmsg)) {
		rec.add("effect:" + f)
		switch f {
		case "dispatch:inc":
			dispatch(inc{})
		case "dispatch:noop":
			dispatch(noop{})
		case "panic":
			panic("effect failed")
		}
	}
}

func TestInit(t *testing.T) {
	tests := []struct {
		name   string
		initFx []string
		wantN  int
		want   []string
	}{
		{"no effects", nil, 0, nil},
		{"effects run in order", []string{"a", "b", "c"}, 0, []string{"effect:a", "effect:b", "effect:c"}},
		{
			// Messages dispatched by initial effects are processed before
			// NewRunner returns, after all initial effects ran.
			"initial effects can dispatch",
			[]string{"dispatch:inc", "x", "dispatch:inc"},
			2,
			[]string{"effect:dispatch:inc", "effect:x", "effect:dispatch:inc", "update:machine_test.inc", "update:machine_test.inc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := machine.NewRunner(counter{initFx: tt.initFx, log: rec}, logExec(rec), machine.Options{})
			defer r.Close()
			if got := r.State().N; got != tt.wantN {
				t.Errorf("state after init = %d, want %d", got, tt.wantN)
			}
			if got := rec.get(); !slices.Equal(got, tt.want) {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDispatchSequence(t *testing.T) {
	// Each row dispatches msgs from outside, in order, and checks the full
	// event log and the final state. Listener events are "tr:<from>-><to>".
	tests := []struct {
		name  string
		msgs  []cmsg
		want  []string
		wantN int
	}{
		{
			"update then listener then effects",
			[]cmsg{bump{Fx: []string{"a", "b"}}},
			[]string{"update:machine_test.bump", "tr:0->1", "effect:a", "effect:b"},
			1,
		},
		{
			"unchanged state emits no transition but runs effects",
			[]cmsg{say{Fx: []string{"a"}}, noop{}},
			[]string{"update:machine_test.say", "effect:a", "update:machine_test.noop"},
			0,
		},
		{
			"sequential dispatches",
			[]cmsg{inc{}, inc{}, add{-1}},
			[]string{"update:machine_test.inc", "tr:0->1", "update:machine_test.inc", "tr:1->2", "update:machine_test.add", "tr:2->1"},
			1,
		},
		{
			// All effects of one message run before any message they
			// dispatched is processed.
			"re-entrant dispatch is queued behind sibling effects",
			[]cmsg{bump{Fx: []string{"dispatch:inc", "b", "dispatch:noop", "c"}}},
			[]string{
				"update:machine_test.bump", "tr:0->1",
				"effect:dispatch:inc", "effect:b", "effect:dispatch:noop", "effect:c",
				"update:machine_test.inc", "tr:1->2",
				"update:machine_test.noop",
			},
			2,
		},
		{
			"nested re-entrant dispatch keeps FIFO order",
			[]cmsg{say{Fx: []string{"dispatch:inc"}}, add{10}},
			[]string{
				"update:machine_test.say", "effect:dispatch:inc",
				"update:machine_test.inc", "tr:0->1",
				"update:machine_test.add", "tr:1->11",
			},
			11,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := machine.NewRunner(counter{log: rec}, logExec(rec), machine.Options{})
			defer r.Close()
			r.Subscribe(func(tr machine.Transition[cstate]) {
				rec.add(fmt.Sprintf("tr:%d->%d", tr.From.N, tr.To.N))
			})
			for _, m := range tt.msgs {
				r.Dispatch(m)
			}
			if got := rec.get(); !slices.Equal(got, tt.want) {
				t.Errorf("events =\n %q\nwant\n %q", got, tt.want)
			}
			if got := r.State().N; got != tt.wantN {
				t.Errorf("state = %d, want %d", got, tt.wantN)
			}
		})
	}
}

func TestListener(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := machine.Options{Now: func() time.Time { return at }}

	t.Run("sees from, to, timestamp and the stored state", func(t *testing.T) {
		var r *machine.Runner[cmsg, cstate, string]
		var got []machine.Transition[cstate]
		var stateInside []cstate
		r = machine.NewRunner(counter{}, nil, opts)
		defer r.Close()
		r.Subscribe(func(tr machine.Transition[cstate]) {
			got = append(got, tr)
			stateInside = append(stateInside, r.State())
		})
		r.Dispatch(add{5})
		r.Dispatch(noop{})
		r.Dispatch(inc{})
		want := []machine.Transition[cstate]{{cstate{0}, cstate{5}, at}, {cstate{5}, cstate{6}, at}}
		if !slices.Equal(got, want) {
			t.Errorf("transitions = %v, want %v", got, want)
		}
		if !slices.Equal(stateInside, []cstate{{5}, {6}}) {
			t.Errorf("State() inside listener = %v, want the transitions' To", stateInside)
		}
	})

	t.Run("several listeners in subscription order, unsubscribe", func(t *testing.T) {
		rec := &recorder{}
		r := machine.NewRunner(counter{}, nil, opts)
		defer r.Close()
		unA := r.Subscribe(func(machine.Transition[cstate]) { rec.add("a") })
		r.Subscribe(func(machine.Transition[cstate]) { rec.add("b") })
		r.Dispatch(inc{})
		unA()
		unA() // idempotent
		r.Dispatch(inc{})
		if got, want := rec.String(), "a b b"; got != want {
			t.Errorf("calls = %q, want %q", got, want)
		}
	})

	t.Run("unsubscribe during a notification takes effect at once", func(t *testing.T) {
		rec := &recorder{}
		r := machine.NewRunner(counter{}, nil, opts)
		defer r.Close()
		var unB func()
		r.Subscribe(func(machine.Transition[cstate]) { rec.add("a"); unB() })
		unB = r.Subscribe(func(machine.Transition[cstate]) { rec.add("b") })
		r.Dispatch(inc{})
		r.Dispatch(inc{})
		if got, want := rec.String(), "a a"; got != want {
			t.Errorf("calls = %q, want %q", got, want)
		}
	})

	t.Run("listener dispatch is queued, not inline", func(t *testing.T) {
		rec := &recorder{}
		r := machine.NewRunner(counter{log: rec}, logExec(rec), opts)
		defer r.Close()
		r.Subscribe(func(tr machine.Transition[cstate]) {
			rec.add(fmt.Sprintf("tr:%d", tr.To.N))
			if tr.To.N == 1 {
				r.Dispatch(inc{})
				rec.add("listener-returned")
			}
		})
		r.Dispatch(bump{Fx: []string{"x"}})
		want := "update:machine_test.bump tr:1 listener-returned effect:x update:machine_test.inc tr:2"
		if got := rec.String(); got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
	})

	t.Run("panic is recovered, reported, and breaks nothing", func(t *testing.T) {
		rec := &recorder{}
		var reported errs
		var logBuf bytes.Buffer
		r := machine.NewRunner(counter{}, logExec(rec), machine.Options{
			Label:   "lst",
			OnError: reported.add,
			Logger:  slog.New(slog.NewTextHandler(&logBuf, nil)),
		})
		defer r.Close()
		r.Subscribe(func(machine.Transition[cstate]) { rec.add("a"); panic("listener failed") })
		r.Subscribe(func(machine.Transition[cstate]) { rec.add("b") })
		r.Dispatch(bump{Fx: []string{"x"}})
		r.Dispatch(inc{})
		if got, want := rec.String(), "a b effect:x a b"; got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		if r.State().N != 2 {
			t.Errorf("state = %d, want 2", r.State().N)
		}
		got := reported.get()
		if len(got) != 2 {
			t.Fatalf("reported %d errors, want 2: %v", len(got), got)
		}
		var pe *machine.PanicError
		if !errors.As(got[0], &pe) || pe.Op != "listener" || pe.Value != "listener failed" || pe.Label != "lst" || len(pe.Stack) == 0 {
			t.Errorf("reported %#v, want a listener *PanicError with stack", got[0])
		}
		if kyneta.ReasonOf(got[0]) != "panic" || kyneta.CodeOf(got[0]) != kyneta.CodeInternal {
			t.Errorf("reason %q code %q, want panic internal", kyneta.ReasonOf(got[0]), kyneta.CodeOf(got[0]))
		}
		if s := logBuf.String(); !strings.Contains(s, "listener panicked: listener failed") || !strings.Contains(s, "label=lst") {
			t.Errorf("log output lacks the panic: %q", s)
		}
	})
}

func TestPanicsInUserCode(t *testing.T) {
	t.Run("executor panic skips only that effect", func(t *testing.T) {
		rec := &recorder{}
		var reported errs
		r := machine.NewRunner(counter{}, logExec(rec), machine.Options{OnError: reported.add})
		defer r.Close()
		r.Dispatch(bump{Fx: []string{"a", "panic", "b", "dispatch:inc"}})
		r.Dispatch(inc{})
		if got, want := rec.String(), "effect:a effect:panic effect:b effect:dispatch:inc"; got != want {
			t.Errorf("effects = %q, want %q", got, want)
		}
		if r.State().N != 3 {
			t.Errorf("state = %d, want 3 (bump, queued inc, inc)", r.State().N)
		}
		var pe *machine.PanicError
		if got := reported.get(); len(got) != 1 || !errors.As(got[0], &pe) || pe.Op != "executor" {
			t.Errorf("reported %v, want one executor *PanicError", got)
		}
	})

	t.Run("update panic drops the message and keeps the state", func(t *testing.T) {
		rec := &recorder{}
		var reported errs
		r := machine.NewRunner(counter{}, logExec(rec), machine.Options{OnError: reported.add})
		defer r.Close()
		r.Subscribe(func(machine.Transition[cstate]) { rec.add("tr") })
		r.Dispatch(inc{})
		r.Dispatch(boom{})
		r.Dispatch(inc{})
		if r.State().N != 2 {
			t.Errorf("state = %d, want 2", r.State().N)
		}
		if got, want := rec.String(), "tr tr"; got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		var pe *machine.PanicError
		if got := reported.get(); len(got) != 1 || !errors.As(got[0], &pe) || pe.Op != "update" || pe.Value != "boom" {
			t.Errorf("reported %v, want one update *PanicError", got)
		}
	})

	t.Run("panic(err) unwraps to err", func(t *testing.T) {
		sentinel := errors.New("sentinel")
		var reported errs
		r := machine.NewRunner(counter{}, func(string, func(cmsg)) { panic(sentinel) }, machine.Options{OnError: reported.add})
		defer r.Close()
		r.Dispatch(say{Fx: []string{"x"}})
		if got := reported.get(); len(got) != 1 || !errors.Is(got[0], sentinel) {
			t.Errorf("reported %v, want an error wrapping the sentinel", got)
		}
	})

	t.Run("OnError panic is logged, not looped", func(t *testing.T) {
		var logBuf bytes.Buffer
		r := machine.NewRunner(counter{}, logExec(nil), machine.Options{
			OnError: func(error) { panic("hook failed") },
			Logger:  slog.New(slog.NewTextHandler(&logBuf, nil)),
		})
		defer r.Close()
		r.Dispatch(bump{Fx: []string{"panic"}})
		r.Dispatch(inc{})
		if r.State().N != 2 {
			t.Errorf("state = %d, want 2", r.State().N)
		}
		if s := logBuf.String(); !strings.Contains(s, "on-error panicked: hook failed") {
			t.Errorf("log lacks the hook panic: %q", s)
		}
	})

	t.Run("Goexit in an effect does not wedge the runner", func(t *testing.T) {
		r := machine.NewRunner(counter{}, func(f string, _ func(cmsg)) {
			if f == "exit" {
				runtime.Goexit()
			}
		}, machine.Options{})
		defer r.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.Dispatch(bump{Fx: []string{"exit"}})
		}()
		<-done
		r.Dispatch(inc{}) // would only be queued if the runner still looked busy
		if r.State().N != 2 {
			t.Errorf("state = %d, want 2", r.State().N)
		}
	})
}

// stackDepth counts the frames on the current goroutine.
func stackDepth() int {
	var pcs [1024]uintptr
	return runtime.Callers(0, pcs[:])
}

// depthProgram records the stack depth of every Update.
type depthProgram struct{ depths *[]int }

func (depthProgram) Init() (int, []int) { return 0, nil }

func (p depthProgram) Update(s int, m int) (int, []int) {
	*p.depths = append(*p.depths, stackDepth())
	return s + 1, []int{m}
}

func TestReentrancyStaysFlat(t *testing.T) {
	const n = 10_000
	tests := []struct {
		name  string
		start int
		exec  func(f int, dispatch func(int))
	}{
		{"one effect fans out 10000 messages", -1, func(f int, dispatch func(int)) {
			if f == -1 {
				for i := range n {
					dispatch(i)
				}
			}
		}},
		{"a chain of 10000 effects, each dispatching the next", 0, func(f int, dispatch func(int)) {
			if f < n-1 {
				dispatch(f + 1)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var depths []int
			r := machine.NewRunner(depthProgram{&depths}, tt.exec, machine.Options{})
			defer r.Close()
			r.Dispatch(tt.start)
			if got := r.State(); got < n {
				t.Fatalf("processed %d messages, want at least %d", got, n)
			}
			lo, hi := slices.Min(depths), slices.Max(depths)
			if hi != lo {
				t.Errorf("stack depth of Update ranged %d..%d; re-entrant dispatch must not recurse", lo, hi)
			}
		})
	}
}

func TestConcurrentDispatch(t *testing.T) {
	const goroutines, perG = 16, 2000
	var mu sync.Mutex
	var seen []int // To.N of every transition, in notification order
	r := machine.NewRunner(counter{}, logExec(nil), machine.Options{})
	defer r.Close()
	r.Subscribe(func(tr machine.Transition[cstate]) {
		mu.Lock()
		seen = append(seen, tr.To.N)
		mu.Unlock()
		if tr.To.N != tr.From.N+1 {
			t.Errorf("transition %d -> %d: updates were not serialised", tr.From.N, tr.To.N)
		}
	})
	waited := make(chan error, 1)
	go func() {
		_, err := r.WaitFor(context.Background(), func(s cstate) bool { return s.N == goroutines*perG })
		waited <- err
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				if i%100 == 0 && g%2 == 0 {
					// Mix in re-entrant dispatches from effects.
					r.Dispatch(say{Fx: []string{"dispatch:inc"}})
				} else {
					r.Dispatch(inc{})
				}
				_ = r.State()
			}
		})
	}
	wg.Wait()
	// Once every Dispatch call has returned, every message has been processed.
	if got := r.State().N; got != goroutines*perG {
		t.Fatalf("final count = %d, want %d", got, goroutines*perG)
	}
	if err := <-waited; err != nil {
		t.Errorf("WaitFor: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, n := range seen {
		if n != i+1 {
			t.Fatalf("transition %d reached %d; transitions were delivered out of order", i, n)
		}
	}
}

func TestQueueLen(t *testing.T) {
	var lens []int
	var r *machine.Runner[cmsg, cstate, string]
	r = machine.NewRunner(counter{}, func(f string, dispatch func(cmsg)) {
		if f == "two" {
			dispatch(inc{})
			dispatch(inc{})
			lens = append(lens, r.QueueLen())
		}
	}, machine.Options{})
	defer r.Close()
	r.Dispatch(say{Fx: []string{"two"}})
	lens = append(lens, r.QueueLen())
	if !slices.Equal(lens, []int{2, 0}) {
		t.Errorf("queue lengths = %v, want [2 0]", lens)
	}
}

func TestTryDispatchUrgentQueuesOnlyWhileDraining(t *testing.T) {
	log := &recorder{}
	var r *machine.Runner[cmsg, cstate, string]
	queued := false
	r = machine.NewRunner[cmsg, cstate, string](counter{log: log}, func(f string, _ func(cmsg)) {
		queued = r.TryDispatchUrgent(inc{})
	}, machine.Options{})
	if r.TryDispatchUrgent(inc{}) {
		t.Fatal("queued while idle: the caller would have had to run the program")
	}
	r.Dispatch(say{Fx: []string{"try"}})
	want := []string{"update:machine_test.say", "update:machine_test.inc"}
	if got := log.get(); !queued || !slices.Equal(got, want) || r.State().N != 1 {
		t.Fatalf("queued=%v updates=%v N=%d, want the urgent message run by the running drain", queued, got, r.State().N)
	}
	r.Close()
	if r.TryDispatchUrgent(inc{}) {
		t.Fatal("queued after Close")
	}
}
