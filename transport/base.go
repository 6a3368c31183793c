package transport

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/kyneta-go/kyneta/wire"
)

// State is a transport's lifecycle state:
// created → initialized → started → stopped, with a transient stopping
// while the transport's OnStop hook runs. Stopped transports may be
// initialized again.
type State uint8

// Lifecycle states.
const (
	StateCreated State = iota
	StateInitialized
	StateStarted
	StateStopping
	StateStopped
)

// String returns the state's name ("created", "started", …).
func (s State) String() string {
	switch s {
	case StateCreated:
		return "created"
	case StateInitialized:
		return "initialized"
	case StateStarted:
		return "started"
	case StateStopping:
		return "stopping"
	case StateStopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// BaseOptions configure a [Base].
type BaseOptions struct {
	// Type is the transport type, e.g. "websocket-client". Required.
	Type string
	// ID defaults to "<Type>-<n>" with n from a process-wide counter.
	ID string
	// OnStart runs after the state became started, so it may add channels.
	// An error stops the transport again (OnStop runs, channels are
	// removed) and is returned by Start.
	OnStart func(ctx context.Context) error
	// OnStop closes the transport's connections. It runs in state
	// stopping: channels may still be removed (by reader goroutines
	// noticing their socket closed) but not added. Channels left
	// afterwards are removed by Base and reported through OnChannelRemoved.
	OnStop func(ctx context.Context) error
	// OnFlush implements Flush; nil means nothing is ever queued.
	OnFlush func(ctx context.Context) error
}

var transportSeq atomic.Uint64

// Base is the reusable part of every transport: the lifecycle with its
// state guards, the insertion-ordered channel directory and the callbacks
// the exchange injected. Concrete transports embed a *Base and call
// AddChannel, RemoveChannel, EstablishChannel and Receive from their own
// goroutines.
//
// All methods are safe for concurrent use. Base never holds its locks while
// calling Context callbacks, so callbacks may call back in. Initialize,
// Start and Stop are serialized with each other and run the OnStart/OnStop
// hooks while serialized: a hook, or a callback that Base fires
// synchronously from inside a hook (OnChannelAdded for a channel OnStart
// adds), must not itself call Initialize, Start or Stop on the same
// transport.
//
// For each channel the callbacks come in order: OnChannelAdded before
// OnChannelRemoved, even when the removal races the addition.
type Base struct {
	typ, id string
	opts    BaseOptions

	lc sync.Mutex // serializes Initialize, Start, Stop

	mu    sync.RWMutex
	state State
	cctx  Context
	chans map[ChannelID]*list.Element // of *entry
	order list.List
}

type entry struct {
	ch        *Channel
	cctx      Context // context the channel was announced to
	announced bool    // OnChannelAdded has returned
	removed   bool    // taken out of the directory
}

// NewBase returns a Base in state created.
func NewBase(opts BaseOptions) *Base {
	id := opts.ID
	if id == "" {
		id = fmt.Sprintf("%s-%d", opts.Type, transportSeq.Add(1))
	}
	return &Base{typ: opts.Type, id: id, opts: opts, chans: make(map[ChannelID]*list.Element)}
}

// Type returns the transport type.
func (b *Base) Type() string { return b.typ }

// ID returns the transport id.
func (b *Base) ID() string { return b.id }

// State returns the current lifecycle state.
func (b *Base) State() State {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.state
}

// Identity returns the local peer identity from the injected context (zero
// before Initialize).
func (b *Base) Identity() wire.PeerIdentity {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.cctx.Identity
}

// FrameObserver returns the context's OnFrame while the transport is
// initialized or started, else nil. Shells pass it to their wire pipeline.
func (b *Base) FrameObserver() func(FrameTrace) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.state == StateInitialized || b.state == StateStarted {
		return b.cctx.OnFrame
	}
	return nil
}

// Initialize stores the consumer's callbacks and moves to initialized. If
// the transport is initialized or started it is stopped first (its
// channels are reported removed to the previous context), as on a
// hot re-initialization. It fails with invalid-context when
// c.MintChannelID is nil.
func (b *Base) Initialize(ctx context.Context, c Context) error {
	if c.MintChannelID == nil {
		return newError(reasonInvalidContext, "MintChannelID is required", nil)
	}
	b.lc.Lock()
	var (
		removed []*entry
		stopErr error
	)
	switch b.State() {
	case StateInitialized, StateStarted:
		removed, stopErr = b.stopLocked(ctx)
	}
	b.mu.Lock()
	b.cctx = c
	b.state = StateInitialized
	b.mu.Unlock()
	b.lc.Unlock()
	fireRemoved(removed)
	return stopErr
}

// Start moves from initialized to started and runs OnStart. Any other state
// has invalid-state. If OnStart fails, the transport is stopped again and the
// error returned.
func (b *Base) Start(ctx context.Context) error {
	b.lc.Lock()
	b.mu.Lock()
	if b.state != StateInitialized {
		st := b.state
		b.mu.Unlock()
		b.lc.Unlock()
		return stateError("start", st)
	}
	b.state = StateStarted
	b.mu.Unlock()
	if b.opts.OnStart == nil {
		b.lc.Unlock()
		return nil
	}
	err := b.opts.OnStart(ctx)
	if err == nil {
		b.lc.Unlock()
		return nil
	}
	removed, _ := b.stopLocked(ctx)
	b.lc.Unlock()
	fireRemoved(removed)
	return fmt.Errorf("transport %s: start: %w", b.id, err)
}

// Stop runs OnStop (if the transport was started), removes every channel
// left, reporting each through OnChannelRemoved (the reference cleared the
// directory silently, issue T1), and moves to stopped. It is allowed in any
// state; stopping a stopped transport does nothing. The OnStop error, if
// any, is returned after the cleanup.
func (b *Base) Stop(ctx context.Context) error {
	b.lc.Lock()
	removed, err := b.stopLocked(ctx)
	b.lc.Unlock()
	fireRemoved(removed)
	return err
}

// stopLocked does the stop with b.lc held and returns the entries whose
// removal must be reported once the lock is released.
func (b *Base) stopLocked(ctx context.Context) ([]*entry, error) {
	b.mu.Lock()
	prev := b.state
	if prev == StateStopped {
		b.mu.Unlock()
		return nil, nil
	}
	b.state = StateStopping
	b.mu.Unlock()

	var err error
	if prev == StateStarted && b.opts.OnStop != nil {
		err = b.opts.OnStop(ctx)
	}

	b.mu.Lock()
	var removed []*entry
	for e := b.order.Front(); e != nil; e = e.Next() {
		en := e.Value.(*entry)
		if b.takeLocked(en) {
			removed = append(removed, en)
		}
	}
	b.order.Init()
	clear(b.chans)
	b.cctx = Context{}
	b.state = StateStopped
	b.mu.Unlock()
	return removed, err
}

// takeLocked marks en removed and reports whether the caller must fire
// OnChannelRemoved now (false while OnChannelAdded has not returned yet:
// AddChannel fires the removal itself afterwards).
func (b *Base) takeLocked(en *entry) bool {
	en.removed = true
	return en.announced
}

func fireRemoved(entries []*entry) {
	for _, en := range entries {
		if f := en.cctx.OnChannelRemoved; f != nil {
			f(en.ch)
		}
	}
}

// Flush runs the OnFlush hook, if any.
func (b *Base) Flush(ctx context.Context) error {
	if b.opts.OnFlush == nil {
		return nil
	}
	return b.opts.OnFlush(ctx)
}

// AddChannel mints an id through the context, records a channel over link
// and reports it through OnChannelAdded before returning it. It requires
// state started (invalid-state otherwise) and fails with duplicate-channel-id
// when the minted id is zero or already live.
func (b *Base) AddChannel(link Link) (*Channel, error) {
	if link.Send == nil {
		return nil, fmt.Errorf("transport %s: add channel: Link.Send is nil", b.id)
	}
	b.mu.RLock()
	st, cctx := b.state, b.cctx
	b.mu.RUnlock()
	if st != StateStarted {
		return nil, stateError("add channel", st)
	}
	id := cctx.MintChannelID() // consumer code: called without our locks

	b.mu.Lock()
	if b.state != StateStarted {
		st := b.state
		b.mu.Unlock()
		return nil, stateError("add channel", st)
	}
	if _, dup := b.chans[id]; dup || id == 0 {
		b.mu.Unlock()
		return nil, channelError(reasonDuplicateID, "add channel", id, nil)
	}
	ch := &Channel{ID: id, TransportType: b.typ, TransportID: b.id, Meta: link.Meta, send: link.Send, sendPieces: link.SendPieces, close: link.Close}
	en := &entry{ch: ch, cctx: b.cctx}
	b.chans[id] = b.order.PushBack(en)
	b.mu.Unlock()

	if f := en.cctx.OnChannelAdded; f != nil {
		f(ch)
	}
	b.mu.Lock()
	en.announced = true
	late := en.removed // removed while OnChannelAdded ran: report it now
	b.mu.Unlock()
	if late {
		fireRemoved([]*entry{en})
	}
	return ch, nil
}

// RemoveChannel takes the channel out of the directory and reports it
// through OnChannelRemoved. It does not close the connection (the shell
// calls it because the connection is gone). Allowed while started or
// stopping; channel-not-found when the id is not live.
func (b *Base) RemoveChannel(id ChannelID) (*Channel, error) {
	b.mu.Lock()
	if b.state != StateStarted && b.state != StateStopping {
		st := b.state
		b.mu.Unlock()
		return nil, stateError("remove channel", st)
	}
	el, ok := b.chans[id]
	if !ok {
		b.mu.Unlock()
		return nil, channelError(reasonChannelNotFound, "remove channel", id, nil)
	}
	en := el.Value.(*entry)
	delete(b.chans, id)
	b.order.Remove(el)
	fire := b.takeLocked(en)
	b.mu.Unlock()
	if fire {
		fireRemoved([]*entry{en})
	}
	return en.ch, nil
}

// EstablishChannel asks the consumer to start the handshake on channel id
// (OnChannelEstablish). Requires state started.
func (b *Base) EstablishChannel(id ChannelID) error {
	b.mu.RLock()
	st := b.state
	el, ok := b.chans[id]
	cctx := b.cctx
	b.mu.RUnlock()
	if st != StateStarted {
		return stateError("establish channel", st)
	}
	if !ok {
		return channelError(reasonChannelNotFound, "establish channel", id, nil)
	}
	if f := cctx.OnChannelEstablish; f != nil {
		f(el.Value.(*entry).ch)
	}
	return nil
}

// Receive hands an inbound message from channel id to the consumer
// (OnChannelReceive), which owns it from then on: the transport must not
// modify or reuse any memory the message refers to (decode into fresh
// memory, never into a read buffer). Messages for channels that are gone,
// or arriving when the transport is not started, are refused with an
// error the shell may log and otherwise ignore.
func (b *Base) Receive(id ChannelID, msg wire.ChannelMsg) error {
	b.mu.RLock()
	st := b.state
	_, ok := b.chans[id]
	cctx := b.cctx
	b.mu.RUnlock()
	if st != StateStarted {
		return stateError("receive", st)
	}
	if !ok {
		return channelError(reasonChannelNotFound, "receive channel", id, nil)
	}
	if f := cctx.OnChannelReceive; f != nil {
		f(id, msg)
	}
	return nil
}

// Pressure reports that channel id's send queue became congested or
// drained (OnChannelPressure). Reports for channels that are gone are
// dropped: their removal already tells the consumer.
func (b *Base) Pressure(id ChannelID, congested bool) {
	b.mu.RLock()
	_, ok := b.chans[id]
	cctx := b.cctx
	b.mu.RUnlock()
	if ok && cctx.OnChannelPressure != nil {
		cctx.OnChannelPressure(id, congested)
	}
}

// Channel returns the live channel with that id.
func (b *Base) Channel(id ChannelID) (*Channel, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	el, ok := b.chans[id]
	if !ok {
		return nil, false
	}
	return el.Value.(*entry).ch, true
}

// Channels returns the live channels in the order they were added.
func (b *Base) Channels() []*Channel {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]*Channel, 0, len(b.chans))
	for e := b.order.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*entry).ch)
	}
	return out
}

// Len returns the number of live channels.
func (b *Base) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.chans)
}

var _ Transport = (*Base)(nil)
