package machine_test

import (
	"context"
	"fmt"

	"github.com/kyneta-go/kyneta/machine"
)

// door is a pure program: states and effects are plain values.
type door struct{}

type doorState string

type doorMsg string // "open", "close", "closed-sensor"

type doorFx struct {
	Motor string // "open" or "close"
}

func (door) Init() (doorState, []doorFx) { return "closed", nil }

func (door) Update(s doorState, m doorMsg) (doorState, []doorFx) {
	switch {
	case s == "closed" && m == "open":
		return "open", []doorFx{{Motor: "open"}}
	case s == "open" && m == "close":
		return "closing", []doorFx{{Motor: "close"}}
	case s == "closing" && m == "closed-sensor":
		return "closed", nil
	}
	return s, nil // anything else changes nothing
}

func (door) Done(s doorState) { fmt.Println("done in state", s) }

func Example() {
	// The executor turns effects into actions. Here the "motor" reports back
	// at once by dispatching; a real shell would do I/O on its own goroutine.
	exec := func(f doorFx, dispatch func(doorMsg)) {
		fmt.Println("motor:", f.Motor)
		if f.Motor == "close" {
			dispatch("closed-sensor")
		}
	}
	r := machine.NewRunner(door{}, exec, machine.Options{Label: "door"})
	r.Subscribe(func(tr machine.Transition[doorState]) {
		fmt.Printf("%s -> %s\n", tr.From, tr.To)
	})

	r.Dispatch("open")
	r.Dispatch("open") // no change: no transition, no effect
	r.Dispatch("close")

	s, err := r.WaitFor(context.Background(), func(s doorState) bool { return s == "closed" })
	fmt.Println("waited for:", s, err)
	r.Close()
	// Output:
	// closed -> open
	// motor: open
	// open -> closing
	// motor: close
	// closing -> closed
	// waited for: closed <nil>
	// done in state closed
}
