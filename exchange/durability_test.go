package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// failingStore is a memory store whose writes fail while it is switched on.
func failingStore(data *store.MemoryData) (*store.Memory, func(bool)) {
	var on sync.Map
	s := store.NewMemory(store.MemoryOptions{Data: data, Seam: func(int) error {
		if _, ok := on.Load("on"); ok {
			return errors.New("disk full")
		}
		return nil
	}})
	return s, func(fail bool) {
		if fail {
			on.Store("on", true)
		} else {
			on.Delete("on")
		}
	}
}

// A write is acknowledged to its writer only once the relay holds it
// durably: while the relay's store fails, WaitAcknowledged does not
// return, the relay reports itself unhealthy, and the write is retried;
// once it lands the writer is acknowledged.
func TestWriteAcknowledgedOnlyWhenDurable(t *testing.T) {
	n := newTestNet(t)
	data := store.NewMemoryData()
	s, fail := failingStore(data)
	relay := n.peer("relay", withStore(s), func(o *Options) { o.DocTypes = []DocType{jsonDoc} })
	w := n.peer("w")
	dw := mustGet(t, w, "d", jsonDoc)
	waitSync(t, dw)
	n.settle()

	fail(true)
	update(t, dw, func(tx *Tx) { tx.Set(P("credit"), 100) })
	n.settle()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := dw.WaitAcknowledged(ctx)
	cancel()
	if kyneta.ReasonOf(err) != reasonNotAcknowledged || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitAcknowledged while the relay cannot persist = %v", err)
	}
	if st := relay.Stats(); st.StoreUnhealthy == 0 {
		t.Fatalf("relay healthy while its store fails: %+v", st)
	}

	fail(false)
	n.clk.Advance(time.Second) // the retry timer
	n.settle()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := dw.WaitAcknowledged(ctx); err != nil {
		t.Fatalf("after the store healed: %v", err)
	}
	if st := relay.Stats(); st.StoreUnhealthy != 0 {
		t.Fatalf("relay still unhealthy: %+v", st)
	}
	n.stop("relay")
	again := n.peer("relay2", withStore(store.NewMemory(store.MemoryOptions{Data: data})), func(o *Options) { o.DocTypes = []DocType{jsonDoc} })
	dr := mustGet(t, again, "d", jsonDoc)
	flush(t, again)
	wantJSON(t, dr, `{"credit":100}`)
}

// Without stores a peer promises nothing: it sends no acknowledgements
// (and no extra traffic), and WaitAcknowledged against it does not return.
func TestStorelessPeerDoesNotAcknowledge(t *testing.T) {
	n := newTestNet(t)
	n.peer("relay", func(o *Options) { o.DocTypes = []DocType{jsonDoc} })
	w := n.peer("w")
	dw := mustGet(t, w, "d", jsonDoc)
	n.settle()
	update(t, dw, func(tx *Tx) { tx.Set(P("x"), 1) })
	n.settle()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := dw.WaitAcknowledged(ctx); kyneta.ReasonOf(err) != reasonNotAcknowledged {
		t.Fatalf("WaitAcknowledged against a peer without stores = %v", err)
	}
	if st := w.Stats(); st.OffersReceived != 0 {
		t.Fatalf("the writer received %d offers", st.OffersReceived)
	}
}

// Defect: with several stores and one failing, the shared confirmed
// version made the healthy store receive a delta twice, and replay applied
// it twice ("credit 100" appeared twice). Each store has its own head now.
func TestMultiStorePartialFailureStoresEachDeltaOnce(t *testing.T) {
	good := store.NewMemory(store.MemoryOptions{})
	bad, fail := failingStore(nil)
	n := newTestNet(t)
	a := n.peer("a", withStore(good, bad))
	d := mustGet(t, a, "d", jsonDoc)
	update(t, d, func(tx *Tx) { tx.Set(P("ledger"), []any{}) })
	flush(t, a)
	fail(true)
	update(t, d, func(tx *Tx) { tx.ListInsert(P("ledger"), 0, "credit 100") })
	flush(t, a)
	fail(false)
	update(t, d, func(tx *Tx) { tx.ListInsert(P("ledger"), 1, "credit 50") })
	flush(t, a)
	n.clk.Advance(time.Minute) // the failing store's retry
	n.settle()
	flush(t, a)
	n.stop("a")
	for _, s := range []*store.Memory{good, bad} {
		a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: s.Data()})))
		d2 := mustGet(t, a2, "d", jsonDoc)
		flush(t, a2)
		wantJSON(t, d2, `{"ledger":["credit 100","credit 50"]}`)
		n.stop("a")
	}
}

