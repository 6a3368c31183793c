package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

type harness struct {
	t    *testing.T
	srv  *refServer
	clk  *clock.Fake
	ex   *exchangeRec
	c    *Client
	ctx  context.Context
	hook *hookRec
}

type hookRec struct {
	mu          sync.Mutex
	transitions []string
	ready       atomic.Int32
	reconnects  chan string
	disconnects chan *DisconnectReason
}

func (h *hookRec) log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.transitions, " ")
}

// newHarness starts a reference-like server and a client (not started)
// with a fake clock and deterministic backoff. mod may adjust the options.
func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, srv: newRefServer(t), clk: clock.NewFake(time.Unix(1000, 0)), ex: newExchangeRec(), ctx: testCtx(t)}
	h.ex.onEstablish = sendEstablish
	h.hook = &hookRec{reconnects: make(chan string, 64), disconnects: make(chan *DisconnectReason, 64)}
	opts := Options{
		URL:       h.srv.url(),
		Clock:     h.clk,
		Reconnect: testPolicy(10),
		OnStateChange: func(from, to State) {
			h.hook.mu.Lock()
			h.hook.transitions = append(h.hook.transitions, to.Status.String())
			h.hook.mu.Unlock()
		},
		OnReady:        func() { h.hook.ready.Add(1) },
		OnReconnecting: func(a int, d time.Duration) { h.hook.reconnects <- fmt.Sprintf("%d/%v", a, d) },
		OnDisconnect:   func(r *DisconnectReason) { h.hook.disconnects <- r },
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.c = c
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := c.Initialize(h.ctx, h.ex.context()); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.c.Start(h.ctx); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
}

func (h *harness) waitStatus(want Status) State {
	h.t.Helper()
	s, err := h.c.WaitForStatus(h.ctx, want)
	if err != nil {
		h.t.Fatalf("WaitForStatus(%v): %v (state %v)", want, err, s)
	}
	h.settle()
	return s
}

// waitState waits for a state satisfying pred, then for every effect
// already triggered to have run.
func (h *harness) waitState(what string, pred func(State) bool) State {
	h.t.Helper()
	s, err := h.c.runner.WaitFor(h.ctx, pred)
	if err != nil {
		h.t.Fatalf("waiting for %s: %v (state %v)", what, err, s)
	}
	h.settle()
	return s
}

// settle returns once every message dispatched so far, and its effects,
// have been processed.
func (h *harness) settle() {
	h.t.Helper()
	if err := h.c.barrier(h.ctx); err != nil {
		h.t.Fatalf("barrier: %v", err)
	}
	if err := h.c.out.Wait(h.ctx); err != nil {
		h.t.Fatalf("hooks: %v", err)
	}
}

// quiet waits until every socket the client released has finished (its
// goroutines and timers are gone).
func (h *harness) quiet() {
	h.t.Helper()
	h.settle()
	h.c.mu.Lock()
	var done []chan struct{}
	for _, s := range h.c.socks {
		done = append(done, s.done)
	}
	h.c.mu.Unlock()
	for _, d := range done {
		recv(h.t, d, "socket finished")
	}
}

// advance moves the fake clock and lets the client process what fired.
func (h *harness) advance(d time.Duration) {
	h.clk.Advance(d)
	h.settle()
}

func (h *harness) ready() *refConn {
	h.t.Helper()
	h.start()
	h.waitStatus(StatusReady)
	recv(h.t, h.ex.established, "channel establish")
	rc := recv(h.t, h.srv.establishes, "establish at server")
	if m := recv(h.t, rc.msgs, "client establish at server"); m.MsgType() != wire.TypeEstablish {
		h.t.Fatalf("server got %v first, want establish", m.MsgType())
	}
	if m := recv(h.t, h.ex.received, "server establish at client"); m.MsgType() != wire.TypeEstablish {
		h.t.Fatalf("client got %v first, want establish", m.MsgType())
	}
	return rc
}

