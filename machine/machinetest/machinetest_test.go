package machinetest_test

import (
	"flag"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta/machine/machinetest"
	"pgregory.net/rapid"
)

// tally counts words. The correct program clones its map on every change;
// the buggy variants below each break purity in one way.
type tally struct{ Counts map[string]int }

type word struct{ W string }

type tallyProgram struct{}

func (tallyProgram) Init() (tally, []string) { return tally{Counts: map[string]int{}}, nil }

func (tallyProgram) Update(s tally, m word) (tally, []string) {
	if m.W == "" {
		return s, nil
	}
	next := maps.Clone(s.Counts)
	next[m.W]++
	return tally{Counts: next}, []string{"saw " + m.W}
}

// inPlace writes into the map it was given.
type inPlace struct{ tallyProgram }

func (inPlace) Update(s tally, m word) (tally, []string) {
	s.Counts[m.W]++
	return s, nil
}

// history appends to a slice with spare capacity, which writes into memory
// the input state shares only once the backing array is reused.
type history struct{ Seen []string }

type historyProgram struct{}

func (historyProgram) Init() (history, []string) { return history{Seen: make([]string, 0, 64)}, nil }

func (historyProgram) Update(s history, m word) (history, []string) {
	if len(s.Seen) > 0 {
		s.Seen[0] = strings.ToUpper(s.Seen[0]) // rewrites shared memory
	}
	return history{Seen: append(s.Seen, m.W)}, nil
}

// batch messages carry a slice that one program sorts in place.
type batch struct{ Words []string }

type sorter struct{}

func (sorter) Init() (int, []string) { return 0, nil }

func (sorter) Update(s int, m batch) (int, []string) {
	for i := 1; i < len(m.Words); i++ { // insertion sort, in place: mutates the message
		for j := i; j > 0 && m.Words[j] < m.Words[j-1]; j-- {
			m.Words[j], m.Words[j-1] = m.Words[j-1], m.Words[j]
		}
	}
	return s + len(m.Words), nil
}

// flaky depends on state outside its inputs.
type flaky struct{ calls *int }

func (flaky) Init() (int, []string) { return 0, nil }

func (p flaky) Update(s int, _ word) (int, []string) {
	*p.calls++
	return s + *p.calls, nil
}

var words = rapid.Custom(func(t *rapid.T) word {
	return word{rapid.SampledFrom([]string{"", "a", "b", "c"}).Draw(t, "w")}
})

var batches = rapid.Custom(func(t *rapid.T) batch {
	return batch{rapid.SliceOfN(rapid.SampledFrom([]string{"x", "y", "z"}), 0, 5).Draw(t, "words")}
})

func TestCheckPassesOnPureProgram(t *testing.T) {
	machinetest.Run(t, machinetest.Config[word, tally, string]{
		Program:       tallyProgram{},
		Msg:           words,
		Deterministic: true,
		Invariant: func(t *rapid.T, s tally, _ []string) {
			for w, n := range s.Counts {
				if w == "" || n <= 0 {
					t.Fatalf("bad count %q=%d", w, n)
				}
			}
		},
		Transition: func(t *rapid.T, from tally, m word, to tally, fx []string) {
			total := func(s tally) (n int) {
				for _, c := range s.Counts {
					n += c
				}
				return n
			}
			want := 1
			if m.W == "" {
				want = 0
			}
			if total(to)-total(from) != want || len(fx) != want {
				t.Fatalf("%v: %v -> %v with %v", m, from, to, fx)
			}
		},
	})
}