// Defect: a corrupt record in the middle of a stream was skipped: the
// version went back a step and the content diverged, silently. Loading now
// stops at the last good record with a store diagnostic, the relay reports
// itself unhealthy, and the broken stream is never overwritten.
func TestCorruptStreamStopsLoadingAndIsNotOverwritten(t *testing.T) {
	ctx := context.Background()
	data := store.NewMemoryData()
	n := newTestNet(t)
	a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d := mustGet(t, a, "d", jsonDoc)
	flush(t, a) // the registration is stored first: meta, then the fresh entirety
	for i := range 3 {
		update(t, d, func(tx *Tx) { tx.Set(P("n"), i) })
		flush(t, a)
	}
	n.stop("a")
	s := store.NewMemory(store.MemoryOptions{Data: data})
	recs := records(t, s, "d")
	if len(recs) != 5 || recs[0].Kind != store.KindMeta {
		t.Fatalf("stored %d records, want meta, the registration and three deltas", len(recs))
	}
	// Duplicate the second delta: replaying it leads past its stored version.
	recs = append(recs[:4:4], append([]store.Record{recs[3]}, recs[4:]...)...)
	if err := s.Replace(ctx, "d", recs); err != nil {
		t.Fatal(err)
	}
	stored := len(recs)

	a2 := n.peer("a", withStore(s))
	d2 := mustGet(t, a2, "d", jsonDoc)
	flush(t, a2)
	if got := n.diagnostics(reasonStoreError); len(got) == 0 {
		t.Fatal("no store diagnostic for a corrupt stream")
	}
	wantJSON(t, d2, `{"n":1}`) // the good prefix
	if st := a2.Stats(); st.StoreUnhealthy != 1 {
		t.Fatalf("stats %+v", st)
	}
	update(t, d2, func(tx *Tx) { tx.Set(P("n"), 7) })
	flush(t, a2)
	if got := len(records(t, s, "d")); got != stored {
		t.Fatalf("the broken stream was written to: %d records, was %d", got, stored)
	}
}

// A peer that sends faster than the dispatcher processes is slowed down at
// its transport: the queue never grows past MaxInboundQueue (plus what the
// transports deliver concurrently), and everything is still processed.
func TestInboundQueueIsBounded(t *testing.T) {
	const bound = 50
	n := newTestNet(t)
	var deepest, inbound atomic.Int64
	over := make(chan struct{})
	var a *Exchange
	a = n.peer("a", func(o *Options) {
		o.MaxInboundQueue = bound
		o.OnMessage = func(e MessageEvent) {
			if e.Outbound {
				return
			}
			if q := int64(a.runner.QueueLen()); q > deepest.Load() {
				deepest.Store(q)
			}
			if inbound.Add(1) == bound+1 {
				close(over) // the queue is past the bound: deliveries wait
			}
		}
	})
	d := mustGet(t, a, "d", jsonDoc)
	update(t, d, func(tx *Tx) { tx.Set(P("x"), 1) })
	m := newRawPeer(t, n, "m", "m")
	base := inbound.Load()
	inbound.Store(0)
	// Hold a's dispatcher so the flood queues up behind it.
	held, release := make(chan struct{}), make(chan struct{})
	go a.dispatch(funcMsg(func() { close(held); <-release }))
	<-held
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		for range 2000 {
			m.send("a", &wire.Interest{DocID: "d", Version: ptr("x:0")})
		}
	}()
	<-over
	close(release)
	<-flooded
	n.settle()
	if got := deepest.Load(); got > bound+2 {
		t.Fatalf("queue reached %d, bound %d", got, bound)
	}
	if st := a.Stats(); st.InboundWaits == 0 || inbound.Load() != 2000 {
		t.Fatalf("waits %d, received %d of 2000 (%d before)", st.InboundWaits, inbound.Load(), base)
	}
}