func TestReadyHandshakeAndStop(t *testing.T) {
	h := newHarness(t, nil)
	rc := h.ready()
	added := recv(t, h.ex.added, "channel added")
	if added.TransportType != transportType || len(h.c.Channels()) != 1 || h.c.Channels()[0] != added {
		t.Fatalf("channel %+v, channels %v", added, h.c.Channels())
	}
	if h.hook.ready.Load() != 1 {
		t.Fatalf("OnReady ran %d times", h.hook.ready.Load())
	}
	if err := h.c.Stop(h.ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if removed := recv(t, h.ex.removed, "channel removed"); removed != added {
		t.Fatalf("removed %v, want %v", removed, added)
	}
	<-rc.closed
	if code := websocket.CloseStatus(rc.err); code != closeNormal {
		t.Fatalf("server saw close %v (%v), want 1000", code, rc.err)
	}
	var ce websocket.CloseError
	if !errors.As(rc.err, &ce) || ce.Reason != reasonClientDisconnecting {
		t.Fatalf("close reason %v", rc.err)
	}
	if s := h.c.State(); s.Status != StatusDisconnected || !errors.Is(s.Reason, &kyneta.Error{Pkg: "client", Reason: reasonIntentional}) {
		t.Fatalf("state after Stop %v", s)
	}
	if r := recv(t, h.hook.disconnects, "OnDisconnect"); r.Reason != reasonIntentional {
		t.Fatalf("OnDisconnect(%v)", r)
	}
	if got := h.hook.log(); got != "connecting connected ready disconnected" {
		t.Fatalf("OnStateChange saw %q", got)
	}
	if n := h.clk.Pending(); n != 0 {
		t.Fatalf("%d timers left armed after Stop: %v", n, h.clk.Durations())
	}
	if len(h.c.Channels()) != 0 || h.c.TransportState() != transport.StateStopped {
		t.Fatalf("after Stop: channels %v, transport %v", h.c.Channels(), h.c.TransportState())
	}
}

func TestPingPong(t *testing.T) {
	h := newHarness(t, nil)
	rc := h.ready()
	h.advance(defaultKeepaliveInterval)
	for range 3 {
		recv(t, rc.pings, "ping at server")
		h.waitState("pong processed", func(s State) bool { return s.pong == 0 })
		// The deadline was cancelled by the pong: nothing fires up to the
		// next ping.
		h.advance(defaultPongTimeout)
		if s := h.c.State(); s.Status != StatusReady || len(rc.pings) != 0 {
			t.Fatalf("state %v after answered ping", s)
		}
		h.advance(defaultKeepaliveInterval - defaultPongTimeout)
	}
	if n := h.srv.upgrades(); n != 1 {
		t.Fatalf("%d upgrades, want 1", n)
	}
	recv(t, rc.pings, "fourth ping")
	h.waitState("fourth pong", func(s State) bool { return s.pong == 0 })
	if got := fmt.Sprint(h.clk.Durations()); got != "[30s]" {
		t.Fatalf("armed timers %v, want the keepalive only", got)
	}
}

func TestPongTimeoutReconnects(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.set(func(s *refServer) { s.silent = true })
	rc := h.ready()
	h.advance(defaultKeepaliveInterval)
	recv(t, rc.pings, "ping at server")
	h.advance(defaultPongTimeout)
	s := h.waitState("reconnecting", func(s State) bool { return s.Status == StatusReconnecting })
	if s.Attempt != 1 || s.Delay != time.Second {
		t.Fatalf("state %v", s)
	}
	<-rc.closed
	var ce websocket.CloseError
	if !errors.As(rc.err, &ce) || ce.Reason != closeReasonPongTimeout {
		t.Fatalf("server saw %v, want close %q", rc.err, closeReasonPongTimeout)
	}
	recv(t, h.ex.removed, "channel removed")
	if got := recv(t, h.hook.reconnects, "OnReconnecting"); got != "1/1s" {
		t.Fatalf("OnReconnecting(%s)", got)
	}
	h.srv.set(func(s *refServer) { s.silent = false })
	h.advance(time.Second)
	recv(t, h.srv.accepted, "second connection")
	h.waitStatus(StatusReady)
	recv(t, h.ex.added, "first channel")
	second := recv(t, h.ex.added, "second channel")
	if chs := h.c.Channels(); len(chs) != 1 || chs[0] != second {
		t.Fatalf("channels %v", chs)
	}
}

// A real restart: the listener goes away (dials are refused), then a new
// server comes up on the same address.
func TestServerRestartReconnects(t *testing.T) {
	h := newHarness(t, nil)
	h.ready()
	h.advance(defaultBackoffResetAfter) // stable: a later drop starts the backoff over
	addr := h.srv.srv.Listener.Addr().String()
	h.srv.closeAll(websocket.StatusServiceRestart, "restart")
	h.srv.srv.Close()

	s := h.waitState("reconnecting", func(s State) bool { return s.Status == StatusReconnecting })
	if s.Attempt != 1 || s.Delay != time.Second {
		t.Fatalf("after drop: %v", s)
	}
	h.advance(time.Second) // attempt 1: refused
	s = h.waitState("retry 2", func(s State) bool { return s.Status == StatusReconnecting && s.Attempt == 2 })
	if s.Delay != 2*time.Second {
		t.Fatalf("after refused dial: %v", s)
	}
	h.srv.restartOn(t, addr)
	h.advance(2 * time.Second)
	recv(t, h.srv.accepted, "reconnect")
	h.waitStatus(StatusReady)
	if got := h.hook.log(); got != "connecting connected ready reconnecting connecting reconnecting connecting connected ready" {
		t.Fatalf("transitions %q", got)
	}
}

func TestRestartAfterStopUsesFreshPipeline(t *testing.T) {
	h := newHarness(t, nil)
	for i := range 3 {
		rc := h.ready()
		if seq := recv(t, rc.seqs, "first frame seq"); seq != 1 {
			t.Fatalf("round %d: first frame seq %d, want 1", i, seq)
		}
		if err := h.c.Stop(h.ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		recv(t, h.ex.removed, "channel removed")
	}
	if n := h.srv.upgrades(); n != 3 {
		t.Fatalf("%d upgrades, want 3", n)
	}
}

func TestAuthHeaders(t *testing.T) {
	calls := atomic.Int32{}
	h := newHarness(t, func(o *Options) {
		o.Header = http.Header{"Authorization": {"Bearer s3cret"}}
		o.Subprotocols = []string{"kyneta.v3"}
		o.HeaderFunc = func(ctx context.Context) (http.Header, error) {
			n := calls.Add(1)
			return http.Header{"X-Attempt": {fmt.Sprint(n)}}, nil
		}
	})
	h.ready()
	got := h.srv.lastHeader()
	if got.Get("Authorization") != "Bearer s3cret" || got.Get("X-Attempt") != "1" || got.Get("Sec-WebSocket-Protocol") != "kyneta.v3" {
		t.Fatalf("server saw headers %v", got)
	}
	// The per-dial function runs again on reconnect.
	h.srv.closeAll(websocket.StatusGoingAway, "bye")
	s := h.waitState("reconnecting", func(s State) bool { return s.Status == StatusReconnecting })
	h.advance(s.Delay)
	recv(t, h.srv.accepted, "reconnect")
	h.waitStatus(StatusReady)
	if got := h.srv.lastHeader(); got.Get("X-Attempt") != "2" || got.Get("Authorization") != "Bearer s3cret" {
		t.Fatalf("second dial headers %v", got)
	}
}

func TestUnauthorizedStopsRetrying(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t, nil)
			h.srv.set(func(s *refServer) { s.reject = status })
			h.start()
			s, err := h.c.WaitForStatus(h.ctx, StatusReady)
			if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonUnauthorized}) {
				t.Fatalf("WaitForStatus error %v, want unauthorized", err)
			}
			var r *DisconnectReason
			if !errors.As(err, &r) || r.HTTPStatus != status || s.Status != StatusDisconnected {
				t.Fatalf("reason %#v, state %v", r, s)
			}
			h.quiet()
			if n := h.clk.Pending(); n != 0 {
				t.Fatalf("%d timers armed after a 401: %v", n, h.clk.Durations())
			}
			if n := h.srv.upgrades(); n != 1 {
				t.Fatalf("%d upgrade attempts, want 1", n)
			}
			if r := recv(t, h.hook.disconnects, "OnDisconnect"); r.Reason != reasonUnauthorized {
				t.Fatalf("OnDisconnect(%v)", r)
			}
		})
	}
}

