package sse

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// goClient is a Client with a recorder and its own fake clock.
type goClient struct {
	c   *Client
	rec *recorder
	clk *clock.Fake
}

func noRetry() *backoff.Policy { return &backoff.Policy{MaxAttempts: 0} }

func newGoClient(t testing.TB, h *harness, peerID string, opts ClientOptions) *goClient {
	t.Helper()
	g := &goClient{rec: newRecorder(), clk: clock.NewFake(time.Unix(5000, 0))}
	if opts.EventsURL == "" && opts.EventsURLFunc == nil {
		opts.EventsURLFunc = func(id string) (string, error) { return h.url + "?peerId=" + url.QueryEscape(id), nil }
	}
	if opts.PostURL == "" && opts.PostURLFunc == nil {
		opts.PostURL = h.url
	}
	if opts.Clock == nil {
		opts.Clock = g.clk
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	g.c = c
	g.rec.onEstablish = func(ch *transport.Channel) { _ = ch.Send(establish(peerID)) }
	ctx := context.Background()
	if err := c.Initialize(ctx, g.rec.context(peerID)); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return g
}

func (g *goClient) wait(t testing.TB, want client.Status) (State, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	return g.c.WaitForStatus(ctx, want)
}

// TestClientExchangesMessages: the Go client against the Go server, with
// a bearer token on both the stream and the uploads; establish both ways,
// messages both ways, the stream id echoed on uploads.
func TestClientExchangesMessages(t *testing.T) {
	h := newHarness(t, ServerOptions{Authenticate: tokenAuth})
	h.rec.onReceive = func(id transport.ChannelID, msg wire.ChannelMsg) {
		if _, ok := msg.(*wire.Establish); ok {
			if ch, ok := h.srv.base.Channel(id); ok {
				_ = ch.Send(establish("server"))
			}
		}
	}
	g := newGoClient(t, h, "alice", ClientOptions{Header: bearer("t-alice"), Reconnect: noRetry()})
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "client establish", func() bool { return len(h.rec.received) == 1 })
	g.rec.waitFor(t, "server establish", func() bool { return len(g.rec.received) == 1 })
	if est, ok := g.rec.msg(0).(*wire.Establish); !ok || est.Identity.PeerID != "server" {
		t.Fatalf("client got %#v", g.rec.msg(0))
	}
	sch := h.rec.channel(0)
	if info, _ := transport.InfoOf(sch); info.Principal != "alice" {
		t.Fatalf("server info %+v", info)
	}
	cch := g.c.Channels()[0]
	if cch.TransportType != clientTransportType || g.c.Type() != clientTransportType {
		t.Fatalf("client channel %+v", cch)
	}
	for i := range 20 {
		v := string(rune('a' + i))
		if err := cch.Send(&wire.Interest{DocID: "d", Version: &v}); err != nil {
			t.Fatal(err)
		}
	}
	h.rec.waitFor(t, "interests in order", func() bool { return len(h.rec.received) == 21 })
	for i := range 20 {
		if in := h.rec.received[i+1].msg.(*wire.Interest); *in.Version != string(rune('a'+i)) {
			t.Fatalf("interest %d out of order: %q", i, *in.Version)
		}
	}
	if err := sch.Send(&wire.Vacant{DocID: "x"}); err != nil {
		t.Fatal(err)
	}
	g.rec.waitFor(t, "vacant", func() bool { return len(g.rec.received) == 2 })
	// No upload was refused as stale, and the stream id was used.
	if st := h.srv.Stats(); st.Uploads != 21 || st.InvalidUploads != 0 {
		t.Fatalf("server stats %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := g.c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st := g.c.State(); st.Status != client.StatusDisconnected || !errors.Is(st.Reason, &kyneta.Error{Pkg: "client", Reason: reasonIntentional}) {
		t.Fatalf("after stop: %v", st)
	}
	g.rec.waitFor(t, "client channel removed", func() bool { return len(g.rec.removed) == 1 })
	h.rec.waitFor(t, "server channel removed", func() bool { return len(h.rec.removed) == 1 })
}

// TestClientLargeMessagesBothWays: 1 MiB offers fragment in both
// directions (text fragments down, binary fragment uploads up).
func TestClientLargeMessagesBothWays(t *testing.T) {
	h := newHarness(t, ServerOptions{MaxBodySize: 2 << 20})
	g := newGoClient(t, h, "p", ClientOptions{Reconnect: noRetry(), MaxEventSize: 4 << 20})
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{0, 1, 2, 0xff, 'x', '"', '\n'}, 150_000)
	offer := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: big}}
	h.rec.waitFor(t, "server channel", func() bool { return len(h.rec.added) == 1 })
	if err := h.rec.channel(0).Send(offer); err != nil {
		t.Fatal(err)
	}
	if err := g.c.Channels()[0].Send(offer); err != nil {
		t.Fatal(err)
	}
	g.rec.waitFor(t, "offer down", func() bool { return len(g.rec.received) == 1 })
	h.rec.waitFor(t, "offer up", func() bool { return len(h.rec.received) == 2 }) // establish, offer
	for _, m := range []wire.ChannelMsg{g.rec.msg(0), h.rec.msg(1)} {
		if o, ok := m.(*wire.Offer); !ok || !bytes.Equal(o.Payload.Data, big) {
			t.Fatal("offer corrupted")
		}
	}
}