// A peer cannot make a relay hold documents without bound by announcing
// them: past MaxDocsPerPeer unknown docs are answered vacant, once
// reported; docs a peer made us defer expire when it departs.
func TestAnnouncedDocsQuotaAndDeferredExpiry(t *testing.T) {
	n := newTestNet(t)
	relay := n.peer("relay", func(o *Options) {
		o.MaxDocsPerPeer = 10
		o.DepartureTimeout = DepartImmediately
	})
	m := newRawPeer(t, n, "m", "m")
	var docs []wire.DocPresence
	for i := range 25 {
		docs = append(docs, wire.DocPresence{DocID: fmt.Sprint("spam-", i), ReplicaType: replica.PlainType, SyncMode: wire.Authoritative})
	}
	m.send("relay", &wire.Present{Docs: docs})
	n.settle()
	if got := len(relay.Deferred()); got != 10 {
		t.Fatalf("relay defers %d docs, want the quota of 10", got)
	}
	if got := n.diagnostics(reasonQuota); len(got) != 1 || got[0].PeerID != "m" {
		t.Fatalf("quota diagnostics %v", got)
	}
	vacants := 0
	for i := range 25 {
		for _, msg := range m.received(fmt.Sprint("spam-", i)) {
			if _, ok := msg.(*wire.Vacant); ok {
				vacants++
			}
		}
	}
	if vacants != 15 {
		t.Fatalf("%d vacant answers, want 15", vacants)
	}
	// The peer leaves: nobody can serve those docs any more.
	n.bridge.Disconnect("m")
	n.settle()
	if got := relay.Deferred(); len(got) != 0 {
		t.Fatalf("deferred docs outlived their only presenter: %v", got)
	}
}

// A plain doc written many times keeps a bounded history: it is compacted
// to the version its synced peers hold, its stores are rewritten as one
// entirety, a late joiner gets the state, and a restart loads few records.
func TestCompactionBoundsHistoryAndStores(t *testing.T) {
	const writes = 5000
	n := newTestNet(t)
	data := store.NewMemoryData()
	a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	b := n.peer("b")
	da := mustGet(t, a, "d", jsonDoc)
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	for i := range writes {
		update(t, da, func(tx *Tx) { tx.Set(P("n"), i); tx.Set(P("k", fmt.Sprint(i%10)), i) })
		if i%100 == 0 {
			n.settle()
		}
	}
	n.settle()
	flush(t, a)
	if da.Version() != db.Version() {
		t.Fatalf("b at %s, a at %s", db.Version(), da.Version())
	}
	rt := a.runtimeFor("d")
	rt.mu.Lock()
	hist := rt.rep.(replica.HistoryReporter).History()
	rt.mu.Unlock()
	if hist.Batches > compactBatches {
		t.Fatalf("history of %d batches after %d writes", hist.Batches, writes)
	}
	recs := records(t, store.NewMemory(store.MemoryOptions{Data: data}), "d")
	if len(recs) > compactBatches+2 {
		t.Fatalf("%d stored records after %d writes", len(recs), writes)
	}
	// A late joiner (behind the compaction point) gets the state.
	late := n.peer("late")
	dl := mustGet(t, late, "d", jsonDoc)
	n.settle()
	waitSync(t, dl)
	if jsonOf(t, dl) != jsonOf(t, da) {
		t.Fatalf("late joiner %s, a %s", jsonOf(t, dl), jsonOf(t, da))
	}
	// A restart loads the compacted stream.
	want := jsonOf(t, da)
	n.stop("a")
	a2 := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	d2 := mustGet(t, a2, "d", jsonDoc)
	flush(t, a2)
	if jsonOf(t, d2) != want {
		t.Fatalf("after restart %s, want %s", jsonOf(t, d2), want)
	}
}

