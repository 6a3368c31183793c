package machinetest_test

import (
	"fmt"
	"maps"

	"github.com/kyneta-go/kyneta/machine/machinetest"
	"pgregory.net/rapid"
)

// stock is a pure program: inventory counts per item, never negative.
type stock struct{}

type stockMsg struct {
	Item  string
	Delta int
}

func (stock) Init() (map[string]int, []string) { return map[string]int{}, nil }

func (stock) Update(s map[string]int, m stockMsg) (map[string]int, []string) {
	if s[m.Item]+m.Delta < 0 {
		return s, []string{"refused " + m.Item}
	}
	next := maps.Clone(s) // never write to the input
	next[m.Item] += m.Delta
	return next, nil
}

// A test would call machinetest.Run(t, cfg) with its *testing.T. To make the
// example runnable on its own, a minimal rapid.TB stands in for it.
func Example() {
	cfg := machinetest.Config[stockMsg, map[string]int, string]{
		Program: stock{},
		Msg: rapid.Custom(func(t *rapid.T) stockMsg {
			return stockMsg{
				Item:  rapid.SampledFrom([]string{"apple", "pear"}).Draw(t, "item"),
				Delta: rapid.IntRange(-3, 3).Draw(t, "delta"),
			}
		}),
		Invariant: func(t *rapid.T, s map[string]int, _ []string) {
			for item, n := range s {
				if n < 0 {
					t.Fatalf("%s went negative: %d", item, n)
				}
			}
		},
	}
	tb := &quietTB{}
	rapid.Check(tb, func(t *rapid.T) { machinetest.Check(t, cfg) })
	fmt.Println("property holds:", !tb.Failed())
	// Output:
	// property holds: true
}

func ExampleDeepCopy() {
	type state struct{ Seen map[string]bool }
	s := state{Seen: map[string]bool{"a": true}}

	before := machinetest.DeepCopy(s)
	s.Seen["b"] = true // what an impure Update might do to its input

	fmt.Println("unchanged:", machinetest.DeepEqual(s, before))
	fmt.Println("copy detached:", len(before.Seen))
	// Output:
	// unchanged: false
	// copy detached: 1
}

// quietTB is a minimal rapid.TB for running a property outside a test: it
// discards logs and remembers failure. Methods rapid does not call on this
// path are left to the embedded nil interface.
type quietTB struct {
	rapid.TB
	failed bool
}

func (*quietTB) Helper()                  {}
func (*quietTB) Name() string             { return "example" }
func (*quietTB) Logf(string, ...any)      {}
func (*quietTB) Log(...any)               {}
func (tb *quietTB) Errorf(string, ...any) { tb.failed = true }
func (tb *quietTB) Error(...any)          { tb.failed = true }
func (tb *quietTB) Fail()                 { tb.failed = true }
func (tb *quietTB) FailNow()              { tb.failed = true }
func (tb *quietTB) Failed() bool          { return tb.failed }
