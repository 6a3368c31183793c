package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// replicas are the bindings of the documents the tests store: the
// exchange's built-in types.
func replicas() []replica.Bound {
	return []replica.Bound{
		{Factory: replica.NewPlainFactory(replica.PlainOptions{}), Mode: wire.Authoritative},
		{Factory: replica.NewLWWFactory(replica.LWWOptions{}), Mode: wire.Ephemeral},
		{Factory: replica.NewStateFactory(replica.StateOptions{}), Mode: wire.Ephemeral},
	}
}

// writer is an exchange with a store of its own on tables (wrapped by
// Shared when shared), on its own fake clock and without peers: a writer
// that does not see the others, as one cut off from them is.
type writer struct {
	t   *testing.T
	ex  *exchange.Exchange
	clk *clock.Fake
}

var sharedEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newWriter(t *testing.T, id string, tables Tables, shared bool) *writer {
	t.Helper()
	return newExchange(t, id, tables, shared, func(doc, op string, err error) {
		t.Errorf("%s: store %s of %s: %v", id, op, doc, err)
	})
}

func newExchange(t *testing.T, id string, tables Tables, shared bool, onErr func(doc, op string, err error)) *writer {
	t.Helper()
	var st store.Store = open(t, tables, Options{})
	if shared {
		st = st.(*Store).Shared(replicas()...)
	}
	clk := clock.NewFake(sharedEpoch)
	ex, err := exchange.New(exchange.Options{
		PeerID:       id,
		Stores:       []store.Store{st},
		Clock:        clk,
		OnStoreError: onErr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ex.Shutdown(ctx)
	})
	return &writer{t: t, ex: ex, clk: clk}
}

// flush waits until every write of w is stored.
func (w *writer) flush() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.ex.Flush(ctx); err != nil {
		w.t.Fatal(err)
	}
}

func (w *writer) doc(id string, dt exchange.DocType) *exchange.Doc {
	w.t.Helper()
	d, err := w.ex.Get(id, dt)
	if err != nil {
		w.t.Fatal(err)
	}
	w.flush() // loaded from the store
	return d
}

// set writes key=v at the writer's clock time at (seconds after the
// epoch) and waits until it is stored.
func (w *writer) set(d *exchange.Doc, at int, key string, v any) {
	w.t.Helper()
	if err := w.write(d, at, key, v); err != nil {
		w.t.Fatal(err)
	}
}

// write is set, reporting its failure instead (for other goroutines).
func (w *writer) write(d *exchange.Doc, at int, key string, v any) error {
	w.clk.Advance(sharedEpoch.Add(time.Duration(at) * time.Second).Sub(w.clk.Now()))
	if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P(key), v); return nil }); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return w.ex.Flush(ctx)
}

// retried returns once w has no failing store write left, firing its
// retry timers (the longest backoff is 30 s).
func (w *writer) retried() {
	w.t.Helper()
	for i := 0; w.ex.Stats().StoreUnhealthy > 0; i++ {
		if i == 100 {
			w.t.Fatalf("%s: store writes still failing after %d retries", w.ex.PeerID(), i)
		}
		w.clk.Advance(time.Minute)
		w.flush()
	}
}

// stored is the state a new exchange loads for doc from tables, and the
// store errors it met doing so.
func stored(t *testing.T, tables Tables, doc string, dt exchange.DocType) (map[string]any, []error) {
	t.Helper()
	var mu sync.Mutex
	var errs []error
	r := newExchange(t, "reader", tables, false, func(_, _ string, err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	})
	b, err := r.doc(doc, dt).JSON()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %s", doc, b)
	}
	return m, errs
}

