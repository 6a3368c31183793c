package nats

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// recorder is a consumer (what an exchange would be) that records the
// callbacks a transport makes and lets a test wait for a state.
type recorder struct {
	mint func() transport.ChannelID

	mu          sync.Mutex
	live        map[transport.ChannelID]*transport.Channel
	added       int
	removed     int
	established []transport.ChannelID
	received    []received
	changed     chan struct{} // closed and replaced on every callback
	onAdded     func(*transport.Channel)
}

type received struct {
	ch  transport.ChannelID
	msg wire.ChannelMsg
}

func newRecorder() *recorder {
	return &recorder{mint: transport.NewChannelIDMinter(), live: map[transport.ChannelID]*transport.Channel{}, changed: make(chan struct{})}
}

func (r *recorder) context(node string) transport.Context {
	return transport.Context{
		Identity: wire.PeerIdentity{PeerID: node, Type: wire.PeerService},
		OnChannelAdded: func(ch *transport.Channel) {
			r.update(func() { r.live[ch.ID] = ch; r.added++ })
			if r.onAdded != nil {
				r.onAdded(ch)
			}
		},
		OnChannelRemoved: func(ch *transport.Channel) {
			r.update(func() { delete(r.live, ch.ID); r.removed++ })
		},
		OnChannelEstablish: func(ch *transport.Channel) {
			r.update(func() { r.established = append(r.established, ch.ID) })
		},
		OnChannelReceive: func(id transport.ChannelID, msg wire.ChannelMsg) {
			r.update(func() { r.received = append(r.received, received{id, msg}) })
		},
		MintChannelID: r.mint,
	}
}

func (r *recorder) update(f func()) {
	r.mu.Lock()
	f()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// waitFor blocks until cond (called under the recorder's lock) holds.
func (r *recorder) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		r.mu.Lock()
		ok := cond()
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// only returns the single live channel.
func (r *recorder) only(t testing.TB) *transport.Channel {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.live) != 1 {
		t.Fatalf("%d live channels, want 1", len(r.live))
	}
	for _, ch := range r.live {
		return ch
	}
	return nil
}

func (r *recorder) liveCount() int { return len(r.live) }

// node is one started transport with its recorder.
type node struct {
	t   *Transport
	rec *recorder
}

func startNode(t testing.TB, opts Options, mods ...func(*recorder)) *node {
	t.Helper()
	if opts.URL == "" {
		opts.URL = natsURL
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 100 * time.Millisecond
	}
	if opts.DeadAfter == 0 {
		opts.DeadAfter = 2 * time.Second
	}
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: tr, rec: newRecorder()}
	for _, m := range mods {
		m(n.rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Initialize(ctx, n.rec.context(opts.NodeID)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Stop(context.Background()) })
	return n
}

func linked(n *node) func() bool { return func() bool { return n.rec.liveCount() == 1 } }

func lastReceived(r *recorder) wire.ChannelMsg {
	if len(r.received) == 0 {
		return nil
	}
	return r.received[len(r.received)-1].msg
}

func present(doc string) *wire.Present {
	return &wire.Present{Docs: []wire.DocPresence{{DocID: doc, ReplicaType: wire.ReplicaType{Name: "plain", Major: 1}, SyncMode: wire.Authoritative, SchemaHash: "h"}}}
}

