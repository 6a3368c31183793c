package machine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/machine"
)

func atLeast(n int) func(cstate) bool { return func(s cstate) bool { return s.N >= n } }

type waitResult struct {
	s   cstate
	err error
}

func TestWaitFor(t *testing.T) {
	tests := []struct {
		name string
		// act runs after the waiter is blocked (synctest.Wait guarantees it).
		act     func(r *machine.Runner[cmsg, cstate, string], cancel context.CancelFunc)
		timeout time.Duration // 0: no deadline
		want    cstate
		wantErr error
	}{
		{
			name: "first matching transition",
			act: func(r *machine.Runner[cmsg, cstate, string], _ context.CancelFunc) {
				r.Dispatch(inc{})    // 1: no match
				r.Dispatch(add{5})   // 6: match
				r.Dispatch(add{100}) // later states are not reported
			},
			want: cstate{6},
		},
		{
			name: "unchanged-state messages wake nobody",
			act: func(r *machine.Runner[cmsg, cstate, string], cancel context.CancelFunc) {
				r.Dispatch(noop{})
				r.Dispatch(say{Fx: []string{"x"}})
				cancel()
			},
			want:    cstate{0},
			wantErr: context.Canceled,
		},
		{
			name:    "deadline",
			act:     func(*machine.Runner[cmsg, cstate, string], context.CancelFunc) {},
			timeout: time.Second,
			want:    cstate{0},
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "close wakes the waiter with ErrClosed and the current state",
			act: func(r *machine.Runner[cmsg, cstate, string], _ context.CancelFunc) {
				r.Dispatch(inc{})
				r.Close()
			},
			want:    cstate{1},
			wantErr: machine.ErrClosed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := machine.NewRunner(counter{}, nil, machine.Options{})
				defer r.Close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.timeout > 0 {
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				res := make(chan waitResult, 1)
				go func() {
					s, err := r.WaitFor(ctx, atLeast(5))
					res <- waitResult{s, err}
				}()
				synctest.Wait() // the waiter is subscribed and blocked
				tt.act(r, cancel)
				got := <-res
				if got.s != tt.want || !errors.Is(got.err, tt.wantErr) {
					t.Errorf("WaitFor = (%v, %v), want (%v, %v)", got.s, got.err, tt.want, tt.wantErr)
				}
			})
		})
	}
}

func TestWaitForImmediate(t *testing.T) {
	r := machine.NewRunner(counter{}, nil, machine.Options{})
	r.Dispatch(add{7})

	// A cancelled context does not matter when the state already matches.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := r.WaitFor(ctx, atLeast(5)); err != nil || s.N != 7 {
		t.Errorf("WaitFor on a matching state = (%v, %v), want ({7}, nil)", s, err)
	}
	if s, err := r.WaitFor(ctx, atLeast(8)); !errors.Is(err, context.Canceled) || s.N != 7 {
		t.Errorf("WaitFor with a cancelled ctx = (%v, %v), want ({7}, context.Canceled)", s, err)
	}

	r.Close()
	if s, err := r.WaitFor(context.Background(), atLeast(5)); err != nil || s.N != 7 {
		t.Errorf("WaitFor after Close on a matching state = (%v, %v), want ({7}, nil)", s, err)
	}
	if _, err := r.WaitFor(context.Background(), atLeast(8)); !errors.Is(err, machine.ErrClosed) {
		t.Errorf("WaitFor after Close = %v, want ErrClosed", err)
	}
	_, err := r.WaitFor(context.Background(), atLeast(8))
	if kyneta.ReasonOf(err) != "closed" || kyneta.CodeOf(err) != kyneta.CodeUnavailable ||
		!errors.Is(err, &kyneta.Error{Pkg: "machine", Reason: "closed"}) {
		t.Errorf("WaitFor after Close = %#v", err)
	}
}

func TestWaitForManyWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := machine.NewRunner(counter{}, nil, machine.Options{})
		defer r.Close()
		const waiters = 20
		res := make(chan waitResult, waiters)
		for i := range waiters {
			go func() {
				s, err := r.WaitFor(context.Background(), atLeast(i))
				res <- waitResult{s, err}
			}()
		}
		synctest.Wait()
		for range waiters {
			r.Dispatch(inc{})
		}
		for range waiters {
			got := <-res
			if got.err != nil {
				t.Fatalf("WaitFor: %v", got.err)
			}
		}
	})
}

