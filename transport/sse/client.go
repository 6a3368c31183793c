package sse

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/outbox"
	"github.com/kyneta-go/kyneta/machine"
	"github.com/kyneta-go/kyneta/transport"
)

// Client is the SSE transport's client side: a transport.Transport whose
// one channel, while the stream is open, carries the exchange's messages
// down an events stream and up as uploads.
//
// The lifecycle is the pure program run by a machine.Runner; the Client
// interprets its effects on goroutines it owns and feeds what happens back
// in as messages tagged with the stream's id.
type Client struct {
	opts   clientConfig
	base   *transport.Base
	runner *machine.Runner[clientMsg, State, effect]
	clk    clock.Clock
	log    *slog.Logger
	out    outbox.Outbox
	closed atomic.Bool

	mu        sync.Mutex
	streams   map[uint64]*cstream
	reconnect timerSlot
	barriers  map[uint64]chan struct{}
	nextID    uint64
	lastCtx   *transport.Context
	subs      []*subscriber
}

type timerSlot struct {
	id   uint64
	seq  uint64 // bumps on every arm/disarm, so a late callback knows it is stale
	stop func() bool
}

type subscriber struct {
	fn     func(from, to State)
	active atomic.Bool
}

var _ transport.Transport = (*Client)(nil)

var errChannelClosed = newError(reasonChannelClosed, "by the exchange", nil)

// NewClient returns a stopped client. It fails with the reason
// "invalid-config" (kyneta.CodeInvalidArgument) when the options cannot
// work.
func NewClient(opts ClientOptions) (*Client, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:     o,
		clk:      o.Clock,
		log:      o.Logger,
		streams:  map[uint64]*cstream{},
		barriers: map[uint64]chan struct{}{},
	}
	c.out.Log, c.out.Name = o.Logger, "sse client"
	c.base = transport.NewBase(transport.BaseOptions{
		Type:    clientTransportType,
		ID:      o.TransportID,
		OnStart: c.onStart,
		OnStop:  c.onStop,
		OnFlush: c.flush,
	})
	prog := newProgram(programConfig{Reconnect: o.policy, Rand: o.Rand})
	c.runner = machine.NewRunner(machine.Program[clientMsg, State, effect](prog), c.exec, machine.Options{
		Label:  "sse client " + c.base.ID(),
		Logger: o.Logger,
		Now:    o.Clock.Now,
	})
	c.runner.Subscribe(c.onTransition)
	return c, nil
}

// Type returns "sse-client".
func (c *Client) Type() string { return c.base.Type() }

// ID returns the transport id.
func (c *Client) ID() string { return c.base.ID() }

// Initialize injects the exchange's context. The client remembers it, so a
// stopped client can be started again without a new Initialize.
func (c *Client) Initialize(ctx context.Context, tc transport.Context) error {
	c.mu.Lock()
	saved := tc
	c.lastCtx = &saved
	c.mu.Unlock()
	return c.base.Initialize(ctx, tc)
}

// Start connects: it returns once the lifecycle left disconnected, without
// waiting for the stream (use WaitForStatus). It fails with
// the reason "client-closed" after Close.
func (c *Client) Start(ctx context.Context) error {
	if c.closed.Load() {
		return newError(reasonClientClosed, "start", nil)
	}
	if c.base.State() == transport.StateStopped {
		c.mu.Lock()
		last := c.lastCtx
		c.mu.Unlock()
		if last != nil {
			if err := c.base.Initialize(ctx, *last); err != nil {
				return err
			}
		}
	}
	return c.base.Start(ctx)
}

// Stop disconnects and releases everything: queued uploads are sent
// (within CloseGrace), the stream is closed, the reconnect timer stopped,
// the channel removed; Stop waits until every goroutine of the client has
// finished and every hook triggered so far has run. If ctx ends first,
// everything is torn down at once and ctx's error is returned. Called from
// a hook or a transport callback, Stop does not wait for that callback.
func (c *Client) Stop(ctx context.Context) error {
	err := c.base.Stop(ctx)
	if !c.out.OnWorker() {
		if werr := c.out.Wait(ctx); err == nil {
			err = werr
		}
	}
	c.dropIdle()
	return err
}

// Close stops the client for good. Later Start calls fail with
// the reason "client-closed"; pending WaitForStatus calls return.
func (c *Client) Close() error {
	c.closed.Store(true)
	ctx := context.Background()
	err := c.Stop(ctx)
	c.runner.Close()
	_ = c.joinStreams(ctx)
	if !c.out.OnWorker() {
		_ = c.out.Wait(ctx)
	}
	c.dropIdle()
	return err
}