func TestPolicyCloseStopsRetrying(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.set(func(s *refServer) { s.closeCode, s.closeWhy = 1008, "token expired" })
	h.start()
	_, err := h.c.WaitForStatus(h.ctx, StatusReady)
	var r *DisconnectReason
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonPolicyViolation}) || !errors.As(err, &r) || r.CloseCode != 1008 || r.CloseReason != "token expired" {
		t.Fatalf("err %v", err)
	}
	h.quiet()
	if n := h.clk.Pending(); n != 0 || h.srv.upgrades() != 1 {
		t.Fatalf("%d timers, %d upgrades", n, h.srv.upgrades())
	}
}

// W3 on real sockets: a server that accepts and closes before "ready"
// exhausts the attempts instead of retrying forever.
func TestAcceptThenCloseEscalates(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Reconnect = testPolicy(3) })
	h.srv.set(func(s *refServer) { s.closeCode, s.closeWhy = 1001, "draining" })
	h.start()
	for a := 2; a <= 3; a++ {
		h.waitState(fmt.Sprintf("retry %d", a), func(s State) bool { return s.Status == StatusReconnecting && s.Attempt == a })
		h.advance(h.c.State().Delay)
	}
	_, err := h.c.WaitForStatus(h.ctx, StatusReady)
	var r *DisconnectReason
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonMaxRetries}) || !errors.As(err, &r) || r.Attempts != 3 || !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonClosed}) {
		t.Fatalf("err %v", err)
	}
	if n := h.srv.upgrades(); n != 3 {
		t.Fatalf("%d upgrades, want 3", n)
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, o := range []Options{
		{},
		{URL: "ws://x", URLFunc: func(string) (string, error) { return "", nil }},
		{URL: "ftp://example.com"},
		{URL: "ws://"},
		{URL: "://nope"},
		{URL: "ws://x", Reconnect: testPolicyNegative()},
	} {
		if _, err := New(o); !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonInvalidConfig}) {
			t.Errorf("New(%+v) = %v, want invalid-config", o, err)
		}
	}
}

