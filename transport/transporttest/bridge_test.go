package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/transport"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/wire"
)

// peer stands in for an exchange on one bridge endpoint: it records what
// its transport reports and, like the exchange, sends establish when asked.
type peer struct {
	t    *testing.T
	name string
	ep   *BridgeEndpoint

	mu     sync.Mutex
	events []string
	byID   map[transport.ChannelID]string // channel id -> remote endpoint
	got    map[string][]wire.ChannelMsg
	// onReceive, if set, runs inside OnChannelReceive (re-entrancy tests).
	onReceive func(from string, m wire.ChannelMsg)
	// notify gets a token after each receipt.
	notify chan struct{}
}

func newPeer(t *testing.T, b *Bridge, name string) *peer {
	t.Helper()
	p := &peer{t: t, name: name, ep: b.Endpoint(name), byID: map[transport.ChannelID]string{}, got: map[string][]wire.ChannelMsg{}, notify: make(chan struct{}, 1)}
	ctx := context.Background()
	if err := p.ep.Initialize(ctx, p.context()); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *peer) context() transport.Context {
	return transport.Context{
		Identity:      wire.PeerIdentity{PeerID: p.name, Type: wire.PeerService},
		MintChannelID: transport.NewChannelIDMinter(),
		OnChannelAdded: func(ch *transport.Channel) {
			bp := ch.Meta.(BridgePeer)
			p.mu.Lock()
			defer p.mu.Unlock()
			if bp.Local != p.name {
				p.t.Errorf("%s: channel meta %+v", p.name, bp)
			}
			p.byID[ch.ID] = bp.Remote
			p.events = append(p.events, "added "+bp.Remote)
		},
		OnChannelRemoved: func(ch *transport.Channel) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.events = append(p.events, "removed "+ch.Meta.(BridgePeer).Remote)
		},
		OnChannelEstablish: func(ch *transport.Channel) {
			p.mu.Lock()
			p.events = append(p.events, "establish "+ch.Meta.(BridgePeer).Remote)
			p.mu.Unlock()
			name := p.name
			est := &wire.Establish{Identity: wire.PeerIdentity{PeerID: name, Type: wire.PeerService}, ProtocolVersion: wire.DefaultProtocolVersion}
			if err := ch.Send(est); err != nil {
				p.t.Errorf("%s: establish: %v", p.name, err)
			}
		},
		OnChannelReceive: func(id transport.ChannelID, m wire.ChannelMsg) {
			p.mu.Lock()
			from, ok := p.byID[id]
			if !ok {
				p.t.Errorf("%s: message on unknown channel %d", p.name, id)
			}
			p.got[from] = append(p.got[from], m)
			f := p.onReceive
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
			if f != nil {
				f(from, m)
			}
		},
	}
}

func (p *peer) start(t *testing.T) {
	t.Helper()
	if err := p.ep.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (p *peer) takeEvents() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.events
	p.events = nil
	return out
}

// takeFrom returns and forgets what arrived from remote, without the
// establish handshake messages.
func (p *peer) takeFrom(remote string) []wire.ChannelMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wire.ChannelMsg
	for _, m := range p.got[remote] {
		if m.MsgType() != wire.TypeEstablish {
			out = append(out, m)
		}
	}
	delete(p.got, remote)
	return out
}

func (p *peer) send(t *testing.T, remote string, m wire.ChannelMsg) {
	t.Helper()
	ch, ok := p.ep.ChannelTo(remote)
	if !ok {
		t.Fatalf("%s: no channel to %s", p.name, remote)
	}
	if err := ch.Send(m); err != nil {
		t.Fatalf("%s -> %s: %v", p.name, remote, err)
	}
}

func settle(t *testing.T, b *Bridge) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Settle(ctx); err != nil {
		t.Fatalf("settle: %v (in flight %d)", err, b.InFlight())
	}
}