// TestClientReconnects: a stream the server ends (1001) is retried after
// the backoff on the client's clock, with a fresh pipeline and channel.
func TestClientReconnects(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	var reconnecting []time.Duration
	g := newGoClient(t, h, "p", ClientOptions{
		Reconnect:      &backoff.Policy{Base: time.Second, Max: 10 * time.Second, MaxAttempts: 3, Jitter: backoff.JitterNone},
		OnReconnecting: func(_ int, d time.Duration) { reconnecting = append(reconnecting, d) },
	})
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "establish", func() bool { return len(h.rec.received) == 1 })
	h.srv.mu.Lock()
	st := h.srv.byPeer["p"]
	h.srv.mu.Unlock()
	st.closeWith(closeGoingAway, closeReasonDraining, true)
	s, err := g.wait(t, client.StatusReconnecting)
	if err != nil || s.Delay != time.Second || s.Attempt != 1 {
		t.Fatalf("after the server's close: %v %v", s, err)
	}
	g.rec.waitFor(t, "client channel removed", func() bool { return len(g.rec.removed) == 1 })
	waitTimers(t, g.clk, 1)
	g.clk.Advance(time.Second)
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	// The new stream starts a new pipeline: establish again, seq from 1.
	h.rec.waitFor(t, "second establish", func() bool { return len(h.rec.received) == 2 && len(h.rec.added) == 2 })
	if _, ok := h.rec.msg(1).(*wire.Establish); !ok {
		t.Fatalf("second stream's first message %#v", h.rec.msg(1))
	}
	if err := g.c.Channels()[0].Send(&wire.Interest{DocID: "after"}); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "interest on the new stream", func() bool { return len(h.rec.received) == 3 })
	if len(reconnecting) != 1 || reconnecting[0] != time.Second {
		t.Fatalf("OnReconnecting %v", reconnecting)
	}
}

func TestClientUnauthorizedIsFinal(t *testing.T) {
	h := newHarness(t, ServerOptions{Authenticate: tokenAuth})
	g := newGoClient(t, h, "p", ClientOptions{Header: bearer("nope")}) // default policy retries
	s, err := g.wait(t, client.StatusConnected)
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonUnauthorized, Code: kyneta.CodeUnauthenticated}) || s.Reason.HTTPStatus != 401 || kyneta.ReasonOf(err) != reasonUnauthorized {
		t.Fatalf("got %v %v", s, err)
	}
	if g.clk.Pending() != 0 {
		t.Fatal("a retry was scheduled")
	}
}