func testPolicyNegative() *backoff.Policy {
	p := testPolicy(1)
	p.Base = -1
	return p
}

// A URL function that yields a bad URL stops the client at once (W6).
func TestBadDynamicURLIsNotRetried(t *testing.T) {
	var peer atomic.Value
	h := newHarness(t, func(o *Options) {
		o.URL = ""
		o.URLFunc = func(id string) (string, error) {
			peer.Store(id)
			return "not a url", nil
		}
	})
	h.start()
	_, err := h.c.WaitForStatus(h.ctx, StatusReady)
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonInvalidConfig}) {
		t.Fatalf("err %v", err)
	}
	if peer.Load() != "client-peer" {
		t.Fatalf("URLFunc got peer %v", peer.Load())
	}
	h.quiet()
	if n := h.clk.Pending(); n != 0 {
		t.Fatalf("retry scheduled: %v", h.clk.Durations())
	}
}

func TestURLFuncDials(t *testing.T) {
	var srvURL string
	h := newHarness(t, func(o *Options) {
		srvURL = o.URL
		o.URL = ""
		o.URLFunc = func(id string) (string, error) { return srvURL + "/sync?peer=" + id, nil }
	})
	h.ready()
}

// Fragments of a 1 MiB message both ways, through both pipelines.
func TestFragmentedMegabyteBothWays(t *testing.T) {
	h := newHarness(t, nil)
	rc := h.ready()
	data := bytes.Repeat([]byte("kyneta-"), (1<<20)/7+1)[:1<<20]
	offer := &wire.Offer{DocID: "doc-1", Version: "v1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: data}}
	ch := h.c.Channels()[0]
	if err := ch.Send(offer); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := recv(t, rc.msgs, "offer at server")
	if o, ok := got.(*wire.Offer); !ok || !bytes.Equal(o.Payload.Data, data) || o.DocID != "doc-1" {
		t.Fatalf("server got %T", got)
	}
	if err := rc.send(offer); err != nil {
		t.Fatalf("server send: %v", err)
	}
	back := recv(t, h.ex.received, "offer at client")
	if o, ok := back.(*wire.Offer); !ok || !bytes.Equal(o.Payload.Data, data) {
		t.Fatalf("client got %T", back)
	}
	if err := h.c.Flush(h.ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	// The same data as an offer in pieces (a JSON value kept by reference):
	// written from where it is, and read whole by the server. data is
	// never changed by the write (the client masks a copy).
	text := bytes.Repeat([]byte("kyneta-"), (1<<20)/7+1)[:1<<20]
	keep := bytes.Clone(text)
	d := wire.Pieces{Head: []byte(`["`), Body: text, Tail: []byte(`"]`)}
	po := &transport.OfferPieces{Offer: wire.Offer{DocID: "doc-1", Version: "v2", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON}}, Data: d}
	if !ch.WritesPieces() {
		t.Fatal("the client's channel does not write pieces")
	}
	if err := ch.SendPieces(po); err != nil {
		t.Fatalf("SendPieces: %v", err)
	}
	got = recv(t, rc.msgs, "offer in pieces at server")
	if o, ok := got.(*wire.Offer); !ok || !bytes.Equal(o.Payload.Data, d.Join()) || o.Version != "v2" {
		t.Fatalf("server got %T", got)
	}
	if err := h.c.Flush(h.ctx); err != nil || !bytes.Equal(text, keep) {
		t.Fatalf("Flush: %v (the body changed: %v)", err, !bytes.Equal(text, keep))
	}
	// A nil message is refused by the pipeline, not by a recovered panic.
	if err := ch.Send(nil); err == nil || strings.Contains(err.Error(), "panicked") {
		t.Fatalf("Send(nil): %v", err)
	}
}

// Hooks may call back into the client, including Stop, without deadlock.
func TestHookStopsClient(t *testing.T) {
	var c *Client
	stopped := make(chan error, 1)
	h := newHarness(t, func(o *Options) {
		o.OnReady = func() {
			stopped <- c.Stop(context.Background())
		}
	})
	c = h.c
	h.start()
	if err := recv(t, stopped, "Stop from OnReady"); err != nil {
		t.Fatalf("Stop from hook: %v", err)
	}
	s := h.waitState("disconnected", func(s State) bool { return s.Status == StatusDisconnected })
	if !errors.Is(s.Reason, &kyneta.Error{Pkg: "client", Reason: reasonIntentional}) {
		t.Fatalf("state %v", s)
	}
}

// Stop from the exchange's receive callback (on the socket's reader).
func TestStopFromReceiveCallback(t *testing.T) {
	stopped := make(chan error, 1)
	h := newHarness(t, nil)
	var once sync.Once
	h.ex.onReceive = func(wire.ChannelMsg) {
		once.Do(func() { stopped <- h.c.Stop(context.Background()) })
	}
	h.start()
	if err := recv(t, stopped, "Stop from receive"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s := h.c.State(); s.Status != StatusDisconnected {
		t.Fatalf("state %v", s)
	}
}

// Stop and Start from many goroutines at once: no race, no leak, and the
// client ends consistent.
func TestConcurrentStartStop(t *testing.T) {
	h := newHarness(t, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				var err error
				if (g+i)%2 == 0 {
					err = h.c.Start(h.ctx)
				} else {
					err = h.c.Stop(h.ctx)
				}
				if err != nil && !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "invalid-state"}) {
					t.Errorf("unexpected error %v", err)
				}
				_ = h.c.State()
			}
		}()
	}
	wg.Wait()
	if err := h.c.Stop(h.ctx); err != nil {
		t.Fatalf("final Stop: %v", err)
	}
	if s := h.c.State(); s.Status != StatusDisconnected {
		t.Fatalf("final state %v", s)
	}
	h.c.mu.Lock()
	n := len(h.c.socks)
	h.c.mu.Unlock()
	if n != 0 || h.clk.Pending() != 0 || len(h.c.Channels()) != 0 {
		t.Fatalf("left behind: %d sockets, %d timers, %d channels", n, h.clk.Pending(), len(h.c.Channels()))
	}
	// And it still works afterwards.
	h.srv.quiesce()
	drain(h.ex.established)
	drain(h.ex.received)
	h.ready()
}

