package transporttest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/transport"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/wire"
)

// BridgeType is the transport type of every bridge endpoint.
const BridgeType = "bridge"

// defaultFragmentThreshold is the bridge's default fragment threshold,
// the same as the WebSocket transports' (100 KiB), so large documents are
// fragmented and reassembled as they would be on a socket.
const defaultFragmentThreshold = 100 * 1024

// Any is the wildcard endpoint name for fault settings: SetDelay(Any, "b", d)
// delays everything sent to "b".
const Any = "*"

// BridgeOptions configure a [Bridge]. The zero value is usable.
type BridgeOptions struct {
	// Clock times delays and reassembly timeouts. Nil means clock.Real; tests
	// pass a *clock.Fake and advance it.
	Clock clock.Clock
	// Rand draws the random numbers for drop and duplicate rates, in [0,1).
	// Nil means a fixed-seed generator, so runs repeat exactly.
	Rand func() float64
	// FragmentThreshold is the payload size above which messages are
	// fragmented. Zero means 100 KiB, as on a WebSocket; negative means
	// never fragment.
	FragmentThreshold int
	// OnError, if set, receives every wire error of an endpoint's link
	// pipelines: decoding errors (on the endpoint's delivery goroutine) and
	// encoding errors (on the sender's goroutine; Send returns them too).
	// Tests can fail on them.
	OnError func(endpoint string, err error)
	// Logger receives the same errors at debug level. Nil discards.
	Logger *slog.Logger
	// Principal, if set, names who each endpoint authenticates as: the
	// channel to a remote endpoint carries Principal(remote) in its Meta
	// (see PrincipalOf), like a server that authenticated the peer.
	Principal func(endpoint string) any
}

// BridgeStats counts what the bridge did with messages. Every message sent
// on an open link is either dropped (fault injection), or queued; every
// queued copy is later delivered or discarded (its link was cut or the
// bridge closed).
type BridgeStats struct {
	Sent       uint64 // messages accepted for delivery (duplicates not counted)
	Dropped    uint64 // messages dropped by fault injection
	Duplicated uint64 // extra copies queued by fault injection
	Delivered  uint64 // queued copies handed to the receiving pipeline
	Discarded  uint64 // queued copies thrown away because their link was cut
	WireErrors uint64 // errors from the link pipelines (see BridgeOptions.OnError)
}

// BridgePeer is the Meta of a bridge channel: which endpoint is at each
// end, and who the remote end authenticated as (BridgeOptions.Principal).
type BridgePeer struct {
	Local     string
	Remote    string
	Principal any
}

// ChannelPrincipal returns the remote end's principal.
func (p BridgePeer) ChannelPrincipal() any { return p.Principal }

// Bridge is an in-memory network for tests and single-process setups. Each
// [Bridge.Endpoint] is a [Transport]; started endpoints are connected
// pairwise, one channel per remote endpoint, like the reference's bridge.
// Unlike the reference, every message goes through the full wire codec: the
// two ends of a link each run a real [Pipeline] (alias → CBOR →
// frame/fragment → reassemble → decode), so aliasing, fragmentation and
// decoding are exercised exactly as on a socket.
//
// # Delivery
//
// Sending encodes the message on the sender's goroutine and queues its
// frames for the receiving endpoint; each endpoint has one delivery
// goroutine that decodes them and calls the exchange's OnChannelReceive.
// Each link is FIFO in each direction (a delayed message holds back later
// ones on the same link, as on a stream socket); different links do not
// block each other.
//
// # Faults
//
// Faults are set per direction (from, to), with [Any] as a wildcard: drop
// (a rate or the next n messages), duplicate (a rate or the next n), delay
// (through the injected clock). Dropped messages never enter the sender's
// pipeline, so alias state stays consistent on both ends. Partition cuts a
// link and keeps it cut until Heal; Disconnect cuts every link of an
// endpoint until Reconnect. A cut link reports its channels removed on both
// sides; re-linking adds fresh channels (fresh pipelines, like a new socket)
// and the endpoint that (re)joins starts the handshake.
//
// # Settle
//
// Settle returns when no message is in flight: every message accepted by a
// send has been delivered (the receiving callback returned) or discarded.
// Because the counter goes up inside Send, a message an exchange sends from
// within a receive callback is counted before the message that triggered it
// is counted down, so Settle never returns early. Delayed messages are in
// flight until they are delivered: with a fake clock, advance it first.
// Settle sees only the bridge: a consumer that hands received messages to
// a queue of its own and returns is idle for the bridge while its queue
// still holds work; [Bridge.SettleWith] covers that case.
//
// An endpoint's Flush waits until every message it sent has been delivered
// or discarded, so an exchange that sends depart, flushes and stops is
// heard by its peers.
//
// Close cuts every link, discards what is queued and joins every goroutine
// the bridge started. It must not be called from inside a delivery callback.
type Bridge struct {
	clk       clock.Clock
	rand      func() float64
	threshold int
	onError   func(string, error)
	log       *slog.Logger
	principal func(string) any

	mu         sync.Mutex
	closed     bool
	endpoints  map[string]*BridgeEndpoint
	order      []*BridgeEndpoint
	links      map[pairKey]*bridgeLink
	partitions map[pairKey]bool
	faults     map[routeKey]*routeFaults
	inflight   int
	idle       chan struct{} // closed while inflight == 0
	stats      BridgeStats
	enqueued   uint64 // copies ever queued; SettleWith compares it across a round
	scanGen    uint64
	autoName   int

	done chan struct{}
	wg   sync.WaitGroup
}