// dropIdle closes the idle pooled connections of the client's own HTTP
// client, so none lingers after Stop.
func (c *Client) dropIdle() {
	if c.opts.ownHTTP {
		c.opts.HTTPClient.CloseIdleConnections()
	}
}

// Flush waits until every queued upload was answered (or ctx ends).
func (c *Client) Flush(ctx context.Context) error { return c.base.Flush(ctx) }

// Channels returns the client's live channels (at most one).
func (c *Client) Channels() []*transport.Channel { return c.base.Channels() }

// State returns the current lifecycle state.
func (c *Client) State() State { return c.runner.State() }

// WaitForStatus waits until the status is want and its effects were
// carried out (for client.StatusConnected: the channel was added and the
// establish handshake started). Waiting for any status but disconnected
// also ends when the client stops for good: the state is returned with its
// *client.DisconnectReason as the error. It returns ctx's error if ctx ends first.
func (c *Client) WaitForStatus(ctx context.Context, want client.Status) (State, error) {
	s, err := c.runner.WaitFor(ctx, func(s State) bool {
		return s.Status == want || (want != client.StatusDisconnected && s.Status == client.StatusDisconnected && s.Reason != nil)
	})
	switch {
	case errors.Is(err, machine.ErrClosed):
		return s, newError(reasonClientClosed, "wait", err)
	case err != nil:
		return s, err
	}
	if err := c.barrier(ctx); err != nil && kyneta.ReasonOf(err) != reasonClientClosed {
		return s, err
	}
	if err := c.out.Sync(ctx); err != nil {
		return s, err
	}
	if s.Status != want {
		return s, s.Reason
	}
	return s, nil
}

// Subscribe calls fn on every change of status, in order, like the hooks.
// It returns a function that unsubscribes.
func (c *Client) Subscribe(fn func(from, to State)) (unsubscribe func()) {
	s := &subscriber{fn: fn}
	s.active.Store(true)
	c.mu.Lock()
	c.subs = append(c.subs[:len(c.subs):len(c.subs)], s)
	c.mu.Unlock()
	return func() {
		if !s.active.Swap(false) {
			return
		}
		c.mu.Lock()
		next := make([]*subscriber, 0, len(c.subs))
		for _, x := range c.subs {
			if x != s {
				next = append(next, x)
			}
		}
		c.subs = next
		c.mu.Unlock()
	}
}

// ---- transport hooks

func (c *Client) onStart(ctx context.Context) error {
	if c.closed.Load() {
		return newError(reasonClientClosed, "start", nil)
	}
	c.runner.Dispatch(msgStart{})
	return c.barrier(ctx)
}

func (c *Client) onStop(ctx context.Context) error {
	c.runner.Dispatch(msgStop{})
	err := c.barrier(ctx)
	if jerr := c.joinStreams(ctx); jerr != nil {
		return jerr
	}
	return err
}

// joinStreams releases every stream still around (the program's
// close-stream effects normally did) and waits until they are finished;
// if ctx ends first they are torn down at once. A stream whose reader is
// the caller is not waited for.
func (c *Client) joinStreams(ctx context.Context) error {
	c.mu.Lock()
	all := make([]*cstream, 0, len(c.streams))
	for _, s := range c.streams {
		all = append(all, s)
	}
	c.mu.Unlock()
	me := outbox.Goid()
	for _, s := range all {
		s.release(true)
	}
	for _, s := range all {
		if s.readerGID.Load() == me {
			continue
		}
		select {
		case <-s.done:
		case <-ctx.Done():
			for _, s := range all {
				s.cancel()
			}
			return ctx.Err()
		}
	}
	return nil
}

func (c *Client) flush(ctx context.Context) error {
	c.mu.Lock()
	all := make([]*cstream, 0, len(c.streams))
	for _, s := range c.streams {
		all = append(all, s)
	}
	c.mu.Unlock()
	for _, s := range all {
		if err := s.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// barrier returns once every message dispatched before it was processed.
func (c *Client) barrier(ctx context.Context) error {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan struct{})
	c.barriers[id] = ch
	c.mu.Unlock()
	c.runner.Dispatch(msgBarrier{ID: id})
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.barriers, id)
		c.mu.Unlock()
		return ctx.Err()
	case <-c.runner.Stopped():
		return newError(reasonClientClosed, "barrier", nil)
	}
}

