package exchange

import (
	"fmt"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

var jsonDoc = JSONDoc("h-json")

func TestTwoPeersAuthoritative(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	da := mustGet(t, a, "doc", jsonDoc)
	update(t, da, func(tx *Tx) {
		tx.Set(P("title"), "hello")
		tx.Set(P("items"), []any{1, 2})
	})
	n.settle()
	db := mustGet(t, b, "doc", jsonDoc)
	n.settle()
	waitSync(t, db)
	wantJSON(t, db, `{"title":"hello","items":[1,2]}`)
	if db.Version() != da.Version() {
		t.Fatalf("versions %s vs %s", db.Version(), da.Version())
	}
	// Later mutations propagate.
	update(t, da, func(tx *Tx) { tx.ListInsert(P("items"), 2, 3) })
	n.settle()
	wantJSON(t, db, `{"title":"hello","items":[1,2,3]}`)
	// The other side may write next (writers taking turns).
	update(t, db, func(tx *Tx) { tx.Set(P("title"), "bye") })
	n.settle()
	wantJSON(t, da, `{"title":"bye","items":[1,2,3]}`)
	if db.Version() != da.Version() {
		t.Fatalf("versions %s vs %s", db.Version(), da.Version())
	}
}

var ephDoc = EphemeralDoc("h-presence")

func TestEphemeralBroadcast(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	c := n.peer("c")
	pa := mustGet(t, a, "presence", ephDoc)
	pb := mustGet(t, b, "presence", ephDoc)
	pc := mustGet(t, c, "presence", ephDoc)
	n.settle()
	update(t, pa, func(tx *Tx) { tx.Set(P("cursor"), map[string]any{"x": 1, "y": 2}) })
	n.settle()
	for _, d := range []*Doc{pb, pc} {
		wantJSON(t, d, `{"cursor":{"x":1,"y":2}}`)
	}
	n.clk.Advance(time.Second)
	update(t, pb, func(tx *Tx) { tx.Set(P("cursor"), map[string]any{"x": 5, "y": 5}) })
	n.settle()
	for _, d := range []*Doc{pa, pc} {
		wantJSON(t, d, `{"cursor":{"x":5,"y":5}}`)
	}
}

func TestEphemeralStaleOfferDiscarded(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	pa := mustGet(t, a, "p", ephDoc)
	pb := mustGet(t, b, "p", ephDoc)
	n.settle()
	n.clk.Advance(time.Second)
	update(t, pb, func(tx *Tx) { tx.Set(P("v"), "new") })
	n.settle()
	// An offer carrying an older timestamp than b's version is stale.
	b.dispatch(funcMsg(func() {
		b.importOffer(fxImport{doc: "p", from: "a", version: "1", payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"v":"old"}`)}})
	}))
	n.settle()
	wantJSON(t, pb, `{"v":"new"}`)
	wantJSON(t, pa, `{"v":"new"}`)
}

func TestHeterogeneousDocsOnOneConnection(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	j := mustGet(t, a, "cfg", jsonDoc)
	e := mustGet(t, a, "presence", ephDoc)
	update(t, j, func(tx *Tx) { tx.Set(P("limit"), 10) })
	update(t, e, func(tx *Tx) { tx.Set(P("online"), true) })
	n.settle()
	jb := mustGet(t, b, "cfg", jsonDoc)
	eb := mustGet(t, b, "presence", ephDoc)
	n.settle()
	wantJSON(t, jb, `{"limit":10}`)
	wantJSON(t, eb, `{"online":true}`)
}

func relayPolicy() Policy {
	return Policy{Name: "relay", Resolve: func(ResolveRequest) Resolution { return Replicate() }}
}

func TestRelayThreePeers(t *testing.T) {
	for _, tc := range []struct {
		name string
		dt   DocType
		hub  func(*Options)
	}{
		{"authoritative via headless relay", jsonDoc, func(o *Options) { o.Policies = []Policy{relayPolicy()} }},
		{"ephemeral via headless relay", ephDoc, func(o *Options) { o.Policies = []Policy{relayPolicy()} }},
		{"authoritative via interpreting hub", jsonDoc, func(o *Options) { o.DocTypes = []DocType{jsonDoc} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t)
			n.bridge.Partition("a", "b") // a and b only meet through the hub
			hub := n.peer("hub", tc.hub)
			a := n.peer("a")
			b := n.peer("b")
			if n.bridge.Connected("a", "b") {
				t.Fatal("a and b are linked")
			}
			da := mustGet(t, a, "doc", tc.dt)
			update(t, da, func(tx *Tx) { tx.Set(P("n"), 1) })
			n.settle()
			if !hub.Has("doc") {
				t.Fatal("hub does not hold the doc")
			}
			db := mustGet(t, b, "doc", tc.dt)
			n.settle()
			waitSync(t, db)
			wantJSON(t, db, `{"n":1}`)
			n.clk.Advance(time.Second)
			update(t, da, func(tx *Tx) { tx.Set(P("n"), 2) })
			n.settle()
			wantJSON(t, db, `{"n":2}`)
			// A late joiner is served from the hub's copy.
			c := n.peer("c")
			n.bridge.Partition("a", "c")
			n.bridge.Partition("b", "c")
			n.settle()
			dc := mustGet(t, c, "doc", tc.dt)
			n.settle()
			wantJSON(t, dc, `{"n":2}`)
		})
	}
}

func TestWaitForSyncMeansDataArrived(t *testing.T) {
	for _, dt := range []DocType{jsonDoc, ephDoc} {
		t.Run(dt.Name, func(t *testing.T) {
			n := newTestNet(t)
			a := n.peer("a")
			n.clk.Advance(time.Second)
			da := mustGet(t, a, "d", dt)
			update(t, da, func(tx *Tx) { tx.Set(P("x"), 1) })
			for i := 0; i < 20; i++ {
				b := n.peer(fmt.Sprint("b", i))
				db := mustGet(t, b, "d", dt)
				waitSync(t, db) // no settle: the data must already be there
				wantJSON(t, db, `{"x":1}`)
			}
		})
	}
}

// Regression: documents created while the handshake is in flight. The
// peer's first present can be queued right behind its establish while the
// dispatcher is busy on another goroutine; the peer transition must still
// reach the sync program first, or the present is dropped and the docs
// never sync.
func TestDocsCreatedDuringHandshake(t *testing.T) {
	for iter := 0; iter < 60; iter++ {
		n := newTestNet(t)
		a := n.peer("a")
		o := Options{PeerID: "c", Transports: []transport.Transport{n.bridge.Endpoint("c")}, Clock: n.clk}
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		n.exs["c"] = c
		var da, dc []*Doc
		for k := 0; k < 5; k++ {
			id := fmt.Sprint("doc-", k)
			da = append(da, mustGet(t, a, id, jsonDoc))
			dc = append(dc, mustGet(t, c, id, jsonDoc))
		}
		n.settle()
		for k := range da {
			update(t, da[k], func(tx *Tx) { tx.Set(P("n"), k) })
		}
		n.settle()
		for k := range dc {
			if dc[k].Version() != da[k].Version() {
				t.Fatalf("iteration %d: %s at %s, writer at %s", iter, dc[k].ID(), dc[k].Version(), da[k].Version())
			}
		}
	}
}

func TestStateFieldMergeAfterPartition(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	sd := StateDoc("h-state")
	da := mustGet(t, a, "s", sd)
	db := mustGet(t, b, "s", sd)
	update(t, da, func(tx *Tx) { tx.Set(P("title"), "t0") })
	n.settle()
	n.bridge.Partition("a", "b")
	n.settle()
	n.clk.Advance(time.Millisecond)
	update(t, da, func(tx *Tx) { tx.Set(P("title"), "from a") })
	n.clk.Advance(time.Millisecond)
	update(t, db, func(tx *Tx) { tx.Set(P("color"), "blue") })
	n.bridge.Heal("a", "b")
	n.settle()
	// Concurrent writes to different fields both survive.
	wantJSON(t, da, `{"title":"from a","color":"blue"}`)
	wantJSON(t, db, `{"title":"from a","color":"blue"}`)
}