func TestWaitForStatusAfterClose(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.WaitForStatus(h.ctx, StatusReady); !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonClientClosed}) {
		t.Fatalf("WaitForStatus after Close: %v", err)
	}
	if err := h.c.Start(h.ctx); !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonClientClosed}) {
		t.Fatalf("Start after Close: %v", err)
	}
}

// The dial is bounded by DialTimeout on the injected clock.
func TestDialTimeout(t *testing.T) {
	h := newHarness(t, nil)
	block := make(chan struct{})
	defer close(block)
	h.srv.set(func(s *refServer) { s.hang = block })
	armed := h.clk.Changed()
	h.start()
	if h.clk.Pending() == 0 {
		<-armed // the dial goroutine armed its timeout
	}
	h.advance(defaultDialTimeout)
	s := h.waitState("retry", func(s State) bool { return s.Status == StatusReconnecting })
	if s.Attempt != 2 {
		t.Fatalf("state %v", s)
	}
}

func TestSendWithoutConnection(t *testing.T) {
	h := newHarness(t, nil)
	h.ready()
	ch := h.c.Channels()[0]
	if err := h.c.Stop(h.ctx); err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(&wire.Depart{}); !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonNotConnected}) {
		t.Fatalf("send on a closed socket: %v", err)
	}
}

