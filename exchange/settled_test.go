package exchange

import (
	"context"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

func TestSettled(t *testing.T) {
	ctx := context.Background()
	// No transports: local at once.
	lone, err := New(Options{PeerID: "lone"})
	if err != nil {
		t.Fatal(err)
	}
	defer lone.Shutdown(ctx)
	dl := mustGet(t, lone, "d", jsonDoc)
	if via, err := dl.Settled(ctx, 0); via != SettledLocal || err != nil {
		t.Fatalf("lone: %s %v", via, err)
	}

	// Nobody answers: offline once offlineAfter passes on the clock.
	n := newTestNet(t)
	a := n.peer("a")
	da := mustGet(t, a, "d", jsonDoc)
	n.settle()
	armed := n.clk.Changed()
	done := make(chan SettledVia, 1)
	go func() {
		via, err := da.Settled(ctx, 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- via
	}()
	<-armed // Settled armed its offline timer
	n.clk.Advance(5 * time.Second)
	if via := <-done; via != SettledOffline {
		t.Fatalf("alone on the network: %s", via)
	}

	// A peer answers: via peer; ReadyFor sees its identity.
	n.peer("b", func(o *Options) { o.PeerType = wire.PeerService })
	n.settle()
	if via, err := da.Settled(ctx, 5*time.Second); via != SettledPeer || err != nil {
		t.Fatalf("with a peer: %s %v", via, err)
	}
	if st := a.Stats(); st.PeerDocStates[PeerVacant] != 1 || st.InboundQueue != 0 {
		t.Fatalf("stats %+v", st)
	}
	if !da.ReadyFor(func(p wire.PeerIdentity) bool { return p.Type == wire.PeerService }) ||
		da.ReadyFor(func(p wire.PeerIdentity) bool { return p.PeerID == "nobody" }) {
		t.Fatal("ReadyFor")
	}
}

// Compact trims a short history too, to what the synced peer holds.
func TestCompactNow(t *testing.T) {
	n := newTestNet(t)
	a, b := n.peer("a"), n.peer("b")
	da := mustGet(t, a, "d", jsonDoc)
	mustGet(t, b, "d", jsonDoc)
	n.settle()
	for i := range 10 {
		update(t, da, func(tx *Tx) { tx.Set(P("n"), i) })
		n.settle()
	}
	if err := a.Compact("d"); err != nil {
		t.Fatal(err)
	}
	rt := a.runtimeFor("d")
	rt.mu.Lock()
	base, hist := rt.rep.BaseVersion().String(), rt.rep.(replica.HistoryReporter).History()
	rt.mu.Unlock()
	if base != da.Version() || hist.Batches != 0 {
		t.Fatalf("after Compact: base %s (doc %s), %d batches kept", base, da.Version(), hist.Batches)
	}
	if err := a.Compact("nope"); kyneta.ReasonOf(err) != reasonUnknownDoc {
		t.Fatalf("Compact of an unknown doc: %v", err)
	}
}

// Settled through a peer means the peer's data is here, not only its
// answer (the reference resolved on the latch alone, and a screen could
// show an empty document as settled).
func TestSettledViaPeerHoldsTheData(t *testing.T) {
	ctx := context.Background()
	for range 20 {
		n := newTestNet(t)
		b := n.peer("b")
		db := mustGet(t, b, "d", jsonDoc)
		update(t, db, func(tx *Tx) { tx.Set(P("title"), "from b") })
		a := n.peer("a")
		da := mustGet(t, a, "d", jsonDoc)
		via, err := da.Settled(ctx, 0)
		if err != nil || via != SettledPeer {
			t.Fatalf("%s %v", via, err)
		}
		wantJSON(t, da, `{"title":"from b"}`)
	}
}
