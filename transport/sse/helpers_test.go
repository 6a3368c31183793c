package sse

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// guard bounds every wait: a failure timeout, never a way to let time pass.
const guard = 20 * time.Second

// recorder is a transport.Context standing in for an exchange.
type recorder struct {
	mu       sync.Mutex
	added    []*transport.Channel
	removed  []*transport.Channel
	received []received
	changed  chan struct{}
	// onReceive runs for each message outside the lock (e.g. to echo
	// establish as the exchange does).
	onReceive func(id transport.ChannelID, msg wire.ChannelMsg)
	// onEstablish runs for OnChannelEstablish.
	onEstablish func(ch *transport.Channel)
}

type received struct {
	id  transport.ChannelID
	msg wire.ChannelMsg
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) bumpLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) context(peerID string) transport.Context {
	return transport.Context{
		Identity:      wire.PeerIdentity{PeerID: peerID, Type: wire.PeerService},
		MintChannelID: transport.NewChannelIDMinter(),
		OnChannelAdded: func(ch *transport.Channel) {
			r.mu.Lock()
			r.added = append(r.added, ch)
			r.bumpLocked()
			r.mu.Unlock()
		},
		OnChannelRemoved: func(ch *transport.Channel) {
			r.mu.Lock()
			r.removed = append(r.removed, ch)
			r.bumpLocked()
			r.mu.Unlock()
		},
		OnChannelReceive: func(id transport.ChannelID, msg wire.ChannelMsg) {
			r.mu.Lock()
			r.received = append(r.received, received{id, msg})
			r.bumpLocked()
			f := r.onReceive
			r.mu.Unlock()
			if f != nil {
				f(id, msg)
			}
		},
		OnChannelEstablish: func(ch *transport.Channel) {
			r.mu.Lock()
			f := r.onEstablish
			r.mu.Unlock()
			if f != nil {
				f(ch)
			}
		},
	}
}

// waitFor blocks until pred (called under the lock) holds.
func (r *recorder) waitFor(t testing.TB, what string, pred func() bool) {
	t.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := pred()
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// advanceWatchdogUntil moves the clock by the write timeout each time a
// write watchdog is armed, until pred (checked under the recorder's lock)
// holds.
func (h *harness) advanceWatchdogUntil(t testing.TB, what string, pred func() bool) {
	t.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		clockChanged := h.clk.Changed()
		h.rec.mu.Lock()
		ok := pred()
		recChanged := h.rec.changed
		h.rec.mu.Unlock()
		if ok {
			return
		}
		if slices.Contains(h.clk.Durations(), defaultWriteTimeout) {
			h.clk.Advance(defaultWriteTimeout)
			continue
		}
		select {
		case <-clockChanged:
		case <-recChanged:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s (timers %v)", what, h.clk.Durations())
		}
	}
}

func (r *recorder) channel(i int) *transport.Channel {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.added[i]
}

func (r *recorder) msg(i int) wire.ChannelMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.received[i].msg
}

// harness is a started Server behind an httptest server.
type harness struct {
	t   testing.TB
	srv *Server
	ts  *httptest.Server
	rec *recorder
	url string
	hc  *http.Client
	clk *clock.Fake
}

type harnessOpt func(*harness, *httptest.Server)

// smallBuffers shrinks the server's socket send buffer, so a client that
// does not read blocks the server's writes early.
func smallBuffers(h *harness, ts *httptest.Server) {
	ts.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if tc, ok := c.(*net.TCPConn); ok && s == http.StateNew {
			_ = tc.SetWriteBuffer(32 << 10)
		}
	}
	d := &net.Dialer{}
	h.hc = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(32 << 10)
		}
		return c, err
	}}}
}

