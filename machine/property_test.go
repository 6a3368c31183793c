package machine_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/kyneta-go/kyneta/machine"
	"github.com/kyneta-go/kyneta/machine/machinetest"
	"pgregory.net/rapid"
)

var effectNames = rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "dispatch:inc", "dispatch:noop"}), 0, 3)

// counterMsgs draws every message of the test program except boom.
var counterMsgs = rapid.OneOf(
	rapid.Just[cmsg](inc{}),
	rapid.Just[cmsg](noop{}),
	rapid.Map(rapid.IntRange(-3, 3), func(n int) cmsg { return add{n} }),
	rapid.Map(effectNames, func(fx []string) cmsg { return say{fx} }),
	rapid.Map(effectNames, func(fx []string) cmsg { return bump{fx} }),
)

// TestCounterProgram checks the runner's own test program with machinetest:
// each message changes N by exactly its delta and emits exactly its effects.
func TestCounterProgram(t *testing.T) {
	machinetest.Run(t, machinetest.Config[cmsg, cstate, string]{
		Program:       counter{},
		Msg:           counterMsgs,
		Deterministic: true,
		Transition: func(t *rapid.T, from cstate, m cmsg, to cstate, fx []string) {
			delta, wantFx := 0, []string(nil)
			switch m := m.(type) {
			case inc:
				delta = 1
			case add:
				delta = m.N
			case say:
				wantFx = m.Fx
			case bump:
				delta, wantFx = 1, m.Fx
			}
			if to.N-from.N != delta || !slices.Equal(fx, wantFx) {
				t.Fatalf("%#v: %v -> %v with %q; want delta %d and %q", m, from, to, fx, delta, wantFx)
			}
		},
	})
}

// TestRunnerMatchesModel drives random messages through a Runner and through
// a minimal single-threaded model of the rules (FIFO queue, transitions only
// on change, listeners before effects, effect dispatches queued) and requires
// identical event logs.
func TestRunnerMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		msgs := rapid.SliceOfN(counterMsgs, 1, 30).Draw(t, "msgs")

		var got []string
		r := machine.NewRunner(counter{}, func(f string, dispatch func(cmsg)) {
			got = append(got, "fx:"+f)
			switch f {
			case "dispatch:inc":
				dispatch(inc{})
			case "dispatch:noop":
				dispatch(noop{})
			}
		}, machine.Options{})
		defer r.Close()
		r.Subscribe(func(tr machine.Transition[cstate]) {
			got = append(got, "tr:"+strconv.Itoa(tr.From.N)+">"+strconv.Itoa(tr.To.N))
		})
		for _, m := range msgs {
			r.Dispatch(m)
		}

		var want []string
		p := counter{}
		s, _ := p.Init()
		for _, outer := range msgs {
			queue := []cmsg{outer}
			for len(queue) > 0 {
				m := queue[0]
				queue = queue[1:]
				next, fx := p.Update(s, m)
				if next != s {
					want = append(want, "tr:"+strconv.Itoa(s.N)+">"+strconv.Itoa(next.N))
				}
				s = next
				for _, f := range fx {
					want = append(want, "fx:"+f)
					switch f {
					case "dispatch:inc":
						queue = append(queue, inc{})
					case "dispatch:noop":
						queue = append(queue, noop{})
					}
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("runner events\n %q\nmodel events\n %q", got, want)
		}
		if r.State() != s {
			t.Fatalf("runner state %v, model %v", r.State(), s)
		}
	})
}
