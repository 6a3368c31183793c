package replica

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kyneta-go/kyneta/wire"
	"pgregory.net/rapid"
)

// genOp draws a random op over a small set of fields. Indices need not be
// valid: materialization is deterministic for any index, which is all
// convergence needs.
func genOp(t *rapid.T) Op {
	field := rapid.SampledFrom([]string{"n", "s", "t", "l", "m", "set"}).Draw(t, "field")
	path := Path{Field(field)}
	idx := rapid.IntRange(0, 6).Draw(t, "idx")
	var c Change
	var err error
	switch rapid.IntRange(0, 8).Draw(t, "kind") {
	case 0:
		c, err = replaceChange(rapid.IntRange(-5, 5).Draw(t, "v"))
	case 1:
		c = incrementChange(float64(rapid.IntRange(-3, 3).Draw(t, "inc")))
	case 2:
		c = textInsertChange(idx, rapid.SampledFrom([]string{"a", "é", "😀", "xy"}).Draw(t, "text"))
	case 3:
		c = textDeleteChange(idx, rapid.IntRange(0, 3).Draw(t, "n"))
	case 4:
		c, err = sequenceInsertChange(idx, rapid.IntRange(0, 9).Draw(t, "item"))
	case 5:
		c = sequenceDeleteChange(idx, rapid.IntRange(0, 2).Draw(t, "n"))
	case 6:
		c, err = mapSetChange(rapid.SampledFrom([]string{"a", "b", "1"}).Draw(t, "key"), idx)
	case 7:
		c = mapDeleteChange(rapid.SampledFrom([]string{"a", "b", "1"}).Draw(t, "key"))
	default:
		if rapid.Bool().Draw(t, "add") {
			c, err = setAddChange(idx)
		} else {
			c, err = setRemoveChange(idx)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if rapid.IntRange(0, 9).Draw(t, "root") == 0 {
		path = nil // a root-level change
	}
	return Op{Path: path, Change: c}
}

// deliver sends what "to" lacks from "from" the way the exchange does
// (§2.7 send-offer, §2.8 import) and reports whether anything changed.
func deliver(t *rapid.T, from, to *plainReplica) bool {
	vTo := to.Version()
	o, err := from.Version().Compare(vTo)
	if err != nil {
		t.Fatal(err)
	}
	var p Payload
	var ok bool
	if o == Behind || o == Equal {
		p, ok, err = from.ExportSince(from.Version())
	} else {
		p, ok, err = from.ExportSince(vTo)
		if err == nil && !ok {
			p, err = from.ExportEntirety()
			ok = true
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return false
	}
	offerVersion, err := newPlainFactory(PlainOptions{}).ParseVersion(from.Version().String())
	if err != nil {
		t.Fatal(err)
	}
	in, _ := offerVersion.Compare(to.Version())
	if in == Behind || in == Equal {
		return false
	}
	fl, tl := offerVersion.Lineage(), to.Version().Lineage()
	boundary := fl != Genesis && tl != Genesis && fl != tl
	if boundary && p.Kind == wire.Since {
		// Re-request: the sender answers a foreign lineage with its entirety.
		if p, ok, err = from.ExportSince(to.Version()); err != nil || !ok || p.Kind != wire.Entirety {
			t.Fatalf("re-request got %+v %v %v", p, ok, err)
		}
	}
	if p.Kind == wire.Entirety {
		err = to.ResetFromEntirety(p, offerVersion)
	} else {
		err = to.Merge(p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestPlainConvergenceRapid(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := newPlainFactory(PlainOptions{Rand: &seqRand{b: byte(rapid.IntRange(0, 255).Draw(rt, "seed"))}})
		reps := []*plainReplica{f.NewPlain(true), f.NewPlain(true)}
		pick := func() (int, *plainReplica, *plainReplica) {
			i := rapid.IntRange(0, 1).Draw(rt, "replica")
			return i, reps[i], reps[1-i]
		}
		rt.Repeat(map[string]func(*rapid.T){
			"write": func(rt *rapid.T) {
				_, x, other := pick()
				// One writer at a time: catch up before writing.
				deliver(rt, other, x)
				n := rapid.IntRange(1, 4).Draw(rt, "ops")
				ops := make([]Op, n)
				for i := range ops {
					ops[i] = genOp(rt)
				}
				before := x.Version().(PlainVersion).Counter()
				if err := x.Apply(ops); err != nil {
					rt.Fatal(err)
				}
				if x.Version().(PlainVersion).Counter() != before+1 {
					rt.Fatalf("one transaction must be one step: %d -> %s", before, x.Version())
				}
			},
			"sync": func(rt *rapid.T) {
				_, x, other := pick()
				deliver(rt, x, other)
			},
			"compact": func(rt *rapid.T) {
				_, x, _ := pick()
				v := x.Version().(PlainVersion)
				base := x.BaseVersion().(PlainVersion)
				to := rapid.Uint64Range(base.Counter(), v.Counter()).Draw(rt, "to")
				if err := x.Advance(NewPlainVersion(v.Lineage(), to)); err != nil {
					rt.Fatal(err)
				}
			},
			"restart": func(rt *rapid.T) {
				// A writer restarted without a store comes back at genesis.
				i, _, _ := pick()
				reps[i] = f.NewPlain(true)
			},
			"": func(rt *rapid.T) {
				for _, r := range reps {
					if _, err := r.JSON(); err != nil {
						rt.Fatal(err)
					}
				}
			},
		})
		// Quiesce: deliver both ways until nothing moves.
		for round := 0; ; round++ {
			if round > 10 {
				rt.Fatal("sync does not settle")
			}
			a := deliver(rt, reps[0], reps[1])
			b := deliver(rt, reps[1], reps[0])
			if !a && !b {
				break
			}
		}
		ja, _ := reps[0].JSON()
		jb, _ := reps[1].JSON()
		if !bytes.Equal(ja, jb) || reps[0].Version().String() != reps[1].Version().String() {
			rt.Fatalf("diverged:\n%s %s\n%s %s", ja, reps[0].Version(), jb, reps[1].Version())
		}
		// A late joiner served by either side ends up the same.
		late := f.NewPlain(true)
		deliver(rt, reps[1], late)
		jl, _ := late.JSON()
		if !bytes.Equal(ja, jl) || late.Version().String() != reps[0].Version().String() {
			rt.Fatalf("late joiner:\n%s %s\n%s %s", ja, reps[0].Version(), jl, late.Version())
		}
	})
}

// TestPlainReplayMatchesEager checks that materializing a log replayed
// from genesis gives the same state as the writer's incremental one.
func TestPlainReplayMatchesEager(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
		w := f.NewPlain(true)
		for i, n := 0, rapid.IntRange(1, 12).Draw(rt, "tx"); i < n; i++ {
			ops := []Op{genOp(rt), genOp(rt)}
			if err := w.Apply(ops); err != nil {
				rt.Fatal(err)
			}
		}
		p, ok, err := w.ExportSince(NewPlainVersion(Genesis, 0))
		if err != nil || !ok {
			rt.Fatalf("export %v %v", ok, err)
		}
		r := f.CreateEmpty()
		if err := r.Merge(p); err != nil {
			rt.Fatal(err)
		}
		we, _ := w.ExportEntirety()
		re, _ := r.ExportEntirety()
		if !bytes.Equal(we.Data, re.Data) {
			rt.Fatalf("replay differs:\n%s\n%s", we.Data, re.Data)
		}
		if fmt.Sprint(r.Version()) != fmt.Sprint(w.Version()) {
			rt.Fatalf("versions %s %s", r.Version(), w.Version())
		}
	})
}
