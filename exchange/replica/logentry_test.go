package replica

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/internal/batches"
)

// TestExportSinceSharesLastEntry: a since payload of the last batch alone
// is the log entry itself, shared rather than copied; appending to it
// cannot write into the log, and the history counts batch bytes only
// (the entry's extra brackets are not history).
func TestExportSinceSharesLastEntry(t *testing.T) {
	d := newFactory().NewPlain(true)
	var sizes int
	for i, v := range []string{"one", "two \"quoted\"", "three"} {
		c, err := replaceChange(v)
		if err != nil {
			t.Fatal(err)
		}
		ops := []Op{{Path: Path{Field("k")}, Change: c}}
		sizes += len(encodeBatch(ops))
		mustApply(t, d, ops...)
		if h := d.History(); h.Batches != i+1 || h.Bytes != sizes {
			t.Fatalf("history %+v, want %d batches, %d bytes", h, i+1, sizes)
		}
	}
	prev := NewPlainVersion(d.Lineage(), 2)
	p, ok, err := d.ExportSince(prev)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	want := []byte(`[[{"path":[{"type":"field","field":"k"}],"change":{"type":"replace","value":"three"}}]]`)
	if !bytes.Equal(p.Data, want) {
		t.Fatalf("since payload\n%s\nwant\n%s", p.Data, want)
	}
	_ = append(p.Data, "garbage"...)
	again, _, _ := d.ExportSince(prev)
	if !bytes.Equal(again.Data, want) {
		t.Fatalf("log changed by an append to an exported payload:\n%s", again.Data)
	}
	// Several batches are joined into a fresh payload, and merge back.
	all, ok, err := d.ExportSince(NewPlainVersion(Genesis, 0))
	if err != nil || !ok || bytes.Count(all.Data, []byte(`"type":"replace"`)) != 3 {
		t.Fatalf("export of all: ok=%v err=%v %s", ok, err, all.Data)
	}
	dst := newFactory().NewPlain(true)
	if err := dst.Merge(all); err != nil {
		t.Fatal(err)
	}
	back, _, _ := dst.ExportSince(NewPlainVersion(Genesis, 0))
	if !bytes.Equal(back.Data, all.Data) || dst.History() != d.History() {
		t.Fatalf("merged log differs:\n%s\n%s\n%+v %+v", back.Data, all.Data, dst.History(), d.History())
	}
}

// TestMergeLargeBatchOwnsItsCopy: a large one-batch since payload is
// parsed from the replica's own copy (its strings share it), so changing
// the caller's bytes after the merge changes neither the state nor the
// log, and state, log and history are the sender's; likewise for two
// batches (copied entry by entry) and for values below half the payload.
func TestMergeLargeBatchOwnsItsCopy(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", shareMinPayload/8)
	for _, c := range []struct {
		value   string
		batches int
	}{{big, 1}, {big[:len(big)/3], 1}, {"small", 1}, {big, 2}} {
		src := newFactory().NewPlain(true)
		v, err := replaceChange(c.value)
		if err != nil {
			t.Fatal(err)
		}
		pad, err := replaceChange(strings.Repeat("y", shareMinPayload))
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, src, Op{Path: Path{Field("body")}, Change: v}, Op{Path: Path{Field("pad")}, Change: pad})
		if c.batches == 2 {
			mustApply(t, src, Op{Path: Path{Field("t")}, Change: pad})
		}
		since, ok, err := src.ExportSince(NewPlainVersion(Genesis, 0))
		if n, _ := batches.Count(since.Data); err != nil || !ok || n != c.batches {
			t.Fatal(n, ok, err)
		}
		data := bytes.Clone(since.Data)
		dst := newFactory().NewPlain(true)
		if err := dst.Merge(Payload{Kind: "since", Encoding: "json", Data: data, Lineage: src.Lineage()}); err != nil {
			t.Fatal(err)
		}
		for k := range data {
			data[k] = 'Z'
		}
		if jsonOf(t, dst) != jsonOf(t, src) {
			t.Fatalf("%d batches, value of %d bytes: state differs", c.batches, len(c.value))
		}
		back, _, _ := dst.ExportSince(NewPlainVersion(Genesis, 0))
		if !bytes.Equal(back.Data, since.Data) || dst.History() != src.History() {
			t.Fatalf("log differs: %d / %d bytes, %+v / %+v", len(back.Data), len(since.Data), dst.History(), src.History())
		}
	}
}

// TestMergeOwnedBatchKeepsData: an Owned one-batch since payload becomes
// the log entry as it is (no copy): exporting it again returns the very
// bytes that were merged, and the state equals the sender's. Without
// Owned the entry is a copy (TestMergeLargeBatchOwnsItsCopy).
func TestMergeOwnedBatchKeepsData(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", shareMinPayload/8)
	src := newFactory().NewPlain(true)
	v, err := replaceChange(big)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, src, Op{Path: Path{Field("body")}, Change: v})
	since, _, err := src.ExportSince(NewPlainVersion(Genesis, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, owned := range []bool{true, false} {
		data := bytes.Clone(since.Data)
		dst := newFactory().NewPlain(true)
		if err := dst.Merge(Payload{Kind: "since", Encoding: "json", Data: data, Lineage: src.Lineage(), Owned: owned}); err != nil {
			t.Fatal(err)
		}
		if jsonOf(t, dst) != jsonOf(t, src) {
			t.Fatalf("owned %v: state differs", owned)
		}
		back, _, _ := dst.ExportSince(NewPlainVersion(Genesis, 0))
		if same := &back.Data[0] == &data[0]; same != owned {
			t.Fatalf("owned %v: entry shares the merged bytes: %v", owned, same)
		}
	}
}
