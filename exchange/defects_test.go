package exchange

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/changes"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
	"github.com/kyneta-go/kyneta/wire"
)

// writeBurst makes n writes to d while a's dispatcher is busy, the way a
// writer that outruns the dispatcher does: every write is applied to the
// replica at once and its push waits in the queue.
func writeBurst(t *testing.T, a *Exchange, d *Doc, n int) {
	t.Helper()
	done := make(chan struct{})
	a.dispatch(funcMsg(func() {
		defer close(done)
		for i := range n {
			update(t, d, func(tx *Tx) { tx.Set(P("n"), i) })
		}
	}))
	<-done
}

// Defect: offers were built from the live replica while their baseline was
// the version at the queued write, so each of n queued pushes re-sent
// everything up to the latest version (O(n²) bytes). Offer bytes must stay
// within a small constant of the bytes written one at a time.
func TestQueuedWritesSendLinearOfferBytes(t *testing.T) {
	const writes = 400
	measure := func(burst bool) uint64 {
		n := newTestNet(t)
		a, b := n.peer("a"), n.peer("b")
		da := mustGet(t, a, "d", jsonDoc)
		db := mustGet(t, b, "d", jsonDoc)
		n.settle()
		before := a.Stats().OfferBytesSent
		if burst {
			writeBurst(t, a, da, writes)
		} else {
			for i := range writes {
				update(t, da, func(tx *Tx) { tx.Set(P("n"), i) })
				n.settle()
			}
		}
		n.settle()
		wantJSON(t, db, `{"n":399}`)
		if da.Version() != db.Version() {
			t.Fatalf("versions %s vs %s", da.Version(), db.Version())
		}
		return a.Stats().OfferBytesSent - before
	}
	oneByOne := measure(false)
	burst := measure(true)
	t.Logf("offer bytes: %d one by one, %d queued", oneByOne, burst)
	if oneByOne == 0 || burst > 2*oneByOne {
		t.Fatalf("queued writes sent %d offer bytes, one-by-one writes %d (want at most 2x)", burst, oneByOne)
	}
}

