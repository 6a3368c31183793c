package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/sqlite"
)

// gatedStore holds LoadAll until the test releases it, so a write can be
// made deterministically while a document is still loading.
type gatedStore struct {
	*sqlite.Store
	once    sync.Once
	loading chan struct{} // closed when LoadAll is entered
	release chan struct{}
}

func (g *gatedStore) LoadAll(ctx context.Context, docID string) ([]store.Record, error) {
	g.once.Do(func() { close(g.loading) })
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Store.LoadAll(ctx, docID)
}

// TestWriteWhileLoadingIsKept: a service that restarts, calls Get and
// writes at once (before the stored document finished loading) must keep
// that write, in memory and on disk, once Flush returns. Get documents
// that it returns at once and loads in the background, so writing right
// away is ordinary use. This is the deterministic form of the durability
// writer's write-at-once rounds (which once lost the first batch after
// every restart), with the load held open by the store.
func TestWriteWhileLoadingIsKept(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "k.db")
	dt := exchange.JSONDoc("loading")

	open := func(gate *gatedStore) (*exchange.Exchange, *exchange.Doc) {
		t.Helper()
		st, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var s store.Store = st
		if gate != nil {
			gate.Store = st
			s = gate
		}
		ex, err := exchange.New(exchange.Options{PeerID: "svc", Stores: []store.Store{s},
			OnStoreError: func(doc, op string, err error) { t.Errorf("store %s %s: %v", op, doc, err) }})
		if err != nil {
			t.Fatal(err)
		}
		d, err := ex.Get("cfg", dt)
		if err != nil {
			t.Fatal(err)
		}
		return ex, d
	}
	set := func(d *exchange.Doc, k string, v int) {
		t.Helper()
		if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P(k), v); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	shutdown := func(ex *exchange.Exchange) {
		t.Helper()
		if err := ex.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := func(d *exchange.Doc, when, js string) {
		t.Helper()
		got, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != js {
			t.Errorf("%s: document is %s, want %s", when, got, js)
		}
	}

	// First life: the document is created and stored.
	ex, d := open(nil)
	set(d, "a", 1)
	if err := ex.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	shutdown(ex)

	// Second life: write while the stored document is loading.
	gate := &gatedStore{loading: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gate.release) }) }
	defer release()
	ex, d = open(gate)
	select {
	case <-gate.loading:
	case <-ctx.Done():
		t.Fatal("the document never started loading")
	}
	// Update is documented not to block while the document loads; it
	// runs on its own goroutine so a regression fails here instead of
	// hanging the test.
	updated := make(chan error, 1)
	go func() {
		updated <- d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("b"), 2); return nil })
	}()
	select {
	case err := <-updated:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		release()
		<-updated
		t.Fatal("Update blocked while the document was loading")
	}
	release()
	if err := ex.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want(d, "after Flush, in memory", `{"a":1,"b":2}`)
	shutdown(ex)

	// Third life: both writes are on disk.
	ex, d = open(nil)
	if err := ex.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want(d, "after restart, from the file", `{"a":1,"b":2}`)
	shutdown(ex)
}
