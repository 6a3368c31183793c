package replica

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// wholeEntryOf is the log entry of ops encoded into one buffer, as every
// entry was before large strings were kept by reference.
func wholeEntryOf(ops []Op) []byte {
	return append(append([]byte{'['}, encodeBatch(ops)...), ']')
}

// TestLargeLocalWriteIsKeptByReference: a local write of a large string
// keeps the string's memory in its log entry instead of a copy, exports it
// in pieces around that memory, and every export that needs one buffer
// gets the bytes the copied entry had.
func TestLargeLocalWriteIsKeptByReference(t *testing.T) {
	big := strings.Repeat("abcdefghijklmnopqrstuvwxyz012345", 1<<15) // 1 MiB
	p := newFactory().NewPlain(true)
	mustApply(t, p, set(t, "small", "x"))
	v1 := p.Version()
	ops := []Op{set(t, "body", big), set(t, "other", "y")}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	mustApply(t, p, ops...)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("a write of a 1 MiB string allocated %d bytes; it should keep the string", n)
	}

	pl, d, ok, err := p.ExportSincePieces(v1)
	if err != nil || !ok || pl.Data != nil || pl.Kind != "since" || pl.Lineage != p.Lineage() {
		t.Fatalf("ExportSincePieces: %+v, %v, %v", pl, ok, err)
	}
	if len(d.Body) != len(big) || unsafe.SliceData(d.Body) != unsafe.StringData(big) {
		t.Fatal("the exported body is not the string's memory")
	}
	want := wholeEntryOf(ops)
	if !bytes.Equal(d.Join(), want) {
		t.Fatalf("pieces join to\n%.200s\nwant\n%.200s", d.Join(), want)
	}
	// The history counts the bytes the copied entries had.
	if h, n := p.History(), len(wholeEntryOf([]Op{set(t, "small", "x")}))-2+len(want)-2; h.Batches != 2 || h.Bytes != n {
		t.Fatalf("history %+v, want 2 batches of %d bytes", h, n)
	}

	// Two batches: joined into one buffer without keeping the join.
	all, ok := exportSince(t, p, PlainVersion{lineage: Genesis})
	if !ok || !bytes.Equal(all.Data, []byte("["+string(encodeBatch([]Op{set(t, "small", "x")}))+","+string(want[1:len(want)-1])+"]")) {
		t.Fatalf("export of both batches: %.200s", all.Data)
	}
	if _, d, _, _ := p.ExportSincePieces(v1); d.Len() == 0 {
		t.Fatal("a multi-batch export joined the kept entry")
	}

	// The last batch alone through ExportSince: joined once, and from then
	// on the entry is one buffer.
	last, ok := exportSince(t, p, v1)
	if !ok || !bytes.Equal(last.Data, want) {
		t.Fatalf("ExportSince of the kept entry: %.200s", last.Data)
	}
	if pl, d, ok, err := p.ExportSincePieces(v1); err != nil || !ok || d.Len() != 0 || !bytes.Equal(pl.Data, want) {
		t.Fatalf("after the join: %d pieces bytes, data %.100s", d.Len(), pl.Data)
	}

	// A peer that merges the pieces' join converges.
	peer := newFactory().NewPlain(true)
	mustMerge(t, peer, all)
	if jsonOf(t, peer) != jsonOf(t, p) {
		t.Fatal("a peer merging the export differs")
	}
}

// TestSmallOrEscapedStringsAreCopied: only a string of at least splitMin
// bytes that JSON writes verbatim is kept by reference.
func TestSmallOrEscapedStringsAreCopied(t *testing.T) {
	for name, s := range map[string]string{
		"small":     strings.Repeat("a", splitMin-1),
		"quote":     strings.Repeat("a", splitMin) + `"`,
		"control":   "\n" + strings.Repeat("a", splitMin),
		"bad utf-8": strings.Repeat("a", splitMin) + "\xff",
	} {
		p := newFactory().NewPlain(true)
		ops := []Op{set(t, "body", s)}
		mustApply(t, p, ops...)
		pl, d, ok, err := p.ExportSincePieces(PlainVersion{lineage: Genesis})
		if err != nil || !ok || d.Len() != 0 || !bytes.Equal(pl.Data, wholeEntryOf(ops)) {
			t.Fatalf("%s: kept in pieces (%d bytes) or exported wrong", name, d.Len())
		}
	}
	// The first large verbatim string is the one kept; a second is copied.
	big := strings.Repeat("b", splitMin)
	p := newFactory().NewPlain(true)
	ops := []Op{set(t, "a", big), set(t, "b", big+"c")}
	mustApply(t, p, ops...)
	_, d, _, _ := p.ExportSincePieces(PlainVersion{lineage: Genesis})
	if len(d.Body) != len(big) || !bytes.Equal(d.Join(), wholeEntryOf(ops)) {
		t.Fatalf("body of %d bytes, join differs: %v", len(d.Body), !bytes.Equal(d.Join(), wholeEntryOf(ops)))
	}
}