func TestTwoNodesLinkAndExchangeFrames(t *testing.T) {
	prefix := testPrefix()
	a := startNode(t, Options{NodeID: "a", Prefix: prefix})
	b := startNode(t, Options{NodeID: "b", Prefix: prefix})
	a.rec.waitFor(t, "a's channel", linked(a))
	b.rec.waitFor(t, "b's channel", linked(b))

	// The smaller id starts the handshake; the other never does.
	a.rec.waitFor(t, "establish request on a", func() bool { return len(a.rec.established) == 1 })
	b.rec.mu.Lock()
	if len(b.rec.established) != 0 {
		t.Fatalf("b was asked to establish too")
	}
	b.rec.mu.Unlock()
	ca, cb := a.rec.only(t), b.rec.only(t)
	if p, ok := ca.Meta.(Peer); !ok || p.Local != "a" || p.Remote != "b" || p.Link == "" {
		t.Fatalf("a's channel meta = %#v", ca.Meta)
	}
	if ca.TransportType != TransportType || ca.TransportID != "nats-a" {
		t.Fatalf("channel transport = %s/%s", ca.TransportType, ca.TransportID)
	}

	est := &wire.Establish{Identity: wire.PeerIdentity{PeerID: "a", Type: wire.PeerService}, ProtocolVersion: wire.ProtocolVersion{Major: 1}}
	if err := ca.Send(est); err != nil {
		t.Fatalf("Send: %v", err)
	}
	b.rec.waitFor(t, "establish at b", func() bool { return lastReceived(b.rec) != nil })
	b.rec.mu.Lock()
	got := b.rec.received[0]
	b.rec.mu.Unlock()
	if got.ch != cb.ID || !reflect.DeepEqual(got.msg, est) {
		t.Fatalf("b received %#v on %d, want %#v on %d", got.msg, got.ch, est, cb.ID)
	}

	// Many messages each way arrive complete and in order.
	const n = 200
	for i := range n {
		if err := ca.Send(present("a" + string(rune('A'+i%26)))); err != nil {
			t.Fatalf("send %d at a: %v", i, err)
		}
		if err := cb.Send(present("b" + string(rune('A'+i%26)))); err != nil {
			t.Fatalf("send %d at b: %v", i, err)
		}
	}
	b.rec.waitFor(t, "a's messages at b", func() bool { return len(b.rec.received) == n+1 })
	a.rec.waitFor(t, "b's messages at a", func() bool { return len(a.rec.received) == n })
	for i := range n {
		b.rec.mu.Lock()
		m := b.rec.received[i+1].msg.(*wire.Present)
		b.rec.mu.Unlock()
		if want := "a" + string(rune('A'+i%26)); m.Docs[0].DocID != want {
			t.Fatalf("message %d at b is %q, want %q", i, m.Docs[0].DocID, want)
		}
	}

	// A message larger than the threshold travels in fragments.
	big := bytes.Repeat([]byte{0xab}, 350*1024)
	offer := &wire.Offer{DocID: "big", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: big}, Version: "v"}
	before := a.t.Stats().FramesSent
	if err := ca.Send(offer); err != nil {
		t.Fatalf("big offer: %v", err)
	}
	b.rec.waitFor(t, "the big offer at b", func() bool { return len(b.rec.received) == n+2 })
	b.rec.mu.Lock()
	gotOffer, _ := lastReceived(b.rec).(*wire.Offer)
	b.rec.mu.Unlock()
	if gotOffer == nil || !bytes.Equal(gotOffer.Payload.Data, big) {
		t.Fatalf("big offer did not arrive intact")
	}
	if frames := a.t.Stats().FramesSent - before; frames < 4 {
		t.Fatalf("big offer went in %d frames, want fragments", frames)
	}
	st := a.t.Stats()
	if !st.Connected || st.Peers != 1 || st.LinksOpened != 1 || st.LinkResets != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if ps := a.t.Peers(); len(ps) != 1 || ps[0].Remote != "b" || ps[0].Local != "a" {
		t.Fatalf("Peers = %+v", ps)
	}
}

func TestThreeNodesFullMesh(t *testing.T) {
	prefix := testPrefix()
	var ns []*node
	for _, id := range []string{"n2", "n1", "n3"} {
		ns = append(ns, startNode(t, Options{NodeID: id, Prefix: prefix}))
	}
	for _, n := range ns {
		n.rec.waitFor(t, n.t.NodeID()+" linked to both others", func() bool { return n.rec.liveCount() == 2 })
	}
	// n1 opens both its links, n2 one, n3 none.
	want := map[string]int{"n1": 2, "n2": 1, "n3": 0}
	for _, n := range ns {
		n.rec.waitFor(t, "establish requests", func() bool { return len(n.rec.established) == want[n.t.NodeID()] })
	}
}

