package exchange_test

import (
	"context"
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
)

// Two exchanges on an in-memory bridge keep a JSON document in sync.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bridge := transporttest.NewBridge(transporttest.BridgeOptions{})
	defer bridge.Close()

	alice, _ := exchange.New(exchange.Options{PeerID: "alice", Transports: []transport.Transport{bridge.Endpoint("alice")}})
	defer alice.Shutdown(ctx)
	todo := exchange.JSONDoc("todo-v1")
	mine, _ := alice.Get("todo", todo)
	_ = mine.Update(func(tx *exchange.Tx) error {
		tx.Set(exchange.P("title"), "buy milk")
		tx.Set(exchange.P("done"), false)
		return nil
	})

	// WaitForSync returns once bob holds what alice had when she answered
	// him, so alice's write is there.
	bob, _ := exchange.New(exchange.Options{PeerID: "bob", Transports: []transport.Transport{bridge.Endpoint("bob")}})
	defer bob.Shutdown(ctx)
	theirs, _ := bob.Get("todo", todo)
	if err := theirs.WaitForSync(ctx); err != nil {
		fmt.Println(err)
		return
	}
	var v struct {
		Title string `json:"title"`
		Done  bool   `json:"done"`
	}
	_ = theirs.Decode(&v)
	fmt.Printf("%s done=%v\n", v.Title, v.Done)
	// Output: buy milk done=false
}

// A policy decides who may connect and who sees which documents.
func ExamplePolicy() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bridge := transporttest.NewBridge(transporttest.BridgeOptions{})
	defer bridge.Close()

	hub, _ := exchange.New(exchange.Options{
		PeerID:     "hub",
		Transports: []transport.Transport{bridge.Endpoint("hub")},
		Policies: []exchange.Policy{{
			Name: "tenants",
			// Only peers whose id starts with "acme-" may connect.
			CanConnect: func(r exchange.ConnectRequest) exchange.Verdict {
				if len(r.Identity.PeerID) > 5 && r.Identity.PeerID[:5] == "acme-" {
					return exchange.Allow
				}
				return exchange.Deny
			},
			// Hold whatever connected peers announce, headless.
			Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() },
		}},
	})
	defer hub.Shutdown(ctx)
	bridge.Partition("acme-1", "intruder") // both only talk to the hub

	for _, id := range []string{"acme-1", "intruder"} {
		ex, _ := exchange.New(exchange.Options{PeerID: id, Transports: []transport.Transport{bridge.Endpoint(id)}})
		defer ex.Shutdown(ctx)
		d, _ := ex.Get("notes/"+id, exchange.JSONDoc("notes-v1"))
		_ = d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("text"), "hi"); return nil })
		_ = ex.Flush(ctx)
	}
	_ = bridge.Settle(ctx)
	_ = hub.Flush(ctx)
	fmt.Println(hub.Has("notes/acme-1"), hub.Has("notes/intruder"))
	// Output: true false
}

// Observe traces what the exchange does; here, the change sets of a
// document (the doc layer).
func ExampleExchange_Observe() {
	ex, _ := exchange.New(exchange.Options{PeerID: "alice"})
	defer ex.Shutdown(context.Background())
	cancel := ex.Observe(func(e exchange.ObsEvent) {
		if e.Layer == exchange.ObsDoc {
			fmt.Println(e.Kind, e.DocID, e.Ops[0].Type, e.Ops[0].Path, "remote:", e.Replay)
		}
	})
	defer cancel()
	doc, _ := ex.Get("notes", exchange.JSONDoc(""))
	_ = doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("title"), "hello"); return nil })
	_ = ex.Flush(context.Background())
	// Output: changeset notes replace title remote: false
}

// Reset starts over without saying goodbye; the exchange stays usable.
func ExampleExchange_Reset() {
	ex, _ := exchange.New(exchange.Options{PeerID: "alice"})
	defer ex.Shutdown(context.Background())
	old, _ := ex.Get("notes", exchange.JSONDoc(""))
	_ = ex.Reset(context.Background())
	fmt.Println(len(ex.Documents()), kyneta.ReasonOf(old.Update(func(*exchange.Tx) error { return nil })))
	again, _ := ex.Get("notes", exchange.JSONDoc(""))
	fmt.Println(again.ID(), len(ex.Documents()))
	// Output:
	// 0 destroyed
	// notes 1
}

// Settled tells an offline-first UI how a document settled: at once
// locally without transports, through a peer, or offline when no peer
// answered in time.
func ExampleDoc_Settled() {
	ctx := context.Background()
	local, _ := exchange.New(exchange.Options{PeerID: "alone"})
	defer local.Shutdown(ctx)
	d, _ := local.Get("notes", exchange.JSONDoc(""))
	how, _ := d.Settled(ctx, time.Second)
	fmt.Println(how)

	bridge := transporttest.NewBridge(transporttest.BridgeOptions{})
	defer bridge.Close()
	lonely, _ := exchange.New(exchange.Options{PeerID: "lonely", Transports: []transport.Transport{bridge.Endpoint("lonely")}})
	defer lonely.Shutdown(ctx)
	d, _ = lonely.Get("notes", exchange.JSONDoc(""))
	how, _ = d.Settled(ctx, 20*time.Millisecond) // nobody else is on the bridge
	fmt.Println(how)

	friend, _ := exchange.New(exchange.Options{PeerID: "friend", Transports: []transport.Transport{bridge.Endpoint("friend")}})
	defer friend.Shutdown(ctx)
	how, _ = d.Settled(ctx, 10*time.Second)
	fmt.Println(how)
	// Output:
	// local
	// offline
	// peer
}
