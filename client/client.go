package client

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/outbox"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/machine"
	"github.com/kyneta-go/kyneta/transport"
)

// Client is a Kyneta WebSocket client. It is a [transport.Transport]: an
// exchange initializes, starts and stops it and sends through it; while the
// server connection is ready it holds exactly one channel.
//
// The lifecycle is the pure program run by a machine.Runner; the Client
// only interprets its effects (dial, close, timers, channel) on goroutines
// it owns and feeds what happens back in as messages.
type Client struct {
	opts   resolved
	base   *transport.Base
	runner *machine.Runner[clientMsg, State, effect]
	clk    clock.Clock
	log    *slog.Logger
	out    outbox.Outbox
	closed atomic.Bool

	mu        sync.Mutex
	socks     map[uint64]*socket
	keepalive timerSlot // id = socket
	pong      timerSlot
	reconnect timerSlot
	readyDL   timerSlot // ready deadline
	stable    timerSlot // backoff reset
	barriers  map[uint64]chan struct{}
	nextID    uint64
	lastCtx   *transport.Context
	subs      []*subscriber

	dials   atomic.Uint64          // dials made, for the rotation over URLs
	urlFrom int                    // index of the first URL of the rotation
	lastURL atomic.Pointer[string] // URL of the latest dial
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

// New returns a stopped client. It fails with the reason
// "invalid-config" (kyneta.CodeInvalidArgument) when the options cannot work (no URL, a URL that does
// not parse, an invalid backoff policy).
func New(opts Options) (*Client, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:     o,
		clk:      o.Clock,
		log:      o.Logger,
		socks:    map[uint64]*socket{},
		barriers: map[uint64]chan struct{}{},
	}
	c.out.Log, c.out.Name = o.Logger, "client"
	if n := len(o.URLs); n > 1 {
		c.urlFrom = min(int(o.Rand()*float64(n)), n-1)
	}
	c.base = transport.NewBase(transport.BaseOptions{
		Type:    transportType,
		ID:      o.TransportID,
		OnStart: c.onStart,
		OnStop:  c.onStop,
		OnFlush: c.flush,
	})
	prog := newProgram(programConfig{
		Reconnect:         o.policy,
		KeepaliveInterval: max(o.KeepaliveInterval, 0),
		PongTimeout:       max(o.PongTimeout, 0),
		ReadyTimeout:      max(o.ReadyTimeout, 0),
		BackoffResetAfter: max(o.BackoffResetAfter, 0),
		Rand:              o.Rand,
	})
	c.runner = machine.NewRunner(machine.Program[clientMsg, State, effect](prog), c.exec, machine.Options{
		Label:  "client " + c.base.ID(),
		Logger: o.Logger,
		Now:    o.Clock.Now,
	})
	c.runner.Subscribe(c.onTransition)
	return c, nil
}

// Type returns "websocket-client".
func (c *Client) Type() string { return c.base.Type() }

// ID returns the transport id.
func (c *Client) ID() string { return c.base.ID() }

// Initialize injects the exchange's context (identity, callbacks, channel
// id minter). The client remembers it, so a stopped client can be started
// again without a new Initialize.
func (c *Client) Initialize(ctx context.Context, tc transport.Context) error {
	c.mu.Lock()
	saved := tc
	c.lastCtx = &saved
	c.mu.Unlock()
	return c.base.Initialize(ctx, tc)
}

// Start connects: it returns once the lifecycle has left disconnected,
// without waiting for the connection (use WaitForStatus). Start requires a
// prior Initialize; a stopped client is re-initialized with the last
// context. It fails with the reason "client-closed" after Close.
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

// Stop disconnects and releases everything: the socket is closed with 1000
// "Client disconnecting" (after what was queued is written, within
// CloseGrace), timers are stopped, the channel is removed, and Stop waits
// until every goroutine of the client has finished and every hook triggered
// so far has run. If ctx ends first, sockets are torn down at once and
// ctx's error is returned. Called from a hook or a transport callback, Stop
// does not wait for that callback. Stop is idempotent; Start may follow.
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

