package replica

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kyneta-go/kyneta/wire"
)

// yjsLike returns a binary payload shaped like a Yjs update (the bytes are
// opaque to the relay; only identity matters).
func yjsLike(kind wire.PayloadKind, b ...byte) Payload {
	return Payload{Kind: kind, Encoding: wire.Binary, Data: append([]byte{0x01, 0x02}, b...)}
}

func stamps(parts []OfferPart) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.Version
	}
	return out
}

func TestOpaqueRelay(t *testing.T) {
	yjs := wire.ReplicaType{Name: "yjs", Major: 1}
	f := newOpaqueFactory(yjs, OpaqueOptions{})
	if f.Type() != yjs {
		t.Fatal("type")
	}
	relay := f.NewOpaque()
	if relay.Version().String() != "" || relay.SetUnion() != true {
		t.Fatal("fresh relay")
	}
	if parts, _ := relay.ExportFor(""); len(parts) != 0 {
		t.Fatal("empty relay exports")
	}
	// Peer A sends its entirety, then an update.
	u1 := yjsLike(wire.Entirety, 10, 0x00, 0xff)
	u2 := yjsLike(wire.Since, 11)
	if err := relay.MergeStamped(u1, "AAE=.d1", "A"); err != nil {
		t.Fatal(err)
	}
	pre := relay.Version().String()
	if err := relay.MergeStamped(u2, "AAI=.d2", "A"); err != nil {
		t.Fatal(err)
	}
	// A relay push with since = pre-import version forwards only u2.
	parts, err := relay.ExportFor(pre)
	if err != nil || len(parts) != 1 || !bytes.Equal(parts[0].Payload.Data, u2.Data) || parts[0].Version != "AAI=.d2" {
		t.Fatalf("push parts %+v %v", parts, err)
	}
	// A late joiner with no version gets everything, relabelled since, in
	// arrival order, each with the stamp it arrived with.
	parts, _ = relay.ExportFor("")
	if got := stamps(parts); len(got) != 2 || got[0] != "AAE=.d1" || got[1] != "AAI=.d2" {
		t.Fatalf("late joiner stamps %v", got)
	}
	for _, p := range parts {
		if p.Payload.Kind != wire.Since || p.Payload.Encoding != wire.Binary {
			t.Fatalf("replayed payload %+v", p)
		}
	}
	if !bytes.Equal(parts[0].Payload.Data, u1.Data) {
		t.Fatal("payload bytes changed")
	}
	// An unknown peer version also gets the whole log.
	if parts, _ := relay.ExportFor("something-else"); len(parts) != 2 {
		t.Fatal("unknown version must replay everything")
	}
	if parts, _ := relay.ExportFor("AAI=.d2"); len(parts) != 0 {
		t.Fatal("an up-to-date peer gets nothing")
	}
	// Peer B re-sends u1 under its own stamp: deduplicated, but B's claim
	// moves; the relay's own version does not.
	if err := relay.MergeStamped(yjsLike(wire.Since, 10, 0x00, 0xff), "Bv1", "B"); err != nil {
		t.Fatal(err)
	}
	if relay.Len() != 2 || relay.Version().String() != "AAI=.d2" {
		t.Fatalf("dedup failed: %d %s", relay.Len(), relay.Version())
	}
	if v, ok := relay.VersionFor("B"); !ok || v != "Bv1" {
		t.Fatalf("VersionFor(B) = %q %v", v, ok)
	}
	if v, ok := relay.VersionFor("A"); !ok || v != "AAI=.d2" {
		t.Fatalf("VersionFor(A) = %q %v", v, ok)
	}
	if _, ok := relay.VersionFor("C"); ok {
		t.Fatal("claimed a version for a peer that sent nothing")
	}
	// A JSON payload with the same bytes is a different blob.
	if err := relay.MergeStamped(Payload{Kind: wire.Since, Encoding: wire.JSON, Data: u2.Data}, "x", "C"); err != nil || relay.Len() != 3 {
		t.Fatalf("json blob: %v %d", err, relay.Len())
	}

	// Restart: hydrate a fresh replica from the persisted entries.
	restarted := f.NewOpaque()
	for _, e := range relay.Entries() {
		if err := restarted.MergeStamped(e.Payload, e.Stamp, ""); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := relay.ExportFor("")
	b, _ := restarted.ExportFor("")
	if len(a) != len(b) || restarted.Version() != relay.Version() || restarted.Size() != relay.Size() {
		t.Fatalf("restart differs: %v vs %v", stamps(a), stamps(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].Payload.Data, b[i].Payload.Data) || a[i].Version != b[i].Version {
			t.Fatalf("restart part %d differs", i)
		}
	}
	// Reset degrades to a merge: nothing is lost.
	if err := restarted.ResetFromEntirety(yjsLike(wire.Entirety, 99), newOpaqueVersion("Rv")); err != nil {
		t.Fatal(err)
	}
	if restarted.Len() != 4 || restarted.Version().String() != "Rv" {
		t.Fatalf("reset: %d %s", restarted.Len(), restarted.Version())
	}
}

func TestOpaqueVersionsCapsAndErrors(t *testing.T) {
	f := newOpaqueFactory(wire.ReplicaType{Name: "loro", Major: 1}, OpaqueOptions{MaxBytes: 10, MaxEntries: 2})
	o := f.NewOpaque()
	if err := o.MergeStamped(Payload{Kind: wire.Since, Encoding: wire.Binary, Data: make([]byte, 6)}, "v1", "A"); err != nil {
		t.Fatal(err)
	}
	if err := o.MergeStamped(Payload{Kind: wire.Since, Encoding: wire.Binary, Data: make([]byte, 5)}, "v2", "A"); !errors.Is(err, errCapacity) {
		t.Fatalf("byte cap: %v", err)
	}
	if err := o.MergeStamped(Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{1}}, "v2", "A"); err != nil {
		t.Fatal(err)
	}
	if err := o.MergeStamped(Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{2}}, "v3", "A"); !errors.Is(err, errCapacity) {
		t.Fatalf("entry cap: %v", err)
	}
	if err := o.Merge(Payload{Kind: "x", Encoding: wire.Binary}); !errors.Is(err, errEncoding) {
		t.Fatalf("bad kind: %v", err)
	}
	if err := o.Merge(Payload{Kind: wire.Since, Encoding: "cbor"}); !errors.Is(err, errEncoding) {
		t.Fatalf("bad encoding: %v", err)
	}
	if _, err := o.ExportEntirety(); !errors.Is(err, errUnsupported) {
		t.Fatalf("entirety of two: %v", err)
	}
	if p, ok, err := o.ExportSince(newOpaqueVersion("v1")); err != nil || !ok || p.Data[0] != 1 {
		t.Fatalf("since v1: %+v %v %v", p, ok, err)
	}
	if _, ok, _ := o.ExportSince(nil); ok {
		t.Fatal("two parts cannot be one payload")
	}
	if err := o.Advance(o.Version()); err != nil || o.BaseVersion().String() != "" {
		t.Fatal("advance")
	}
	if err := o.Advance(NewPlainVersion("L", 1)); !errors.Is(err, errVersionMismatch) {
		t.Fatal("advance with plain version")
	}
	// Versions: equal iff identical, otherwise concurrent.
	v1, _ := f.ParseVersion("abc")
	v2, _ := f.ParseVersion("abd")
	if o, _ := v1.Compare(v2); o != Concurrent {
		t.Fatal("different stamps must be concurrent")
	}
	if o, _ := v1.Compare(newOpaqueVersion("abc")); o != Equal {
		t.Fatal("same stamps must be equal")
	}
	if m, _ := v1.Meet(v2); m.String() != "" {
		t.Fatal("meet of different stamps")
	}
	if m, _ := v1.Meet(v1); m.String() != "abc" {
		t.Fatal("meet of equal stamps")
	}
	if _, err := v1.Compare(newStateVersion(1)); !errors.Is(err, errVersionMismatch) {
		t.Fatal("compare with state version")
	}
	if _, err := f.ParseVersion(""); !errors.Is(err, errVersionParse) {
		t.Fatal("empty opaque version")
	}
	if v1.Lineage() != Genesis {
		t.Fatal("lineage")
	}
	// FromEntirety keeps the payload but has no stamp to replay it with.
	r, err := f.FromEntirety(Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: []byte{7}})
	if err != nil {
		t.Fatal(err)
	}
	if parts, _ := r.(*opaqueReplica).ExportFor(""); len(parts) != 0 {
		t.Fatal("unstamped payloads cannot be replayed")
	}
	if e, err := r.ExportEntirety(); err != nil || e.Data[0] != 7 || e.Kind != wire.Entirety {
		t.Fatalf("single entirety %+v %v", e, err)
	}
	if err := r.(*opaqueReplica).MergeStamped(Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{8}}, "s", ""); err != nil {
		t.Fatal(err)
	}
	if parts, _ := r.(*opaqueReplica).ExportFor(""); len(parts) != 2 || parts[0].Version != "s" {
		t.Fatalf("unstamped payload replayed with the newest stamp: %+v", parts)
	}
	if e, _ := f.NewOpaque().ExportEntirety(); e.Kind != wire.Entirety || len(e.Data) != 0 {
		t.Fatal("empty entirety")
	}
}