func newTestBridge(t *testing.T, opts BridgeOptions) *Bridge {
	t.Helper()
	if opts.OnError == nil {
		opts.OnError = func(ep string, err error) { t.Errorf("wire error at %s: %v", ep, err) }
	}
	b := NewBridge(opts)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func interest(doc string) *wire.Interest { return &wire.Interest{DocID: doc} }

func docIDs(ms []wire.ChannelMsg) []string {
	var out []string
	for _, m := range ms {
		switch m := m.(type) {
		case *wire.Interest:
			out = append(out, m.DocID)
		case *wire.Offer:
			out = append(out, m.DocID)
		default:
			out = append(out, m.MsgType().String())
		}
	}
	return out
}

func TestBridgeThreeEndpoints(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{})
	a, bb, c := newPeer(t, b, "a"), newPeer(t, b, "b"), newPeer(t, b, "c")
	a.start(t)
	bb.start(t)
	c.start(t)
	settle(t, b)

	// The joiner starts the handshake; existing endpoints just add channels.
	if got := a.takeEvents(); !slices.Equal(got, []string{"added b", "added c"}) {
		t.Fatalf("a events %v", got)
	}
	if got := bb.takeEvents(); !slices.Equal(got, []string{"added a", "establish a", "added c"}) {
		t.Fatalf("b events %v", got)
	}
	if got := c.takeEvents(); !slices.Equal(got, []string{"added a", "added b", "establish a", "establish b"}) {
		t.Fatalf("c events %v", got)
	}
	// Establish went through the wire both ways it was sent.
	if got := a.got["b"]; len(got) != 1 || got[0].(*wire.Establish).Identity.PeerID != "b" {
		t.Fatalf("a got from b: %v", got)
	}
	for _, x := range []string{"a", "b", "c"} {
		for _, y := range []string{"a", "b", "c"} {
			if x != y && !b.Connected(x, y) {
				t.Fatalf("%s-%s not connected", x, y)
			}
		}
	}

	for i := range 20 {
		a.send(t, "b", interest(fmt.Sprint("ab", i)))
		a.send(t, "c", interest(fmt.Sprint("ac", i)))
		c.send(t, "b", interest(fmt.Sprint("cb", i)))
	}
	settle(t, b)
	want := func(prefix string) []string {
		var out []string
		for i := range 20 {
			out = append(out, fmt.Sprint(prefix, i))
		}
		return out
	}
	if got := docIDs(bb.takeFrom("a")); !slices.Equal(got, want("ab")) {
		t.Fatalf("b from a: %v", got)
	}
	if got := docIDs(c.takeFrom("a")); !slices.Equal(got, want("ac")) {
		t.Fatalf("c from a: %v", got)
	}
	if got := docIDs(bb.takeFrom("c")); !slices.Equal(got, want("cb")) {
		t.Fatalf("b from c: %v", got)
	}
	st := b.Stats()
	if st.Delivered != st.Sent || st.Sent != 3+60 || st.Dropped != 0 || st.Discarded != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBridgeFullCodecAndFragmentation(t *testing.T) {
	var mu sync.Mutex
	var traces []transport.FrameTrace
	b := newTestBridge(t, BridgeOptions{FragmentThreshold: 1000})
	a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
	cc := c.context()
	cc.OnFrame = func(tr transport.FrameTrace) {
		mu.Lock()
		traces = append(traces, tr)
		mu.Unlock()
	}
	if err := c.ep.Initialize(context.Background(), cc); err != nil {
		t.Fatal(err)
	}
	a.start(t)
	c.start(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB
	lineage := "l1"
	offer := &wire.Offer{DocID: "big", Version: "v9", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: data, Lineage: &lineage}}
	a.send(t, "c", offer)
	settle(t, b)
	got := c.takeFrom("a")
	if len(got) != 1 || !reflect.DeepEqual(got[0], offer) {
		t.Fatalf("offer did not survive the round trip")
	}
	if got[0].(*wire.Offer) == offer {
		t.Fatal("message was passed by reference, not through the codec")
	}
	mu.Lock()
	defer mu.Unlock()
	var recv []transport.FrameTrace
	for _, tr := range traces {
		if tr.Dir == transport.DirReceive {
			recv = append(recv, tr)
		}
	}
	// establish from c (sent), establish from a, then the offer: the
	// receive trace of the offer covers all its fragment frames.
	last := recv[len(recv)-1]
	if last.Kind != wire.KindComplete || last.Size <= len(data) {
		t.Fatalf("receive trace %+v", last)
	}
	if b.Stats().WireErrors != 0 {
		t.Fatal("wire errors")
	}
}

func TestBridgePartitionAndHeal(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{})
	a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
	a.start(t)
	c.start(t)
	settle(t, b)
	a.takeEvents()
	c.takeEvents()
	oldCh, _ := a.ep.ChannelTo("c")

	b.Partition("a", "c")
	if got := a.takeEvents(); !slices.Equal(got, []string{"removed c"}) {
		t.Fatalf("a events %v", got)
	}
	if got := c.takeEvents(); !slices.Equal(got, []string{"removed a"}) {
		t.Fatalf("c events %v", got)
	}
	if _, ok := a.ep.ChannelTo("c"); ok || b.Connected("a", "c") {
		t.Fatal("still connected")
	}
	if err := oldCh.Send(interest("lost")); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
		t.Fatalf("send on cut link: %v", err)
	}
	// A restart of c does not cross the partition.
	_ = c.ep.Stop(context.Background())
	_ = c.ep.Initialize(context.Background(), c.context())
	c.start(t)
	if b.Connected("a", "c") || len(a.takeEvents()) != 0 {
		t.Fatal("partition crossed")
	}
	c.takeEvents()

	b.Heal("c", "a")
	settle(t, b)
	if got := a.takeEvents(); !slices.Equal(got, []string{"added c"}) {
		t.Fatalf("a events %v", got)
	}
	if got := c.takeEvents(); !slices.Equal(got, []string{"added a", "establish a"}) {
		t.Fatalf("c events %v", got)
	}
	newCh, _ := a.ep.ChannelTo("c")
	if newCh.ID == oldCh.ID {
		t.Fatal("channel id reused")
	}
	a.send(t, "c", interest("after"))
	settle(t, b)
	if got := docIDs(c.takeFrom("a")); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("c got %v", got)
	}
}