type pairKey struct{ lo, hi string }

func pairOf(a, b string) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{a, b}
}

type routeKey struct{ from, to string }

type routeFaults struct {
	dropRate, dupRate float64
	dropNext, dupNext int
	delay             time.Duration
}

// BridgeEndpoint is one participant of a [Bridge]: a [Transport] of type
// [BridgeType] whose ID is its name.
type BridgeEndpoint struct {
	*transport.Base
	bridge *Bridge
	name   string

	// guarded by bridge.mu
	started      bool
	disconnected bool
	queue        []*bridgeItem
	kick         chan struct{}
	outflight    int           // copies sent by this endpoint still in flight
	outIdle      chan struct{} // closed while outflight == 0
}

type bridgeLink struct {
	key  pairKey
	side [2]*linkSide
	// guarded by bridge.mu
	open    bool // both channels exist
	dead    bool // cut; never reopens
	blocked uint64
}

type linkSide struct {
	ep     *BridgeEndpoint
	pipe   *pipeline.Pipeline
	ch     *transport.Channel // set under bridge.mu before open
	sendMu sync.Mutex         // keeps encode order = queue order
}

type bridgeItem struct {
	from   *BridgeEndpoint
	link   *bridgeLink
	to     int
	pieces [][]byte
	ready  bool
	stop   func() bool
}

