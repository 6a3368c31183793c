package exchange

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
	"github.com/kyneta-go/kyneta/wire"
)

func TestPeersLifecycle(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	events, cancel := peerEvents(a)
	defer cancel()
	n.peer("b")
	if got := events(); got != "established:b" {
		t.Fatalf("events %q", got)
	}
	// Involuntary disconnect: kept (disconnected) during the grace period.
	n.bridge.Disconnect("b")
	n.settle()
	if got := events(); got != "disconnected:b" {
		t.Fatalf("events %q", got)
	}
	if _, ok := a.Peers()["b"]; !ok || a.Connected("b") {
		t.Fatal("disconnected peer must be retained without channels")
	}
	// Reconnect within the grace period cancels the timer.
	n.bridge.Reconnect("b")
	n.settle()
	if got := events(); got != "reconnected:b" {
		t.Fatalf("events %q", got)
	}
	n.clk.Advance(time.Minute)
	n.settle()
	if got := events(); got != "" {
		t.Fatalf("stale departure timer fired: %q", got)
	}
	// The grace period runs out.
	n.bridge.Disconnect("b")
	n.settle()
	n.clk.Advance(defaultDepartureTimeout - time.Millisecond)
	n.settle()
	if got := events(); got != "disconnected:b" {
		t.Fatalf("events %q", got)
	}
	n.clk.Advance(time.Millisecond)
	n.settle()
	if got := events(); got != "departed:b" {
		t.Fatalf("events %q", got)
	}
	if _, ok := a.Peers()["b"]; ok {
		t.Fatal("departed peer retained")
	}
}

func TestPeerDepartsOnShutdown(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	n.peer("b")
	events, cancel := peerEvents(a)
	defer cancel()
	n.stop("b")
	if got := events(); got != "departed:b" {
		t.Fatalf("events %q (depart must skip the grace period)", got)
	}
}

func TestDepartImmediately(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a", func(o *Options) { o.DepartureTimeout = DepartImmediately })
	n.peer("b")
	events, cancel := peerEvents(a)
	defer cancel()
	n.bridge.Disconnect("b")
	n.settle()
	if got := events(); got != "departed:b" {
		t.Fatalf("events %q", got)
	}
}

func TestSyncResumesAfterReconnect(t *testing.T) {
	for _, dt := range []DocType{jsonDoc, ephDoc} {
		t.Run(dt.Name, func(t *testing.T) {
			n := newTestNet(t)
			a := n.peer("a")
			b := n.peer("b")
			da := mustGet(t, a, "d", dt)
			db := mustGet(t, b, "d", dt)
			update(t, da, func(tx *Tx) { tx.Set(P("n"), 1) })
			n.settle()
			wantJSON(t, db, `{"n":1}`)
			n.bridge.Disconnect("b")
			n.settle()
			n.clk.Advance(time.Second)
			update(t, da, func(tx *Tx) { tx.Set(P("n"), 2) }) // made while b is away
			n.settle()
			wantJSON(t, db, `{"n":1}`)
			n.bridge.Reconnect("b")
			n.settle()
			wantJSON(t, db, `{"n":2}`)
			if dt.Mode == wire.Authoritative && db.Version() != da.Version() {
				t.Fatalf("versions %s %s", da.Version(), db.Version())
			}
		})
	}
}