func TestBridgeDrop(t *testing.T) {
	t.Run("next", func(t *testing.T) {
		b := newTestBridge(t, BridgeOptions{})
		a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
		a.start(t)
		c.start(t)
		settle(t, b)
		b.DropNext("a", "c", 2)
		for i := range 5 {
			a.send(t, "c", interest(fmt.Sprint(i)))
			c.send(t, "a", interest(fmt.Sprint(i))) // other direction unaffected
		}
		settle(t, b)
		if got := docIDs(c.takeFrom("a")); !slices.Equal(got, []string{"2", "3", "4"}) {
			t.Fatalf("c got %v", got)
		}
		if got := docIDs(a.takeFrom("c")); len(got) != 5 {
			t.Fatalf("a got %v", got)
		}
		if st := b.Stats(); st.Dropped != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("rate", func(t *testing.T) {
		// Injected randomness: draws alternate 0.9, 0, 0.9, …; only 0 < 0.5 drops.
		draws := 0
		r := func() float64 { draws++; return float64(draws%2) * 0.9 }
		b := newTestBridge(t, BridgeOptions{Rand: r})
		a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
		a.start(t)
		c.start(t)
		settle(t, b)
		b.SetDropRate(Any, "c", 0.5)
		for i := range 6 {
			a.send(t, "c", interest(fmt.Sprint(i)))
		}
		settle(t, b)
		if got := docIDs(c.takeFrom("a")); !slices.Equal(got, []string{"0", "2", "4"}) {
			t.Fatalf("c got %v", got)
		}
		b.ClearFaults()
		a.send(t, "c", interest("x"))
		settle(t, b)
		if got := docIDs(c.takeFrom("a")); !slices.Equal(got, []string{"x"}) {
			t.Fatalf("after clear: %v", got)
		}
	})
	t.Run("alias state survives drops", func(t *testing.T) {
		// A dropped message never reaches the sender's pipeline, so the
		// next one still decodes on the other end.
		b := newTestBridge(t, BridgeOptions{})
		a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
		a.start(t)
		c.start(t)
		settle(t, b)
		b.DropNext("a", "c", 1)
		a.send(t, "c", &wire.Present{Docs: []wire.DocPresence{{DocID: "d", SyncMode: wire.Authoritative, SchemaHash: "h"}}})
		a.send(t, "c", interest("d"))
		settle(t, b)
		if got := docIDs(c.takeFrom("a")); !slices.Equal(got, []string{"d"}) {
			t.Fatalf("c got %v", got)
		}
	})
}

func TestBridgeDuplicate(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{FragmentThreshold: 16})
	a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
	a.start(t)
	c.start(t)
	settle(t, b)
	b.DuplicateNext("a", "c", 1)
	offer := &wire.Offer{DocID: "dup", Version: "1", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`{"a":1,"b":[1,2,3]}`)}}
	a.send(t, "c", offer)
	a.send(t, "c", interest("once"))
	settle(t, b)
	got := c.takeFrom("a")
	if ids := docIDs(got); !slices.Equal(ids, []string{"dup", "dup", "once"}) {
		t.Fatalf("c got %v", ids)
	}
	if !reflect.DeepEqual(got[0], offer) || !reflect.DeepEqual(got[1], offer) {
		t.Fatal("duplicate differs")
	}
	if st := b.Stats(); st.Duplicated != 1 || st.Delivered != st.Sent+1 {
		t.Fatalf("stats %+v", st)
	}
	b.SetDuplicateRate("a", "c", 1)
	a.send(t, "c", interest("twice"))
	settle(t, b)
	if ids := docIDs(c.takeFrom("a")); !slices.Equal(ids, []string{"twice", "twice"}) {
		t.Fatalf("c got %v", ids)
	}
}

