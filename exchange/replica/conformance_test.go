package replica

import (
	"testing"
	"time"
)

// offer moves state from one replica to another the way the exchange does
// for the replica's sync mode: snapshot-only kinds always send the
// entirety, delta kinds send what the receiver lacks (§2.7); the receiver
// imports only when the offer's version is ahead or concurrent (§2.8).
func offer(t *testing.T, f Factory, snapshot bool, from, to Replica) {
	t.Helper()
	var p Payload
	var err error
	if snapshot {
		p, err = from.ExportEntirety()
	} else {
		var ok bool
		p, ok, err = from.ExportSince(to.Version())
		if err == nil && !ok {
			if o, _ := from.Version().Compare(to.Version()); o == Behind || o == Equal {
				return
			}
			p, err = from.ExportEntirety()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.ParseVersion(from.Version().String())
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := v.Compare(to.Version()); o == Behind || o == Equal {
		return
	}
	if err := to.Merge(p); err != nil {
		t.Fatal(err)
	}
}

// TestSubstrateConformance is the reference's substrate table for the
// built-in replicas: sequential writes both survive, partitioned writes
// resolve per profile (lww: one wins; state: both survive), and a fresh
// peer adopts the incumbent's state.
func TestSubstrateConformance(t *testing.T) {
	type profile struct {
		name       string
		snapshot   bool
		concurrent string // "one-wins", "both-survive" or "" (serialized only)
		make       func(clk *fakeNow) (Factory, func() Document)
	}
	profiles := []profile{
		{"plain", false, "", func(clk *fakeNow) (Factory, func() Document) {
			f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
			return f, f.CreateDocument
		}},
		{"lww", true, "one-wins", func(clk *fakeNow) (Factory, func() Document) {
			f := newLWWFactory(LWWOptions{Now: clk.Now})
			return f, f.CreateDocument
		}},
		{"state", true, "both-survive", func(clk *fakeNow) (Factory, func() Document) {
			f := newStateFactory(StateOptions{Now: clk.Now})
			return f, f.CreateDocument
		}},
	}
	for _, pr := range profiles {
		t.Run(pr.name+"/sequential", func(t *testing.T) {
			clk := &fakeNow{t: time.UnixMilli(1000)}
			f, mk := pr.make(clk)
			a, b := mk(), mk()
			mustApply(t, a, set(t, "x", "from-a"))
			clk.advance(time.Millisecond)
			offer(t, f, pr.snapshot, a, b)
			mustApply(t, b, set(t, "y", "from-b"))
			clk.advance(time.Millisecond)
			offer(t, f, pr.snapshot, b, a)
			for _, d := range []Document{a, b} {
				v, _ := d.Value()
				x, _ := v.(*Object).Get("x")
				y, _ := v.(*Object).Get("y")
				if x != "from-a" || y != "from-b" {
					t.Fatalf("sequential writes lost: %s", jsonOf(t, d))
				}
			}
		})
		t.Run(pr.name+"/fresh-peer-adopts", func(t *testing.T) {
			clk := &fakeNow{t: time.UnixMilli(1000)}
			f, mk := pr.make(clk)
			a := mk()
			mustApply(t, a, set(t, "doc", map[string]any{"title": "incumbent", "n": 3}))
			clk.advance(time.Millisecond)
			fresh := mk()
			offer(t, f, pr.snapshot, a, fresh)
			if jsonOf(t, fresh) != jsonOf(t, a) {
				t.Fatalf("fresh %s, incumbent %s", jsonOf(t, fresh), jsonOf(t, a))
			}
		})
		if pr.concurrent == "" {
			continue
		}
		t.Run(pr.name+"/partitioned-"+pr.concurrent, func(t *testing.T) {
			clk := &fakeNow{t: time.UnixMilli(1000)}
			f, mk := pr.make(clk)
			a, b := mk(), mk()
			// Both peers write the same fields while partitioned; b later.
			mustApply(t, a, set(t, "title", "a"), set(t, "onlyA", 1))
			clk.advance(5 * time.Millisecond)
			mustApply(t, b, set(t, "title", "b"), set(t, "onlyB", 1))
			clk.advance(5 * time.Millisecond)
			offer(t, f, pr.snapshot, a, b)
			offer(t, f, pr.snapshot, b, a)
			va, _ := a.Value()
			vb, _ := b.Value()
			title, _ := va.(*Object).Get("title")
			if title != "b" {
				t.Fatalf("the later write must win the shared field: %s", jsonOf(t, a))
			}
			switch pr.concurrent {
			case "both-survive":
				if !equalValues(va, vb) || !va.(*Object).Has("onlyA") || !va.(*Object).Has("onlyB") {
					t.Fatalf("fields lost: a=%s b=%s", jsonOf(t, a), jsonOf(t, b))
				}
			case "one-wins":
				// The earlier snapshot is stale at b and dropped; b keeps
				// only its own write.
				if vb.(*Object).Has("onlyA") {
					t.Fatalf("stale snapshot merged: %s", jsonOf(t, b))
				}
			}
		})
	}
	t.Run("plain/live-compaction", func(t *testing.T) {
		f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
		a, b := f.CreateDocument(), f.CreateDocument()
		for i := 0; i < 3; i++ {
			mustApply(t, a, set(t, "k", i))
		}
		offer(t, f, false, a, b)
		if err := a.Advance(a.Version()); err != nil { // compact to what b has
			t.Fatal(err)
		}
		mustApply(t, a, Op{Path: Path{Field("n")}, Change: incrementChange(1)})
		offer(t, f, false, a, b)
		if jsonOf(t, a) != jsonOf(t, b) || a.Version() != b.Version() {
			t.Fatalf("after compaction: a=%s %s b=%s %s", jsonOf(t, a), a.Version(), jsonOf(t, b), b.Version())
		}
	})
}
