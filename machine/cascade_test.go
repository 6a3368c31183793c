package machine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/machine"
)

// An executor's consequence (DispatchUrgent) is processed before inputs
// that were queued earlier with Dispatch, and consequences keep their own
// order.
func TestDispatchUrgentGoesFirst(t *testing.T) {
	rec := &recorder{}
	var r *machine.Runner[cmsg, cstate, string]
	r = machine.NewRunner[cmsg, cstate, string](counter{log: rec}, func(f string, _ func(cmsg)) {
		switch f {
		case "outside":
			r.Dispatch(add{N: 100}) // an input that arrives meanwhile
		case "consequences":
			r.DispatchUrgent(add{N: 1})
			r.DispatchUrgent(add{N: 2})
		}
	}, machine.Options{})
	defer r.Close()
	r.Dispatch(say{Fx: []string{"outside", "consequences"}})
	got := strings.Join(rec.get(), " ")
	want := "update:machine_test.say update:machine_test.add update:machine_test.add update:machine_test.add"
	if got != want {
		t.Fatalf("order %q", got)
	}
	if s := r.State(); s.N != 103 {
		t.Fatalf("state %d", s.N)
	}
}

// gate blocks its first Update until released, so inputs queue up behind
// a busy drainer the way they do under load.
type gate struct {
	entered, release chan struct{}
}

func (g gate) Init() (int, []string) { return 0, nil }

func (g gate) Update(s int, m loopMsg) (int, []string) {
	switch m.(type) {
	case loopTick:
		return s + 1, []string{"again"}
	case loopInc:
		if s == 0 {
			close(g.entered)
			<-g.release
		}
		return s + 1000, nil
	}
	return s, nil
}

// With BudgetPerCascade a runner fed from outside faster than it drains
// never trips the budget, while a feedback loop still does, and only the
// loop's messages are dropped.
func TestBudgetPerCascade(t *testing.T) {
	var reported errs
	g := gate{entered: make(chan struct{}), release: make(chan struct{})}
	r := machine.NewRunner[loopMsg, int, string](g, loopExec, machine.Options{Budget: 10, BudgetPerCascade: true, OnError: reported.add})
	defer r.Close()
	const outside = 50
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Dispatch(loopInc{}) // becomes the drainer and blocks in Update
	}()
	<-g.entered
	for range outside {
		r.Dispatch(loopInc{}) // queued behind the busy drainer
	}
	close(g.release)
	<-done
	if errs := reported.get(); len(errs) != 0 {
		t.Fatalf("outside inputs tripped the budget: %v", errs)
	}
	if got := r.State(); got != (outside+1)*1000 {
		t.Fatalf("state %d", got)
	}

	// A loop trips it; the runner stays usable.
	r.Dispatch(loopTick{})
	errs := reported.get()
	var be *machine.BudgetExhaustedError
	if len(errs) != 1 || !errors.As(errs[0], &be) {
		t.Fatalf("errors %v", errs)
	}
	r.Dispatch(loopInc{})
	if got := r.State(); got != (outside+2)*1000+10 {
		t.Fatalf("after the loop: %d (%s)", got, fmt.Sprint(errs))
	}
}

// Without BudgetPerCascade the same outside burst trips a per-drain budget:
// the option is what makes the difference.
func TestBudgetPerDrainCountsOutsideInputs(t *testing.T) {
	var reported errs
	g := gate{entered: make(chan struct{}), release: make(chan struct{})}
	r := machine.NewRunner[loopMsg, int, string](g, loopExec, machine.Options{Budget: 10, OnError: reported.add})
	defer r.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Dispatch(loopInc{})
	}()
	<-g.entered
	for range 50 {
		r.Dispatch(loopInc{})
	}
	close(g.release)
	<-done
	if len(reported.get()) != 1 {
		t.Fatalf("errors %v", reported.get())
	}
}

// WaitIdle returns once the runner drained what was queued.
func TestWaitIdle(t *testing.T) {
	g := gate{entered: make(chan struct{}), release: make(chan struct{})}
	r := machine.NewRunner[loopMsg, int, string](g, loopExec, machine.Options{})
	defer r.Close()
	go r.Dispatch(loopInc{})
	<-g.entered
	r.Dispatch(loopInc{})
	idle := make(chan error, 1)
	go func() { idle <- r.WaitIdle(context.Background()) }()
	select {
	case <-idle:
		t.Fatal("idle while a message is being processed")
	default:
	}
	close(g.release)
	if err := <-idle; err != nil {
		t.Fatal(err)
	}
	if got := r.State(); got != 2000 {
		t.Fatalf("idle before the queue drained: %d", got)
	}
}