func TestBridgeDelayKeepsLinkOrder(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	b := newTestBridge(t, BridgeOptions{Clock: fc})
	a, c, d := newPeer(t, b, "a"), newPeer(t, b, "c"), newPeer(t, b, "d")
	a.start(t)
	c.start(t)
	d.start(t)
	settle(t, b)

	b.SetDelay("a", "c", 5*time.Second)
	a.send(t, "c", interest("slow"))
	b.SetDelay("a", "c", 0)
	a.send(t, "c", interest("behind")) // not delayed, but FIFO behind "slow"
	a.send(t, "d", interest("fast"))   // other link: not held back
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Settle(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("settle with delayed message: %v", err)
	}
	// Wait for the undelayed link by its own receipt, then check that the
	// delayed link delivered nothing: its head is not due yet.
	waitFor(t, d.notify, func() bool { return len(d.peekFrom("a")) == 1 })
	// The bridge counts "fast" delivered right after d's callback returns;
	// yield until it has (the delayed link's two are then all in flight).
	for deadline := time.Now().Add(10 * time.Second); b.InFlight() > 2; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %d", b.InFlight())
		}
	}
	if got := c.peekFrom("a"); len(got) != 0 {
		t.Fatalf("delivered early: %v", docIDs(got))
	}
	if n := b.InFlight(); n != 2 {
		t.Fatalf("in flight %d", n)
	}
	fc.Advance(4 * time.Second)
	if n := b.InFlight(); n != 2 {
		t.Fatalf("in flight after 4s: %d", n)
	}
	fc.Advance(time.Second)
	settle(t, b)
	if got := docIDs(c.takeFrom("a")); !slices.Equal(got, []string{"slow", "behind"}) {
		t.Fatalf("c got %v", got)
	}
}

func (p *peer) peekFrom(remote string) []wire.ChannelMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wire.ChannelMsg
	for _, m := range p.got[remote] {
		if m.MsgType() != wire.TypeEstablish {
			out = append(out, m)
		}
	}
	return out
}

// waitFor re-checks cond each time notify fires; the timeout only turns a
// bug into a failure instead of a hang.
func waitFor(t *testing.T, notify <-chan struct{}, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for !cond() {
		select {
		case <-notify:
		case <-timeout.C:
			t.Fatal("condition not reached")
		}
	}
}

func TestBridgeDisconnectReconnect(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{})
	a, bb, c := newPeer(t, b, "a"), newPeer(t, b, "b"), newPeer(t, b, "c")
	a.start(t)
	bb.start(t)
	c.start(t)
	settle(t, b)
	for _, p := range []*peer{a, bb, c} {
		p.takeEvents()
	}
	b.Disconnect("c")
	if got := c.takeEvents(); !slices.Equal(got, []string{"removed a", "removed b"}) {
		t.Fatalf("c events %v", got)
	}
	if got := a.takeEvents(); !slices.Equal(got, []string{"removed c"}) {
		t.Fatalf("a events %v", got)
	}
	if !b.Connected("a", "b") || b.Connected("a", "c") {
		t.Fatal("wrong links")
	}
	if c.ep.State() != transport.StateStarted || c.ep.Len() != 0 {
		t.Fatal("disconnected endpoint should stay started with no channels")
	}
	// While disconnected, a restart of a does not reach c.
	_ = a.ep.Stop(context.Background())
	_ = a.ep.Initialize(context.Background(), a.context())
	a.start(t)
	if b.Connected("a", "c") {
		t.Fatal("reached a disconnected endpoint")
	}
	a.takeEvents()
	bb.takeEvents()

	b.Reconnect("c")
	settle(t, b)
	if got := c.takeEvents(); !slices.Equal(got, []string{"added a", "added b", "establish a", "establish b"}) {
		t.Fatalf("c events %v", got)
	}
	if got := bb.takeEvents(); !slices.Equal(got, []string{"added c"}) {
		t.Fatalf("b events %v", got)
	}
	c.send(t, "a", interest("back"))
	settle(t, b)
	if got := docIDs(a.takeFrom("c")); !slices.Equal(got, []string{"back"}) {
		t.Fatalf("a got %v", got)
	}
}

