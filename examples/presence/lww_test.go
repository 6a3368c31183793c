package main

import (
	"context"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
)

// TestUpdateWithinOneMillisecondReachesPeers: bob changes his presence
// twice, and everything (his writes, the relay's merges, alice's merge)
// happens within one millisecond of wall-clock time, which is ordinary on
// loopback. Alice must end up with bob's second status.
//
// A receiver of an LWW document stamps its own clock as the document's
// version after a merge, and never moves the version past max(own clock,
// own version). So when bob's second write (version T+1) reaches the relay
// in the millisecond T, the relay merges it but keeps version T, pushes it
// to alice as version T, and alice, already at T, judges it "equal" and
// drops it. Nothing repairs it later: alice shows the stale status until
// bob writes again. The presence example runs into this about one run in
// five without its heartbeat. This test uses a fake clock so the
// millisecond never ends.
func TestUpdateWithinOneMillisecondReachesPeers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	bridge := transport.NewBridge(transport.BridgeOptions{Clock: clk,
		OnError: func(ep string, err error) { t.Errorf("wire error at %s: %v", ep, err) }})
	var exs []*exchange.Exchange
	newPeer := func(name string, o exchange.Options) *exchange.Exchange {
		o.PeerID, o.Clock = name, clk
		o.Transports = []transport.Transport{bridge.Endpoint(name)}
		ex, err := exchange.New(o)
		if err != nil {
			t.Fatal(err)
		}
		exs = append(exs, ex)
		return ex
	}
	defer func() {
		for _, ex := range exs {
			if err := ex.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
		if err := bridge.Close(); err != nil {
			t.Error(err)
		}
	}()
	// settle: no message in flight and every exchange idle. An exchange
	// may send more while it drains, so it takes two passes in a row with
	// nothing in flight.
	settle := func() {
		t.Helper()
		for calm := 0; calm < 2; {
			if err := bridge.Settle(ctx); err != nil {
				t.Fatal(err)
			}
			for _, ex := range exs {
				if err := ex.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if bridge.InFlight() == 0 {
				calm++
			} else {
				calm = 0
			}
		}
	}

	newPeer("relay", exchange.Options{Policies: []exchange.Policy{{Name: "relay",
		Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() }}}})
	bob := newPeer("bob", exchange.Options{})
	alice := newPeer("alice", exchange.Options{DocTypes: []exchange.DocType{presenceType}})
	bridge.Partition("alice", "bob") // they meet only through the relay
	settle()

	mine, err := bob.Get("presence/bob", presenceType)
	if err != nil {
		t.Fatal(err)
	}
	status := func(s string) {
		t.Helper()
		if err := mine.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("status"), s); return nil }); err != nil {
			t.Fatal(err)
		}
		settle()
	}
	seen := func() string {
		t.Helper()
		d, err := alice.Get("presence/bob", presenceType)
		if err != nil {
			t.Fatal(err)
		}
		var p Presence
		if err := d.Decode(&p); err != nil {
			t.Fatal(err)
		}
		return p.Status
	}

	status("online")
	if got := seen(); got != "online" {
		t.Fatalf("alice sees bob %q, want online", got)
	}
	status("away")
	if got := seen(); got != "away" {
		t.Errorf("alice sees bob %q after his second write in the same millisecond, want away", got)
	}
}
