package machine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/machine"
)

// loopProgram feeds itself: every tick asks for another tick, forever, until
// the budget stops it. loopInc is for the "runner is still usable" checks.
type loopProgram struct{}

type loopMsg interface{ isLoop() }
type (
	loopTick struct{}
	loopInc  struct{}
)

func (loopTick) isLoop() {}
func (loopInc) isLoop()  {}

func (loopProgram) Init() (int, []string) { return 0, nil }

func (loopProgram) Update(s int, m loopMsg) (int, []string) {
	switch m.(type) {
	case loopTick:
		return s + 1, []string{"again"}
	case loopInc:
		return s + 1000, nil
	}
	return s, nil
}

func loopExec(f string, dispatch func(loopMsg)) {
	if f == "again" {
		dispatch(loopTick{})
	}
}

func TestBudgetExhausted(t *testing.T) {
	tests := []struct {
		name        string
		budget      int
		history     int
		wantHistory int
	}{
		{"history shorter than the budget", 5, 0, 6},
		{"history capped", 5, 3, 3},
		{"no history", 5, -1, 0},
		{"larger budget", 1000, 0, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reported errs
			r := machine.NewRunner(loopProgram{}, loopExec, machine.Options{
				Label: "osc", Budget: tt.budget, HistorySize: tt.history, OnError: reported.add,
			})
			defer r.Close()
			r.Dispatch(loopTick{})

			// Exactly budget messages were processed; the next was refused.
			if got := r.State(); got != tt.budget {
				t.Errorf("processed %d ticks, want %d", got, tt.budget)
			}
			got := reported.get()
			if len(got) != 1 {
				t.Fatalf("reported %d errors, want 1: %v", len(got), got)
			}
			var be *machine.BudgetExhaustedError
			if !errors.As(got[0], &be) {
				t.Fatalf("reported %T, want *BudgetExhaustedError", got[0])
			}
			if be.Label != "osc" || be.Budget != tt.budget || be.Iterations != tt.budget+1 {
				t.Errorf("error = {Label:%q Budget:%d Iterations:%d}, want {osc %d %d}", be.Label, be.Budget, be.Iterations, tt.budget, tt.budget+1)
			}
			if len(be.History) != tt.wantHistory {
				t.Errorf("history has %d messages, want %d", len(be.History), tt.wantHistory)
			}
			for _, m := range be.History {
				if _, ok := m.(loopTick); !ok {
					t.Errorf("history holds %T, want loopTick", m)
				}
			}
			if kyneta.ReasonOf(got[0]) != "budget-exhausted" || kyneta.CodeOf(got[0]) != kyneta.CodeInternal {
				t.Errorf("reason %q code %q", kyneta.ReasonOf(got[0]), kyneta.CodeOf(got[0]))
			}
			if r.QueueLen() != 0 {
				t.Errorf("queue holds %d messages after exhaustion, want 0", r.QueueLen())
			}

			// The runner stays usable, with a fresh budget per drain.
			r.Dispatch(loopInc{})
			if got := r.State(); got != tt.budget+1000 {
				t.Errorf("state after a later dispatch = %d, want %d", got, tt.budget+1000)
			}
		})
	}
}

func TestBudgetErrorText(t *testing.T) {
	var reported errs
	r := machine.NewRunner(loopProgram{}, loopExec, machine.Options{Label: "osc", Budget: 4, OnError: reported.add})
	defer r.Close()
	r.Dispatch(loopTick{})
	got := reported.get()
	if len(got) != 1 {
		t.Fatalf("reported %v", got)
	}
	msg := got[0].Error()
	for _, want := range []string{
		"machine: [runner:osc] iteration budget exhausted (5 > 4)",
		"\n  cascade entered from:\n    github.com/kyneta-go/kyneta/machine_test.TestBudgetErrorText (",
		"\n  top message types:\n    machine_test.loopTick        5  (100.0%)",
		"\n  recent (5): osc:machine_test.loopTick, osc:machine_test.loopTick, ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error text lacks %q:\n%s", want, msg)
		}
	}
}

func TestBudgetIsPerDrain(t *testing.T) {
	// Many short drains never add up to an exhausted budget.
	var reported errs
	r := machine.NewRunner(counter{}, logExec(nil), machine.Options{Budget: 3, OnError: reported.add})
	defer r.Close()
	for range 100 {
		r.Dispatch(bump{Fx: []string{"dispatch:inc"}}) // two messages per drain
	}
	if got := reported.get(); len(got) != 0 {
		t.Errorf("reported %v, want nothing", got)
	}
	if r.State().N != 200 {
		t.Errorf("state = %d, want 200", r.State().N)
	}
}

func TestBudgetDisabled(t *testing.T) {
	const n = 250_000 // well above the default budget (100,000)
	var reported errs
	r := machine.NewRunner(loopProgram{}, loopExec, machine.Options{Budget: -1, OnError: reported.add})
	defer r.Close()
	r.Subscribe(func(tr machine.Transition[int]) {
		if tr.To == n {
			r.Close()
		}
	})
	r.Dispatch(loopTick{})
	if got := r.State(); got != n {
		t.Errorf("processed %d, want %d", got, n)
	}
	if got := reported.get(); len(got) != 0 {
		t.Errorf("reported %v, want nothing", got)
	}
}

func TestBudgetDefault(t *testing.T) {
	var reported errs
	r := machine.NewRunner(loopProgram{}, loopExec, machine.Options{OnError: reported.add})
	defer r.Close()
	r.Dispatch(loopTick{})
	var be *machine.BudgetExhaustedError
	if got := reported.get(); len(got) != 1 || !errors.As(got[0], &be) || be.Budget != 100_000 {
		t.Fatalf("reported %v, want one budget error with the default budget", got)
	}
	if r.State() != 100_000 {
		t.Errorf("processed %d, want %d", r.State(), 100_000)
	}
}

func TestBudgetOnErrorMayDispatch(t *testing.T) {
	// A dispatch from OnError during the report is processed, not stranded.
	var r *machine.Runner[loopMsg, int, string]
	reported := 0
	r = machine.NewRunner(loopProgram{}, loopExec, machine.Options{Budget: 10, OnError: func(error) {
		reported++
		r.Dispatch(loopInc{})
	}})
	defer r.Close()
	r.Dispatch(loopTick{})
	if reported != 1 || r.State() != 1010 {
		t.Errorf("reported %d, state %d; want 1, 1010", reported, r.State())
	}
}

func TestBudgetHistoryIsPerDrain(t *testing.T) {
	// Earlier drains leave nothing in the history of a later exhaustion.
	var reported errs
	r := machine.NewRunner(loopProgram{}, loopExec, machine.Options{Budget: 3, OnError: reported.add})
	defer r.Close()
	for range 5 {
		r.Dispatch(loopInc{})
	}
	r.Dispatch(loopTick{})
	var be *machine.BudgetExhaustedError
	if got := reported.get(); len(got) != 1 || !errors.As(got[0], &be) {
		t.Fatalf("reported %v, want one budget error", got)
	}
	if len(be.History) != 4 {
		t.Errorf("history has %d messages, want 4 (this drain only)", len(be.History))
	}
	for _, m := range be.History {
		if _, ok := m.(loopTick); !ok {
			t.Errorf("history holds %T from an earlier drain", m)
		}
	}
}
