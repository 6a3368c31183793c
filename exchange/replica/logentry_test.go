package replica

import (
	"bytes"
	"testing"
)

// TestExportSinceSharesLastEntry: a since payload of the last batch alone
// is the log entry itself, shared rather than copied; appending to it
// cannot write into the log, and the history counts batch bytes only
// (the entry's extra brackets are not history).
func TestExportSinceSharesLastEntry(t *testing.T) {
	d := newFactory().NewPlain(true)
	var sizes int
	for i, v := range []string{"one", "two \"quoted\"", "three"} {
		c, err := ReplaceChange(v)
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