// Faults injected at random points of the relay's store (writes refused,
// and writes that land but report failure, as after a failed fsync), then
// the relay stops and restarts from what the store holds: every write it
// acknowledged is there, nothing is stored twice (the stream replays
// cleanly) and the store opens cleanly. 200 seeded iterations.
func TestFaultInjectedDurabilityThroughTheExchange(t *testing.T) {
	const iterations, writes = 200, 8
	var totalAcked, totalFaults int
	defer func() {
		// The test only means something if writes were both acknowledged
		// and failed along the way.
		if !t.Failed() && (totalAcked < iterations*writes/4 || totalFaults < iterations) {
			t.Fatalf("%d writes acknowledged and %d faults injected over %d iterations", totalAcked, totalFaults, iterations)
		}
	}()
	for seed := range uint64(iterations) {
		n := newTestNet(t)
		data := store.NewMemoryData()
		faulty := storekit.NewFaulty(store.NewMemory(store.MemoryOptions{Data: data}), seed, 0.3)
		n.peer("relay", withStore(faulty), func(o *Options) { o.DocTypes = []DocType{jsonDoc} })
		w := n.peer("w")
		dw := mustGet(t, w, "d", jsonDoc)
		waitSync(t, dw)
		var acked []int
		for i := range writes {
			update(t, dw, func(tx *Tx) { tx.Set(P(fmt.Sprint("k", i)), i) })
			n.settle()
			n.clk.Advance(time.Minute) // retries of failed writes fire
			n.settle()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			if dw.WaitAcknowledged(ctx) == nil {
				acked = append(acked, i)
			}
			cancel()
		}
		n.stop("relay")
		// The writer must not refill the restarted relay: partition it.
		n.bridge.Partition("w", "relay2")
		ok, before, after := faulty.Counts()
		totalAcked += len(acked)
		totalFaults += before + after
		r2 := n.peer("relay2", withStore(store.NewMemory(store.MemoryOptions{Data: data})), func(o *Options) { o.DocTypes = []DocType{jsonDoc} })
		d2 := mustGet(t, r2, "d", jsonDoc)
		flush(t, r2)
		if got := n.diagnostics(reasonStoreError); len(got) > 0 && r2.Stats().StoreUnhealthy > 0 {
			t.Fatalf("seed %d: the restarted relay cannot load the stream: %v", seed, got[len(got)-1])
		}
		var got map[string]int
		if err := d2.Decode(&got); err != nil {
			t.Fatal(err)
		}
		for _, i := range acked {
			if got[fmt.Sprint("k", i)] != i {
				t.Fatalf("seed %d: acknowledged write k%d lost (stored %v; writes ok %d, failed before %d, after %d)", seed, i, got, ok, before, after)
			}
		}
		n.stop("w")
		n.stop("relay2")
	}
}

// A write whose relay died before acknowledging it, but that reached
// another relay's store through the relays' own sync, is acknowledged by
// that relay once the writer fails over to it: WaitAcknowledged asks every
// peer it meets.
func TestWriteAcknowledgedAfterFailover(t *testing.T) {
	n := newTestNet(t)
	n.bridge.Partition("w", "b") // the writer reaches only a at first
	relay := func(o *Options) { o.DocTypes = []DocType{jsonDoc} }
	n.peer("a", withStore(store.NewMemory(store.MemoryOptions{})), relay)
	n.peer("b", withStore(store.NewMemory(store.MemoryOptions{})), relay)
	w := n.peer("w")
	dw := mustGet(t, w, "d", jsonDoc)
	waitSync(t, dw)
	n.settle()
	n.bridge.DropNext("a", "w", 1000) // a's acknowledgement never arrives
	update(t, dw, func(tx *Tx) { tx.Set(P("credit"), 100) })
	n.settle()
	result := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		result <- dw.WaitAcknowledged(ctx)
	}()
	n.bridge.Partition("w", "a") // a is gone for the writer
	n.bridge.Heal("w", "b")      // failover to b
	n.settle()
	if err := <-result; err != nil {
		t.Fatalf("after failing over to a relay that holds the write durably: %v", err)
	}
}
