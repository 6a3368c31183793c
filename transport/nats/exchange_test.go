package nats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/transport"
	natstransport "github.com/kyneta-go/kyneta/transport/nats"
)

// cluster is a set of exchanges, one per node, that talk only over NATS.
type cluster struct {
	t      *testing.T
	prefix string
	nodes  map[string]*exchange.Exchange
}

func newCluster(t *testing.T) *cluster {
	return &cluster{t: t, prefix: natstransport.NewPrefix(), nodes: map[string]*exchange.Exchange{}}
}

func (c *cluster) transport(id, url string) *natstransport.Transport {
	c.t.Helper()
	tr, err := natstransport.New(natstransport.Options{
		URL:       url,
		NodeID:    id,
		Prefix:    c.prefix,
		Heartbeat: 100 * time.Millisecond,
		DeadAfter: time.Second,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return tr
}

// start runs node id, connected to NATS at url ("" = the test server).
func (c *cluster) start(id, url string, stores ...store.Store) *exchange.Exchange {
	c.t.Helper()
	if url == "" {
		url = natstransport.URL()
	}
	ex, err := exchange.New(exchange.Options{
		PeerID:     id,
		PeerType:   "service",
		Transports: []transport.Transport{c.transport(id, url)},
		Stores:     stores,
		OnDiagnostic: func(d exchange.Diagnostic) {
			if d.Severity == exchange.SeverityError && d.Reason != "duplicate-peer" {
				c.t.Errorf("%s: diagnostic %s: %s", id, d.Reason, d.Message)
			}
		},
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[id] = ex
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ex.Shutdown(ctx)
	})
	return ex
}

func (c *cluster) doc(node, id string) *exchange.Doc {
	c.t.Helper()
	d, err := c.nodes[node].Get(id, exchange.JSONDoc(""))
	if err != nil {
		c.t.Fatal(err)
	}
	return d
}

func set(t *testing.T, d *exchange.Doc, key string, v any) {
	t.Helper()
	if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P(key), v); return nil }); err != nil {
		t.Fatal(err)
	}
}