// NewBridge returns an empty bridge. Close it when done.
func NewBridge(opts BridgeOptions) *Bridge {
	b := &Bridge{
		clk:        clock.OrReal(opts.Clock),
		rand:       opts.Rand,
		threshold:  opts.FragmentThreshold,
		onError:    opts.OnError,
		principal:  opts.Principal,
		log:        opts.Logger,
		endpoints:  make(map[string]*BridgeEndpoint),
		links:      make(map[pairKey]*bridgeLink),
		partitions: make(map[pairKey]bool),
		faults:     make(map[routeKey]*routeFaults),
		idle:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	close(b.idle)
	if b.rand == nil {
		b.rand = rand.New(rand.NewPCG(0x6b796e657461, 1)).Float64
	}
	switch {
	case b.threshold == 0:
		b.threshold = defaultFragmentThreshold
	case b.threshold < 0:
		b.threshold = 0
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return b
}

// Endpoint returns the endpoint called name, creating it on first use (an
// empty name gets a generated one). Asking again for the same name returns
// the same endpoint, so a restarted exchange can reuse it once the previous
// one stopped it. The name must not be [Any].
func (b *Bridge) Endpoint(name string) *BridgeEndpoint {
	b.mu.Lock()
	defer b.mu.Unlock()
	if name == "" {
		for {
			b.autoName++
			name = fmt.Sprintf("endpoint-%d", b.autoName)
			if _, taken := b.endpoints[name]; !taken {
				break
			}
		}
	}
	if ep, ok := b.endpoints[name]; ok {
		return ep
	}
	ep := &BridgeEndpoint{bridge: b, name: name, kick: make(chan struct{}, 1), outIdle: make(chan struct{})}
	close(ep.outIdle)
	ep.Base = transport.NewBase(transport.BaseOptions{Type: BridgeType, ID: name, OnStart: ep.onStart, OnStop: ep.onStop, OnFlush: ep.flush})
	b.endpoints[name] = ep
	b.order = append(b.order, ep)
	if !b.closed {
		b.wg.Add(1)
		go ep.run()
	}
	return ep
}

// Name returns the endpoint's name (also its transport ID).
func (ep *BridgeEndpoint) Name() string { return ep.name }

// ChannelTo returns the live channel from this endpoint to the endpoint
// called remote.
func (ep *BridgeEndpoint) ChannelTo(remote string) (*transport.Channel, bool) {
	b := ep.bridge
	b.mu.Lock()
	l, ok := b.links[pairOf(ep.name, remote)]
	if !ok || !l.open {
		b.mu.Unlock()
		return nil, false
	}
	ch := l.side[l.index(ep)].ch
	b.mu.Unlock()
	_, live := ep.Channel(ch.ID)
	return ch, live
}

func (l *bridgeLink) index(ep *BridgeEndpoint) int {
	if l.side[0].ep == ep {
		return 0
	}
	return 1
}

func (ep *BridgeEndpoint) onStart(context.Context) error {
	b := ep.bridge
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return pipeline.ErrClosed() // a bridge endpoint is a transport
	}
	ep.started = true
	others := b.othersLocked(ep)
	b.mu.Unlock()
	b.connect(ep, others)
	return nil
}

// flush waits until every message this endpoint sent has been delivered
// (or discarded), so an exchange's depart reaches its peers before Stop
// cuts the links. Delayed messages count: with a fake clock, advance it.
func (ep *BridgeEndpoint) flush(ctx context.Context) error {
	b := ep.bridge
	for {
		b.mu.Lock()
		if ep.outflight == 0 {
			b.mu.Unlock()
			return nil
		}
		idle := ep.outIdle
		b.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (ep *BridgeEndpoint) onStop(context.Context) error {
	b := ep.bridge
	b.mu.Lock()
	ep.started = false
	links := b.linksOfLocked(ep)
	b.mu.Unlock()
	for _, l := range links {
		b.cut(l)
	}
	return nil
}

// othersLocked lists the other endpoints in creation order.
func (b *Bridge) othersLocked(ep *BridgeEndpoint) []*BridgeEndpoint {
	out := make([]*BridgeEndpoint, 0, len(b.order))
	for _, o := range b.order {
		if o != ep {
			out = append(out, o)
		}
	}
	return out
}

func (b *Bridge) linksOfLocked(ep *BridgeEndpoint) []*bridgeLink {
	var out []*bridgeLink
	for _, o := range b.order {
		if l, ok := b.links[pairOf(ep.name, o.name)]; ok && o != ep {
			out = append(out, l)
		}
	}
	return out
}

func (b *Bridge) canLinkLocked(a, c *BridgeEndpoint) bool {
	if b.closed || a == c || !a.started || !c.started || a.disconnected || c.disconnected {
		return false
	}
	key := pairOf(a.name, c.name)
	if b.partitions[key] {
		return false
	}
	_, linked := b.links[key]
	return !linked
}

// connect links initiator to each of others that it can reach, then asks
// initiator's consumer to establish each new channel (the joiner starts
// the handshake, as in the reference's bridge).
func (b *Bridge) connect(initiator *BridgeEndpoint, others []*BridgeEndpoint) {
	var fresh []*transport.Channel
	for _, o := range others {
		b.mu.Lock()
		if !b.canLinkLocked(initiator, o) {
			b.mu.Unlock()
			continue
		}
		l := &bridgeLink{key: pairOf(initiator.name, o.name)}
		l.side[0] = &linkSide{ep: initiator}
		l.side[1] = &linkSide{ep: o}
		b.links[l.key] = l
		b.mu.Unlock()

		for i := range l.side {
			l.side[i].pipe = b.newPipeline(l.side[i].ep)
		}
		// The existing endpoint learns about the joiner first, then the
		// joiner gets its channel (reference order).
		remote, errR := o.AddChannel(b.linkFor(l, 1))
		var local *transport.Channel
		var errL error
		if errR == nil {
			local, errL = initiator.AddChannel(b.linkFor(l, 0))
		}
		b.mu.Lock()
		ok := errR == nil && errL == nil && !l.dead
		if ok {
			l.side[0].ch, l.side[1].ch = local, remote
			l.open = true
		} else if !l.dead {
			l.dead = true
			delete(b.links, l.key)
		}
		b.mu.Unlock()
		if !ok {
			if remote != nil {
				_, _ = o.RemoveChannel(remote.ID)
			}
			if local != nil {
				_, _ = initiator.RemoveChannel(local.ID)
			}
			l.side[0].pipe.Close()
			l.side[1].pipe.Close()
			continue
		}
		// Messages sent from inside OnChannelAdded waited for the link to open.
		initiator.wake()
		o.wake()
		fresh = append(fresh, local)
	}
	for _, ch := range fresh {
		_ = initiator.EstablishChannel(ch.ID) // fails only if the link was cut meanwhile
	}
}

func (b *Bridge) newPipeline(ep *BridgeEndpoint) *pipeline.Pipeline {
	return pipeline.New(pipeline.Options{
		Threshold: b.threshold,
		Clock:     b.clk,
		OnError: func(err error, _ transport.Direction) {
			b.reportError(ep.name, err)
		},
		OnFrame: func(t transport.FrameTrace) {
			if f := ep.FrameObserver(); f != nil {
				f(t)
			}
		},
	})
}

func (b *Bridge) reportError(endpoint string, err error) {
	b.mu.Lock()
	b.stats.WireErrors++
	b.mu.Unlock()
	b.log.Debug("bridge wire error", "endpoint", endpoint, "err", err)
	if b.onError != nil {
		b.onError(endpoint, err)
	}
}

func (b *Bridge) linkFor(l *bridgeLink, i int) transport.Link {
	return transport.Link{
		Send:  func(m wire.ChannelMsg) error { return b.transmit(l, i, m) },
		Close: func() { b.cut(l) },
		Meta:  BridgePeer{Local: l.side[i].ep.name, Remote: l.side[1-i].ep.name, Principal: b.principalOf(l.side[1-i].ep.name)},
	}
}

func (b *Bridge) principalOf(endpoint string) any {
	if b.principal == nil {
		return nil
	}
	return b.principal(endpoint)
}

// cut kills a link: queued copies are discarded, pipelines closed, and the
// channels on both ends removed (reported to the consumers).
func (b *Bridge) cut(l *bridgeLink) {
	b.mu.Lock()
	if l.dead {
		b.mu.Unlock()
		return
	}
	l.dead = true
	if b.links[l.key] == l {
		delete(b.links, l.key)
	}
	wasOpen := l.open
	l.open = false
	for _, s := range l.side {
		b.discardLocked(s.ep, func(it *bridgeItem) bool { return it.link == l })
	}
	b.mu.Unlock()
	if !wasOpen {
		return // connect is still adding the channels; it cleans up
	}
	for _, s := range l.side {
		s.pipe.Close()
		_, _ = s.ep.RemoveChannel(s.ch.ID)
	}
}

// discardLocked drops the queued items of ep that match.
func (b *Bridge) discardLocked(ep *BridgeEndpoint, match func(*bridgeItem) bool) {
	kept := ep.queue[:0]
	for _, it := range ep.queue {
		if !match(it) {
			kept = append(kept, it)
			continue
		}
		if it.stop != nil {
			it.stop()
		}
		b.stats.Discarded++
		b.doneLocked(it)
	}
	clear(ep.queue[len(kept):])
	ep.queue = kept
}

func (b *Bridge) doneLocked(it *bridgeItem) {
	b.inflight--
	if b.inflight == 0 {
		close(b.idle)
	}
	it.from.outflight--
	if it.from.outflight == 0 {
		close(it.from.outIdle)
	}
}

// faultsLocked returns the most specific fault settings for a route.
func (b *Bridge) faultsLocked(from, to string) *routeFaults {
	for _, k := range [...]routeKey{{from, to}, {from, Any}, {Any, to}, {Any, Any}} {
		if f, ok := b.faults[k]; ok {
			return f
		}
	}
	return nil
}

// transmit is a channel's send: fault decisions, encode, queue.
func (b *Bridge) transmit(l *bridgeLink, from int, m wire.ChannelMsg) error {
	src := l.side[from]
	dst := l.side[1-from].ep
	src.sendMu.Lock()
	defer src.sendMu.Unlock()

	b.mu.Lock()
	if b.closed || l.dead {
		b.mu.Unlock()
		return pipeline.ErrClosed() // a bridge endpoint is a transport
	}
	copies := 1
	var delay time.Duration
	if f := b.faultsLocked(src.ep.name, dst.name); f != nil {
		drop := false
		switch {
		case f.dropNext > 0:
			f.dropNext--
			drop = true
		case f.dropRate > 0:
			drop = b.rand() < f.dropRate
		}
		if drop {
			b.stats.Dropped++
			b.mu.Unlock()
			return nil
		}
		switch {
		case f.dupNext > 0:
			f.dupNext--
			copies = 2
		case f.dupRate > 0 && b.rand() < f.dupRate:
			copies = 2
		}
		delay = f.delay
	}
	b.mu.Unlock()

	pieces, err := src.pipe.Send(m)
	if err != nil {
		return err
	}

	b.mu.Lock()
	if b.closed || l.dead {
		b.mu.Unlock()
		return pipeline.ErrClosed() // a bridge endpoint is a transport
	}
	b.stats.Sent++
	b.stats.Duplicated += uint64(copies - 1)
	for range copies {
		it := &bridgeItem{from: src.ep, link: l, to: 1 - from, pieces: pieces, ready: delay <= 0}
		if b.inflight == 0 {
			b.idle = make(chan struct{})
		}
		b.inflight++
		if src.ep.outflight == 0 {
			src.ep.outIdle = make(chan struct{})
		}
		src.ep.outflight++
		b.enqueued++
		dst.queue = append(dst.queue, it)
		if !it.ready {
			it.stop = b.clk.AfterFunc(delay, func() { b.markReady(dst, it) })
		}
	}
	b.mu.Unlock()
	dst.wake()
	return nil
}

func (b *Bridge) markReady(ep *BridgeEndpoint, it *bridgeItem) {
	b.mu.Lock()
	it.ready = true
	b.mu.Unlock()
	ep.wake()
}

func (ep *BridgeEndpoint) wake() {
	select {
	case ep.kick <- struct{}{}:
	default:
	}
}

// popReadyLocked takes the first queued item that is ready, whose link is
// open, and that has no earlier item of the same link before it.
func (ep *BridgeEndpoint) popReadyLocked() *bridgeItem {
	b := ep.bridge
	if b.closed {
		return nil
	}
	b.scanGen++
	for i, it := range ep.queue {
		if it.link.blocked == b.scanGen {
			continue
		}
		if it.ready && it.link.open {
			copy(ep.queue[i:], ep.queue[i+1:])
			ep.queue[len(ep.queue)-1] = nil
			ep.queue = ep.queue[:len(ep.queue)-1]
			return it
		}
		it.link.blocked = b.scanGen
	}
	return nil
}

// run is the endpoint's delivery goroutine.
func (ep *BridgeEndpoint) run() {
	b := ep.bridge
	defer b.wg.Done()
	for {
		b.mu.Lock()
		it := ep.popReadyLocked()
		b.mu.Unlock()
		if it == nil {
			select {
			case <-ep.kick:
				continue
			case <-b.done:
				return
			}
		}
		ep.deliver(it)
		b.mu.Lock()
		b.stats.Delivered++
		b.doneLocked(it)
		b.mu.Unlock()
	}
}

func (ep *BridgeEndpoint) deliver(it *bridgeItem) {
	side := it.link.side[it.to]
	for _, piece := range it.pieces {
		msg, err := side.pipe.Receive(piece)
		if err != nil {
			if !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
				// OnError already reported it.
				continue
			}
			return // link cut while delivering
		}
		if msg == nil {
			continue // fragment pending
		}
		if err := ep.Receive(side.ch.ID, msg); err != nil {
			ep.bridge.log.Debug("bridge receive dropped", "endpoint", ep.name, "err", err)
		}
	}
}

func (b *Bridge) setFault(from, to string, f func(*routeFaults)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := routeKey{from, to}
	rf, ok := b.faults[k]
	if !ok {
		rf = &routeFaults{}
		b.faults[k] = rf
	}
	f(rf)
}

// SetDropRate drops each message from → to with probability p (0 disables).
func (b *Bridge) SetDropRate(from, to string, p float64) {
	b.setFault(from, to, func(f *routeFaults) { f.dropRate = p })
}

// DropNext drops the next n messages from → to.
func (b *Bridge) DropNext(from, to string, n int) {
	b.setFault(from, to, func(f *routeFaults) { f.dropNext = n })
}

// SetDuplicateRate delivers each message from → to twice with probability p.
func (b *Bridge) SetDuplicateRate(from, to string, p float64) {
	b.setFault(from, to, func(f *routeFaults) { f.dupRate = p })
}

// DuplicateNext delivers each of the next n messages from → to twice.
func (b *Bridge) DuplicateNext(from, to string, n int) {
	b.setFault(from, to, func(f *routeFaults) { f.dupNext = n })
}

// SetDelay holds every message from → to for d on the bridge's clock before
// it can be delivered (the link stays FIFO). Zero disables.
func (b *Bridge) SetDelay(from, to string, d time.Duration) {
	b.setFault(from, to, func(f *routeFaults) { f.delay = d })
}

// ClearFaults removes every drop, duplicate and delay setting (partitions
// and disconnections stay).
func (b *Bridge) ClearFaults() {
	b.mu.Lock()
	clear(b.faults)
	b.mu.Unlock()
}

// Partition cuts the link between endpoints a and c (both channels are
// reported removed) and keeps them apart until Heal.
func (b *Bridge) Partition(a, c string) {
	key := pairOf(a, c)
	b.mu.Lock()
	b.partitions[key] = true
	l := b.links[key]
	b.mu.Unlock()
	if l != nil {
		b.cut(l)
	}
}

// Heal ends a partition between a and c and links them again if both are
// started and connected; a starts the handshake.
func (b *Bridge) Heal(a, c string) {
	key := pairOf(a, c)
	b.mu.Lock()
	delete(b.partitions, key)
	ea, okA := b.endpoints[a]
	ec, okC := b.endpoints[c]
	b.mu.Unlock()
	if okA && okC {
		b.connect(ea, []*BridgeEndpoint{ec})
	}
}

// Disconnect cuts every link of the endpoint called name, like a peer
// dropping off the network without a depart, and keeps it off until
// Reconnect. Its transport stays started.
func (b *Bridge) Disconnect(name string) {
	b.mu.Lock()
	ep, ok := b.endpoints[name]
	var links []*bridgeLink
	if ok {
		ep.disconnected = true
		links = b.linksOfLocked(ep)
	}
	b.mu.Unlock()
	for _, l := range links {
		b.cut(l)
	}
}

// Reconnect lets a disconnected endpoint back on the network and links it
// to every started endpoint it is not partitioned from; it starts the
// handshakes.
func (b *Bridge) Reconnect(name string) {
	b.mu.Lock()
	ep, ok := b.endpoints[name]
	var others []*BridgeEndpoint
	if ok {
		ep.disconnected = false
		others = b.othersLocked(ep)
	}
	b.mu.Unlock()
	if ok {
		b.connect(ep, others)
	}
}

// Connected reports whether a and c are linked right now.
func (b *Bridge) Connected(a, c string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.links[pairOf(a, c)]
	return ok && l.open
}

// InFlight returns the number of queued or being-delivered message copies.
func (b *Bridge) InFlight() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inflight
}

// Stats returns the counters.
func (b *Bridge) Stats() BridgeStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Settle blocks until no message is in flight, or ctx ends (then it returns
// ctx.Err()). It is exact: it returns as soon as the count reaches zero and
// not before; see the type's documentation.
func (b *Bridge) Settle(ctx context.Context) error {
	for {
		b.mu.Lock()
		if b.inflight == 0 {
			b.mu.Unlock()
			return nil
		}
		idle := b.idle
		b.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// SettleWith settles the bridge together with consumers that queue work of
// their own (an exchange whose dispatcher may still hold a message after
// its receive callback returned). It repeats Settle and then each wait, in
// order, until a whole round passes in which the bridge accepted no new
// message; each wait should block until its consumer is idle or ctx ends.
func (b *Bridge) SettleWith(ctx context.Context, waits ...func(context.Context) error) error {
	for {
		if err := b.Settle(ctx); err != nil {
			return err
		}
		b.mu.Lock()
		before := b.enqueued
		b.mu.Unlock()
		for _, w := range waits {
			if err := w(ctx); err != nil {
				return err
			}
		}
		b.mu.Lock()
		quiet := b.inflight == 0 && b.enqueued == before
		b.mu.Unlock()
		if quiet {
			return nil
		}
	}
}

// Close cuts every link (reporting the channels removed), discards queued
// messages, stops the delay timers and waits for the delivery goroutines to
// exit. Endpoints cannot start afterwards. Close is idempotent.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.wg.Wait()
		return nil
	}
	b.closed = true
	links := make([]*bridgeLink, 0, len(b.links))
	for _, ep := range b.order {
		for _, l := range b.linksOfLocked(ep) {
			if l.side[0].ep == ep {
				links = append(links, l)
			}
		}
	}
	b.mu.Unlock()
	for _, l := range links {
		b.cut(l)
	}
	b.mu.Lock()
	for _, ep := range b.order {
		b.discardLocked(ep, func(*bridgeItem) bool { return true })
	}
	b.mu.Unlock()
	close(b.done)
	b.wg.Wait()
	return nil
}

var _ transport.Transport = (*BridgeEndpoint)(nil)
