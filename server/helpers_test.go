package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// guard bounds every wait in these tests; it is a failure timeout, never a
// way to let time pass.
const guard = 20 * time.Second

// recorder is a transport.Context that records what the server reports,
// standing in for an exchange.
type recorder struct {
	mu       sync.Mutex
	added    []*transport.Channel
	removed  []*transport.Channel
	received []received
	changed  chan struct{}
	// onReceive, if set, runs for each message (outside the lock), e.g. to
	// echo establish like the exchange does.
	onReceive func(ch *transport.Channel, msg wire.ChannelMsg)
	// frames, when not nil, collects the frame traces the server reports.
	frames *[]transport.FrameTrace
	srv    *Server
}

type received struct {
	id  transport.ChannelID
	msg wire.ChannelMsg
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) bump() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) context() transport.Context {
	return transport.Context{
		Identity:      wire.PeerIdentity{PeerID: "server", Type: wire.PeerService},
		MintChannelID: transport.NewChannelIDMinter(),
		OnChannelAdded: func(ch *transport.Channel) {
			r.mu.Lock()
			r.added = append(r.added, ch)
			r.bump()
			r.mu.Unlock()
		},
		OnChannelRemoved: func(ch *transport.Channel) {
			r.mu.Lock()
			r.removed = append(r.removed, ch)
			r.bump()
			r.mu.Unlock()
		},
		OnFrame: func(tr transport.FrameTrace) {
			r.mu.Lock()
			if r.frames != nil {
				*r.frames = append(*r.frames, tr)
			}
			r.mu.Unlock()
		},
		OnChannelReceive: func(id transport.ChannelID, msg wire.ChannelMsg) {
			r.mu.Lock()
			r.received = append(r.received, received{id, msg})
			r.bump()
			f := r.onReceive
			r.mu.Unlock()
			if f != nil {
				if ch, ok := r.srv.base.Channel(id); ok {
					f(ch, msg)
				}
			}
		},
	}
}

// waitFor blocks until pred (called under the recorder's lock) holds.
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

func (r *recorder) counts() (added, removed, received int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.added), len(r.removed), len(r.received)
}

// harness is a started Server behind an httptest server.
type harness struct {
	t    testing.TB
	srv  *Server
	ts   *httptest.Server
	rec  *recorder
	url  string
	hc   *http.Client
	done chan doneConn
}

type doneConn struct {
	info transport.ConnInfo
	err  error
}

// smallBuffers shrinks the kernel socket buffers on both ends, so that a
// client that does not read blocks the server's writes after a few hundred KiB
// instead of several MiB (not smaller than a loopback segment, or TCP stalls).
var smallBuffers = func(h *harness) {
	h.srv.testHookRaw = func(c net.Conn) {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(64 << 10)
		}
	}
	d := &net.Dialer{}
	h.hc = &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(64 << 10)
			}
			return c, err
		}}}
}

func newHarness(t testing.TB, opts Options, mods ...func(*harness)) *harness {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, srv: srv, rec: newRecorder(), done: make(chan doneConn, 4096)}
	h.rec.srv = srv
	srv.testHookDone = func(info transport.ConnInfo, err error) {
		select {
		case h.done <- doneConn{info, err}:
		default: // long fuzz runs: nobody counts these
		}
	}
	ctx := context.Background()
	if err := srv.Initialize(ctx, h.rec.context()); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.ts = httptest.NewServer(srv)
	h.url = "ws" + strings.TrimPrefix(h.ts.URL, "http")
	h.hc = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, m := range mods {
		m(h)
	}
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := h.srv.Close(ctx); err != nil {
		h.t.Errorf("Close: %v", err)
	}
	h.ts.Close()
	_ = h.srv.Stop(ctx)
	h.hc.CloseIdleConnections()
}

// waitDone waits for n connections' goroutines to finish and returns them.
func (h *harness) waitDone(n int) []doneConn {
	h.t.Helper()
	var out []doneConn
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for len(out) < n {
		select {
		case d := <-h.done:
			out = append(out, d)
		case <-deadline.C:
			h.t.Fatalf("timed out waiting for %d finished connections (have %d)", n, len(out))
		}
	}
	return out
}

// testClient behaves like the reference client: waits for "ready", sends
// "ping", and sends binary frames produced by a pipeline.
type testClient struct {
	t    testing.TB
	ws   *websocket.Conn
	pipe *pipeline.Pipeline
}

func (h *harness) dial(query string, hdr http.Header, subprotocols ...string) (*testClient, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	u := h.url
	if query != "" {
		u += "?" + query
	}
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: h.hc, HTTPHeader: hdr, Subprotocols: subprotocols})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(-1)
	c := &testClient{t: h.t, ws: ws, pipe: pipeline.New(pipeline.Options{Threshold: netdefault.FragmentThreshold, ReassemblyTimeout: -1})}
	h.t.Cleanup(func() { _ = c.ws.CloseNow(); _ = c.pipe.Close() })
	return c, resp, nil
}

// connect dials and waits for "ready".
func (h *harness) connect(query string) *testClient {
	h.t.Helper()
	c, _, err := h.dial(query, nil)
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	c.expectText("ready")
	return c
}

func (c *testClient) read() (websocket.MessageType, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	return c.ws.Read(ctx)
}

func (c *testClient) expectText(want string) {
	c.t.Helper()
	typ, b, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v (want %q)", err, want)
	}
	if typ != websocket.MessageText || string(b) != want {
		c.t.Fatalf("got %v %q, want text %q", typ, b, want)
	}
}

// expectClose reads until the connection closes and checks the code.
func (c *testClient) expectClose(code websocket.StatusCode, reason string) {
	c.t.Helper()
	for {
		_, _, err := c.read()
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("read ended with %v, want close %d %q", err, code, reason)
		}
		if ce.Code != code || (reason != "" && ce.Reason != reason) {
			c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

func (c *testClient) writeText(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *testClient) writeBinary(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageBinary, b)
}

func (c *testClient) send(msg wire.ChannelMsg) {
	c.t.Helper()
	frames, err := c.pipe.Send(msg)
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	for _, f := range frames {
		if err := c.writeBinary(f); err != nil {
			c.t.Fatalf("write: %v", err)
		}
	}
}

// readMsg reads binary frames until a whole message decodes; it returns
// the message and the seq of its first frame.
func (c *testClient) readMsg() (wire.ChannelMsg, uint32) {
	c.t.Helper()
	for {
		typ, b, err := c.read()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if typ != websocket.MessageBinary {
			continue
		}
		f, err := wire.DecodeFrame(b)
		if err != nil {
			c.t.Fatalf("frame: %v", err)
		}
		msg, err := c.pipe.Receive(b)
		if err != nil {
			c.t.Fatalf("receive: %v", err)
		}
		if msg != nil {
			return msg, f.Seq
		}
	}
}

func (c *testClient) close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "Client disconnecting")
}

// waitTimer waits until the fake clock has a timer due in exactly d.
func waitTimer(t testing.TB, fc *clock.Fake, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		ch := fc.Changed()
		for _, x := range fc.Durations() {
			if x == d {
				return
			}
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("no timer due in %v (have %v)", d, fc.Durations())
		}
	}
}

func establish(id string) *wire.Establish {
	return &wire.Establish{Identity: wire.PeerIdentity{PeerID: id, Type: wire.PeerUser}, ProtocolVersion: wire.DefaultProtocolVersion}
}