func TestStopRemovesChannelsOnBothSidesAndRestartRelinks(t *testing.T) {
	prefix := testPrefix()
	a := startNode(t, Options{NodeID: "a", Prefix: prefix})
	b := startNode(t, Options{NodeID: "b", Prefix: prefix, DeadAfter: time.Minute})
	b.rec.waitFor(t, "b linked", linked(b))
	a.rec.waitFor(t, "a linked", linked(a))
	first := b.rec.only(t).Meta.(Peer).Link

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.t.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.t.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	a.rec.mu.Lock()
	if a.rec.liveCount() != 0 || a.rec.removed != 1 {
		t.Fatalf("after Stop a has %d live, %d removed", a.rec.liveCount(), a.rec.removed)
	}
	a.rec.mu.Unlock()
	// b hears the goodbye at once, long before DeadAfter.
	b.rec.waitFor(t, "b's channel removed", func() bool { return b.rec.liveCount() == 0 })

	// Started again, a is a new instance: a new link, new channels.
	if err := a.t.Initialize(ctx, a.rec.context("a")); err != nil {
		t.Fatal(err)
	}
	if err := a.t.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b.rec.waitFor(t, "b relinked", linked(b))
	a.rec.waitFor(t, "a relinked", linked(a))
	if again := b.rec.only(t).Meta.(Peer).Link; again == first {
		t.Fatalf("link id %q reused", again)
	}
	if r := b.t.Stats().LinkResets; r != 0 {
		t.Fatalf("an orderly stop counted %d resets", r)
	}
}

// dropper drops chosen outgoing frames, as NATS drops messages for a slow
// consumer.
type dropper struct {
	mu   sync.Mutex
	skip int // frames to let through first
	drop int // then frames to drop
}

func (d *dropper) seam(*natsgo.Msg) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.skip > 0 {
		d.skip--
		return false
	}
	if d.drop > 0 {
		d.drop--
		return true
	}
	return false
}

func (d *dropper) arm(skip, drop int) {
	d.mu.Lock()
	d.skip, d.drop = skip, drop
	d.mu.Unlock()
}

// TestLostFrameResetsLink: a frame lost in the middle of a stream is seen
// at the next frame; the link starts over on both sides and later messages
// flow on the new channels.
func TestLostFrameResetsLink(t *testing.T) {
	prefix := testPrefix()
	var d dropper
	a := startNode(t, Options{NodeID: "a", Prefix: prefix, dropSeam: d.seam})
	b := startNode(t, Options{NodeID: "b", Prefix: prefix, DeadAfter: time.Minute})
	b.rec.waitFor(t, "b linked", linked(b))
	a.rec.waitFor(t, "a linked", linked(a))
	ca, cb := a.rec.only(t), b.rec.only(t)

	d.arm(1, 1)
	for _, doc := range []string{"one", "two", "three"} {
		_ = ca.Send(present(doc))
	}
	// "two" was lost: b took "one", refused "three" and dropped the link.
	b.rec.waitFor(t, "b's old channel gone", func() bool { _, ok := b.rec.live[cb.ID]; return !ok })
	b.rec.mu.Lock()
	if len(b.rec.received) != 1 || b.rec.received[0].msg.(*wire.Present).Docs[0].DocID != "one" {
		t.Fatalf("b received %v", b.rec.received)
	}
	b.rec.mu.Unlock()
	b.rec.waitFor(t, "b relinked", linked(b))
	a.rec.waitFor(t, "a relinked", func() bool { _, old := a.rec.live[ca.ID]; return !old && a.rec.liveCount() == 1 })
	ca2 := a.rec.only(t)
	if err := ca2.Send(present("four")); err != nil {
		t.Fatalf("send four: %v", err)
	}
	b.rec.waitFor(t, "four at b", func() bool { return len(b.rec.received) == 2 })
	if got := b.rec.received[1].msg.(*wire.Present).Docs[0].DocID; got != "four" {
		t.Fatalf("after the reset b received %q", got)
	}
	if r := b.t.Stats().LinkResets; r != 1 {
		t.Fatalf("b counted %d resets", r)
	}
}

// TestLostLastFrameIsCaughtByPing: when the lost frame is the last one,
// no later frame shows the gap; the next ping does.
func TestLostLastFrameIsCaughtByPing(t *testing.T) {
	prefix := testPrefix()
	var d dropper
	a := startNode(t, Options{NodeID: "a", Prefix: prefix, dropSeam: d.seam})
	b := startNode(t, Options{NodeID: "b", Prefix: prefix, DeadAfter: time.Minute})
	b.rec.waitFor(t, "b linked", linked(b))
	a.rec.waitFor(t, "a linked", linked(a))
	cb := b.rec.only(t)
	d.arm(0, 1)
	_ = a.rec.only(t).Send(present("lost"))
	b.rec.waitFor(t, "b's channel dropped by the ping check", func() bool { _, ok := b.rec.live[cb.ID]; return !ok })
	b.rec.waitFor(t, "b relinked", linked(b))
}