// Defect: a reconnection that completed while the old channel was still
// open (a socket closed for a slow consumer closes late) was an "extra
// path": nobody presented again, so the reader never asked for what the
// old path lost and stayed behind while both sides were idle.
func TestReconnectionOverlappingOldChannelConverges(t *testing.T) {
	clk := n0clock()
	old := transporttest.NewBridge(transporttest.BridgeOptions{Clock: clk})
	fresh := transporttest.NewBridge(transporttest.BridgeOptions{Clock: clk})
	defer old.Close()
	defer fresh.Close()
	fresh.Partition("relay-2", "b-2") // the new path comes up later
	relay, err := New(Options{PeerID: "relay", Clock: clk, Transports: []transport.Transport{old.Endpoint("relay-1"), fresh.Endpoint("relay-2")}})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Shutdown(context.Background())
	b, err := New(Options{PeerID: "b", Clock: clk, Transports: []transport.Transport{old.Endpoint("b-1"), fresh.Endpoint("b-2")}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	bridges := []*transporttest.Bridge{old, fresh}
	dr := mustGet(t, relay, "d", jsonDoc)
	update(t, dr, func(tx *Tx) { tx.Set(P("n"), 1) })
	db := mustGet(t, b, "d", jsonDoc)
	settleAll(t, bridges, relay, b)
	wantJSON(t, db, `{"n":1}`)

	old.DropNext("relay-1", "b-1", 1) // the old path loses a push
	update(t, dr, func(tx *Tx) { tx.Set(P("n"), 2) })
	settleAll(t, bridges, relay, b)
	fresh.Heal("relay-2", "b-2") // reconnection while the old path lives
	settleAll(t, bridges, relay, b)
	old.Partition("relay-1", "b-1") // then the old socket closes
	settleAll(t, bridges, relay, b)
	wantJSON(t, db, `{"n":2}`)
}

// Defect: a second connection claiming a connected peer's id was accepted
// and received that peer's traffic. A peer id live under one principal is
// refused to another; policies see the principal.
func TestPeerIDBoundToPrincipal(t *testing.T) {
	// Each bridge endpoint authenticates as its own name.
	n := newTestNet(t, func(o *transporttest.BridgeOptions) { o.Principal = func(ep string) any { return ep } })
	var seen []ConnectRequest
	relay := n.peer("relay", func(o *Options) {
		o.Policies = []Policy{{Name: "log", CanConnect: func(r ConnectRequest) Verdict { seen = append(seen, r); return Allow }}}
	})
	dr := mustGet(t, relay, "secret", jsonDoc)
	update(t, dr, func(tx *Tx) { tx.Set(P("v"), "for bob only") })
	n.peer("alice", func(o *Options) { o.PeerID = "bob" })
	n.settle()
	n.peer("mallory", func(o *Options) { o.PeerID = "bob" })
	n.settle()

	if got := n.diagnostics(reasonIdentityConflict); len(got) != 1 || got[0].PeerID != "bob" {
		t.Fatalf("identity-conflict diagnostics %v", got)
	}
	if !n.bridge.Connected("relay", "alice") || n.bridge.Connected("relay", "mallory") {
		t.Fatal("the impostor's channel was kept (or the victim's dropped)")
	}
	if st := n.exs["mallory"].Stats(); st.OffersReceived != 0 {
		t.Fatalf("the impostor received %d offers", st.OffersReceived)
	}
	var principalsSeen []any
	for _, r := range seen {
		principalsSeen = append(principalsSeen, r.Principal)
	}
	if len(seen) < 2 || seen[0].Principal != "alice" || seen[len(seen)-1].Principal != "mallory" {
		t.Fatalf("CanConnect saw principals %v", principalsSeen)
	}
}

// foreignPlain builds a plain replica on a lineage of its own with writes
// flushes and returns its entirety offer.
func foreignPlain(t *testing.T, writes int, value string) *wire.Offer {
	t.Helper()
	doc := replica.NewPlainFactory(replica.PlainOptions{}).CreateDocument()
	for i := range writes {
		c, err := changes.Replace(fmt.Sprint(value, i))
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Apply([]replica.Op{{Path: P("v"), Change: c}}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := doc.ExportEntirety()
	if err != nil {
		t.Fatal(err)
	}
	return &wire.Offer{DocID: "d", Payload: p.Wire(), Version: doc.Version().String(), Reciprocate: ptr(true)}
}

// Defect: a peer denied CanShare got the document back by offering a
// losing lineage, replaced it with a winning one, and learned its version
// from the answer to a reciprocate offer. A denial means nothing flows in
// either direction.
func TestCanShareDenialHoldsBothWays(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a", func(o *Options) {
		o.Policies = []Policy{{Name: "deny-m", CanShare: func(doc string, p wire.PeerIdentity) Verdict {
			if p.PeerID == "m" {
				return Deny
			}
			return Allow
		}}}
	})
	da := mustGet(t, a, "d", jsonDoc)
	for i := range 3 {
		update(t, da, func(tx *Tx) { tx.Set(P("v"), fmt.Sprint("secret", i)) })
	}
	n.settle()
	before, version := jsonOf(t, da), da.Version()

	m := newRawPeer(t, n, "m", "m")
	m.send("a", &wire.Present{Docs: []wire.DocPresence{{DocID: "d", ReplicaType: replica.PlainType, SyncMode: wire.Authoritative}}})
	m.send("a", &wire.Interest{DocID: "d", Version: ptr("x:0"), Reciprocate: ptr(true)})
	m.send("a", foreignPlain(t, 1, "losing")) // A would answer with its own (winning) state
	m.send("a", foreignPlain(t, 9, "winning"))
	m.send("a", &wire.Vacant{DocID: "d"})
	n.settle()

	for _, msg := range m.received("d") {
		if _, ok := msg.(*wire.Vacant); !ok {
			t.Errorf("denied peer received %T %+v", msg, msg)
		}
	}
	if got := jsonOf(t, da); got != before || da.Version() != version {
		t.Fatalf("a denied peer changed the doc: %s at %s, was %s at %s", got, da.Version(), before, version)
	}
	if st := da.PeerStates(); len(st) != 0 {
		t.Fatalf("a denied peer has sync states %v", st)
	}
}

// Defect: any peer that could write could set a doc's counter to 2^53-1
// (or an LWW timestamp far ahead); the next local write could not be
// encoded and the doc froze. Implausible versions are refused with a
// diagnostic and the doc stays writable.
func TestVersionBombRefused(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	da := mustGet(t, a, "d", jsonDoc)
	de := mustGet(t, a, "e", ephDoc)
	update(t, da, func(tx *Tx) { tx.Set(P("v"), "mine") })
	update(t, de, func(tx *Tx) { tx.Set(P("v"), "mine") })
	n.settle()
	m := newRawPeer(t, n, "m", "m")

	bomb := foreignPlain(t, 1, "bomb")
	lineage, _, _ := strings.Cut(bomb.Version, ":")
	bomb.Version = lineage + ":9007199254740991"
	bomb.Reciprocate = nil
	m.send("a", bomb)
	future := strconv.FormatInt(n.clk.Now().Add(24*time.Hour).UnixMilli(), 10)
	m.send("a", &wire.Offer{DocID: "e", Version: future, Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"v":"bomb"}`)}})
	n.settle()

	if got := n.diagnostics(reasonVersionRefused); len(got) != 2 {
		t.Fatalf("version-refused diagnostics: %v", got)
	}
	wantJSON(t, da, `{"v":"mine"}`)
	wantJSON(t, de, `{"v":"mine"}`)
	update(t, da, func(tx *Tx) { tx.Set(P("v"), "still writable") })
	if !strings.HasSuffix(da.Version(), ":2") {
		t.Fatalf("version after a local write: %s", da.Version())
	}
	wantJSON(t, da, `{"v":"still writable"}`)
}

// Defect: StateDoc.WaitForSync returned as soon as the peer's interest
// arrived, before its offer (field-LWW versions never compare as behind),
// so readers saw {}. WaitForSync nil means our copy holds what the peer
// had when it answered.
func TestStateWaitForSyncWaitsForTheData(t *testing.T) {
	n := newTestNet(t)
	b := n.peer("b")
	db := mustGet(t, b, "s", StateDoc("h-state"))
	update(t, db, func(tx *Tx) { tx.Set(P("mine"), 1) })
	n.settle()
	m := newRawPeer(t, n, "m", "m")

	later := epoch.Add(5 * time.Second)
	theirs := replica.NewStateFactory(replica.StateOptions{Now: func() time.Time { return later }}).CreateDocument()
	c, _ := changes.Replace("from m")
	if err := theirs.Apply([]replica.Op{{Path: P("theirs"), Change: c}}); err != nil {
		t.Fatal(err)
	}
	m.send("b", &wire.Interest{DocID: "s", Version: ptr(theirs.Version().String()), Reciprocate: ptr(false)})
	n.settle()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := db.WaitForSync(ctx)
	cancel()
	if kyneta.ReasonOf(err) != reasonSyncTimeout {
		t.Fatalf("WaitForSync before the peer's offer = %v (doc %s); want a timeout", err, jsonOf(t, db))
	}

	p, err := theirs.ExportEntirety()
	if err != nil {
		t.Fatal(err)
	}
	m.send("b", &wire.Offer{DocID: "s", Payload: p.Wire(), Version: theirs.Version().String()})
	n.settle()
	waitSync(t, db)
	wantJSON(t, db, `{"mine":1,"theirs":"from m"}`)
}

// Defect: an opaque relay (Loro/Yjs through a Go relay) served nothing to
// the second and later fresh clients: the first fresh client's empty-doc
// offer was stored under the empty-doc version, and an interest at that
// version was answered with only the payloads stored after it.
func TestOpaqueRelayServesEveryLateJoiner(t *testing.T) {
	loro := wire.ReplicaType{Name: "loro", Major: 1}
	opaque := replica.NewOpaqueFactory(loro, replica.OpaqueOptions{})
	n := newTestNet(t)
	n.peer("hub", func(o *Options) {
		o.Replicas = []replica.Bound{{Factory: opaque, Mode: wire.Collaborative}}
		o.Policies = []Policy{relayPolicy()}
	})
	present := &wire.Present{Docs: []wire.DocPresence{{DocID: "d", ReplicaType: loro, SyncMode: wire.Collaborative, SchemaHash: "h-loro"}}}
	blob := func(data string) wire.Payload {
		return wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: []byte(data)}
	}
	const empty = "AA==" // the version of an empty Loro doc

	writer := newRawPeer(t, n, "writer", "writer")
	writer.send("hub", present)
	writer.send("hub", &wire.Offer{DocID: "d", Payload: blob("content"), Version: "v-writer"})
	n.settle()
	for i, name := range []string{"first", "second", "third"} {
		c := newRawPeer(t, n, name, name)
		c.send("hub", present)
		c.send("hub", &wire.Interest{DocID: "d", Version: ptr(empty), Reciprocate: ptr(true)})
		c.send("hub", &wire.Offer{DocID: "d", Payload: blob(fmt.Sprint("empty-doc-", i)), Version: empty})
		n.settle()
		got := false
		for _, m := range c.received("d") {
			if o, ok := m.(*wire.Offer); ok && string(o.Payload.Data) == "content" {
				got = true
			}
		}
		if !got {
			t.Fatalf("the %s fresh client did not receive the content (got %v)", name, c.received("d"))
		}
	}
}