func drain[T any](ch chan T) {
	for len(ch) > 0 {
		<-ch
	}
}

// §7.2: text frames other than "ready" are ignored, a binary frame before
// the channel exists is dropped, a duplicate "ready" changes nothing.
func TestUnexpectedFramesAreIgnored(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.set(func(s *refServer) {
		s.greet = func(rc *refConn) error {
			ctx := context.Background()
			if err := rc.conn.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
				return err
			}
			if err := rc.send(&wire.Dismiss{DocID: "early"}); err != nil {
				return err
			}
			for range 2 {
				if err := rc.conn.Write(ctx, websocket.MessageText, []byte("ready")); err != nil {
					return err
				}
			}
			return nil
		}
	})
	rc := h.ready() // the first message the client receives is the establish
	if err := rc.send(&wire.Dismiss{DocID: "late"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, h.ex.received, "late dismiss"); m.(*wire.Dismiss).DocID != "late" {
		t.Fatalf("got %+v", m)
	}
	if n := len(h.c.Channels()); n != 1 || h.hook.ready.Load() != 1 || h.c.State().Status != StatusReady {
		t.Fatalf("%d channels, %d OnReady, state %v", n, h.hook.ready.Load(), h.c.State())
	}
}

// A message above ReadLimit drops the connection (the client retries)
// instead of being buffered.
func TestReadLimit(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ReadLimit = 4 << 10 })
	rc := h.ready()
	big := &wire.Offer{DocID: "d", Version: "v", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 8<<10)}}
	if err := rc.send(big); err != nil {
		t.Fatal(err)
	}
	s := h.waitState("reconnecting", func(s State) bool { return s.Status == StatusReconnecting })
	if s.Attempt != 2 { // ready only briefly: counts as a failed first attempt
		t.Fatalf("state %v", s)
	}
	<-rc.closed
	if code := websocket.CloseStatus(rc.err); code != websocket.StatusMessageTooBig {
		t.Fatalf("server saw %v, want 1009", rc.err)
	}
}

// Keepalive disabled: no pings, no timers while ready.
func TestKeepaliveDisabled(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.KeepaliveInterval = -1 })
	rc := h.ready()
	if got := fmt.Sprint(h.clk.Durations()); got != fmt.Sprint([]time.Duration{defaultBackoffResetAfter}) {
		t.Fatalf("timers armed: %v, want the backoff reset only", got)
	}
	h.advance(defaultBackoffResetAfter)
	if n := h.clk.Pending(); n != 0 {
		t.Fatalf("timers armed: %v", h.clk.Durations())
	}
	h.advance(time.Hour)
	if len(rc.pings) != 0 || h.c.State().Status != StatusReady {
		t.Fatalf("pinged or dropped: %v", h.c.State())
	}
}