// dropIdle closes idle pooled connections of the client's own HTTP client:
// a dial abandoned by Stop can leave its connection parked there, which
// would hold up the server's shutdown.
func (c *Client) dropIdle() {
	if c.opts.ownHTTP {
		c.opts.HTTPClient.CloseIdleConnections()
	}
}

// Close stops the client for good and releases the runner. Unlike Stop it
// has no deadline: it returns when every goroutine of the client has
// finished (even after an earlier Stop whose ctx ended early), except the
// caller's own when called from a callback. Later Start calls fail with
// the reason "client-closed"; pending WaitForStatus calls return.
func (c *Client) Close() error {
	c.closed.Store(true)
	ctx := context.Background()
	err := c.Stop(ctx)
	c.runner.Close()
	_ = c.joinSockets(ctx)
	if !c.out.OnWorker() {
		_ = c.out.Wait(ctx)
	}
	c.dropIdle()
	return err
}

// Flush waits until everything queued on the current socket has been
// written (or ctx ends).
func (c *Client) Flush(ctx context.Context) error { return c.base.Flush(ctx) }

// Channels returns the client's live channels (at most one).
func (c *Client) Channels() []*transport.Channel { return c.base.Channels() }

// State returns the current lifecycle state.
func (c *Client) State() State { return c.runner.State() }

// TransportState returns the transport lifecycle state (created,
// initialized, started, stopped).
func (c *Client) TransportState() transport.State { return c.base.State() }