// fakeTB lets a test run rapid against a property that must fail, and look
// at the failure instead of failing itself.
type fakeTB struct {
	mu     sync.Mutex
	failed bool
	out    strings.Builder
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "fake" }
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(&f.out, format+"\n", args...)
}
func (f *fakeTB) Log(args ...any)                   { f.Logf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.Logf(format, args...); runtime.Goexit() }
func (f *fakeTB) Skip(args ...any)                  { f.Log(args...); runtime.Goexit() }
func (f *fakeTB) SkipNow()                          { runtime.Goexit() }
func (f *fakeTB) Errorf(format string, args ...any) { f.Logf(format, args...); f.Fail() }
func (f *fakeTB) Error(args ...any)                 { f.Log(args...); f.Fail() }
func (f *fakeTB) Fatalf(format string, args ...any) { f.Errorf(format, args...); f.FailNow() }
func (f *fakeTB) Fatal(args ...any)                 { f.Error(args...); f.FailNow() }
func (f *fakeTB) FailNow()                          { f.Fail(); runtime.Goexit() }
func (f *fakeTB) Fail() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// runExpectingFailure runs prop under rapid with a fake TB and returns
// whether it failed and what rapid reported. Fail files are switched off so
// the expected failure leaves nothing behind.
func runExpectingFailure(t *testing.T, prop func(*rapid.T)) (bool, string) {
	t.Helper()
	fl := flag.Lookup("rapid.nofailfile")
	old := fl.Value.String()
	if err := flag.Set("rapid.nofailfile", "true"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = flag.Set("rapid.nofailfile", old) }()
	tb := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rapid.Check(tb, prop)
	}()
	<-done
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.failed, tb.out.String()
}

func TestCheckCatches(t *testing.T) {
	calls := 0
	tests := []struct {
		name string
		prop func(*rapid.T)
		want string
	}{
		{
			"map written in place",
			func(t *rapid.T) {
				machinetest.Check(t, machinetest.Config[word, tally, string]{Program: inPlace{}, Msg: words})
			},
			"Update mutated its input state",
		},
		{
			"shared slice backing array rewritten",
			func(t *rapid.T) {
				machinetest.Check(t, machinetest.Config[word, history, string]{Program: historyProgram{}, Msg: words})
			},
			"Update mutated its input state",
		},
		{
			"message sorted in place",
			func(t *rapid.T) {
				machinetest.Check(t, machinetest.Config[batch, int, string]{Program: sorter{}, Msg: batches})
			},
			"Update mutated its message",
		},
		{
			"non-deterministic update",
			func(t *rapid.T) {
				machinetest.Check(t, machinetest.Config[word, int, string]{Program: flaky{&calls}, Msg: words, Deterministic: true})
			},
			"Update is not deterministic",
		},
		{
			"invariant violation",
			func(t *rapid.T) {
				machinetest.Check(t, machinetest.Config[word, tally, string]{
					Program: tallyProgram{},
					Msg:     words,
					Invariant: func(t *rapid.T, s tally, _ []string) {
						if s.Counts["c"] > 1 {
							t.Fatalf("two c's")
						}
					},
				})
			},
			"two c's",
		},
		{
			"missing generator",
			func(t *rapid.T) {
				machinetest.Check(t, machinetest.Config[word, tally, string]{Program: tallyProgram{}})
			},
			"Config needs Program and Msg",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failed, out := runExpectingFailure(t, tt.prop)
			if !failed {
				t.Fatalf("property passed; want a failure mentioning %q", tt.want)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("failure output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestCustomCloneAndEqual(t *testing.T) {
	// A user-supplied Clone that shares the map cannot see the mutation:
	// this documents that Clone must really copy.
	failed, _ := runExpectingFailure(t, func(rt *rapid.T) {
		machinetest.Check(rt, machinetest.Config[word, tally, string]{
			Program: inPlace{},
			Msg:     words,
			Clone:   func(s tally) tally { return s },
		})
	})
	if failed {
		t.Error("a shallow Clone hides the mutation, so the check should pass")
	}
	// A proper custom Clone/Equal pair catches it.
	failed, out := runExpectingFailure(t, func(rt *rapid.T) {
		machinetest.Check(rt, machinetest.Config[word, tally, string]{
			Program: inPlace{},
			Msg:     words,
			Clone:   func(s tally) tally { return tally{Counts: maps.Clone(s.Counts)} },
			Equal:   func(a, b tally) bool { return maps.Equal(a.Counts, b.Counts) },
		})
	})
	if !failed || !strings.Contains(out, "mutated its input state") {
		t.Errorf("custom Clone/Equal missed the mutation (failed=%v):\n%s", failed, out)
	}
}
