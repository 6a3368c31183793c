package exchange

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/schema"
	"github.com/kyneta-go/kyneta/wire"
)

func withStore(s ...store.Store) func(*Options) {
	return func(o *Options) { o.Stores = s }
}

func flush(t *testing.T, ex *Exchange) {
	t.Helper()
	if err := ex.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func records(t *testing.T, s store.Store, doc string) []store.Record {
	t.Helper()
	recs, err := s.LoadAll(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestPersistAndHydrateAcrossRestart(t *testing.T) {
	for _, dt := range []DocType{jsonDoc, ephDoc} {
		t.Run(dt.Name, func(t *testing.T) {
			data := store.NewMemoryData()
			n := newTestNet(t)
			a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
			d := mustGet(t, a, "d", dt)
			update(t, d, func(tx *Tx) { tx.Set(P("n"), 1) })
			update(t, d, func(tx *Tx) { tx.Set(P("list"), []any{"x"}) })
			n.settle()
			flush(t, a)
			update(t, d, func(tx *Tx) { tx.ListInsert(P("list"), 1, "y") })
			flush(t, a)
			version := d.Version()
			n.stop("a")

			a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
			d2 := mustGet(t, a2, "d", dt) // returns at once, hydrates in the background
			flush(t, a2)
			wantJSON(t, d2, `{"n":1,"list":["x","y"]}`)
			if dt.Mode == wire.Authoritative && d2.Version() != version {
				t.Fatalf("hydrated version %s, was %s", d2.Version(), version)
			}
			// A new peer is served from the hydrated copy.
			b := n.peer("b")
			db := mustGet(t, b, "d", dt)
			n.settle()
			wantJSON(t, db, `{"n":1,"list":["x","y"]}`)
		})
	}
}

func TestPersistLayoutAndNetworkImports(t *testing.T) {
	n := newTestNet(t)
	sa := store.NewMemory(store.MemoryOptions{})
	sb := store.NewMemory(store.MemoryOptions{})
	a := n.peer("a", withStore(sa))
	b := n.peer("b", withStore(sb))
	da := mustGet(t, a, "d", jsonDoc)
	flush(t, a)
	update(t, da, func(tx *Tx) { tx.Set(P("n"), 1) })
	flush(t, a)
	update(t, da, func(tx *Tx) { tx.Set(P("n"), 2) })
	flush(t, a)
	recs := records(t, sa, "d")
	if len(recs) != 4 || recs[0].Kind != store.KindMeta || recs[0].Meta.SchemaHash != "h-json" ||
		recs[1].Payload.Kind != "entirety" || recs[2].Payload.Kind != "since" || recs[3].Version != da.Version() {
		t.Fatalf("records %+v", recs)
	}
	// Data that arrives from the network is persisted too.
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	flush(t, b)
	wantJSON(t, db, `{"n":2}`)
	recs = records(t, sb, "d")
	if last := recs[len(recs)-1]; last.Version != db.Version() {
		t.Fatalf("b stored up to %s, has %s", last.Version, db.Version())
	}
}

func TestWriteDuringRegistrationIsPersisted(t *testing.T) {
	// The reference skipped persisting a change made while the doc's first
	// store write was in flight until the next change (§10.3 item 7).
	data := store.NewMemoryData()
	n := newTestNet(t)
	a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d := mustGet(t, a, "d", jsonDoc)
	update(t, d, func(tx *Tx) { tx.Set(P("early"), true) }) // before hydration finished
	flush(t, a)
	update(t, d, func(tx *Tx) { tx.Set(P("a"), 1) })
	update(t, d, func(tx *Tx) { tx.Set(P("b"), 2) }) // while a write may be in flight
	flush(t, a)
	n.stop("a")
	a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d2 := mustGet(t, a2, "d", jsonDoc)
	flush(t, a2)
	wantJSON(t, d2, `{"early":true,"a":1,"b":2}`)
}

// relayWroteAndStopped runs a relay (Replicate everything) with a store
// kept in data, lets peer a write doc d ({"v":"from a"}) through it, and
// stops both; it returns the relay's options for a restart.
func relayWroteAndStopped(t *testing.T, n *testNet, data *store.MemoryData) func(*Options) {
	t.Helper()
	relay := func(o *Options) {
		o.Policies = []Policy{relayPolicy()}
		o.Stores = []store.Store{store.NewMemory(store.MemoryOptions{Data: data})}
	}
	n.peer("hub", relay)
	a := n.peer("a")
	update(t, mustGet(t, a, "d", jsonDoc), func(tx *Tx) { tx.Set(P("v"), "from a") })
	n.settle()
	flush(t, n.exs["hub"])
	n.stop("a")
	n.stop("hub")
	return relay
}

func TestReplicatedDocsPersistOnRelay(t *testing.T) {
	n := newTestNet(t)
	relay := relayWroteAndStopped(t, n, store.NewMemoryData())
	hub2 := n.peer("hub", relay)
	// A headless doc is hydrated when it is replicated again.
	if err := hub2.Replicate("d", &jsonDoc); err != nil {
		t.Fatal(err)
	}
	flush(t, hub2)
	b := n.peer("b")
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	wantJSON(t, db, `{"v":"from a"}`)
}

func TestDestroyDeletesFromStore(t *testing.T) {
	s := store.NewMemory(store.MemoryOptions{})
	n := newTestNet(t)
	a := n.peer("a", withStore(s))
	d := mustGet(t, a, "d", jsonDoc)
	update(t, d, func(tx *Tx) { tx.Set(P("x"), 1) })
	flush(t, a)
	if len(records(t, s, "d")) == 0 {
		t.Fatal("not stored")
	}
	if err := a.Destroy("d"); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	if m, _ := s.CurrentMeta(context.Background(), "d"); m != nil || len(records(t, s, "d")) != 0 {
		t.Fatal("still stored")
	}
}

func TestStoreErrorsAreReportedAndHeal(t *testing.T) {
	var failing sync.Map
	boom := errors.New("disk full")
	s := store.NewMemory(store.MemoryOptions{Seam: func(int) error {
		if _, on := failing.Load("on"); on {
			return boom
		}
		return nil
	}})
	var mu sync.Mutex
	var reported []error
	n := newTestNet(t)
	a := n.peer("a", withStore(s), func(o *Options) {
		o.OnStoreError = func(doc, op string, err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		}
	})
	d := mustGet(t, a, "d", jsonDoc)
	flush(t, a)
	failing.Store("on", true)
	update(t, d, func(tx *Tx) { tx.Set(P("n"), 1) })
	flush(t, a)
	mu.Lock()
	if len(reported) == 0 || !errors.Is(reported[0], boom) {
		t.Fatalf("reported %v", reported)
	}
	mu.Unlock()
	if st := a.Stats(); st.StoreUnhealthy != 1 || st.StoreErrors == 0 {
		t.Fatalf("while the store fails: %+v", st)
	}
	// The write is retried with backoff and lands once the store heals.
	failing.Delete("on")
	n.clk.Advance(time.Second)
	n.settle()
	flush(t, a)
	if st := a.Stats(); st.StoreUnhealthy != 0 {
		t.Fatalf("after the store healed: %+v", st)
	}
	if recs := records(t, s, "d"); recs[len(recs)-1].Version != d.Version() {
		t.Fatalf("retry stored up to %s, doc at %s", recs[len(recs)-1].Version, d.Version())
	}
	update(t, d, func(tx *Tx) { tx.Set(P("m"), 2) })
	flush(t, a)
	// The next write starts from the last confirmed version: nothing lost.
	recs := records(t, s, "d")
	if last := recs[len(recs)-1]; last.Version != d.Version() {
		t.Fatalf("stored up to %s, doc at %s", last.Version, d.Version())
	}
	a2data := store.NewMemory(store.MemoryOptions{Data: s.Data()})
	n.stop("a")
	a2 := n.peer("a", withStore(a2data))
	d2 := mustGet(t, a2, "d", jsonDoc)
	flush(t, a2)
	wantJSON(t, d2, `{"n":1,"m":2}`)
}

func TestMultiStoreFirstHitHydration(t *testing.T) {
	ctx := context.Background()
	first := store.NewMemory(store.MemoryOptions{})
	second := store.NewMemory(store.MemoryOptions{})
	// Prime the second store through an exchange that only knows it.
	n := newTestNet(t)
	p := n.peer("p", withStore(second))
	d := mustGet(t, p, "d", jsonDoc)
	update(t, d, func(tx *Tx) { tx.Set(P("from"), "second") })
	flush(t, p)
	n.stop("p")
	second = store.NewMemory(store.MemoryOptions{Data: second.Data()})

	a := n.peer("a", withStore(first, second))
	da := mustGet(t, a, "d", jsonDoc)
	flush(t, a)
	wantJSON(t, da, `{"from":"second"}`)
	// Found in the second store: hydrated from there; the first store,
	// which lacked the doc, is brought up to the same version.
	recs, err := first.LoadAll(ctx, "d")
	if err != nil || len(recs) == 0 || recs[len(recs)-1].Version != da.Version() {
		t.Fatalf("first store holds %v (%v), doc at %s", recs, err, da.Version())
	}
	if h, _ := second.Head(ctx, "d"); h.Version != da.Version() {
		t.Fatalf("second store head %+v", h)
	}
}

func TestUpdateDuringHydrationKeepsStoredState(t *testing.T) {
	data := store.NewMemoryData()
	n := newTestNet(t)
	a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d := mustGet(t, a, "d", jsonDoc)
	update(t, d, func(tx *Tx) { tx.Set(P("old"), 1) })
	flush(t, a)
	n.stop("a")
	a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d2 := mustGet(t, a2, "d", jsonDoc)
	update(t, d2, func(tx *Tx) { tx.Set(P("new"), 2) }) // waits for the stored state
	flush(t, a2)
	wantJSON(t, d2, `{"old":1,"new":2}`)
	n.stop("a")
	a3 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d3 := mustGet(t, a3, "d", jsonDoc)
	flush(t, a3)
	wantJSON(t, d3, `{"old":1,"new":2}`)
}

func TestSuspendedWritesArePersistedOnResume(t *testing.T) {
	data := store.NewMemoryData()
	n := newTestNet(t)
	a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d := mustGet(t, a, "d", jsonDoc)
	flush(t, a)
	if err := a.Suspend("d"); err != nil {
		t.Fatal(err)
	}
	update(t, d, func(tx *Tx) { tx.Set(P("offline"), true) })
	if err := a.Resume("d"); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	n.stop("a")
	a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d2 := mustGet(t, a2, "d", jsonDoc)
	flush(t, a2)
	wantJSON(t, d2, `{"offline":true}`)
}

func TestDestroyDuringWriteThenGetAgain(t *testing.T) {
	s := store.NewMemory(store.MemoryOptions{})
	n := newTestNet(t)
	a := n.peer("a", withStore(s))
	d := mustGet(t, a, "d", jsonDoc)
	update(t, d, func(tx *Tx) { tx.Set(P("old"), 1) })
	// No flush: the registration may still be in flight when the doc is
	// destroyed and created again.
	if err := a.Destroy("d"); err != nil {
		t.Fatal(err)
	}
	d2 := mustGet(t, a, "d", jsonDoc)
	update(t, d2, func(tx *Tx) { tx.Set(P("new"), 2) })
	flush(t, a)
	n.stop("a")
	a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: s.Data()})))
	d3 := mustGet(t, a2, "d", jsonDoc)
	flush(t, a2)
	wantJSON(t, d3, `{"new":2}`)
}