// WaitForStatus waits until the client's status is want and returns that
// state, after the effects of reaching it have been carried out: when it
// returns StatusReady, the channel has been added, the establish handshake
// started and the hooks for the transition have run (unless it is called
// from a hook). Waiting for any status but disconnected also ends when the client
// stops for good: the state is returned with its *DisconnectReason as the
// error (e.g. kyneta.ReasonOf(err) == "unauthorized"). It returns ctx's error if
// ctx ends first and an error with the reason "client-closed" after Close.
func (c *Client) WaitForStatus(ctx context.Context, want Status) (State, error) {
	s, err := c.runner.WaitFor(ctx, func(s State) bool {
		return s.Status == want || (want != StatusDisconnected && s.Status == StatusDisconnected && s.Reason != nil)
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

// Subscribe calls fn on every change of status, in order, the same way as
// the lifecycle hooks (outside locks, one at a time). It returns a function
// that unsubscribes.
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
	if jerr := c.joinSockets(ctx); jerr != nil {
		return jerr
	}
	return err
}

// joinSockets releases every socket still around — normally the program's
// close-socket effects did that already; this catches what they could not
// (runner closed, barrier timed out) — and waits until they are finished.
// If ctx ends first it tears them down at once and returns ctx's error. A
// socket whose reader is the caller (Stop from a receive callback) is not
// waited for.
func (c *Client) joinSockets(ctx context.Context) error {
	c.mu.Lock()
	socks := make([]*socket, 0, len(c.socks))
	for _, s := range c.socks {
		socks = append(socks, s)
	}
	c.mu.Unlock()
	me := outbox.Goid()
	for _, s := range socks {
		s.release(closeNormal, reasonClientDisconnecting)
	}
	for _, s := range socks {
		if s.readerGID.Load() == me {
			continue
		}
		select {
		case <-s.done:
		case <-ctx.Done():
			for _, s := range socks {
				s.cancel()
			}
			return ctx.Err()
		}
	}
	return nil
}

func (c *Client) flush(ctx context.Context) error {
	c.mu.Lock()
	socks := make([]*socket, 0, len(c.socks))
	for _, s := range c.socks {
		socks = append(socks, s)
	}
	c.mu.Unlock()
	for _, s := range socks {
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

// ---- lifecycle hooks

// onTransition runs on the drainer; it only queues the user-facing calls.
func (c *Client) onTransition(tr machine.Transition[State]) {
	from, to := tr.From, tr.To
	if from.Status == to.Status {
		return // bookkeeping only (pong deadline armed or answered)
	}
	c.mu.Lock()
	subs := c.subs
	c.mu.Unlock()
	o := c.opts
	if o.OnStateChange == nil && o.OnReady == nil && o.OnReconnecting == nil && o.OnDisconnect == nil && len(subs) == 0 {
		return
	}
	c.log.Debug("client: state", "from", from.String(), "to", to.String())
	// One callback per post, so a panicking hook cannot suppress the
	// others for the same transition (reference issue W10).
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
	case StatusDisconnected:
		if to.Reason != nil && o.OnDisconnect != nil {
			c.out.Post(func() { o.OnDisconnect(to.Reason) })
		}
	case StatusReconnecting:
		if o.OnReconnecting != nil {
			c.out.Post(func() { o.OnReconnecting(to.Attempt, to.Delay) })
		}
	case StatusReady:
		if o.OnReady != nil {
			c.out.Post(o.OnReady)
		}
	}
}

// ---- effect interpreter (runs on the drainer; never blocks)

func (c *Client) exec(e effect, dispatch func(clientMsg)) {
	switch e.Kind {
	case effectDial:
		c.dial(e.Socket)
	case effectCloseSocket:
		if s := c.socket(e.Socket); s != nil {
			s.release(e.Code, e.Reason)
		}
	case effectStartKeepalive:
		c.startKeepalive(e.Socket, e.After)
	case effectStopKeepalive:
		c.mu.Lock()
		if c.keepalive.id == e.Socket {
			c.disarm(&c.keepalive)
		}
		c.mu.Unlock()
	case effectSendPing:
		if s := c.socket(e.Socket); s != nil {
			// Armed before the ping is queued so that even an instant answer
			// is reported (the reader reports once per arming).
			s.awaitingPong.Store(true)
			s.enqueue(websocket.MessageText, wirecore.FramePart{Head: pingFrame})
		}
	case effectStartPongTimer:
		c.arm(&c.pong, e.Timer, e.After, msgPongTimeout{Timer: e.Timer})
	case effectCancelPongTimer:
		c.cancel(&c.pong, e.Timer)
	case effectStartReconnectTimer:
		c.arm(&c.reconnect, e.Timer, e.After, msgReconnectTimer{Timer: e.Timer})
	case effectCancelReconnectTimer:
		c.cancel(&c.reconnect, e.Timer)
	case effectStartReadyTimer:
		c.arm(&c.readyDL, e.Timer, e.After, msgReadyTimeout{Timer: e.Timer})
	case effectCancelReadyTimer:
		c.cancel(&c.readyDL, e.Timer)
	case effectStartStableTimer:
		c.arm(&c.stable, e.Timer, e.After, msgReadyStable{Timer: e.Timer})
	case effectCancelStableTimer:
		c.cancel(&c.stable, e.Timer)
	case effectAddChannel:
		if s := c.socket(e.Socket); s != nil {
			c.out.Post(func() { c.addChannel(s) })
		}
	case effectRemoveChannel:
		if s := c.socket(e.Socket); s != nil {
			c.out.Post(func() { c.removeChannel(s) })
		}
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

var pingFrame = []byte("ping")

func (c *Client) socket(gen uint64) *socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socks[gen]
}

// arm starts a one-shot timer in slot, replacing any armed one (reference
// issue W8). When it fires it empties the slot and dispatches msg.
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

// cancel disarms the slot if it still holds timer id.
func (c *Client) cancel(slot *timerSlot, id uint64) {
	c.mu.Lock()
	if slot.id == id {
		c.disarm(slot)
	}
	c.mu.Unlock()
}

// disarm stops the slot's timer. c.mu must be held.
func (c *Client) disarm(slot *timerSlot) {
	if slot.stop != nil {
		slot.stop()
	}
	slot.id, slot.stop = 0, nil
	slot.seq++
}

// startKeepalive ticks every d for socket gen until disarmed.
func (c *Client) startKeepalive(gen uint64, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disarm(&c.keepalive)
	c.keepalive.id = gen
	seq := c.keepalive.seq
	var tick func()
	tick = func() {
		c.mu.Lock()
		if c.keepalive.seq != seq {
			c.mu.Unlock()
			return
		}
		c.keepalive.stop = c.clk.AfterFunc(d, tick)
		c.mu.Unlock()
		c.runner.Dispatch(msgKeepaliveTick{Socket: gen})
	}
	c.keepalive.stop = c.clk.AfterFunc(d, tick)
}

// ---- channel (runs on the outbox: it calls into the exchange)

func (c *Client) addChannel(s *socket) {
	ch, err := c.base.AddChannel(transport.Link{
		Send:       s.send,
		SendPieces: s.sendOfferPieces,
		Close:      func() { s.closeConn(closeNormal, "Channel closed") },
	})
	if err != nil {
		c.log.Debug("client: add channel", "socket", s.gen, "err", err)
		return
	}
	s.ch.Store(ch)
	if s.isReleased() {
		// The socket went away while the exchange was told about it.
		c.removeChannel(s)
		return
	}
	if err := c.base.EstablishChannel(ch.ID); err != nil {
		c.log.Debug("client: establish channel", "socket", s.gen, "err", err)
	}
}

func (c *Client) removeChannel(s *socket) {
	ch := s.ch.Swap(nil)
	if ch == nil {
		return
	}
	if _, err := c.base.RemoveChannel(ch.ID); err != nil {
		c.log.Debug("client: remove channel", "socket", s.gen, "err", err)
	}
}

// ---- dial

func (c *Client) dial(gen uint64) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &socket{
		c:      c,
		gen:    gen,
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		wdone:  make(chan struct{}),
		// The dial goroutine; counted before the socket is published.
		running: 1,
	}
	s.pipe = pipeline.New(pipeline.Options{
		Threshold: max(c.opts.FragmentThreshold, 0),
		Clock:     c.clk,
		OnFrame:   c.base.FrameObserver(),
		OnError: func(err error, dir transport.Direction) {
			c.log.Warn("client: pipeline", "socket", gen, "dir", string(dir), "err", err)
		},
	})
	peerID := c.base.Identity().PeerID
	c.mu.Lock()
	c.socks[gen] = s
	c.mu.Unlock()
	go s.run(peerID)
}

// URL returns the URL of the latest dial ("" before the first): with
// Options.URLs, the node the client is connected to, or trying.
func (c *Client) URL() string {
	if u := c.lastURL.Load(); u != nil {
		return *u
	}
	return ""
}

// resolveURL returns the URL to dial.
func (c *Client) resolveURL(peerID string) (string, error) {
	u, err := c.nextURL(peerID)
	if err == nil {
		c.lastURL.Store(&u)
	}
	return u, err
}

func (c *Client) nextURL(peerID string) (string, error) {
	if n := len(c.opts.URLs); n > 0 {
		i := (uint64(c.urlFrom) + c.dials.Add(1) - 1) % uint64(n)
		return c.opts.URLs[i], nil
	}
	if c.opts.URLFunc == nil {
		return c.opts.URL, nil
	}
	if peerID == "" {
		return "", errors.New("no peer id: Initialize with an identity before Start")
	}
	u, err := c.opts.URLFunc(peerID)
	if err != nil {
		return "", err
	}
	return u, checkURL(u)
}

func (c *Client) header(ctx context.Context) (http.Header, error) {
	if c.opts.HeaderFunc == nil {
		return c.opts.Header, nil
	}
	extra, err := c.opts.HeaderFunc(ctx)
	if err != nil {
		return nil, err
	}
	h := c.opts.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for k, v := range extra {
		h[k] = append(h[k], v...)
	}
	return h, nil
}
