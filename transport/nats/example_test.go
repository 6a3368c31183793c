package nats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
	natstransport "github.com/kyneta-go/kyneta/transport/nats"
)

// Two nodes of one deployment find each other over NATS and keep a
// document in sync. A node's exchange uses its node id as its peer id.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := os.Getenv("KYNETA_TEST_NATS")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	// A deployment uses one fixed prefix; the example takes its own.
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "example" + hex.EncodeToString(b[:])

	node := func(id string) *exchange.Exchange {
		tr, err := natstransport.New(natstransport.Options{URL: url, NodeID: id, Prefix: prefix})
		if err != nil {
			panic(err)
		}
		ex, err := exchange.New(exchange.Options{PeerID: id, PeerType: "service", Transports: []transport.Transport{tr}})
		if err != nil {
			panic(err)
		}
		return ex
	}
	east := node("east")
	defer east.Shutdown(ctx)
	cfg, _ := east.Get("config", exchange.JSONDoc(""))
	_ = cfg.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("replicas"), 3); return nil })

	// west joins later and asks for the document: east's answer carries
	// its write. (Had west been up before east wrote, east's announcement
	// of the still empty document could reach west after west's Get, and
	// WaitForSync would count it; the write follows as a push.)
	west := node("west")
	defer west.Shutdown(ctx)
	mirror, _ := west.Get("config", exchange.JSONDoc(""))
	if err := mirror.WaitForSync(ctx); err != nil {
		fmt.Println(err)
		return
	}
	var v struct{ Replicas int }
	_ = mirror.Decode(&v)
	fmt.Println("replicas:", v.Replicas)
	// Output: replicas: 3
}