func TestMultiTransportPeerEstablishedOnce(t *testing.T) {
	clk := n0clock()
	b1 := transporttest.NewBridge(transporttest.BridgeOptions{Clock: clk})
	b2 := transporttest.NewBridge(transporttest.BridgeOptions{Clock: clk})
	defer b1.Close()
	defer b2.Close()
	var diags []Diagnostic
	a, err := New(Options{PeerID: "a", Clock: clk, Transports: []transport.Transport{b1.Endpoint("a"), b2.Endpoint("a-2")},
		OnDiagnostic: func(d Diagnostic) { diags = append(diags, d) }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	events, cancel := peerEvents(a)
	defer cancel()
	b, err := New(Options{PeerID: "b", Clock: clk, Transports: []transport.Transport{b1.Endpoint("b"), b2.Endpoint("b-2")}})
	if err != nil {
		t.Fatal(err)
	}
	settleAll(t, []*transporttest.Bridge{b1, b2}, a, b)
	if got := events(); got != "established:b" {
		t.Fatalf("events %q", got)
	}
	if !slices.ContainsFunc(diags, func(d Diagnostic) bool { return d.Reason == reasonDuplicatePeer }) {
		t.Fatal("no duplicate-peer diagnostic")
	}
	// Channel ids are unique across the exchange's transports.
	a.mu.Lock()
	ids := a.cs().sess.peerChannels("b")
	a.mu.Unlock()
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("channels %v", ids)
	}
	// Losing one path is not a disconnect; losing both is.
	b1.Disconnect("b")
	settleAll(t, []*transporttest.Bridge{b1, b2}, a, b)
	if got := events(); got != "" {
		t.Fatalf("events %q", got)
	}
	b2.Disconnect("b-2")
	settleAll(t, []*transporttest.Bridge{b1, b2}, a, b)
	if got := events(); got != "disconnected:b" {
		t.Fatalf("events %q", got)
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestConnectivityAndFeatures(t *testing.T) {
	solo, err := New(Options{PeerID: "solo"})
	if err != nil {
		t.Fatal(err)
	}
	defer solo.Shutdown(context.Background())
	if solo.Connectivity() != Offline {
		t.Fatal(solo.Connectivity())
	}
	n := newTestNet(t)
	a := n.peer("a")
	if a.Connectivity() != Connecting {
		t.Fatal(a.Connectivity())
	}
	n.peer("b")
	if a.Connectivity() != Online {
		t.Fatal(a.Connectivity())
	}
	f, ok := a.PeerFeatures("b")
	if !ok || f.Alias == nil || !*f.Alias {
		t.Fatalf("features %+v %v", f, ok)
	}
}

func TestThreePeerMesh(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	c := n.peer("c")
	for name, ex := range map[string]*Exchange{"a": a, "b": b, "c": c} {
		if len(ex.Peers()) != 2 {
			t.Fatalf("%s sees %v", name, ex.Peers())
		}
	}
}

func TestAPIErrors(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonInvalidPeerID}) {
		t.Fatalf("empty peer id: %v", err)
	}
	n := newTestNet(t)
	a := n.peer("a")
	if _, err := a.Get("", jsonDoc); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonInvalidDocID}) {
		t.Fatalf("empty doc id: %v", err)
	}
	if _, err := a.Get(string(make([]byte, maxDocIDBytes+1)), jsonDoc); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonInvalidDocID}) {
		t.Fatalf("long doc id: %v", err)
	}
	long := JSONDoc(string(make([]byte, maxSchemaHashBytes+1)))
	if _, err := a.Get("d", long); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonInvalidSchemaHash}) {
		t.Fatalf("long hash: %v", err)
	}
	d1 := mustGet(t, a, "d", jsonDoc)
	if d2 := mustGet(t, a, "d", jsonDoc); d2 != d1 {
		t.Fatal("Get must return the same handle")
	}
	if _, err := a.Get("d", JSONDoc("other")); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonDocTypeConflict}) {
		t.Fatalf("conflict: %v", err)
	}
	if err := a.Replicate("d", nil); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonAlreadyRegistered}) {
		t.Fatalf("replicate existing: %v", err)
	}
	if err := a.Replicate("nope", nil); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonNoMetadata}) {
		t.Fatalf("replicate unknown: %v", err)
	}
	if err := a.Replicate("h", &jsonDoc); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get("h", jsonDoc); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonReplicated}) {
		t.Fatalf("get replicated: %v", err)
	}
	if err := a.Suspend("nope"); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonUnknownDoc}) {
		t.Fatalf("suspend unknown: %v", err)
	}
	if err := a.Resume("d"); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonNotSuspended}) {
		t.Fatalf("resume not suspended: %v", err)
	}
	if err := a.Suspend("d"); err != nil {
		t.Fatal(err)
	}
	if err := a.Suspend("d"); err != nil {
		t.Fatal("suspend must be idempotent")
	}
	if _, err := a.Get("d", jsonDoc); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonSuspended}) {
		t.Fatalf("get suspended: %v", err)
	}
	if err := a.Resume("d"); err != nil {
		t.Fatal(err)
	}
	if err := a.Destroy("d"); err != nil {
		t.Fatal(err)
	}
	if err := d1.Update(func(*Tx) error { return nil }); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonDestroyed}) {
		t.Fatalf("update destroyed: %v", err)
	}
	if err := a.Destroy("d"); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonUnknownDoc}) {
		t.Fatalf("destroy twice: %v", err)
	}
	d3 := mustGet(t, a, "d", jsonDoc)
	if d3 == d1 {
		t.Fatal("Get after Destroy must start over")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := d3.WaitForSync(ctx)
	if !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonSyncTimeout}) || !errors.Is(err, context.Canceled) || kyneta.ReasonOf(err) != reasonSyncTimeout {
		t.Fatalf("wait: %v", err)
	}
	if err := d3.Update(func(tx *Tx) error { tx.Increment(P("missing"), 1); tx.Set(P("x"), make(chan int)); return nil }); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonInvalidChange}) {
		t.Fatalf("invalid change: %v", err)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get("z", jsonDoc); !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonClosed}) {
		t.Fatalf("after shutdown: %v", err)
	}
}