// TestSharedKeepsConcurrentWrites: two exchanges write one document in
// turns without seeing each other's writes (as writers cut off from each
// other do); each write is stored (Flush returned) before the next. The
// store must then hold every acknowledged write, which a bare store does
// not:
//   - state document: b appends its field after a's; a's next delta no longer starts at the head, so a stores its
//     whole state with Replace, which on a bare store removes b's field;
//   - ephemeral (LWW) document: b's write is the newest; a, whose clock is
//     behind, then stores an older entirety after it, which on a bare
//     store breaks the stream (its replay no longer reaches the stored
//     versions) while the shared store keeps the newest entirety only;
//   - JSON (plain) document, one writer at a time: b loads a's first
//     version, then lags behind while a stores two more. b's own write
//     forks the document (which is why JSON documents take one writer at a
//     time); its delta no longer starts at the head and b cannot express
//     its state from a head ahead of it, so it stores its whole state with
//     Replace, which on a bare store removes a's acknowledged writes. The
//     shared store writes nothing behind the head.
func TestSharedKeepsConcurrentWrites(t *testing.T) {
	t.Run("state", func(t *testing.T) {
		for _, shared := range []bool{false, true} {
			tables := Tables{Schema: newSchema(t)}
			a := newWriter(t, "a", tables, shared)
			b := newWriter(t, "b", tables, shared)
			dt := exchange.StateDoc("")
			da := a.doc("d", dt)
			a.set(da, 1, "a", 1)
			db := b.doc("d", dt)
			b.set(db, 2, "b", 1)
			a.set(da, 3, "c", 1)
			got, errs := stored(t, tables, "d", dt)
			if len(errs) > 0 {
				t.Fatalf("shared=%v: loading the stream: %v", shared, errs)
			}
			want := map[string]any{"a": 1.0, "b": 1.0, "c": 1.0}
			switch {
			case shared && !reflect.DeepEqual(got, want):
				t.Errorf("shared store holds %v, want %v", got, want)
			case !shared && got["b"] != nil:
				t.Errorf("bare store holds %v: b's write was expected to be lost", got)
			}
		}
	})
	t.Run("ephemeral", func(t *testing.T) {
		for _, shared := range []bool{false, true} {
			tables := Tables{Schema: newSchema(t)}
			a := newWriter(t, "a", tables, shared)
			b := newWriter(t, "b", tables, shared)
			dt := exchange.EphemeralDoc("")
			da := a.doc("d", dt)
			a.set(da, 10, "v", "a1")
			db := b.doc("d", dt)
			b.set(db, 20, "v", "b")
			a.set(da, 15, "v", "a2") // older than b's write
			got, errs := stored(t, tables, "d", dt)
			var ce *store.CorruptError
			switch {
			case shared && len(errs) > 0:
				t.Fatalf("loading the shared stream: %v", errs)
			case shared && !reflect.DeepEqual(got, map[string]any{"v": "b"}):
				t.Errorf("shared store holds %v, want b's write, the newest", got)
			case !shared && (len(errs) != 1 || !errors.As(errs[0], &ce)):
				t.Errorf("bare store: loading gave %v, want the stale entirety to break the stream", errs)
			}
		}
	})
	t.Run("plain", func(t *testing.T) {
		for _, shared := range []bool{false, true} {
			tables := Tables{Schema: newSchema(t)}
			a := newWriter(t, "a", tables, shared)
			b := newWriter(t, "b", tables, shared)
			dt := exchange.JSONDoc("")
			da := a.doc("d", dt)
			a.set(da, 1, "a", 1)
			db := b.doc("d", dt)
			a.set(da, 2, "a2", 1)
			a.set(da, 3, "a3", 1)
			b.set(db, 4, "b", 1) // behind the stream
			got, errs := stored(t, tables, "d", dt)
			if len(errs) > 0 {
				t.Fatalf("shared=%v: loading the stream: %v", shared, errs)
			}
			want := map[string]any{"a": 1.0, "a2": 1.0, "a3": 1.0}
			switch {
			case shared && !reflect.DeepEqual(got, want):
				t.Errorf("shared store holds %v, want %v", got, want)
			case !shared && got["a3"] != nil:
				t.Errorf("bare store holds %v: a's writes were expected to be lost", got)
			}
		}
	})
}