// TestLostFragmentResetsLink: a message whose middle fragment was lost is
// never delivered half; the link starts over.
func TestLostFragmentResetsLink(t *testing.T) {
	prefix := testPrefix()
	var d dropper
	a := startNode(t, Options{NodeID: "a", Prefix: prefix, dropSeam: d.seam, FragmentThreshold: 1024})
	b := startNode(t, Options{NodeID: "b", Prefix: prefix, DeadAfter: time.Minute})
	b.rec.waitFor(t, "b linked", linked(b))
	a.rec.waitFor(t, "a linked", linked(a))
	cb := b.rec.only(t)
	d.arm(1, 1)
	offer := &wire.Offer{DocID: "big", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 8*1024)}, Version: "v"}
	ca := a.rec.only(t)
	_ = ca.Send(offer)
	_ = ca.Send(present("after"))
	b.rec.waitFor(t, "b's channel dropped", func() bool { _, ok := b.rec.live[cb.ID]; return !ok })
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	if len(b.rec.received) != 0 {
		t.Fatalf("b received %d messages from a broken stream", len(b.rec.received))
	}
}

// TestCutNodeIsDroppedAndRelinksAfterHeal: a node whose NATS connection is
// cut loses its links after DeadAfter; when the network heals, nats.go
// reconnects and the links come back.
func TestCutNodeIsDroppedAndRelinksAfterHeal(t *testing.T) {
	prefix := testPrefix()
	p := newProxy(t)
	a := startNode(t, Options{NodeID: "a", Prefix: prefix, DeadAfter: time.Second})
	b := startNode(t, Options{NodeID: "b", Prefix: prefix, DeadAfter: time.Second, URL: p.URL()})
	a.rec.waitFor(t, "a linked", linked(a))
	b.rec.waitFor(t, "b linked", linked(b))
	p.Cut()
	a.rec.waitFor(t, "a drops b", func() bool { return a.rec.liveCount() == 0 })
	b.rec.waitFor(t, "b drops a", func() bool { return b.rec.liveCount() == 0 })
	if b.t.Stats().Connected {
		t.Fatal("b reports a connection through a cut network")
	}
	p.Heal()
	a.rec.waitFor(t, "a relinked", linked(a))
	b.rec.waitFor(t, "b relinked", linked(b))
	if st := b.t.Stats(); st.Disconnects == 0 || st.Reconnects == 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestRestartedPeerIsRelinkedAtOnce: a node that comes back under a new
// instance (a crash and restart) replaces its old link at its first hello,
// without waiting for the old one to time out.
func TestRestartedPeerIsRelinkedAtOnce(t *testing.T) {
	prefix := testPrefix()
	p := newProxy(t)
	a := startNode(t, Options{NodeID: "a", Prefix: prefix, DeadAfter: time.Minute})
	old := startNode(t, Options{NodeID: "b", Prefix: prefix, DeadAfter: time.Minute, URL: p.URL()})
	a.rec.waitFor(t, "a linked", linked(a))
	old.rec.waitFor(t, "old b linked", linked(old))
	first := a.rec.only(t)
	p.Cut() // the old instance vanishes without a goodbye
	b := startNode(t, Options{NodeID: "b", Prefix: prefix, DeadAfter: time.Minute})
	b.rec.waitFor(t, "new b linked", linked(b))
	a.rec.waitFor(t, "a's link replaced", func() bool {
		_, old := a.rec.live[first.ID]
		return !old && a.rec.liveCount() == 1
	})
}

func TestDuplicateNodeIDIsReported(t *testing.T) {
	prefix := testPrefix()
	x := startNode(t, Options{NodeID: "same", Prefix: prefix})
	y := startNode(t, Options{NodeID: "same", Prefix: prefix})
	// The counter has no event of its own; the hellos that move it do.
	// Listen to them and look after each.
	nc, err := natsgo.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(prefix + ".hello")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for x.t.Stats().DuplicateNodes == 0 || y.t.Stats().DuplicateNodes == 0 {
		if _, err := sub.NextMsg(time.Until(deadline)); err != nil {
			t.Fatalf("duplicates = %d, %d (%v)", x.t.Stats().DuplicateNodes, y.t.Stats().DuplicateNodes, err)
		}
	}
}

func TestOptionsAreValidated(t *testing.T) {
	for _, o := range []Options{
		{NodeID: "a"},
		{URL: natsURL},
		{URL: natsURL, NodeID: "a.b"},
		{URL: natsURL, NodeID: "a*"},
		{URL: natsURL, NodeID: "a", Prefix: "x..y"},
		{URL: natsURL, NodeID: "a", Heartbeat: time.Second, DeadAfter: time.Second},
	} {
		if _, err := New(o); !errors.Is(err, &kyneta.Error{Code: kyneta.CodeInvalidArgument, Pkg: "nats", Reason: reasonInvalidOptions}) {
			t.Errorf("New(%+v) = %v, want invalid-options", o, err)
		}
	}
}

func TestStartFailsWithoutNATS(t *testing.T) {
	tr, err := New(Options{URL: "nats://127.0.0.1:1", NodeID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Initialize(ctx, newRecorder().context("a")); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx); !errors.Is(err, &kyneta.Error{Code: kyneta.CodeUnavailable, Pkg: "nats", Reason: reasonConnect}) {
		t.Fatalf("Start = %v, want connect-failed", err)
	}
	if tr.State() != transport.StateStopped {
		t.Fatalf("state after a failed start = %s", tr.State())
	}
}

// onLoop runs fn on the session's loop, after every event posted before it.
func onLoop(tb testing.TB, tr *Transport, fn func(s *session)) {
	tb.Helper()
	s := tr.session()
	done := make(chan struct{})
	s.post(event{kind: evRun, fn: func() { fn(s); close(done) }})
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		tb.Fatal("session loop did not run the check")
	}
}

// TestRefusedLinkBacksOff: a node whose exchange refuses every channel is
// offered a new link after 1, 2, 4, 8 heartbeats, not on every heartbeat.
func TestRefusedLinkBacksOff(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_000_000, 0))
	prefix := testPrefix()
	opts := func(id string) Options {
		return Options{NodeID: id, Prefix: prefix, Clock: clk, Heartbeat: time.Second, DeadAfter: time.Hour}
	}
	a := startNode(t, opts("a")) // "a" < "b": a opens the links
	startNode(t, opts("b"), func(r *recorder) {
		r.onAdded = func(ch *transport.Channel) { go ch.Close() } // b's policy says no
	})
	removed := func(n int) func() bool { return func() bool { return a.rec.removed == n } }
	a.rec.waitFor(t, "the first link refused", removed(1))
	onLoop(t, a.t, func(*session) {})

	// nextLink counts the links a has opened; whether the open is still
	// pending when the loop looks depends on how fast b answers.
	linksOpened := func() (n uint64) {
		onLoop(t, a.t, func(s *session) { n = s.nextLink })
		return n
	}
	if n := linksOpened(); n != 1 {
		t.Fatalf("%d links before the clock moved, want 1", n)
	}
	var opens []int
	for beat := 1; beat <= 15; beat++ {
		clk.Advance(time.Second)
		if linksOpened() > uint64(len(opens)+1) {
			opens = append(opens, beat)
			a.rec.waitFor(t, "the link refused again", removed(len(opens)+1))
			// The channel goes before the backoff is set: let the loop
			// finish that close before the clock moves.
			onLoop(t, a.t, func(*session) {})
		}
	}
	if want := []int{1, 3, 7, 15}; !reflect.DeepEqual(opens, want) {
		t.Fatalf("links opened at beats %v, want %v", opens, want)
	}
}

// Every reason's code, spelled out so a change shows up in review.
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"invalid-options": kyneta.CodeInvalidArgument,
		"connect-failed":  kyneta.CodeUnavailable,
		"link-down":       kyneta.CodeUnavailable,
	}
	if len(want) != len(reasonCodes) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		if err := newError(reason, "", nil); err.Code != code || err.Reason != reason || err.Pkg != "nats" {
			t.Errorf("%s: got %+v, want code %s", reason, err, code)
		}
	}
}
