package replica

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/wire"
)

// seqRand is a deterministic lineage source: each mint takes the next 8
// bytes.
type seqRand struct{ b byte }

func (r *seqRand) Read(p []byte) (int, error) {
	for i := range p {
		r.b++
		p[i] = r.b
	}
	return len(p), nil
}

func newFactory() *plainFactory { return newPlainFactory(PlainOptions{Rand: &seqRand{}}) }

func mustApply(t *testing.T, d Document, ops ...Op) {
	t.Helper()
	if err := d.Apply(ops); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func set(t *testing.T, key string, v any) Op {
	t.Helper()
	c, err := replaceChange(v)
	if err != nil {
		t.Fatal(err)
	}
	return Op{Path: Path{Field(key)}, Change: c}
}

func jsonOf(t *testing.T, d Document) string {
	t.Helper()
	b, err := d.JSON()
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	return string(b)
}

func exportSince(t *testing.T, r Replica, v Version) (Payload, bool) {
	t.Helper()
	p, ok, err := r.ExportSince(v)
	if err != nil {
		t.Fatalf("ExportSince(%v): %v", v, err)
	}
	return p, ok
}

func mustMerge(t *testing.T, r Replica, p Payload) {
	t.Helper()
	if err := r.Merge(p); err != nil {
		t.Fatalf("Merge: %v", err)
	}
}

func TestPlainLineageLifecycle(t *testing.T) {
	f := newFactory()
	a := f.CreateDocument()
	if a.Version().String() != "kyneta.genesis:0" {
		t.Fatalf("fresh version %s", a.Version())
	}
	mustApply(t, a) // empty transaction: no step, no mint
	if a.Version().String() != "kyneta.genesis:0" {
		t.Fatalf("empty apply moved version to %s", a.Version())
	}
	mustApply(t, a, set(t, "x", 1))
	if got := a.Version().String(); got != "0102030405060708:1" {
		t.Fatalf("minted version %s", got)
	}
	mustApply(t, a, set(t, "y", 2))
	if got := a.Version().String(); got != "0102030405060708:2" {
		t.Fatalf("second write %s", got)
	}

	// A fresh replica adopts the sender's lineage on merge and never mints.
	b := f.CreateDocument()
	p, ok := exportSince(t, a, b.Version())
	if !ok || p.Kind != wire.Since || p.Lineage != "0102030405060708" {
		t.Fatalf("export = %+v %v", p, ok)
	}
	mustMerge(t, b, p)
	if b.Version().String() != "0102030405060708:2" || jsonOf(t, b) != `{"x":1,"y":2}` {
		t.Fatalf("b = %s %s", b.Version(), jsonOf(t, b))
	}
	// b now writes under the adopted lineage (turn-taking writers).
	mustApply(t, b, set(t, "z", 3))
	if b.Version().String() != "0102030405060708:3" {
		t.Fatalf("b after write %s", b.Version())
	}
	// A merge into a replica with a real lineage keeps its own lineage.
	c := f.CreateDocument()
	mustApply(t, c, set(t, "c", true))
	lineageC := c.Version().Lineage()
	mustMerge(t, c, p)
	if c.Version().Lineage() != lineageC || c.Version().(PlainVersion).Counter() != 3 {
		t.Fatalf("c = %s", c.Version())
	}
	// Reset adopts the sender's lineage and counter.
	e, _ := a.ExportEntirety()
	if err := c.ResetFromEntirety(e, a.Version()); err != nil {
		t.Fatal(err)
	}
	if c.Version().String() != a.Version().String() || jsonOf(t, c) != jsonOf(t, a) {
		t.Fatalf("after reset c = %s %s", c.Version(), jsonOf(t, c))
	}
	if _, ok := exportSince(t, c, a.Version()); ok {
		t.Fatal("reset replica should have nothing newer than the sender")
	}
}

func TestPlainExportSinceRules(t *testing.T) {
	f := newFactory()
	a := f.CreateDocument()
	for i := 0; i < 4; i++ {
		mustApply(t, a, Op{Path: Path{Field("n")}, Change: incrementChange(1)})
	}
	l := a.Version().Lineage()
	batches := func(p Payload) int {
		ops, err := parseOps(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		return len(ops)
	}
	if p, ok := exportSince(t, a, NewPlainVersion(Genesis, 0)); !ok || batches(p) != 4 {
		t.Fatal("genesis gets the whole log")
	}
	if p, ok := exportSince(t, a, NewPlainVersion(Genesis, 99)); !ok || batches(p) != 4 {
		t.Fatal("a phantom genesis counter still gets the whole log")
	}
	if p, ok := exportSince(t, a, NewPlainVersion(l, 1)); !ok || batches(p) != 3 {
		t.Fatal("since L:1 gets three batches")
	}
	if _, ok := exportSince(t, a, NewPlainVersion(l, 4)); ok {
		t.Fatal("nothing newer than the current version")
	}
	if _, ok := exportSince(t, a, NewPlainVersion(l, 7)); ok {
		t.Fatal("nothing for a version past ours")
	}
	p, ok := exportSince(t, a, NewPlainVersion("other", 2))
	if !ok || p.Kind != wire.Entirety || string(p.Data) != `{"n":4}` || p.Lineage != l {
		t.Fatalf("foreign lineage gets the entirety: %+v", p)
	}
	// Trim two batches: older versions can no longer be served.
	if err := a.Advance(NewPlainVersion(l, 2)); err != nil {
		t.Fatal(err)
	}
	if a.BaseVersion().String() != l+":2" {
		t.Fatalf("base %s", a.BaseVersion())
	}
	if _, ok := exportSince(t, a, NewPlainVersion(l, 1)); ok {
		t.Fatal("a version before the base cannot be served")
	}
	if _, ok := exportSince(t, a, NewPlainVersion(Genesis, 0)); ok {
		t.Fatal("genesis cannot be served after trimming")
	}
	if p, ok := exportSince(t, a, NewPlainVersion(l, 2)); !ok || batches(p) != 2 {
		t.Fatal("since the base works")
	}
	if _, _, err := a.ExportSince(NewTimestampVersion(1)); !errors.Is(err, errVersionMismatch) {
		t.Fatalf("timestamp version: %v", err)
	}
	// The state is untouched by trimming.
	if jsonOf(t, a) != `{"n":4}` || a.Version().String() != l+":4" {
		t.Fatal("advance changed state or version")
	}
}

func TestPlainAdvance(t *testing.T) {
	f := newFactory()
	a := f.CreateDocument()
	for i := 0; i < 3; i++ {
		mustApply(t, a, set(t, "k", i))
	}
	l := a.Version().Lineage()
	if err := a.Advance(NewPlainVersion(l, 4)); !errors.Is(err, errAdvanceRange) {
		t.Fatalf("past version: %v", err)
	}
	if err := a.Advance(NewPlainVersion(l, 1)); err != nil {
		t.Fatal(err)
	}
	if err := a.Advance(NewPlainVersion(l, 0)); !errors.Is(err, errAdvanceRange) {
		t.Fatalf("behind base: %v", err)
	}
	if err := a.Advance(NewPlainVersion(l, 1)); err != nil { // no-op
		t.Fatal(err)
	}
	if err := a.Advance(NewPlainVersion("foreign", 9)); err != nil { // foreign, not equal: no-op
		t.Fatal(err)
	}
	if a.BaseVersion().String() != l+":1" {
		t.Fatalf("base %s", a.BaseVersion())
	}
	if err := a.Advance(a.Version()); err != nil {
		t.Fatal(err)
	}
	if a.BaseVersion().String() != a.Version().String() {
		t.Fatal("advance to version trims everything")
	}
	if _, ok := exportSince(t, a, NewPlainVersion(l, 3)); ok {
		t.Fatal("nothing left to export")
	}
	if err := a.Advance(newStateVersion(1)); !errors.Is(err, errVersionMismatch) {
		t.Fatalf("state version: %v", err)
	}
}

func TestPlainEntiretyMerge(t *testing.T) {
	f := newFactory()
	a := f.CreateDocument()
	mustApply(t, a, set(t, "x", 1), set(t, "y", []int{1, 2}))
	mustApply(t, a, set(t, "x", 2))
	e, err := a.ExportEntirety()
	if err != nil || e.Kind != wire.Entirety || string(e.Data) != `{"x":2,"y":[1,2]}` || e.Lineage != a.Version().Lineage() {
		t.Fatalf("entirety = %+v %v", e, err)
	}
	// A fresh replica absorbs the entirety as ONE flush (§10.3 item 16):
	// its counter is 1, not the sender's 2.
	b := f.CreateDocument()
	b.SetDefaults(map[string]any{"x": 0, "z": "default"})
	mustMerge(t, b, e)
	if b.Version().String() != a.Version().Lineage()+":1" {
		t.Fatalf("entirety merge version %s", b.Version())
	}
	if jsonOf(t, b) != `{"x":2,"z":"default","y":[1,2]}` {
		t.Fatalf("b = %s", jsonOf(t, b))
	}
	// ... so a later since exchange based on the counter re-sends ops:
	// ask for what b lacks by its own version and b's counter lines up with
	// a's first batch, not its last.
	p, ok := exportSince(t, a, b.Version())
	if !ok {
		t.Fatal("a thinks b is behind")
	}
	if n, _ := parseOps(p.Data); len(n) != 1 {
		t.Fatalf("resent %d batches", len(n))
	}
	// ResetFromEntirety aligns the counter instead, which is what the
	// exchange should use when a genesis replica takes an entirety.
	c := f.CreateDocument()
	c.SetDefaults(map[string]any{"z": "default"})
	if err := c.ResetFromEntirety(e, a.Version()); err != nil {
		t.Fatal(err)
	}
	if c.Version().String() != a.Version().String() {
		t.Fatalf("reset version %s", c.Version())
	}
	if _, ok := exportSince(t, a, c.Version()); ok {
		t.Fatal("aligned replica needs nothing")
	}
	if jsonOf(t, c) != `{"x":2,"y":[1,2],"z":"default"}` {
		t.Fatalf("c = %s", jsonOf(t, c))
	}
	// An empty entirety is no flush at all.
	d := f.CreateDocument()
	mustMerge(t, d, Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{}`), Lineage: "abc"})
	if d.Version().String() != "kyneta.genesis:0" {
		t.Fatalf("empty entirety moved version to %s", d.Version())
	}
}

func TestPlainCounterParityAndRoundTrip(t *testing.T) {
	f := newFactory()
	a := f.CreateDocument()
	b := f.CreateDocument()
	// a writes; b catches up with since exports; b relays to c; all agree
	// on versions (one flush per batch) and content.
	c := f.CreateEmpty()
	for i := 0; i < 5; i++ {
		before := b.Version()
		ins, _ := sequenceInsertChange(i, i)
		mustApply(t, a, Op{Path: Path{Field("list")}, Change: ins}, Op{Path: Path{Field("t")}, Change: textInsertChange(2*i, "😀")})
		p, ok := exportSince(t, a, b.Version())
		if !ok {
			t.Fatal("nothing to send")
		}
		mustMerge(t, b, p)
		if b.Version().String() != a.Version().String() {
			t.Fatalf("b %s, a %s", b.Version(), a.Version())
		}
		relay, ok := exportSince(t, b, before)
		if !ok {
			t.Fatal("relay had nothing")
		}
		if !bytes.Equal(relay.Data, p.Data) {
			t.Fatalf("relay payload differs:\n%s\n%s", relay.Data, p.Data)
		}
		mustMerge(t, c, relay)
	}
	want := `{"list":[0,1,2,3,4],"t":"😀😀😀😀😀"}`
	if jsonOf(t, a) != want || jsonOf(t, b) != want {
		t.Fatalf("a %s b %s", jsonOf(t, a), jsonOf(t, b))
	}
	ce, err := c.ExportEntirety()
	if err != nil || string(ce.Data) != want || c.Version().String() != a.Version().String() {
		t.Fatalf("c = %s %v %s", ce.Data, err, c.Version())
	}
	// The full log round-trips byte for byte.
	pa, _ := exportSince(t, a, NewPlainVersion(Genesis, 0))
	pc, _ := exportSince(t, c, NewPlainVersion(Genesis, 0))
	if !bytes.Equal(pa.Data, pc.Data) {
		t.Fatal("logs differ")
	}
	// FromEntirety builds a replica from a snapshot.
	r, err := f.FromEntirety(ce)
	if err != nil {
		t.Fatal(err)
	}
	re, _ := r.ExportEntirety()
	if string(re.Data) != want || r.Version().Lineage() != a.Version().Lineage() {
		t.Fatalf("FromEntirety = %s %s", re.Data, r.Version())
	}
	if _, err := f.FromEntirety(Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: []byte{1}}); !errors.Is(err, errEncoding) {
		t.Fatalf("binary FromEntirety = %v", err)
	}
}

func TestPlainMergeRejections(t *testing.T) {
	f := newFactory()
	doc := f.CreateDocument()
	mustApply(t, doc, set(t, "x", 1))
	before := jsonOf(t, doc)
	ver := doc.Version()
	bad := []struct {
		p    Payload
		want error
	}{
		{Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{0}}, errEncoding},
		{Payload{Kind: "delta", Encoding: wire.JSON, Data: []byte(`[]`)}, errEncoding},
		{Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`{`)}, errMalformed},
		{Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`[1]`)}, errMalformed},
		{Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`{"a":1}`)}, errMalformed},
		{Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[[` + op(fieldA, `{"type":"replace","value":2}`) + `],[` + op(fieldA, `{"type":"loro"}`) + `]]`)}, errUnknownChange},
		{Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[[` + op(fieldA, `{"type":"increment","amount":"x"}`) + `]]`)}, errInvalidChange},
	}
	for _, b := range bad {
		if err := doc.Merge(b.p); !errors.Is(err, b.want) {
			t.Errorf("Merge(%s) = %v, want %v", b.p.Data, err, b.want)
		}
		// Atomic: nothing applied, version unchanged.
		if jsonOf(t, doc) != before || doc.Version() != ver {
			t.Fatalf("rejected merge changed the doc: %s %s", jsonOf(t, doc), doc.Version())
		}
	}
	if err := doc.ResetFromEntirety(Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[]`)}, ver); !errors.Is(err, errEncoding) {
		t.Fatalf("reset from since = %v", err)
	}
	if err := doc.ResetFromEntirety(Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`"x"`)}, ver); !errors.Is(err, errMalformed) {
		t.Fatalf("reset from string = %v", err)
	}
	// Local writes with unknown or invalid changes are rejected too.
	unk, _ := parseChange([]byte(`{"type":"mystery"}`))
	if err := doc.Apply([]Op{set(t, "y", 2), {Path: Path{Field("z")}, Change: unk}}); !errors.Is(err, errUnknownChange) {
		t.Fatalf("Apply(unknown) = %v", err)
	}
	if err := doc.Apply([]Op{{Path: Path{Field("z")}}}); !errors.Is(err, errInvalidChange) {
		t.Fatalf("Apply(zero change) = %v", err)
	}
	for _, path := range []Path{{Index(-1)}, {Field("a"), {}}} {
		if err := doc.Apply([]Op{{Path: path, Change: incrementChange(1)}}); !errors.Is(err, errInvalidChange) {
			t.Fatalf("Apply(bad path %v) = %v", path, err)
		}
	}
	if jsonOf(t, doc) != before || doc.Version() != ver {
		t.Fatal("rejected Apply changed the doc")
	}
}

