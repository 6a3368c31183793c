package exchange

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
)

// testNet is a set of exchanges on one in-memory bridge (full wire codec in
// the loop) with a fake clock.
type testNet struct {
	t      *testing.T
	bridge *transporttest.Bridge
	clk    *clock.Fake
	exs    map[string]*Exchange
	mu     sync.Mutex
	diags  []Diagnostic
}

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestNet(t *testing.T, opts ...func(*transporttest.BridgeOptions)) *testNet {
	t.Helper()
	clk := clock.NewFake(epoch)
	bo := transporttest.BridgeOptions{Clock: clk, OnError: func(ep string, err error) { t.Errorf("wire error at %s: %v", ep, err) }}
	for _, o := range opts {
		o(&bo)
	}
	n := &testNet{t: t, bridge: transporttest.NewBridge(bo), clk: clk, exs: map[string]*Exchange{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, ex := range n.exs {
			_ = ex.Shutdown(ctx)
		}
		_ = n.bridge.Close()
	})
	return n
}

// peer starts an exchange called name on the bridge.
func (n *testNet) peer(name string, mods ...func(*Options)) *Exchange {
	n.t.Helper()
	o := Options{
		PeerID:     name,
		Transports: []transport.Transport{n.bridge.Endpoint(name)},
		Clock:      n.clk,
		OnDiagnostic: func(d Diagnostic) {
			n.mu.Lock()
			n.diags = append(n.diags, d)
			n.mu.Unlock()
		},
	}
	for _, m := range mods {
		m(&o)
	}
	ex, err := New(o)
	if err != nil {
		n.t.Fatalf("New(%s): %v", name, err)
	}
	n.exs[name] = ex
	n.settle()
	return ex
}

func (n *testNet) diagnostics(code string) []Diagnostic {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Diagnostic
	for _, d := range n.diags {
		if d.Reason == code {
			out = append(out, d)
		}
	}
	return out
}

// settle returns once no message is in flight on the bridge and every
// exchange is quiet, deterministically (no sleeping).
func (n *testNet) settle() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		if err := n.bridge.Settle(ctx); err != nil {
			n.t.Fatalf("bridge settle: %v", err)
		}
		for _, ex := range n.exs {
			if err := ex.waitQuiet(ctx); err != nil {
				n.t.Fatalf("exchange quiet: %v", err)
			}
		}
		if n.bridge.InFlight() == 0 && n.allQuiet() && n.bridge.InFlight() == 0 {
			return
		}
		if i > 10000 {
			n.t.Fatal("network does not settle")
		}
	}
}

func (n *testNet) allQuiet() bool {
	for _, ex := range n.exs {
		ex.mu.Lock()
		busy := ex.busyLocked()
		ex.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// restart shuts name's exchange down and starts a fresh one on the same
// endpoint.
func (n *testNet) stop(name string) {
	n.t.Helper()
	if err := n.exs[name].Shutdown(context.Background()); err != nil {
		n.t.Fatalf("shutdown %s: %v", name, err)
	}
	delete(n.exs, name)
	n.settle()
}

func mustGet(t *testing.T, ex *Exchange, id string, dt DocType) *Doc {
	t.Helper()
	d, err := ex.Get(id, dt)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return d
}

func update(t *testing.T, d *Doc, fn func(tx *Tx)) {
	t.Helper()
	if err := d.Update(func(tx *Tx) error { fn(tx); return nil }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func jsonOf(t *testing.T, d *Doc) string {
	t.Helper()
	b, err := d.JSON()
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	return string(b)
}

func wantJSON(t *testing.T, d *Doc, want string) {
	t.Helper()
	var a, b any
	got := jsonOf(t, d)
	if err := json.Unmarshal([]byte(got), &a); err != nil {
		t.Fatalf("bad json %q", got)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("bad want %q", want)
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if string(ga) != string(gb) {
		t.Fatalf("doc %s = %s, want %s", d.ID(), got, want)
	}
}

func waitSync(t *testing.T, d *Doc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.WaitForSync(ctx); err != nil {
		t.Fatalf("WaitForSync(%s): %v", d.ID(), err)
	}
}

func peerEvents(ex *Exchange) (func() string, func()) {
	var mu sync.Mutex
	var log []string
	cancel := ex.SubscribePeers(func(e PeerEvent) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range e.Changes {
			log = append(log, strings.TrimPrefix(string(c.Type), "peer-")+":"+c.Peer.PeerID)
		}
	})
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		s := strings.Join(log, " ")
		log = nil
		return s
	}, cancel
}

func n0clock() *clock.Fake { return clock.NewFake(epoch) }

// settleAll is settle for exchanges spread over several bridges.
func settleAll(t *testing.T, bridges []*transporttest.Bridge, exs ...*Exchange) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; i < 10000; i++ {
		for _, b := range bridges {
			if err := b.Settle(ctx); err != nil {
				t.Fatal(err)
			}
		}
		quiet := true
		for _, ex := range exs {
			if err := ex.waitQuiet(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, ex := range exs {
			ex.mu.Lock()
			quiet = quiet && !ex.busyLocked()
			ex.mu.Unlock()
		}
		for _, b := range bridges {
			quiet = quiet && b.InFlight() == 0
		}
		if quiet {
			return
		}
	}
	t.Fatal("does not settle")
}