// onTransition runs on the runner's drainer; it only queues the
// user-facing calls.
func (c *Client) onTransition(tr machine.Transition[State]) {
	from, to := tr.From, tr.To
	if from.Status == to.Status {
		return
	}
	c.mu.Lock()
	subs := c.subs
	c.mu.Unlock()
	o := c.opts
	c.log.Debug("sse client: state", "from", from.String(), "to", to.String())
	if o.OnStateChange != nil {
		c.out.Post(func() { o.OnStateChange(from, to) })
	}
	for _, s := range subs {
		c.out.Post(func() {
			if s.active.Load() {
				s.fn(from, to)
			}
		})
	}
	switch to.Status {
	case client.StatusDisconnected:
		if to.Reason != nil && o.OnDisconnect != nil {
			c.out.Post(func() { o.OnDisconnect(to.Reason) })
		}
	case client.StatusReconnecting:
		if o.OnReconnecting != nil {
			c.out.Post(func() { o.OnReconnecting(to.Attempt, to.Delay) })
		}
	}
}

// exec interprets one effect; it runs on the drainer and never blocks.
func (c *Client) exec(e effect, dispatch func(clientMsg)) {
	switch e.Kind {
	case effectOpenStream:
		c.open(e.Stream)
	case effectCloseStream:
		if s := c.stream(e.Stream); s != nil {
			s.release(e.Graceful)
		}
	case effectAddChannel:
		if s := c.stream(e.Stream); s != nil {
			c.out.Post(func() { c.addChannel(s) })
		}
	case effectRemoveChannel:
		if s := c.stream(e.Stream); s != nil {
			c.out.Post(func() { c.removeChannel(s) })
		}
	case effectStartReconnectTimer:
		c.arm(&c.reconnect, e.Timer, e.After, msgReconnectTimer{Timer: e.Timer})
	case effectCancelReconnectTimer:
		c.mu.Lock()
		if c.reconnect.id == e.Timer {
			c.disarm(&c.reconnect)
		}
		c.mu.Unlock()
	case effectBarrier:
		c.mu.Lock()
		ch := c.barriers[e.Timer]
		delete(c.barriers, e.Timer)
		c.mu.Unlock()
		if ch != nil {
			close(ch)
		}
	}
}

func (c *Client) stream(gen uint64) *cstream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[gen]
}

// arm starts a one-shot timer in slot; when it fires it empties the slot
// and dispatches msg.
func (c *Client) arm(slot *timerSlot, id uint64, d time.Duration, msg clientMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disarm(slot)
	slot.id = id
	seq := slot.seq
	slot.stop = c.clk.AfterFunc(d, func() {
		c.mu.Lock()
		if slot.seq != seq {
			c.mu.Unlock()
			return
		}
		slot.id, slot.stop = 0, nil
		slot.seq++
		c.mu.Unlock()
		c.runner.Dispatch(msg)
	})
}

// disarm stops the slot's timer; c.mu must be held.
func (c *Client) disarm(slot *timerSlot) {
	if slot.stop != nil {
		slot.stop()
	}
	slot.id, slot.stop = 0, nil
	slot.seq++
}

// ---- channel (runs on the outbox: it calls into the exchange)

func (c *Client) addChannel(s *cstream) {
	ch, err := c.base.AddChannel(transport.Link{
		Send: s.send,
		// The exchange closed the channel: give the stream up (retried,
		// as the WebSocket client does).
		Close: func() { c.runner.Dispatch(msgStreamError{Stream: s.gen, Err: errChannelClosed}) },
	})
	if err != nil {
		c.log.Debug("sse client: add channel", "stream", s.gen, "err", err)
		return
	}
	s.ch.Store(ch)
	if s.isReleased() {
		c.removeChannel(s)
		return
	}
	if err := c.base.EstablishChannel(ch.ID); err != nil {
		c.log.Debug("sse client: establish channel", "stream", s.gen, "err", err)
	}
}

func (c *Client) removeChannel(s *cstream) {
	ch := s.ch.Swap(nil)
	if ch == nil {
		return
	}
	if _, err := c.base.RemoveChannel(ch.ID); err != nil {
		c.log.Debug("sse client: remove channel", "stream", s.gen, "err", err)
	}
}

// ---- URLs and headers

func resolveURL(static string, fn func(string) (string, error), peerID string) (string, error) {
	if fn == nil {
		return static, nil
	}
	if peerID == "" {
		return "", newError(reasonInvalidConfig, "no peer id: Initialize with an identity before Start", nil)
	}
	u, err := fn(peerID)
	if err != nil {
		return "", err
	}
	return u, checkURL(u)
}

func (c *Client) header(ctx context.Context) (http.Header, error) {
	h := c.opts.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if c.opts.HeaderFunc == nil {
		return h, nil
	}
	extra, err := c.opts.HeaderFunc(ctx)
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		h[k] = append(h[k], v...)
	}
	return h, nil
}