// A typed document (schema defaults) registered with a store before its
// first write is stored as an entirety at the fresh version; replaying it
// must not count as a change, or the stream looks corrupt (a version gap)
// and the writes after it are lost on restart.
func TestTypedDocWithDefaultsSurvivesRestart(t *testing.T) {
	data := store.NewMemoryData()
	n := newTestNet(t)
	var diags []Diagnostic
	var mu sync.Mutex
	onDiag := func(o *Options) {
		o.OnDiagnostic = func(d Diagnostic) {
			mu.Lock()
			defer mu.Unlock()
			diags = append(diags, d)
		}
	}
	a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})), onDiag)
	ta, err := Bind[note](a, "n", schema.BindingJSON)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a) // the registration is stored before any write
	if err := ta.Modify(func(v *note) error { v.Title = "kept"; return nil }); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	n.stop("a")

	a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})), onDiag)
	ta2, err := Bind[note](a2, "n", schema.BindingJSON)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, a2)
	got, err := ta2.Value()
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "kept" {
		t.Fatalf("after restart title = %q, want %q", got.Title, "kept")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range diags {
		if d.Reason == reasonStoreError {
			t.Fatalf("store diagnostic on restart: %s", d.Message)
		}
	}
}

// After a restart, a relay holds a stored document with its stored type:
// the first peer to present it, with another schema hash, can neither
// retype it for everyone nor write into it, and peers of the stored type
// still get its content.
func TestRelayKeepsStoredMetaOverFirstPresenter(t *testing.T) {
	data := store.NewMemoryData()
	n := newTestNet(t)
	relay := relayWroteAndStopped(t, n, data)

	hub := n.peer("hub", relay)
	x := n.peer("x")
	dx := mustGet(t, x, "d", JSONDoc("h-other"))
	update(t, dx, func(tx *Tx) { tx.Set(P("v"), "from x") })
	n.settle()
	flush(t, hub)
	if got := n.diagnostics(reasonSchemaHashMismatch); len(got) == 0 {
		t.Fatal("no schema-hash-mismatch diagnostic for the presenter")
	}
	if info := hub.Documents()["d"]; info.Mode != ModeReplicate {
		t.Fatalf("hub holds d as %+v", info)
	}
	if m, err := store.NewMemory(store.MemoryOptions{Data: data}).CurrentMeta(context.Background(), "d"); err != nil || m == nil || m.SchemaHash != "h-json" {
		t.Fatalf("stored meta %+v %v", m, err)
	}

	b := n.peer("b")
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	wantJSON(t, db, `{"v":"from a"}`)
}