func TestSubscribe(t *testing.T) {
	h := newHarness(t, nil)
	var mu sync.Mutex
	var seen []string
	unsubscribe := h.c.Subscribe(func(from, to State) {
		mu.Lock()
		seen = append(seen, from.Status.String()+">"+to.Status.String())
		mu.Unlock()
	})
	h.ready()
	unsubscribe()
	unsubscribe() // idempotent
	if err := h.c.Stop(h.ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(seen, " "); got != "disconnected>connecting connecting>connected connected>ready" {
		t.Fatalf("subscriber saw %q", got)
	}
}

// Stop with a context that is already over still stops; Close then waits
// for whatever was left.
func TestStopWithExpiredContext(t *testing.T) {
	h := newHarness(t, nil)
	h.ready()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = h.c.Stop(ctx) // may report ctx's error
	h.waitState("disconnected", func(s State) bool { return s.Status == StatusDisconnected })
	if err := h.c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	h.c.mu.Lock()
	n := len(h.c.socks)
	h.c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d sockets left after Close", n)
	}
}

// A socket closing while its writer is stuck on a server that stopped
// reading gives up when CloseGrace ends: the blocked write is ended by
// closing the connection, and Stop returns then.
func TestStopEndsWriteToStalledServer(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.SendQueueLimit = 1 << 20 })
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) }) // before the server's shutdown waits for its handler
	h.srv.set(func(s *refServer) {
		s.greet = func(rc *refConn) error {
			if err := rc.conn.Write(context.Background(), websocket.MessageText, []byte("ready")); err != nil {
				return err
			}
			<-stall // and never read: the socket's buffers fill up
			return net.ErrClosed
		}
	})
	h.start()
	h.waitStatus(StatusReady)
	fillSendQueue(t, h.c.Channels()[0])
	stopped := make(chan error, 1)
	go func() { stopped <- h.c.Stop(h.ctx) }()
	for !slices.Contains(h.clk.Durations(), defaultCloseGrace) {
		select {
		case <-h.clk.Changed():
		case err := <-stopped:
			t.Fatalf("Stop returned %v before CloseGrace, with the writer blocked", err)
		case <-h.ctx.Done():
			t.Fatal("the closing socket never armed its CloseGrace timer")
		}
	}
	h.clk.Advance(defaultCloseGrace)
	// The bound is not a measurement: ending the write takes milliseconds,
	// and without it coder/websocket's own close handshake gives up only
	// after 5 s of real time.
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Stop did not return when CloseGrace ended: the blocked write was not ended")
	}
}

// Flush waits while frames are queued or being written, and returns once
// the writer drained them; with nothing queued it returns at once.
func TestFlushWaitsForTheQueue(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.SendQueueLimit = 1 << 20 })
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	h.srv.set(func(s *refServer) {
		s.greet = func(rc *refConn) error {
			if err := rc.conn.Write(context.Background(), websocket.MessageText, []byte("ready")); err != nil {
				return err
			}
			<-release // until then nothing is read: the socket's buffers fill up
			for {
				if _, _, err := rc.conn.Read(context.Background()); err != nil {
					return err
				}
			}
		}
	})
	h.start()
	h.waitStatus(StatusReady)
	if err := h.c.Flush(h.ctx); err != nil {
		t.Fatalf("Flush with nothing queued: %v", err)
	}
	fillSendQueue(t, h.c.Channels()[0])
	done, cancel := context.WithCancel(h.ctx)
	cancel()
	if err := h.c.Flush(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with the writer blocked and a done context: %v", err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- h.c.Flush(h.ctx) }()
	once.Do(func() { close(release) })
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatalf("Flush after the server read: %v", err)
		}
	case <-h.ctx.Done():
		t.Fatal("Flush never returned after the queue drained")
	}
}

// fillSendQueue sends 256 KiB offers on ch until its queue refuses one: the
// server does not read, so the writer is blocked and the queue full behind it.
func fillSendQueue(t *testing.T, ch *transport.Channel) {
	t.Helper()
	offer := &wire.Offer{DocID: "big", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 256<<10)}}
	for i := 0; ; i++ {
		err := ch.Send(offer)
		if errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonSendQueueFull}) {
			return
		}
		if err != nil || i == 1000 {
			t.Fatalf("send %d: %v (the queue never filled)", i, err)
		}
	}
}