func TestClose(t *testing.T) {
	t.Run("idempotent, Done once with the final state, later Dispatch ignored", func(t *testing.T) {
		rec := &recorder{}
		r := machine.NewRunner(counter{log: rec}, logExec(rec), machine.Options{})
		r.Dispatch(add{3})
		r.Close()
		r.Close()
		r.Dispatch(bump{Fx: []string{"x"}}) // neither Update nor the executor may run
		<-r.Stopped()
		if got, want := rec.String(), "update:machine_test.add done:3"; got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		if r.State().N != 3 {
			t.Errorf("state = %d, want 3", r.State().N)
		}
	})

	t.Run("from inside an effect: queued messages dropped, siblings still run", func(t *testing.T) {
		rec := &recorder{}
		var r *machine.Runner[cmsg, cstate, string]
		r = machine.NewRunner(counter{log: rec}, func(f string, dispatch func(cmsg)) {
			rec.add("effect:" + f)
			switch f {
			case "queue":
				dispatch(inc{})
			case "close":
				r.Close()
			}
		}, machine.Options{})
		r.Subscribe(func(machine.Transition[cstate]) { rec.add("tr") })
		r.Dispatch(bump{Fx: []string{"queue", "close", "after"}})
		r.Dispatch(inc{})
		<-r.Stopped()
		want := "update:machine_test.bump tr effect:queue effect:close effect:after done:1"
		if got := rec.String(); got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
	})

	t.Run("from a listener", func(t *testing.T) {
		rec := &recorder{}
		r := machine.NewRunner(counter{log: rec}, logExec(rec), machine.Options{})
		r.Subscribe(func(machine.Transition[cstate]) { r.Close() })
		r.Dispatch(bump{Fx: []string{"dispatch:inc"}})
		<-r.Stopped()
		want := "update:machine_test.bump effect:dispatch:inc done:1"
		if got := rec.String(); got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
	})

	t.Run("from another goroutine during a drain", func(t *testing.T) {
		rec := &recorder{}
		entered, release := make(chan struct{}), make(chan struct{})
		r := machine.NewRunner(counter{log: rec}, func(f string, _ func(cmsg)) {
			rec.add("effect:" + f)
			if f == "block" {
				close(entered)
				<-release
			}
		}, machine.Options{})
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			r.Dispatch(bump{Fx: []string{"block", "after"}})
		}()
		<-entered
		r.Dispatch(inc{}) // queued behind the in-flight message
		r.Close()         // must not wait for the drainer
		select {
		case <-r.Stopped():
			t.Fatal("stopped while a message was still in progress")
		default:
		}
		close(release)
		<-r.Stopped()
		<-drained
		want := "update:machine_test.bump effect:block effect:after done:1"
		if got := rec.String(); got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
	})

	t.Run("program without Done, Subscribe after Close", func(t *testing.T) {
		r := machine.NewRunner(noDone{}, nil, machine.Options{})
		r.Close()
		<-r.Stopped()
		unsub := r.Subscribe(func(machine.Transition[int]) { t.Error("listener called after Close") })
		r.Dispatch(1)
		unsub()
		if r.State() != 0 {
			t.Errorf("state = %d, want 0", r.State())
		}
	})

	t.Run("done panic is reported", func(t *testing.T) {
		var reported errs
		r := machine.NewRunner(panicDone{}, nil, machine.Options{OnError: reported.add})
		r.Close()
		var pe *machine.PanicError
		if got := reported.get(); len(got) != 1 || !errors.As(got[0], &pe) || pe.Op != "done" {
			t.Errorf("reported %v, want one done *PanicError", got)
		}
		select {
		case <-r.Stopped():
		default:
			t.Error("Stopped not closed after a panicking Done")
		}
	})
}

type noDone struct{}

func (noDone) Init() (int, []int)           { return 0, nil }
func (noDone) Update(s, m int) (int, []int) { return s + m, nil }

type panicDone struct{ noDone }

func (panicDone) Done(int) { panic("done failed") }

func TestCloseRacesDispatch(t *testing.T) {
	// Close racing many dispatchers: Done runs exactly once, nothing is
	// processed after it, and every goroutine returns.
	for range 20 {
		rec := &recorder{}
		r := machine.NewRunner(counter{log: rec}, logExec(rec), machine.Options{})
		start := make(chan struct{})
		done := make(chan struct{})
		for range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				<-start
				for range 200 {
					r.Dispatch(bump{Fx: []string{"dispatch:inc"}})
				}
			}()
		}
		close(start)
		r.Close()
		for range 4 {
			<-done
		}
		<-r.Stopped()
		events := rec.get()
		i := slices.IndexFunc(events, func(e string) bool { return len(e) > 5 && e[:5] == "done:" })
		if i < 0 || i != len(events)-1 {
			t.Fatalf("done must be the single last event; events end with %q", events[max(0, len(events)-3):])
		}
	}
}
