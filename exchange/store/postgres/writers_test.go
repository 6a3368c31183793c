package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// Several Store instances on the same tables stand for several nodes.
func nodes(t *testing.T, n int) []*Store {
	tables := Tables{Schema: newSchema(t)}
	out := make([]*Store, n)
	for i := range out {
		out[i] = open(t, tables, Options{})
	}
	return out
}

func version(i int) string { return fmt.Sprintf("L:%d", i) }

// TestWritersAreSerialized: many writers appending to one document at once
// get contiguous sequence numbers and never collide. Without the per-doc
// lock, MAX(seq)+1 computed by two transactions at once is the same number
// and one insert fails on the primary key.
func TestWritersAreSerialized(t *testing.T) {
	ns := nodes(t, 4)
	if err := ns[0].Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
		t.Fatal(err)
	}
	const per = 25
	var wg sync.WaitGroup
	errs := make(chan error, len(ns)*per)
	for i, s := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range per {
				if err := s.Append(ctx, "doc", storekit.MetaRecord(fmt.Sprintf("n%d-%d", i, j))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	var n, maxSeq int
	if err := admin.QueryRow(ctx, `SELECT count(*), max(seq) FROM `+ns[0].q.records+` WHERE doc_id = 'doc'`).Scan(&n, &maxSeq); err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(ns)*per; n != want || maxSeq != want-1 {
		t.Fatalf("rows = %d, max seq = %d; want %d rows numbered 0..%d", n, maxSeq, want, want-1)
	}
}

// TestTwoNodesPersistOneHistory: two nodes persist the same history of a
// document, each with its own writes, as cluster nodes do after
// replicating a change. Node 0 stores every version; node 1 coalesces (one
// delta per three versions, from the last version it stored), as an
// exchange does while a write is in flight. Each entry names its base. The
// stream must stay a chain — every delta starts where the previous entry
// ends, no version twice — and end at the last version. A writer whose
// base is not the head is told so (version conflict) and, like the
// exchange, retries from its last stored version with the next change.
func TestTwoNodesPersistOneHistory(t *testing.T) {
	const last = 60
	for round := range 5 {
		ns := nodes(t, 2)
		for _, s := range ns {
			if err := s.Replace(ctx, "doc", []store.Record{storekit.MetaRecord(""), chainEntry(wire.Entirety, "", version(0))}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		conflicts := make([]int, len(ns))
		fail := make(chan error, len(ns))
		for i, s := range ns {
			step := 1 + 2*i
			wg.Add(1)
			go func() {
				defer wg.Done()
				confirmed := version(0)
				for v := step; v <= last+step-1; v += step {
					v = min(v, last)
					err := s.Append(ctx, "doc", chainEntry(wire.Since, confirmed, version(v)))
					switch {
					case errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.VersionConflict}):
						conflicts[i]++
					case err != nil:
						fail <- err
						return
					default:
						confirmed = version(v)
					}
				}
			}()
		}
		wg.Wait()
		close(fail)
		for err := range fail {
			t.Fatal(err)
		}
		recs, err := ns[0].LoadAll(ctx, "doc")
		if err != nil {
			t.Fatal(err)
		}
		head := ""
		for i, r := range recs[1:] {
			var e struct{ Base, V string }
			if err := json.Unmarshal(r.Payload.Data, &e); err != nil {
				t.Fatal(err)
			}
			if e.Base != head {
				t.Fatalf("round %d: entry %d (%s) starts at %q but the stream ended at %q: replay would apply changes twice", round, i, e.V, e.Base, head)
			}
			head = e.V
		}
		if head != version(last) {
			t.Fatalf("round %d: stream ends at %q, want %q", round, head, version(last))
		}
		t.Logf("round %d: %d entries, version conflicts per node: %v", round, len(recs)-1, conflicts)
	}
}

// chainEntry is an entry whose data names the version its delta starts at.
func chainEntry(kind wire.PayloadKind, base, v string) store.Record {
	data, _ := json.Marshal(map[string]string{"base": base, "v": v})
	return store.EntryRecord(replica.Payload{Kind: kind, Encoding: wire.JSON, Data: data}, v)
}

// TestOneVersionOneContent: two nodes write different contents for the
// same version at once. Exactly one content is stored; the other write is
// recognised as that version and not stored again.
func TestOneVersionOneContent(t *testing.T) {
	for round := range 20 {
		ns := nodes(t, 2)
		doc := fmt.Sprintf("doc-%d", round)
		if err := ns[0].Append(ctx, doc, storekit.MetaRecord("")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range ns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Append(ctx, doc, storekit.BinaryRecord(wire.Since, "L:1", []byte{byte(i)}))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		recs, err := ns[1].LoadAll(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[1].Version != "L:1" {
			t.Fatalf("round %d: stream = %+v, want meta and one L:1", round, recs)
		}
	}
}

// TestStaleWriterIsRefused: a node whose view of the stream is behind
// cannot append a delta onto a head it never saw; nothing is written, and
// after loading the stream it can append again.
func TestStaleWriterIsRefused(t *testing.T) {
	ns := nodes(t, 2)
	a, b := ns[0], ns[1]
	if err := a.Replace(ctx, "doc", []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "L:1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.LoadAll(ctx, "doc"); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, "doc", storekit.EntryRecord(wire.Since, "L:2")); err != nil {
		t.Fatal(err)
	}
	err := b.Append(ctx, "doc", storekit.EntryRecord(wire.Since, "L:2b"))
	if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.VersionConflict}) || !strings.Contains(err.Error(), "doc 'doc'") {
		t.Fatalf("stale append = %v, want a version conflict", err)
	}
	recs, err := b.LoadAll(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[2].Version != "L:2" {
		t.Fatalf("stream = %+v", recs)
	}
	if err := b.Append(ctx, "doc", storekit.EntryRecord(wire.Since, "L:3")); err != nil {
		t.Fatalf("append after catching up: %v", err)
	}
	// A replace is last-writer-wins and resets what the writer knows.
	if err := a.Replace(ctx, "doc", []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "M:1")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, "doc", storekit.EntryRecord(wire.Since, "M:2")); err != nil {
		t.Fatal(err)
	}
}

// TestReplaceIfRegistersOnce: nodes that race to register one document
// with ReplaceIf (expecting it absent) store exactly one stream: one wins,
// every other is told where the winner's stream ends and writes nothing.
// A conditional rewrite succeeds only on the head it names.
func TestReplaceIfRegistersOnce(t *testing.T) {
	ns := nodes(t, 4)
	var wg sync.WaitGroup
	errs := make([]error, len(ns))
	for i, s := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.ReplaceIf(ctx, "doc", store.Head{}, []store.Record{storekit.MetaRecord(""),
				storekit.EntryRecord(wire.Entirety, fmt.Sprintf("N%d:1", i))})
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var he *store.HeadError
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("nodes %d and %d both registered the doc", winner, i)
		case !errors.As(err, &he) || !he.Head.Exists:
			t.Fatalf("node %d: %v, want a head error naming the winner's stream", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no node registered the doc")
	}
	want := fmt.Sprintf("N%d:1", winner)
	for i, err := range errs {
		var he *store.HeadError
		if i != winner && (!errors.As(err, &he) || he.Head.Version != want) {
			t.Fatalf("node %d was told %v, want head %s", i, err, want)
		}
	}
	recs, err := ns[0].LoadAll(ctx, "doc")
	if err != nil || len(recs) != 2 || recs[1].Version != want {
		t.Fatalf("stream = %+v, %v", recs, err)
	}
	// A rewrite on a stale head is refused; on the real head it lands.
	stale := store.Head{Exists: true, Version: "other:1"}
	rewrite := []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "M:5")}
	var he *store.HeadError
	if err := ns[1].ReplaceIf(ctx, "doc", stale, rewrite); !errors.As(err, &he) || he.Head.Version != want {
		t.Fatalf("rewrite on a stale head = %v", err)
	}
	if err := ns[1].ReplaceIf(ctx, "doc", store.Head{Exists: true, Version: want}, rewrite); err != nil {
		t.Fatalf("rewrite on the head: %v", err)
	}
	if h, err := ns[2].Head(ctx, "doc"); err != nil || h.Version != "M:5" {
		t.Fatalf("head after the rewrite = %+v, %v", h, err)
	}
}