func TestHeadlessForwardsUnknownChanges(t *testing.T) {
	f := newFactory()
	relay := f.CreateEmpty()
	p := Payload{Kind: wire.Since, Encoding: wire.JSON, Lineage: "feedfacefeedface",
		Data: []byte(`[[` + op(fieldA, `{"type":"replace","value":1}`) + `],[` + op(fieldB, `{"type":"counter-crdt","delta":[1,2]}`) + `]]`)}
	mustMerge(t, relay, p)
	if relay.Version().String() != "feedfacefeedface:2" {
		t.Fatalf("relay version %s", relay.Version())
	}
	out, ok := exportSince(t, relay, NewPlainVersion(Genesis, 0))
	if !ok || !bytes.Equal(out.Data, p.Data) {
		t.Fatalf("forwarded %s", out.Data)
	}
	if _, err := relay.ExportEntirety(); !errors.Is(err, errUnmaterializable) || !errors.Is(err, errUnknownChange) {
		t.Fatalf("entirety of unknown change = %v", err)
	}
	// A reset from a clean entirety recovers.
	if err := relay.ResetFromEntirety(Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"a":5}`)}, NewPlainVersion("x", 3)); err != nil {
		t.Fatal(err)
	}
	if e, err := relay.ExportEntirety(); err != nil || string(e.Data) != `{"a":5}` {
		t.Fatalf("after reset %s %v", e.Data, err)
	}
	if relay.Version().String() != "feedfacefeedface:3" {
		t.Fatalf("reset without lineage keeps the lineage: %s", relay.Version())
	}
	// A strict document rejects the same payload.
	doc := f.CreateDocument()
	if err := doc.Merge(p); !errors.Is(err, errUnknownChange) {
		t.Fatalf("strict merge = %v", err)
	}
}

func TestChangeHook(t *testing.T) {
	f := newFactory()
	a, b := f.CreateDocument(), f.CreateDocument()
	var got []ChangeSet
	b.SetChangeHook(func(cs ChangeSet) { got = append(got, cs) })
	var local []ChangeSet
	a.SetChangeHook(func(cs ChangeSet) { local = append(local, cs) })
	ops := []Op{set(t, "x", 1)}
	mustApply(t, a, ops...)
	ops[0].Path[0] = Field("mutated") // the replica keeps its own copy of paths
	mustApply(t, a, set(t, "y", 2), set(t, "z", 3))
	if len(local) != 2 || local[0].Remote || len(local[1].Ops) != 2 || local[0].Ops[0].Path.String() != "x" {
		t.Fatalf("local change sets %+v", local)
	}
	p, _ := exportSince(t, a, b.Version())
	mustMerge(t, b, p)
	if len(got) != 2 || !got[0].Remote || !got[1].Remote || got[1].Ops[1].Path.String() != "z" {
		t.Fatalf("remote change sets %+v", got)
	}
	e, _ := a.ExportEntirety()
	if err := b.ResetFromEntirety(e, a.Version()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[2].Remote || len(got[2].Ops[0].Path) != 0 || got[2].Ops[0].Change.Type() != "replace" {
		t.Fatalf("reset change set %+v", got[2])
	}
	b.SetChangeHook(nil)
	mustApply(t, b, set(t, "w", 0))
	if len(got) != 3 {
		t.Fatal("hook removed but still called")
	}
}

func TestPlainValueIsACopy(t *testing.T) {
	f := newFactory()
	a := f.CreateDocument()
	mustApply(t, a, set(t, "o", map[string]int{"k": 1}))
	v, err := a.Value()
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := v.(*Object).Get("o")
	inner.(*Object).Set("k", 99.0)
	if jsonOf(t, a) != `{"o":{"k":1}}` {
		t.Fatal("Value aliases the state")
	}
	j, _ := a.JSON()
	j[0] = 'X'
	if jsonOf(t, a) != `{"o":{"k":1}}` {
		t.Fatal("JSON aliases the cache")
	}
	if err := a.SetDefaults([]int{1}); !errors.Is(err, errInvalidValue) {
		t.Fatalf("non-object defaults: %v", err)
	}
	if err := a.SetDefaults(nil); err != nil {
		t.Fatal(err)
	}
}

func TestPlainMintFailure(t *testing.T) {
	f := newPlainFactory(PlainOptions{Rand: strings.NewReader("short")})
	d := f.CreateDocument()
	if err := d.Apply([]Op{set(t, "x", 1)}); err == nil {
		t.Fatal("mint from a short reader succeeded")
	}
	if d.Version().String() != "kyneta.genesis:0" {
		t.Fatal("failed mint changed the version")
	}
	if newPlainFactory(PlainOptions{}).Type() != PlainType {
		t.Fatal("Type")
	}
}

func TestPayloadWireMapping(t *testing.T) {
	l := "abc"
	w := wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte("[]"), Lineage: &l}
	p := fromWire(w)
	if p.Lineage != "abc" || p.Kind != wire.Since {
		t.Fatalf("%+v", p)
	}
	back := p.Wire()
	if back.Lineage == nil || *back.Lineage != "abc" {
		t.Fatal("lineage lost")
	}
	if fromWire(wire.Payload{Kind: wire.Entirety}).Wire().Lineage != nil {
		t.Fatal("absent lineage must stay absent")
	}
	c := p.Clone()
	c.Data[0] = 'x'
	if p.Data[0] != '[' {
		t.Fatal("Clone aliases data")
	}
	if !Compatible(wire.ReplicaType{Name: "plain", Major: 1, Minor: 3}, PlainType) || Compatible(StateType, PlainType) {
		t.Fatal("Compatible")
	}
}

// fromWire converts a wire payload. Data is shared, not copied.
func fromWire(p wire.Payload) Payload {
	out := Payload{Kind: p.Kind, Encoding: p.Encoding, Data: p.Data}
	if p.Lineage != nil {
		out.Lineage = *p.Lineage
	}
	return out
}