// TestSharedConcurrentStateWriters: two exchanges write distinct fields
// of one state document at the same time, each storing every write
// before the next. Every field must be in the shared stream, which must
// replay cleanly. A write that found the head moving through all its
// attempts fails as transient ("write-failed"), as documented, and the
// exchange retries it with backoff: the test lets those retries run
// (advancing the writers' clocks) before it reads the stream; any other
// store error fails it.
func TestSharedConcurrentStateWriters(t *testing.T) {
	const n = 20
	tables := Tables{Schema: newSchema(t)}
	ws := make([]*writer, 2)
	for i, id := range []string{"a", "b"} {
		ws[i] = newExchange(t, id, tables, true, func(doc, op string, err error) {
			if kyneta.ReasonOf(err) != storeerr.WriteFailed || !store.Transient(err) {
				t.Errorf("%s: store %s of %s: %v", id, op, doc, err)
			}
		})
	}
	dt := exchange.StateDoc("")
	docs := make([]*exchange.Doc, len(ws))
	for i, w := range ws {
		docs[i] = w.doc("d", dt)
	}
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				if err := w.write(docs[i], 2*(j+1)+i, fmt.Sprintf("%s%d", w.ex.PeerID(), j), j); err != nil {
					t.Errorf("%s: %v", w.ex.PeerID(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, w := range ws {
		w.retried()
	}
	got, errs := stored(t, tables, "d", dt)
	if len(errs) > 0 {
		t.Fatalf("loading the stream: %v", errs)
	}
	for _, w := range ws {
		for j := range n {
			if k := fmt.Sprintf("%s%d", w.ex.PeerID(), j); got[k] != float64(j) {
				t.Errorf("%s = %v, want %d (stored %v)", k, got[k], j, got)
			}
		}
	}
}

// TestSharedRewritesOnlyAhead: a plain document's Replace through the
// shared store creates an absent stream, rewrites one whose head it is
// ahead of, and writes nothing at or behind the head; a batch without
// meta, or of a type the store was not given, is refused.
func TestSharedRewritesOnlyAhead(t *testing.T) {
	ns := nodes(t, 2)
	sh := ns[0].Shared(replicas()...)
	replace := func(v string) error {
		return sh.Replace(ctx, "doc", []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, v)})
	}
	head := func() string {
		t.Helper()
		h, err := ns[1].Head(ctx, "doc")
		if err != nil {
			t.Fatal(err)
		}
		return h.Version
	}
	for _, step := range []struct{ write, head string }{
		{"L:2", "L:2"}, // created
		{"L:5", "L:5"}, // ahead: rewritten
		{"L:3", "L:5"}, // behind: nothing written
		{"L:5", "L:5"}, // at the head: nothing written
	} {
		if err := replace(step.write); err != nil {
			t.Fatalf("Replace at %s: %v", step.write, err)
		}
		if h := head(); h != step.head {
			t.Fatalf("after a Replace at %s the head is %s, want %s", step.write, h, step.head)
		}
	}
	if recs, err := ns[1].LoadAll(ctx, "doc"); err != nil || len(recs) != 2 {
		t.Fatalf("stream = %+v, %v; want meta and the entry at L:5", recs, err)
	}
	if err := sh.Replace(ctx, "other", []store.Record{storekit.EntryRecord(wire.Entirety, "L:1")}); kyneta.ReasonOf(err) != storeerr.ReplaceWithoutMeta {
		t.Errorf("Replace without meta = %v", err)
	}
	loro := store.Meta{ReplicaType: wire.ReplicaType{Name: "loro", Major: 1}, SyncMode: wire.Collaborative}
	if err := sh.Replace(ctx, "other", []store.Record{store.MetaRecord(loro)}); kyneta.ReasonOf(err) != storeerr.InvalidRecord {
		t.Errorf("Replace of a type the store was not given = %v", err)
	}
}