// Reset: synthetic removals and departures for subscribers, no depart on
// the wire, policies disposed, stores kept, channel ids from 1, and the
// exchange usable again.
func TestResetStartsOverWithoutDeparting(t *testing.T) {
	n := newTestNet(t)
	data := store.NewMemoryData()
	a := n.peer("a", withStore(store.NewMemory(store.MemoryOptions{Data: data})))
	b := n.peer("b")
	var bIn recorder
	defer b.Observe(bIn.sink)()
	disposed := 0
	a.Register(Policy{Name: "p", Dispose: func() error { disposed++; return nil }})
	da := mustGet(t, a, "d", jsonDoc)
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	update(t, da, func(tx *Tx) { tx.Set(P("n"), 1) })
	n.settle()
	wantJSON(t, db, `{"n":1}`)

	var docEvents []DocChange
	var peerEvents []PeerChange
	defer a.SubscribeDocuments(func(e DocEvent) { docEvents = append(docEvents, e.Changes...) })()
	defer a.SubscribePeers(func(e PeerEvent) { peerEvents = append(peerEvents, e.Changes...) })()

	if err := a.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.settle()
	if !slices.Contains(docEvents, DocChange{Type: DocRemoved, DocID: "d"}) {
		t.Fatalf("no synthetic doc-removed: %v", docEvents)
	}
	if !slices.ContainsFunc(peerEvents, func(c PeerChange) bool { return c.Type == PeerDeparted && c.Peer.PeerID == "b" }) {
		t.Fatalf("no synthetic peer-departed: %v", peerEvents)
	}
	if len(a.Documents()) != 0 || len(a.Peers()) != 0 || len(a.Transports()) != 0 {
		t.Fatalf("state after reset: docs %v, peers %v, %d transports", a.Documents(), a.Peers(), len(a.Transports()))
	}
	if disposed != 1 {
		t.Fatalf("policy disposed %d times, want 1", disposed)
	}
	if bIn.has(func(e ObsEvent) bool { return e.Layer == ObsProtocol && e.Dir == "in" && e.MsgType == "depart" }) {
		t.Fatal("b received a depart: reset must not say goodbye")
	}
	if _, ok := b.Peers()["a"]; !ok {
		t.Fatal("b forgot a at once; without a depart it keeps it in its grace period")
	}
	if err := da.Update(func(tx *Tx) error { tx.Set(P("n"), 2); return nil }); kyneta.ReasonOf(err) != reasonDestroyed {
		t.Fatalf("old handle after reset: %v, want %s", err, reasonDestroyed)
	}

	// Usable again: a new transport, channel ids from 1, the doc from the store.
	var aObs recorder
	defer a.Observe(aObs.sink)()
	if err := a.AddTransport(context.Background(), n.bridge.Endpoint("a-again")); err != nil {
		t.Fatal(err)
	}
	d2 := mustGet(t, a, "d", jsonDoc)
	n.settle()
	wantJSON(t, d2, `{"n":1}`)
	if !aObs.has(func(e ObsEvent) bool { return e.Layer == ObsProtocol && e.MsgType == "establish" && e.ChannelID == 1 }) {
		t.Fatal("channel ids did not restart at 1")
	}
	update(t, d2, func(tx *Tx) { tx.Set(P("n"), 3) })
	n.settle()
	wantJSON(t, db, `{"n":3}`)
}

func TestResetAfterShutdownFails(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Reset(context.Background()); kyneta.ReasonOf(err) != reasonClosed {
		t.Fatalf("Reset after Shutdown: %v, want %s", err, reasonClosed)
	}
}