func TestBridgeChannelCloseAndStop(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{})
	a, bb, c := newPeer(t, b, "a"), newPeer(t, b, "b"), newPeer(t, b, "c")
	a.start(t)
	bb.start(t)
	c.start(t)
	settle(t, b)
	for _, p := range []*peer{a, bb, c} {
		p.takeEvents()
	}
	// The consumer rejects b: closing the channel cuts the link both ways.
	ch, _ := a.ep.ChannelTo("b")
	ch.Close()
	if got := a.takeEvents(); !slices.Equal(got, []string{"removed b"}) {
		t.Fatalf("a events %v", got)
	}
	if got := bb.takeEvents(); !slices.Equal(got, []string{"removed a"}) {
		t.Fatalf("b events %v", got)
	}
	// Stopping c reports its channels removed everywhere.
	if err := c.ep.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.takeEvents(); !slices.Equal(got, []string{"removed a", "removed b"}) {
		t.Fatalf("c events %v", got)
	}
	if got := a.takeEvents(); !slices.Equal(got, []string{"removed c"}) {
		t.Fatalf("a events %v", got)
	}
	if b.Endpoint("c") != c.ep {
		t.Fatal("Endpoint(name) should return the existing endpoint")
	}
}

// A message sent from inside a receive callback is counted before the
// one that caused it is counted down: Settle returns only after the whole
// cascade.
func TestBridgeSettleIsExact(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{})
	a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
	const rounds = 200
	bounce := func(p *peer, to string) func(string, wire.ChannelMsg) {
		return func(_ string, m wire.ChannelMsg) {
			in, ok := m.(*wire.Interest)
			if !ok {
				return
			}
			var n int
			fmt.Sscan(in.DocID, &n)
			if n < rounds {
				ch, _ := p.ep.ChannelTo(to)
				if err := ch.Send(interest(fmt.Sprint(n + 1))); err != nil {
					t.Error(err)
				}
			}
		}
	}
	a.onReceive = bounce(a, "c")
	c.onReceive = bounce(c, "a")
	a.start(t)
	c.start(t)
	settle(t, b)
	a.send(t, "c", interest("0"))
	settle(t, b)
	got := len(a.takeFrom("c")) + len(c.takeFrom("a"))
	if got != rounds+1 {
		t.Fatalf("received %d after settle, want %d", got, rounds+1)
	}
}

func TestBridgeClose(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	b := NewBridge(BridgeOptions{Clock: fc})
	a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
	a.start(t)
	c.start(t)
	if err := b.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.SetDelay("a", "c", time.Hour)
	a.send(t, "c", interest("never"))
	a.takeEvents()
	if fc.Pending() != 1 {
		t.Fatalf("timers %d", fc.Pending())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := a.takeEvents(); !slices.Equal(got, []string{"removed c"}) {
		t.Fatalf("a events %v", got)
	}
	if fc.Pending() != 0 || b.InFlight() != 0 {
		t.Fatalf("timers %d in flight %d", fc.Pending(), b.InFlight())
	}
	if err := b.Settle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Discarded != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Endpoints cannot join a closed bridge.
	_ = a.ep.Stop(context.Background())
	_ = a.ep.Initialize(context.Background(), a.context())
	if err := a.ep.Start(context.Background()); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
		t.Fatalf("start after close: %v", err)
	}
	late := b.Endpoint("late")
	_ = late.Initialize(context.Background(), transport.Context{MintChannelID: transport.NewChannelIDMinter()})
	if err := late.Start(context.Background()); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
		t.Fatalf("late start: %v", err)
	}
	// goleak in TestMain checks that the delivery goroutines are gone.
}

func TestBridgeEndpointNames(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{})
	x, y := b.Endpoint(""), b.Endpoint("")
	if x == y || x.Name() == "" || x.ID() != x.Name() || x.Type() != BridgeType {
		t.Fatalf("names %q %q", x.Name(), y.Name())
	}
}

