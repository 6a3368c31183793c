package main

import (
	"context"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
)

// These tests pin down how a presence change travels writer -> relay ->
// reader when the steps fall on millisecond boundaries, which on loopback
// they do all the time. LWW versions are wall-clock milliseconds, so every
// step's clock matters; a fake clock makes each case exact. In every case
// the reader must end up with the writer's last status.

// lwwNet is bob (a writer) and alice (a reader) who meet only through a
// headless relay, on an in-memory bridge with a fake clock.
type lwwNet struct {
	t      *testing.T
	ctx    context.Context
	clk    *clock.Fake
	bridge *transporttest.Bridge
	exs    []*exchange.Exchange
	bob    *exchange.Exchange
	alice  *exchange.Exchange
	mine   *exchange.Doc // bob's presence document
}

func newLWWNet(t *testing.T) *lwwNet {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	n := &lwwNet{t: t, ctx: ctx, clk: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	n.bridge = transporttest.NewBridge(transporttest.BridgeOptions{Clock: n.clk,
		OnError: func(ep string, err error) { t.Errorf("wire error at %s: %v", ep, err) }})
	t.Cleanup(func() {
		for _, ex := range n.exs {
			if err := ex.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		}
		if err := n.bridge.Close(); err != nil {
			t.Error(err)
		}
	})
	n.peer("relay", exchange.Options{Policies: []exchange.Policy{{Name: "relay",
		Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() }}}})
	n.bob = n.peer("bob", exchange.Options{})
	n.alice = n.peer("alice", exchange.Options{DocTypes: []exchange.DocType{presenceType}})
	n.bridge.Partition("alice", "bob")
	n.settle()
	var err error
	if n.mine, err = n.bob.Get("presence/bob", presenceType); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *lwwNet) peer(name string, o exchange.Options) *exchange.Exchange {
	o.PeerID, o.Clock = name, n.clk
	o.Transports = []transport.Transport{n.bridge.Endpoint(name)}
	ex, err := exchange.New(o)
	if err != nil {
		n.t.Fatal(err)
	}
	n.exs = append(n.exs, ex)
	return ex
}

// settle: no message in flight and every exchange idle. An exchange may
// send more while it drains, so it takes two calm passes in a row.
func (n *lwwNet) settle() {
	n.t.Helper()
	for calm := 0; calm < 2; {
		if err := n.bridge.Settle(n.ctx); err != nil {
			n.t.Fatal(err)
		}
		for _, ex := range n.exs {
			if err := ex.Flush(n.ctx); err != nil {
				n.t.Fatal(err)
			}
		}
		if n.bridge.InFlight() == 0 {
			calm++
		} else {
			calm = 0
		}
	}
}

// set writes bob's status (delivery is up to the caller).
func (n *lwwNet) set(s string) {
	n.t.Helper()
	if err := n.mine.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("status"), s); return nil }); err != nil {
		n.t.Fatal(err)
	}
}

// seen is bob's status as alice holds it.
func (n *lwwNet) seen() string {
	n.t.Helper()
	d, err := n.alice.Get("presence/bob", presenceType)
	if err != nil {
		n.t.Fatal(err)
	}
	var p Presence
	if err := d.Decode(&p); err != nil {
		n.t.Fatal(err)
	}
	return p.Status
}

func (n *lwwNet) want(status, when string) {
	n.t.Helper()
	if got := n.seen(); got != status {
		n.t.Errorf("%s: alice sees bob %q, want %q", when, got, status)
	}
}

// TestLWWSameMillisecond: bob's two writes, the relay's merges and
// alice's all happen in one millisecond. The relay merges the second write
// (stamped T+1) during its millisecond T; it must forward it as newer than
// what alice holds.
func TestLWWSameMillisecond(t *testing.T) {
	n := newLWWNet(t)
	n.set("online")
	n.settle()
	n.want("online", "after the first write")
	n.set("away")
	n.settle()
	n.want("away", "after a second write in the same millisecond")
}

// slowSet writes bob's status and delivers it to the relay one
// millisecond later (only this write is delayed).
func (n *lwwNet) slowSet(s string) {
	n.t.Helper()
	n.bridge.SetDelay("bob", "relay", time.Millisecond)
	n.set(s)
	n.bridge.SetDelay("bob", "relay", 0)
	n.clk.Advance(time.Millisecond)
	n.settle()
}

// TestLWWDeliveryCrossesMillisecond: bob writes in millisecond T, the relay
// receives it in T+1 and stamps its copy T+1 (its own clock); bob writes
// again, still in T+1, so his write is stamped T+1 too. That second write
// must not be judged equal to the relay's copy and dropped: nothing would
// repair it until bob writes again.
func TestLWWDeliveryCrossesMillisecond(t *testing.T) {
	n := newLWWNet(t)
	n.set("online")
	n.settle()
	n.want("online", "after the first write")
	n.clk.Advance(time.Millisecond) // T: bob's next write is stamped with the clock
	n.slowSet("busy")               // reaches the relay in T+1
	n.want("busy", "after the second write")
	n.slowSet("away") // written in T+1
	n.want("away", "after a write in the millisecond the relay received the previous one")
}