func newHarness(t testing.TB, opts ServerOptions, mods ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, rec: newRecorder(), clk: clock.NewFake(time.Unix(1000, 0))}
	if opts.Clock == nil {
		opts.Clock = h.clk
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	h.srv = srv
	ctx := context.Background()
	if err := srv.Initialize(ctx, h.rec.context("server")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.hc = &http.Client{Transport: &http.Transport{}}
	h.ts = httptest.NewUnstartedServer(srv)
	for _, m := range mods {
		m(h, h.ts)
	}
	h.ts.Start()
	h.url = h.ts.URL + "/sse"
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := h.srv.Close(ctx); err != nil {
		h.t.Errorf("Close: %v", err)
	}
	h.hc.CloseIdleConnections()
	h.ts.Close()
	_ = h.srv.Stop(ctx)
}

// rawStream is an events stream read by hand.
type rawStream struct {
	resp *http.Response
	er   *eventReader
	id   string // from the eventStream event
}

func (h *harness) open(peerID string, hdr http.Header) (*http.Response, error) {
	u := h.url
	if peerID != "" {
		u += "?peerId=" + url.QueryEscape(peerID)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	return h.hc.Do(req)
}

// stream opens a stream that must succeed and reads its stream id.
func (h *harness) stream(peerID string, hdr http.Header) *rawStream {
	h.t.Helper()
	resp, err := h.open(peerID, hdr)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h.t.Fatalf("open: HTTP %d %s", resp.StatusCode, b)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	s := &rawStream{resp: resp, er: newEventReader(resp.Body, 8<<20)}
	ev := s.next(h.t)
	if ev.Type != eventStream || ev.Data == "" {
		h.t.Fatalf("first event %+v", ev)
	}
	s.id = ev.Data
	return s
}

func (s *rawStream) next(t testing.TB) sseEvent {
	t.Helper()
	ev, err := s.er.Next()
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	return ev
}

// end reads until the stream ends and returns the close event, if any.
func (s *rawStream) end(t testing.TB) (code int, reason string) {
	t.Helper()
	for {
		ev, err := s.er.Next()
		if err != nil {
			return code, reason
		}
		if ev.Type == eventClose {
			code, reason = parseCloseEvent(ev.Data)
		}
	}
}

// upload POSTs body as peerID and returns the status and decoded answer.
func (h *harness) upload(peerID string, body []byte, hdr http.Header) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	if peerID != "" {
		req.Header.Set(headerPeerID, peerID)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// binaryFrames encodes msg as a client does (a fresh pipeline per call
// unless p is given).
func binaryFrames(t testing.TB, p *pipe, msg wire.ChannelMsg) [][]byte {
	t.Helper()
	if p == nil {
		p = newPipe(pipeOptions{})
		defer p.close()
	}
	frames, err := p.sendBinary(msg)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func establish(id string) *wire.Establish {
	return &wire.Establish{Identity: wire.PeerIdentity{PeerID: id, Type: wire.PeerService}, ProtocolVersion: wire.ProtocolVersion{Major: 1}}
}

// waitTimers waits until the fake clock has at least n timers armed.
func waitTimers(t testing.TB, c *clock.Fake, n int) {
	t.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for c.Pending() < n {
		select {
		case <-c.Changed():
		case <-deadline.C:
			t.Fatalf("timed out waiting for %d timers (have %d)", n, c.Pending())
		}
	}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func tokenAuth(r *http.Request) (server.Principal, error) {
	switch strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") {
	case "t-alice":
		return "alice", nil
	case "t-bob":
		return "bob", nil
	case "t-banned":
		return nil, &kyneta.Error{Code: kyneta.CodePermissionDenied}
	case "t-teapot":
		return nil, &server.AuthError{Status: http.StatusTeapot, Message: "no"}
	}
	return nil, &kyneta.Error{Code: kyneta.CodeUnauthenticated}
}

// waitDurations waits until the fake clock has timers armed for each of
// the given durations from now.
func waitDurations(t testing.TB, c *clock.Fake, want ...time.Duration) {
	t.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		changed := c.Changed()
		have := map[time.Duration]int{}
		for _, d := range c.Durations() {
			have[d]++
		}
		ok := true
		for _, d := range want {
			if have[d] == 0 {
				ok = false
			}
			have[d]--
		}
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for timers %v (have %v)", want, c.Durations())
		}
	}
}
