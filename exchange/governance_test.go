package exchange

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
	"github.com/kyneta-go/kyneta/wire"
)

func denyShare(doc, peer string) Policy {
	return Policy{CanShare: func(d string, p wire.PeerIdentity) Verdict {
		if d == doc && p.PeerID == peer {
			return Deny
		}
		return Abstain
	}}
}

func TestVacantOnReject(t *testing.T) {
	n := newTestNet(t)
	s := n.peer("s", func(o *Options) {
		o.Policies = []Policy{{Name: "reject", Resolve: func(ResolveRequest) Resolution { return Reject() }}}
	})
	c := n.peer("c")
	dc := mustGet(t, c, "d", jsonDoc)
	update(t, dc, func(tx *Tx) { tx.Set(P("x"), 1) })
	n.settle()
	waitSync(t, dc) // resolves on vacant
	if st := dc.PeerStates()["s"]; st.Kind != PeerVacant || !dc.Ready() {
		t.Fatalf("state %+v ready %v", st, dc.Ready())
	}
	if s.Has("d") {
		t.Fatal("rejected doc held by the server")
	}
	// Vacant never tears down the local copy.
	wantJSON(t, dc, `{"x":1}`)
	// The server later takes the doc: vacant flips to synced.
	ds := mustGet(t, s, "d", jsonDoc)
	n.settle()
	wantJSON(t, ds, `{"x":1}`)
	if st := dc.PeerStates()["s"]; st.Kind != PeerSynced {
		t.Fatalf("state after server get: %+v", st)
	}
	// The latch survives the server's departure.
	n.stop("s")
	if !dc.Ready() {
		t.Fatal("readiness lost on departure")
	}
}

func TestCanShareBlocksAnnounceRelayAndInterest(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a", func(o *Options) { o.Policies = []Policy{denyShare("secret", "b")} })
	b := n.peer("b")
	da := mustGet(t, a, "secret", jsonDoc)
	update(t, da, func(tx *Tx) { tx.Set(P("pin"), "1234") })
	n.settle()
	if b.Has("secret") {
		t.Fatal("b learned about the doc from a present")
	}
	// b guesses the id and asks: the reference answered this interest with
	// the data; here canShare gates it and b gets vacant.
	db := mustGet(t, b, "secret", jsonDoc)
	n.settle()
	wantJSON(t, db, `{}`)
	if st := db.PeerStates()["a"]; st.Kind != PeerVacant {
		t.Fatalf("b's view of a: %+v", st)
	}
	// Pushes are filtered too.
	update(t, da, func(tx *Tx) { tx.Set(P("pin"), "0000") })
	n.settle()
	wantJSON(t, db, `{}`)
}

func TestCanShareGatesReactionToPresent(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a", func(o *Options) { o.Policies = []Policy{denyShare("d", "b")} })
	b := n.peer("b")
	db := mustGet(t, b, "d", jsonDoc)
	update(t, db, func(tx *Tx) { tx.Set(P("k"), "v") })
	da := mustGet(t, a, "d", jsonDoc)
	n.settle()
	// a must neither reveal its version (interest) nor take b's data.
	wantJSON(t, da, `{}`)
	if _, ok := da.PeerStates()["b"]; ok {
		t.Fatal("a tracks a state for a peer it does not share with")
	}
	if st := db.PeerStates()["a"]; st.Kind != PeerVacant {
		t.Fatalf("b's view of a: %+v", st)
	}
}

func TestCanShareDenialPreventsResolve(t *testing.T) {
	var resolved atomic.Int32
	n := newTestNet(t)
	b := n.peer("b", func(o *Options) {
		o.Policies = []Policy{denyShare("d", "a"), {Resolve: func(ResolveRequest) Resolution { resolved.Add(1); return Replicate() }}}
	})
	a := n.peer("a")
	mustGet(t, a, "d", jsonDoc)
	n.settle()
	if b.Has("d") || resolved.Load() != 0 {
		t.Fatalf("has %v resolved %d", b.Has("d"), resolved.Load())
	}
}

func TestCanAcceptBlocksImport(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	dispose := b.Register(Policy{CanAccept: func(string, wire.PeerIdentity) Verdict { return Deny }})
	da := mustGet(t, a, "d", jsonDoc)
	update(t, da, func(tx *Tx) { tx.Set(P("x"), 1) })
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	wantJSON(t, db, `{}`)
	// Dynamic: disposing the policy opens the gate for the next offer.
	if err := dispose(); err != nil {
		t.Fatal(err)
	}
	update(t, da, func(tx *Tx) { tx.Set(P("x"), 2) })
	n.settle()
	wantJSON(t, db, `{"x":2}`)
}