// TestClientPolicyCloseIsFinal: the server's exchange rejects the peer
// (channel closed → 1008): the client does not come back.
func TestClientPolicyCloseIsFinal(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	h.rec.onReceive = func(id transport.ChannelID, msg wire.ChannelMsg) {
		if ch, ok := h.srv.base.Channel(id); ok {
			ch.Close()
		}
	}
	g := newGoClient(t, h, "p", ClientOptions{})
	s, err := g.wait(t, client.StatusDisconnected)
	if err != nil || !errors.Is(s.Reason, &kyneta.Error{Pkg: "client", Reason: reasonPolicyViolation}) || s.Reason.CloseCode != 1008 || s.Reason.CloseReason != closeReasonRejected {
		t.Fatalf("got %v %v", s, err)
	}
}

// TestClientMaxRetries: a server that refuses with 503 is retried with
// growing delays until the policy gives up.
func TestClientMaxRetries(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	h.srv.mu.Lock()
	h.srv.draining = true // refuses every stream with 503
	h.srv.mu.Unlock()
	g := newGoClient(t, h, "p", ClientOptions{Reconnect: &backoff.Policy{Base: time.Second, Max: 10 * time.Second, MaxAttempts: 3, Jitter: backoff.JitterNone}})
	for _, d := range []time.Duration{2 * time.Second, 4 * time.Second} {
		s, err := g.wait(t, client.StatusReconnecting)
		if err != nil || s.Delay != d {
			t.Fatalf("reconnecting %v %v, want delay %v", s, err, d)
		}
		waitTimers(t, g.clk, 1)
		g.clk.Advance(d)
	}
	s, err := g.wait(t, client.StatusConnected)
	var last *client.DisconnectReason
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonMaxRetries}) || s.Reason.Attempts != 3 || !errors.As(s.Reason.Err, &last) || last.HTTPStatus != 503 {
		t.Fatalf("got %v %v", s, err)
	}
}

// TestClientUploadFailureReconnects: an upload the server refuses (here
// 404: the server forgot the stream) gives the stream up; the client
// reconnects and the exchange re-establishes.
func TestClientUploadFailureReconnects(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	g := newGoClient(t, h, "p", ClientOptions{Reconnect: &backoff.Policy{Base: time.Second, MaxAttempts: 2, Jitter: backoff.JitterNone}})
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "establish", func() bool { return len(h.rec.received) == 1 })
	h.srv.mu.Lock()
	st := h.srv.byPeer["p"]
	h.srv.mu.Unlock()
	h.srv.unregister(st)
	if err := g.c.Channels()[0].Send(&wire.Interest{DocID: "lost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.wait(t, client.StatusReconnecting); err != nil {
		t.Fatal(err)
	}
	waitTimers(t, g.clk, 1)
	g.clk.Advance(time.Second)
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "re-establish", func() bool { return len(h.rec.received) == 2 })
	if _, ok := h.rec.msg(1).(*wire.Establish); !ok {
		t.Fatalf("got %#v", h.rec.msg(1))
	}
}

// TestClientIdleTimeout: a stream silent for IdleTimeout (no heartbeats)
// is given up.
func TestClientIdleTimeout(t *testing.T) {
	h := newHarness(t, ServerOptions{HeartbeatInterval: -1})
	g := newGoClient(t, h, "p", ClientOptions{Reconnect: noRetry(), IdleTimeout: time.Minute})
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	waitDurations(t, g.clk, time.Minute)
	g.clk.Advance(30 * time.Second)
	if s := g.c.State(); s.Status != client.StatusConnected {
		t.Fatalf("gave up early: %v", s)
	}
	g.clk.Advance(30 * time.Second)
	s, err := g.wait(t, client.StatusDisconnected)
	if err != nil || !errors.Is(s.Reason, &kyneta.Error{Pkg: "sse", Reason: reasonIdleTimeout, Code: kyneta.CodeDeadlineExceeded}) {
		t.Fatalf("got %v %v", s, err)
	}
}

