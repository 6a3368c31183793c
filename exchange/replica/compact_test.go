package replica

import (
	"errors"
	"runtime"
	"strconv"
	"testing"
)

// heapInUse is the live heap after full collections (two, so objects
// parked in sync.Pool victim caches are gone too).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestPlainCompactionBoundsHistory writes a document 100,000 times, then
// compacts it: the memory the replica holds and everything it exports are
// then bounded by the size of its state (times a small constant) plus the
// history it was asked to keep, while before compaction they grow with
// every write.
func TestPlainCompactionBoundsHistory(t *testing.T) {
	const writes = 100_000
	const keep = 100 // recent batches kept, as for a peer slightly behind
	f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
	before := heapInUse()
	d := f.NewPlain(true)
	for i := range writes {
		var c Change
		var path Path
		switch i % 3 {
		case 0:
			path, c = Path{Field("count")}, incrementChange(1)
		case 1:
			path, c = Path{Field("k" + strconv.Itoa(i%50))}, mustReplace(t, "value "+strconv.Itoa(i))
		default:
			path, c = Path{Field("title")}, textInsertChange(0, "x")
			if i%6 == 5 {
				c = textDeleteChange(0, 1)
			}
		}
		if err := d.Apply([]Op{{Path: path, Change: c}}); err != nil {
			t.Fatal(err)
		}
	}
	state, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	stateBytes := uint64(len(state))
	bound := func(extra int) uint64 { return 16*stateBytes + uint64(extra) + 64<<10 }

	h := d.History()
	if h.Batches != writes {
		t.Fatalf("history %d batches before compaction, want %d", h.Batches, writes)
	}
	heldB := heldSince(before)
	if heldB <= bound(0) {
		// The bound must be one the uncompacted log breaks, or the test
		// below proves nothing.
		t.Fatalf("uncompacted replica holds only %d B (state %d B): the bound %d B would not catch it", heldB, stateBytes, bound(0))
	}
	t.Logf("before: state %d B, history %d batches / %d B, heap held %d B", stateBytes, h.Batches, h.Bytes, heldB)

	// Compact to a version `keep` batches back, as the exchange would for
	// the least version its peers confirmed.
	lineage := d.Lineage()
	lcv := NewPlainVersion(lineage, writes-keep)
	if err := d.Advance(lcv); err != nil {
		t.Fatal(err)
	}
	if got := d.BaseVersion().String(); got != lcv.String() {
		t.Fatalf("base %s, want %s", got, lcv)
	}
	h = d.History()
	if h.Batches != keep {
		t.Fatalf("%d batches kept, want %d", h.Batches, keep)
	}
	recent, ok, err := d.ExportSince(lcv)
	if err != nil || !ok {
		t.Fatalf("export since the base: ok=%v err=%v", ok, err)
	}
	if len(recent.Data) > h.Bytes+keep+2 {
		t.Fatalf("since export %d B for %d B of kept history", len(recent.Data), h.Bytes)
	}
	heldB = heldSince(before)
	t.Logf("after: history %d batches / %d B, heap held %d B", h.Batches, h.Bytes, heldB)
	if heldB > bound(h.Bytes*4) {
		t.Fatalf("compacted replica holds %d B; bound %d B (state %d B, kept history %d B)", heldB, bound(h.Bytes*4), stateBytes, h.Bytes)
	}

	// Everything before the base is served as the entirety, whose size is
	// the state's.
	for _, v := range []Version{NewPlainVersion(Genesis, 0), NewPlainVersion(lineage, 1), NewPlainVersion(lineage, writes-keep-1)} {
		if _, ok, err := d.ExportSince(v); ok || err != nil {
			t.Fatalf("export since %s before the base: ok=%v err=%v", v, ok, err)
		}
	}
	e, err := d.ExportEntirety()
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(e.Data)) != stateBytes {
		t.Fatalf("entirety %d B, state %d B", len(e.Data), stateBytes)
	}

	// Full compaction leaves no history at all.
	if err := d.Advance(d.Version()); err != nil {
		t.Fatal(err)
	}
	if h := d.History(); h != (History{}) {
		t.Fatalf("history after full compaction: %+v", h)
	}
	heldB = heldSince(before)
	if heldB > bound(0) {
		t.Fatalf("fully compacted replica holds %d B; bound %d B", heldB, bound(0))
	}
	runtime.KeepAlive(d)
}

// heldSince is the growth of the live heap since before (0 if it shrank).
func heldSince(before uint64) uint64 {
	now := heapInUse()
	return now - min(before, now)
}

// TestPlainPeerBehindBaseConverges: a peer that confirmed an early version
// falls behind the writer's compaction point; the writer can no longer
// send it a delta, so it sends the entirety, which the peer adopts with
// the writer's version, after which deltas flow again.
func TestPlainPeerBehindBaseConverges(t *testing.T) {
	f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
	w, peer, fresh := f.NewPlain(true), f.NewPlain(true), f.NewPlain(true)
	write := func(i int) {
		t.Helper()
		ops := []Op{
			{Path: Path{Field("n")}, Change: incrementChange(1)},
			{Path: Path{Field("l")}, Change: mustSeqInsert(t, 0, i)},
			{Path: Path{Field("t")}, Change: textInsertChange(0, "ab😀")},
		}
		if err := w.Apply(ops); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(to *plainReplica) {
		t.Helper()
		p, ok, err := w.ExportSince(to.Version())
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if err := to.Merge(p); err != nil {
				t.Fatal(err)
			}
			return
		}
		if o, _ := w.Version().Compare(to.Version()); o == Equal {
			return
		}
		// Behind the base: the exchange's fallback.
		if p, err = w.ExportEntirety(); err != nil {
			t.Fatal(err)
		}
		if err := to.ResetFromEntirety(p, w.Version()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		write(i)
	}
	sync(peer)
	for i := 10; i < 50; i++ {
		write(i)
	}
	// The writer compacts to 40 (say another peer confirmed 40): the peer
	// at 10 is now behind the base.
	if err := w.Advance(NewPlainVersion(w.Lineage(), 40)); err != nil {
		t.Fatal(err)
	}
	if err := w.Advance(NewPlainVersion(w.Lineage(), 39)); !errors.Is(err, errAdvanceRange) {
		t.Fatalf("advance behind the base: %v", err)
	}
	if _, ok, _ := w.ExportSince(peer.Version()); ok {
		t.Fatal("delta offered to a peer behind the base")
	}
	sync(peer)
	sync(fresh) // a genesis peer is behind every base > 0 too
	for _, r := range []*plainReplica{peer, fresh} {
		if r.Version().String() != w.Version().String() {
			t.Fatalf("peer at %s, writer at %s", r.Version(), w.Version())
		}
		if a, b := jsonOf(t, r), jsonOf(t, w); a != b {
			t.Fatalf("peer state\n%s\nwriter state\n%s", a, b)
		}
	}
	// Deltas flow again after the reset.
	write(50)
	p, ok, err := w.ExportSince(peer.Version())
	if err != nil || !ok || p.Kind != "since" {
		t.Fatalf("delta after reset: kind=%s ok=%v err=%v", p.Kind, ok, err)
	}
	if err := peer.Merge(p); err != nil {
		t.Fatal(err)
	}
	if peer.Version().String() != w.Version().String() || jsonOf(t, peer) != jsonOf(t, w) {
		t.Fatal("peer did not converge after the delta")
	}
}

func mustSeqInsert(t *testing.T, at int, items ...any) Change {
	t.Helper()
	c, err := sequenceInsertChange(at, items...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