// waitJSON waits until the document's JSON equals want, woken by the
// document's change events.
func waitJSON(t *testing.T, d *exchange.Doc, want string) {
	t.Helper()
	kick := make(chan struct{}, 1)
	cancel := d.Subscribe(func(exchange.Change) {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	defer cancel()
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	var wantV any
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatal(err)
	}
	wantJ, _ := json.Marshal(wantV)
	var got []byte
	for {
		got, _ = d.JSON()
		var v any
		if json.Unmarshal(got, &v) == nil {
			if norm, _ := json.Marshal(v); bytes.Equal(norm, wantJ) {
				return
			}
		}
		select {
		case <-kick:
		case <-ctx.Done():
			t.Fatalf("doc %s: %s, want %s", d.ID(), got, want)
		}
	}
}

// waitConnected waits until ex's view of peer's connectivity is want.
func waitConnected(t *testing.T, ex *exchange.Exchange, peer string, want bool) {
	t.Helper()
	kick := make(chan struct{}, 1)
	cancel := ex.SubscribePeers(func(exchange.PeerEvent) {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	defer cancel()
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	for ex.Connected(peer) != want {
		select {
		case <-kick:
		case <-ctx.Done():
			t.Fatalf("%s: connected(%s) never became %v", ex.PeerID(), peer, want)
		}
	}
}

func TestExchangesConvergeOverNATS(t *testing.T) {
	c := newCluster(t)
	for _, id := range []string{"n1", "n2", "n3"} {
		c.start(id, "")
	}
	ids := []string{"n1", "n2", "n3"}

	// One document, written in turn on each node.
	docs := map[string]*exchange.Doc{}
	for _, id := range ids {
		docs[id] = c.doc(id, "shared")
	}
	for i, writer := range ids {
		set(t, docs[writer], "title", fmt.Sprintf("from %s", writer))
		set(t, docs[writer], "turn", i)
		want := fmt.Sprintf(`{"title":"from %s","turn":%d}`, writer, i)
		for _, id := range ids {
			waitJSON(t, docs[id], want)
		}
	}

	// Different documents written at once on every node.
	const writes = 20
	var wg sync.WaitGroup
	for _, writer := range ids {
		d := c.doc(writer, "own-"+writer)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= writes; i++ {
				if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("n"), i); return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, writer := range ids {
		for _, id := range ids {
			waitJSON(t, c.doc(id, "own-"+writer), fmt.Sprintf(`{"n":%d}`, writes))
		}
	}
}

// TestNodeCutOffNATSCatchesUp: a node's NATS connection is closed by the
// network; the others drop it, both sides write, and when the network
// heals nats.go reconnects, the links come back and the exchanges catch
// up by versions.
func TestNodeCutOffNATSCatchesUp(t *testing.T) {
	c := newCluster(t)
	p := natstransport.NewProxy(t)
	n1, _, n3 := c.start("n1", ""), c.start("n2", ""), c.start("n3", p.URL())
	shared := map[string]*exchange.Doc{}
	for _, id := range []string{"n1", "n2", "n3"} {
		shared[id] = c.doc(id, "shared")
	}
	set(t, shared["n1"], "v", "before")
	waitJSON(t, shared["n3"], `{"v":"before"}`)

	p.Cut()
	waitConnected(t, n1, "n3", false)
	waitConnected(t, n3, "n1", false)
	set(t, shared["n1"], "v", "during")
	local := c.doc("n3", "made-while-cut")
	set(t, local, "by", "n3")
	waitJSON(t, shared["n2"], `{"v":"during"}`)

	p.Heal()
	waitConnected(t, n3, "n1", true)
	waitJSON(t, shared["n3"], `{"v":"during"}`)
	for _, id := range []string{"n1", "n2"} {
		waitJSON(t, c.doc(id, "made-while-cut"), `{"by":"n3"}`)
	}
	// Writes after the heal flow as before.
	set(t, shared["n3"], "v", "after")
	waitJSON(t, shared["n1"], `{"v":"after"}`)
	waitJSON(t, shared["n2"], `{"v":"after"}`)
}

// TestNodeReopensItsNATSConnection: a node closes its NATS connection (its
// transport removed from the exchange) and opens a new one (a new
// transport, same node id); it catches up with what it missed.
func TestNodeReopensItsNATSConnection(t *testing.T) {
	c := newCluster(t)
	n1, n2 := c.start("n1", ""), c.start("n2", "")
	a, b := c.doc("n1", "doc"), c.doc("n2", "doc")
	set(t, a, "step", 1)
	waitJSON(t, b, `{"step":1}`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n2.RemoveTransport(ctx, "nats-n2"); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, n1, "n2", false)
	set(t, a, "step", 2)
	if err := n2.AddTransport(ctx, c.transport("n2", natstransport.URL())); err != nil {
		t.Fatal(err)
	}
	waitJSON(t, b, `{"step":2}`)
	set(t, b, "step", 3)
	waitJSON(t, a, `{"step":3}`)
}

// TestRestartedNodeCatchesUpByVersions: a node stops; the others write; it
// restarts from its store and gets only what it missed.
func TestRestartedNodeCatchesUpByVersions(t *testing.T) {
	c := newCluster(t)
	c.start("n1", "")
	data := store.NewMemoryData()
	n2 := c.start("n2", "", store.NewMemory(store.MemoryOptions{Data: data}))
	a := c.doc("n1", "doc")
	for i := 1; i <= 5; i++ {
		set(t, a, fmt.Sprint("k", i), i)
	}
	waitJSON(t, c.doc("n2", "doc"), `{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, c.nodes["n1"], "n2", false)
	set(t, a, "k6", 6)

	c.start("n2", "", store.NewMemory(store.MemoryOptions{Data: data}))
	b := c.doc("n2", "doc")
	waitJSON(t, b, `{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6}`)
	if v := b.Version(); v != a.Version() {
		t.Fatalf("versions differ after catch-up: %s vs %s", v, a.Version())
	}
}