// TestClientOpenTimeout: an events request without an answer is abandoned
// after OpenTimeout on the client's clock.
func TestClientOpenTimeout(t *testing.T) {
	block := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-block:
		}
	}))
	defer ts.Close()
	defer close(block)
	g := &goClient{rec: newRecorder(), clk: clock.NewFake(time.Unix(0, 0))}
	c, err := NewClient(ClientOptions{EventsURL: ts.URL, PostURL: ts.URL, OpenTimeout: 5 * time.Second, Reconnect: noRetry(), Clock: g.clk})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g.c = c
	ctx := context.Background()
	if err := c.Initialize(ctx, g.rec.context("p")); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitDurations(t, g.clk, 5*time.Second)
	g.clk.Advance(5 * time.Second)
	s, err := g.wait(t, client.StatusDisconnected)
	if err != nil || !errors.Is(s.Reason, errOpenTimeout) {
		t.Fatalf("got %v %v", s, err)
	}
}

// TestClientStopSendsQueued: what the exchange sent before Stop (its
// depart) reaches the server before the stream ends.
func TestClientStopSendsQueued(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	g := newGoClient(t, h, "p", ClientOptions{Reconnect: noRetry()})
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	ch := g.c.Channels()[0]
	for range 5 {
		if err := ch.Send(&wire.Interest{DocID: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Send(&wire.Depart{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := g.c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "all uploads", func() bool { return len(h.rec.received) == 7 })
	if _, ok := h.rec.msg(6).(*wire.Depart); !ok {
		t.Fatalf("last message %#v", h.rec.msg(6))
	}
	if err := ch.Send(&wire.Depart{}); !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonNotConnected}) && !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "channel-not-found"}) {
		t.Fatalf("send after stop: %v", err)
	}
	// Restart works with the remembered context.
	if err := g.c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
}

func TestClientConfig(t *testing.T) {
	for _, o := range []ClientOptions{
		{},
		{EventsURL: "http://x/e"},
		{EventsURL: "ws://x/e", PostURL: "http://x/p"},
		{EventsURL: "http:///e", PostURL: "http://x/p"},
		{EventsURL: "http://x/e", PostURL: "http://x/p", PostURLFunc: func(string) (string, error) { return "", nil }},
		{EventsURL: "http://x/e", PostURL: "http://x/p", Reconnect: &backoff.Policy{Base: -1}},
	} {
		if _, err := NewClient(o); !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonInvalidConfig}) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	// A URL function that fails stops the client without retrying.
	h := newHarness(t, ServerOptions{})
	g := newGoClient(t, h, "p", ClientOptions{EventsURLFunc: func(string) (string, error) { return "", errors.New("no") }})
	s, err := g.wait(t, client.StatusConnected)
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonInvalidConfig}) || g.clk.Pending() != 0 {
		t.Fatalf("got %v %v", s, err)
	}
}

// TestClientSendWithoutStream: sending on a channel whose stream is gone
// fails with a typed error rather than queueing forever.
func TestClientSendWithoutStream(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	g := newGoClient(t, h, "p", ClientOptions{Reconnect: noRetry(), SendQueueLimit: 1})
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	ch := g.c.Channels()[0]
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := g.c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	err := ch.Send(&wire.Interest{DocID: "d"})
	if !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonNotConnected}) {
		t.Fatalf("send after stop: %v", err)
	}
	if err := g.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.c.Start(ctx); !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonClientClosed}) {
		t.Fatalf("start after close: %v", err)
	}
}

// TestClientStopFromReceiveCallback: the exchange may stop the transport
// from inside a delivery (on the stream's reader goroutine); Stop must not
// wait for that goroutine.
func TestClientStopFromReceiveCallback(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	g := newGoClient(t, h, "p", ClientOptions{Reconnect: noRetry()})
	stopped := make(chan error, 1)
	g.rec.onReceive = func(transport.ChannelID, wire.ChannelMsg) {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		stopped <- g.c.Stop(ctx)
	}
	if _, err := g.wait(t, client.StatusConnected); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "server channel", func() bool { return len(h.rec.added) == 1 })
	if err := h.rec.channel(0).Send(&wire.Vacant{DocID: "d"}); err != nil {
		t.Fatal(err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if s, err := g.wait(t, client.StatusDisconnected); err != nil || !errors.Is(s.Reason, &kyneta.Error{Pkg: "client", Reason: reasonIntentional}) {
		t.Fatalf("got %v %v", s, err)
	}
}