// Concurrent senders, partitions and heals under -race; afterwards the
// bridge settles and every counter balances.
func TestBridgeConcurrentChaos(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{FragmentThreshold: 64})
	names := []string{"a", "b", "c", "d"}
	peers := map[string]*peer{}
	for _, n := range names {
		peers[n] = newPeer(t, b, n)
	}
	for _, n := range names {
		peers[n].start(t)
	}
	b.SetDuplicateRate(Any, Any, 0.2)
	b.SetDropRate("a", "b", 0.3)
	var wg sync.WaitGroup
	for _, n := range names {
		p := peers[n]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				msg := &wire.Offer{DocID: fmt.Sprint(p.name, i), Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: bytes.Repeat([]byte{byte(i)}, 200)}}
				for _, ch := range p.ep.Channels() {
					_ = ch.Send(msg)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			b.Partition("a", "c")
			b.Heal("a", "c")
			b.Disconnect("d")
			b.Reconnect("d")
		}
	}()
	wg.Wait()
	settle(t, b)
	st := b.Stats()
	if st.Sent+st.Duplicated != st.Delivered+st.Discarded {
		t.Fatalf("unbalanced stats %+v", st)
	}
	for _, x := range names {
		for _, y := range names {
			if x != y && !b.Connected(x, y) {
				t.Fatalf("%s-%s not linked after heal", x, y)
			}
		}
	}
}

// A consumer that handles messages on its own goroutine (like an exchange
// whose dispatcher is busy elsewhere) answers after the bridge went idle;
// SettleWith waits for both.
func TestBridgeSettleWithQueueingConsumer(t *testing.T) {
	b := newTestBridge(t, BridgeOptions{})
	a, c := newPeer(t, b, "a"), newPeer(t, b, "c")
	a.start(t)
	c.start(t)
	settle(t, b)

	type job struct{ n int }
	queue := make(chan job, 64)
	var pending atomic.Int64 // jobs queued but not finished
	finished := make(chan struct{}, 1)
	stop := make(chan struct{})
	var worker sync.WaitGroup
	worker.Add(1)
	go func() { // c's "dispatcher"
		defer worker.Done()
		for {
			select {
			case j := <-queue:
				if j.n < 10 {
					ch, _ := c.ep.ChannelTo("a")
					_ = ch.Send(interest(fmt.Sprint(j.n + 1)))
				}
				pending.Add(-1)
				select {
				case finished <- struct{}{}:
				default:
				}
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); worker.Wait() }()
	c.mu.Lock()
	c.onReceive = func(_ string, m wire.ChannelMsg) {
		var n int
		fmt.Sscan(m.(*wire.Interest).DocID, &n)
		pending.Add(1)
		queue <- job{n}
	}
	c.mu.Unlock()
	a.mu.Lock()
	a.onReceive = func(_ string, m wire.ChannelMsg) {
		var n int
		fmt.Sscan(m.(*wire.Interest).DocID, &n)
		ch, _ := a.ep.ChannelTo("c")
		_ = ch.Send(interest(fmt.Sprint(n + 1)))
	}
	a.mu.Unlock()

	a.send(t, "c", interest("0"))
	idle := func(ctx context.Context) error {
		for pending.Load() != 0 {
			select {
			case <-finished:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.SettleWith(ctx, idle); err != nil {
		t.Fatal(err)
	}
	// 0,2,4,…,10 reach c; 1,3,…,11 reach a.
	if got := len(c.takeFrom("a")); got != 6 {
		t.Fatalf("c received %d", got)
	}
	if got := len(a.takeFrom("c")); got != 5 {
		t.Fatalf("a received %d", got)
	}
}

// Flush waits for the endpoint's own messages: an exchange shutting down
// sends depart, flushes, then stops, and the depart arrives.
func TestBridgeFlushBeforeStop(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	b := newTestBridge(t, BridgeOptions{Clock: fc})
	a, c, d := newPeer(t, b, "a"), newPeer(t, b, "c"), newPeer(t, b, "d")
	a.start(t)
	c.start(t)
	d.start(t)
	settle(t, b)
	b.SetDelay("c", "a", time.Second) // c's traffic is slow; a's Flush ignores it
	c.send(t, "a", interest("slow"))
	b.SetDelay("a", "d", time.Second)
	a.send(t, "c", &wire.Depart{})
	a.send(t, "d", &wire.Depart{})

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.ep.Flush(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("flush with a message still delayed: %v", err)
	}
	fc.Advance(time.Second) // releases a->d and c->a
	if err := a.ep.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.ep.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	settle(t, b)
	if got := docIDs(c.takeFrom("a")); !slices.Equal(got, []string{"depart"}) {
		t.Fatalf("c got %v", got)
	}
	if got := docIDs(d.takeFrom("a")); !slices.Equal(got, []string{"depart"}) {
		t.Fatalf("d got %v", got)
	}
	if err := c.ep.Flush(done); err != nil {
		t.Fatalf("flush with nothing in flight: %v", err)
	}
}
