package replica

import (
	"errors"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/wire"
)

type fakeNow struct{ t time.Time }

func (f *fakeNow) Now() time.Time { return f.t }

func (f *fakeNow) advance(d time.Duration) { f.t = f.t.Add(d) }

func TestLWW(t *testing.T) {
	clk := &fakeNow{t: time.UnixMilli(1000)}
	f := newLWWFactory(LWWOptions{Now: clk.Now})
	if f.Type() != PlainType {
		t.Fatal("type")
	}
	a := f.CreateDocument()
	if a.Version().String() != "0" || a.BaseVersion().String() != "0" {
		t.Fatalf("fresh %s", a.Version())
	}
	mustApply(t, a, set(t, "cursor", 1))
	if a.Version().String() != "1000" {
		t.Fatalf("after write %s", a.Version())
	}
	// A second write in the same millisecond still moves forward.
	mustApply(t, a, set(t, "cursor", 2))
	if a.Version().String() != "1001" {
		t.Fatalf("same-ms write %s", a.Version())
	}
	// Every export is the entirety, without lineage.
	p, ok, err := a.ExportSince(NewTimestampVersion(5))
	if err != nil || !ok || p.Kind != wire.Entirety || p.Lineage != "" || string(p.Data) != `{"cursor":2}` {
		t.Fatalf("export %+v %v %v", p, ok, err)
	}
	// A receiver takes its own clock as version after merging.
	clk.advance(time.Second)
	b := f.CreateDocument()
	mustMerge(t, b, p)
	if b.Version().String() != "2000" || jsonOf(t, b) != `{"cursor":2}` {
		t.Fatalf("b %s %s", b.Version(), jsonOf(t, b))
	}
	// Lineages are ignored.
	p.Lineage = "abc"
	mustMerge(t, b, p)
	if b.Version().Lineage() != Genesis {
		t.Fatal("lww adopted a lineage")
	}
	// A merge never moves the version back.
	clk.t = time.UnixMilli(10)
	mustMerge(t, b, p)
	if b.Version().String() != "2000" {
		t.Fatalf("merge moved back to %s", b.Version())
	}
	// Advance only to the current version.
	if err := b.Advance(NewTimestampVersion(5)); err != nil || b.BaseVersion().String() != "0" {
		t.Fatalf("advance elsewhere: %v %s", err, b.BaseVersion())
	}
	if err := b.Advance(b.Version()); err != nil || b.BaseVersion().String() != "2000" {
		t.Fatalf("advance: %v %s", err, b.BaseVersion())
	}
	if err := b.Advance(NewPlainVersion("L", 1)); !errors.Is(err, errVersionMismatch) {
		t.Fatalf("plain advance: %v", err)
	}
	// Reset replaces everything and takes the remote version (the state
	// it adopts is that version's), not the local clock.
	clk.t = time.UnixMilli(5000)
	if err := b.ResetFromEntirety(Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"other":true}`)}, NewTimestampVersion(4000)); err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, b) != `{"other":true}` || b.Version().String() != "4000" {
		t.Fatalf("reset %s %s", jsonOf(t, b), b.Version())
	}
	if err := b.ResetFromEntirety(Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[]`)}, nil); !errors.Is(err, errEncoding) {
		t.Fatalf("reset from since: %v", err)
	}
	if err := b.Merge(Payload{Kind: wire.Entirety, Encoding: wire.Binary}); !errors.Is(err, errEncoding) {
		t.Fatalf("binary merge: %v", err)
	}
	// Since payloads (from a plain sender) merge batch by batch.
	mustMerge(t, b, Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[[` + op(fieldA, `{"type":"replace","value":1}`) + `]]`)})
	if jsonOf(t, b) != `{"other":true,"a":1}` {
		t.Fatalf("since merge %s", jsonOf(t, b))
	}
	r, err := f.FromEntirety(p)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := r.ExportEntirety(); string(e.Data) != `{"cursor":2}` {
		t.Fatalf("FromEntirety %s", e.Data)
	}
	if v, err := f.ParseVersion("42"); err != nil || v.String() != "42" {
		t.Fatalf("ParseVersion %v %v", v, err)
	}
	if _, err := f.ParseVersion("x"); !errors.Is(err, errVersionParse) {
		t.Fatal("ParseVersion accepted x")
	}
	if _, err := f.FromEntirety(Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte("[")}); !errors.Is(err, errMalformed) {
		t.Fatal("FromEntirety accepted bad JSON")
	}
}

func TestLWWStaleOffersAreOlder(t *testing.T) {
	// The exchange drops offers whose version is behind or equal to ours;
	// check the versions it compares order like wall-clock writes.
	clk := &fakeNow{t: time.UnixMilli(100)}
	f := newLWWFactory(LWWOptions{Now: clk.Now})
	w := f.CreateDocument()
	mustApply(t, w, set(t, "p", "first"))
	v1 := w.Version()
	clk.advance(5 * time.Millisecond)
	mustApply(t, w, set(t, "p", "second"))
	if o, _ := v1.Compare(w.Version()); o != Behind {
		t.Fatalf("older write compares %v", o)
	}
	if f.CreateEmpty().Version().String() != "0" {
		t.Fatal("empty version")
	}
}

// A relay must forward a write with the writer's stamp, never its own
// clock: merging a write stamped T+1 while its clock reads T must give T+1
// (or a receiver at T drops it as equal), and merging a write stamped T a
// millisecond late must keep T (or the writer's next write, at T+1, is
// dropped by the relay as equal).
func TestLWWMergeAdoptsNewerStamp(t *testing.T) {
	clk := &fakeNow{t: time.UnixMilli(500)}
	f := newLWWFactory(LWWOptions{Now: clk.Now})
	writer := f.CreateDocument()
	mustApply(t, writer, set(t, "s", "one"))
	mustApply(t, writer, set(t, "s", "two")) // same millisecond: 501
	relay := f.CreateDocument()
	mustApply(t, relay, set(t, "s", "zero")) // relay at 500
	p, err := writer.ExportEntirety()
	if err != nil {
		t.Fatal(err)
	}
	if err := relay.(*lwwReplica).MergeStamped(p, writer.Version().String(), "writer"); err != nil {
		t.Fatal(err)
	}
	if got := relay.Version().String(); got != "501" {
		t.Fatalf("relay version after merge = %s, want the writer's 501", got)
	}
	// An older stamp never moves the version back.
	old := NewTimestampVersion(7).String()
	if err := relay.(*lwwReplica).MergeStamped(p, old, "writer"); err != nil {
		t.Fatal(err)
	}
	if got := relay.Version().String(); got != "501" {
		t.Fatalf("relay version after an old stamp = %s, want 501", got)
	}
	late := f.CreateDocument()
	clk.advance(time.Millisecond) // the writer's 501 arrives at 502
	if err := late.(*lwwReplica).MergeStamped(p, "501", "writer"); err != nil {
		t.Fatal(err)
	}
	if got := late.Version().String(); got != "501" {
		t.Fatalf("late merge version = %s, want the stamp 501, not the clock", got)
	}
	// Reset adopts a newer remote version too.
	clk.t = time.UnixMilli(2000)
	if err := relay.ResetFromEntirety(p, NewTimestampVersion(900)); err != nil {
		t.Fatal(err)
	}
	if got := relay.Version().String(); got != "900" {
		t.Fatalf("relay version after reset = %s, want 900", got)
	}
}
