package machinetest

import (
	"testing"

	"github.com/kyneta-go/kyneta/machine"
	"pgregory.net/rapid"
)

// defaultSteps is Config.Steps when it is zero.
const defaultSteps = 50

// Config describes a property test of one program.
type Config[M, S, F any] struct {
	// Program is the program under test. Required.
	Program machine.Program[M, S, F]
	// Msg generates messages. Required.
	Msg *rapid.Generator[M]
	// Steps is the longest message sequence drawn per check (at least one
	// message is always drawn). Zero means 50.
	Steps int
	// Invariant, if set, is checked on the initial state and effects and on
	// every state and effects Update returns.
	Invariant func(t *rapid.T, s S, effects []F)
	// Transition, if set, is checked after every Update with the message, the
	// input and output states and the effects: the place for rules about how
	// a state may change ("only a timer message leaves backoff").
	Transition func(t *rapid.T, from S, m M, to S, effects []F)
	// Clone copies a state so the input of Update can be compared before and
	// after the call. Default DeepCopy.
	Clone func(S) S
	// Equal compares states. Default DeepEqual.
	Equal func(a, b S) bool
	// Deterministic, if set, also calls Update a second time on copies of
	// the same state and message and requires equal results. Leave it off for
	// programs that take randomness through an injected function, and for
	// programs that compare pointers inside their state by identity (the
	// copies hold new pointers).
	Deterministic bool
}

// Check drives one random message sequence through cfg.Program.Update,
// starting from Init, and fails t when:
//
//   - Invariant or Transition fails;
//   - Update changed its input state or its message (compared, with Equal
//     and DeepEqual, to copies taken before the call), which a pure program
//     must never do: the runner and everyone holding the old state share it;
//   - with Deterministic, two calls on equal inputs return different results.
//
// Call it from a rapid property, or use Run.
func Check[M, S, F any](t *rapid.T, cfg Config[M, S, F]) {
	t.Helper()
	if cfg.Program == nil || cfg.Msg == nil {
		t.Fatalf("machinetest: Config needs Program and Msg")
	}
	steps := cfg.Steps
	if steps <= 0 {
		steps = defaultSteps
	}
	clone := cfg.Clone
	if clone == nil {
		clone = DeepCopy[S]
	}
	equal := cfg.Equal
	if equal == nil {
		equal = func(a, b S) bool { return DeepEqual(a, b) }
	}

	s, fx := cfg.Program.Init()
	if cfg.Invariant != nil {
		cfg.Invariant(t, s, fx)
	}
	n := rapid.IntRange(1, steps).Draw(t, "steps")
	for i := range n {
		m := cfg.Msg.Draw(t, "msg")
		sBefore, mBefore := clone(s), DeepCopy(m)
		next, fx := cfg.Program.Update(s, m)
		if !equal(s, sBefore) {
			t.Fatalf("machinetest: step %d: Update mutated its input state\nmessage: %#v\nbefore:  %#v\nafter:   %#v", i, m, sBefore, s)
		}
		if !DeepEqual(m, mBefore) {
			t.Fatalf("machinetest: step %d: Update mutated its message\nbefore: %#v\nafter:  %#v", i, mBefore, m)
		}
		if cfg.Deterministic {
			next2, fx2 := cfg.Program.Update(clone(sBefore), DeepCopy(mBefore))
			if !equal(next, next2) || !DeepEqual(fx, fx2) {
				t.Fatalf("machinetest: step %d: Update is not deterministic\nstate:   %#v\nmessage: %#v\nfirst:   %#v %#v\nsecond:  %#v %#v", i, sBefore, mBefore, next, fx, next2, fx2)
			}
		}
		if cfg.Transition != nil {
			cfg.Transition(t, s, m, next, fx)
		}
		if cfg.Invariant != nil {
			cfg.Invariant(t, next, fx)
		}
		s = next
	}
}

// Run is rapid.Check(t, func(rt *rapid.T) { Check(rt, cfg) }).
func Run[M, S, F any](t *testing.T, cfg Config[M, S, F]) {
	t.Helper()
	rapid.Check(t, func(rt *rapid.T) { Check(rt, cfg) })
}