func TestCanConnectRejectsAndDisconnects(t *testing.T) {
	n := newTestNet(t)
	s := n.peer("s", func(o *Options) {
		o.Policies = []Policy{{CanConnect: func(r ConnectRequest) Verdict {
			if r.Identity.PeerID == "mallory" {
				return Deny
			}
			return Allow
		}}}
	})
	m := n.peer("mallory")
	n.peer("good")
	if _, ok := s.Peers()["mallory"]; ok {
		t.Fatal("rejected peer admitted")
	}
	if _, ok := s.Peers()["good"]; !ok {
		t.Fatal("good peer not admitted")
	}
	// The rejected peer is disconnected, not just forgotten: the link is
	// gone on both sides (the reference left the socket open).
	if n.bridge.Connected("s", "mallory") {
		t.Fatal("rejected peer still connected")
	}
	if _, ok := m.Peers()["s"]; ok {
		t.Fatal("mallory still sees the server")
	}
}

func TestCanConnectChecksClaimedIdentityAgainstTransport(t *testing.T) {
	n := newTestNet(t)
	// The bridge binds each channel to the remote endpoint name, the way
	// the WebSocket server binds it to the authenticated principal.
	s := n.peer("s", func(o *Options) {
		o.Policies = []Policy{{CanConnect: func(r ConnectRequest) Verdict {
			bp, ok := r.Meta.(transporttest.BridgePeer)
			if !ok || bp.Remote != r.Identity.PeerID {
				return Deny
			}
			return Allow
		}}}
	})
	// Endpoint "eve" claims to be "alice".
	eve, err := New(Options{PeerID: "alice", Transports: []transport.Transport{n.bridge.Endpoint("eve")}, Clock: n.clk})
	if err != nil {
		t.Fatal(err)
	}
	n.exs["eve"] = eve
	n.peer("bob")
	n.settle()
	if _, ok := s.Peers()["alice"]; ok {
		t.Fatal("impostor admitted")
	}
	if _, ok := s.Peers()["bob"]; !ok {
		t.Fatal("honest peer rejected")
	}
}

func TestPolicyRegistry(t *testing.T) {
	var ps policies
	var disposed []string
	mk := func(name string, v Verdict) Policy {
		return Policy{Name: name, CanShare: func(string, wire.PeerIdentity) Verdict { return v }, Dispose: func() error {
			disposed = append(disposed, name)
			if name == "bad" {
				return errors.New("boom")
			}
			return nil
		}}
	}
	share := func() bool {
		return ps.allow(func(p Policy) Verdict { return askDoc(p.CanShare, "d", wire.PeerIdentity{}) })
	}
	if !share() {
		t.Fatal("empty set must be open")
	}
	d1 := ps.register(mk("a", Allow))
	ps.register(mk("b", Abstain))
	if !share() {
		t.Fatal("allow+abstain must be open")
	}
	ps.register(mk("b", Deny)) // replaces b in place, disposing the old one
	if share() || len(ps.snapshot()) != 2 || disposed[0] != "b" {
		t.Fatalf("replace: %v %v", len(ps.snapshot()), disposed)
	}
	if err := d1(); err != nil || len(ps.snapshot()) != 1 {
		t.Fatal("dispose")
	}
	if err := d1(); err != nil || len(disposed) != 2 {
		t.Fatal("dispose must be idempotent")
	}
	ps.register(mk("bad", Abstain))
	err := ps.clear()
	if !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonDispose}) || len(ps.snapshot()) != 0 {
		t.Fatalf("clear: %v", err)
	}
	// Resolve: first non-empty answer in registration order.
	ps.register(Policy{Resolve: func(ResolveRequest) Resolution { return Resolution{} }})
	ps.register(Policy{Resolve: func(ResolveRequest) Resolution { return Defer() }})
	ps.register(Policy{Resolve: func(ResolveRequest) Resolution { return Reject() }})
	if r := ps.resolve(ResolveRequest{}); r.kind != resolveDefer {
		t.Fatalf("resolve %v", r.kind)
	}
}
