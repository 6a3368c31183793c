package line

import (
	"context"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
)

// Msg is the test payload (TS: Schema.struct({text: Schema.string(), n: Schema.number()})).
type Msg struct {
	Text string  `json:"text"`
	N    float64 `json:"n"`
}

// testNet is a set of exchanges on one in-memory bridge with a fake clock;
// peers may keep their store across restarts.
type testNet struct {
	t      testing.TB
	bridge *transporttest.Bridge
	clk    *clock.Fake
	exs    map[string]*exchange.Exchange
	data   map[string]*store.MemoryData
}

func newNet(t testing.TB) *testNet {
	t.Helper()
	n := newNetNoCleanup(t)
	t.Cleanup(n.closeAll)
	return n
}

// newNetNoCleanup is newNet for rapid checks, which run many nets in one
// test: the caller calls closeAll.
func newNetNoCleanup(t testing.TB) *testNet {
	t.Helper()
	clk := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	n := &testNet{t: t, clk: clk, exs: map[string]*exchange.Exchange{}, data: map[string]*store.MemoryData{},
		bridge: transporttest.NewBridge(transporttest.BridgeOptions{Clock: clk, OnError: func(ep string, err error) {
			t.Errorf("wire error at %s: %v", ep, err)
		}})}
	return n
}

func (n *testNet) closeAll() {
	for name := range n.exs {
		n.stop(name)
	}
	_ = n.bridge.Close()
}

// start runs an exchange called name; with stored it keeps its documents in
// a memory store that survives restarts.
func (n *testNet) start(name string, stored bool) *exchange.Exchange {
	n.t.Helper()
	o := exchange.Options{PeerID: name, Clock: n.clk, DepartureTimeout: exchange.DepartNever,
		Transports: []transport.Transport{n.bridge.Endpoint(name)},
		OnDiagnostic: func(d exchange.Diagnostic) {
			if d.Severity == exchange.SeverityError || d.Reason == "store-error" || d.Reason == "merge-failed" {
				n.t.Logf("%s: diagnostic %s: %s %v", name, d.Reason, d.Message, d.Err)
			}
		}}
	if stored {
		if n.data[name] == nil {
			n.data[name] = store.NewMemoryData()
		}
		o.Stores = []store.Store{store.NewMemory(store.MemoryOptions{Data: n.data[name]})}
	}
	ex, err := exchange.New(o)
	if err != nil {
		n.t.Fatalf("New(%s): %v", name, err)
	}
	n.exs[name] = ex
	return ex
}

func (n *testNet) stop(name string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.exs[name].Shutdown(ctx); err != nil {
		n.t.Fatalf("shutdown %s: %v", name, err)
	}
	delete(n.exs, name)
}

// settle waits until no message is in flight, every exchange is quiet
// and every line's goroutine has nothing left to do (no sleeping).
func (n *testNet) settle(lines ...idler) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		if err := n.bridge.Settle(ctx); err != nil {
			n.t.Fatalf("bridge settle: %v", err)
		}
		for _, ex := range n.exs {
			if err := ex.Flush(ctx); err != nil {
				n.t.Fatalf("flush: %v", err)
			}
		}
		busy := false
		for _, l := range lines {
			if !l.idle() {
				busy = true
			}
		}
		if !busy && n.bridge.InFlight() == 0 {
			return
		}
		if i > 10000 {
			n.t.Fatal("network does not settle")
		}
		for _, l := range lines {
			if err := l.waitIdle(ctx); err != nil {
				n.t.Fatalf("line idle: %v", err)
			}
		}
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustProto(t testing.TB, topic string) *Protocol[Msg, Msg] {
	t.Helper()
	p, err := NewProtocol[Msg, Msg](topic, Options{OnError: func(err error) {
		if kyneta.ReasonOf(err) != reasonClosed {
			t.Errorf("line background error: %v", err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type idler interface {
	idle() bool
	waitIdle(context.Context) error
}

func readBox(t testing.TB, d *exchange.Doc) box {
	t.Helper()
	raw, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeBox(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waiting reports whether a Receive is waiting.
func (l *Line[Out, In]) waiting() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.receiving
}
