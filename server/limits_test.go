package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// fromIP makes the harness's client dial from a given loopback address,
// so per-IP limits can be told apart on one machine.
func fromIP(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}}
}

func TestMaxConnectionsPerIP(t *testing.T) {
	h := newHarness(t, Options{MaxConnectionsPerIP: 2})
	a := h.connect("peerId=a")
	b := h.connect("peerId=b")
	c, _, err := h.dial("peerId=c", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.expectClose(StatusTryAgainLater, ReasonTooMany)
	if h.srv.IsConnected("c") {
		t.Fatal("refused connection was registered")
	}
	if n := h.srv.Stats().Rejected[RejectMaxConnectionsPerIP]; n != 1 {
		t.Fatalf("rejected per-IP = %d", n)
	}
	// Another address is not affected by the first one's count.
	own := h.hc
	h.hc = fromIP("127.0.0.2")
	h.connect("peerId=d")
	h.connect("peerId=e")
	// A peer replacing its own connection from the same address is not
	// counted twice.
	h.hc = own
	h.connect("peerId=b")
	b.expectClose(StatusReplaced, ReasonReplaced)
	// A slot frees up when a client leaves.
	a.close()
	h.waitDone(2) // a, and b's replaced connection
	h.connect("peerId=f")
	if n := h.srv.ConnectionCount(); n != 4 {
		t.Fatalf("connections = %d, want 4 (b f from 127.0.0.1, d e from 127.0.0.2)", n)
	}
}

type user string

func TestMaxConnectionsPerPrincipal(t *testing.T) {
	h := newHarness(t, Options{MaxConnectionsPerPrincipal: 2, Authenticate: func(r *http.Request) (Principal, error) {
		switch u := r.Header.Get("X-User"); u {
		case "":
			return nil, nil // anonymous connections are not counted
		case "unhashable":
			return []string{"x"}, nil // a principal == cannot compare: not counted either
		default:
			return user(u), nil
		}
	}})
	as := func(u string) http.Header { return http.Header{"X-User": {u}} }
	dial := func(query, u string) *testClient {
		t.Helper()
		c, _, err := h.dial(query, as(u))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a1 := dial("peerId=a1", "alice")
	a1.expectText("ready")
	a2 := dial("peerId=a2", "alice")
	a2.expectText("ready")
	dial("peerId=a3", "alice").expectClose(StatusTryAgainLater, ReasonTooMany)
	dial("peerId=b1", "bob").expectText("ready")
	dial("peerId=a2", "alice").expectText("ready") // replaces alice's own a2
	a2.expectClose(StatusReplaced, ReasonReplaced)
	for i := 0; i < 3; i++ {
		dial("", "").expectText("ready")
		dial("", "unhashable").expectText("ready")
	}
	if n := h.srv.Stats().Rejected[RejectMaxConnectionsPerPrincipal]; n != 1 {
		t.Fatalf("rejected per-principal = %d", n)
	}
	a1.close()
	h.waitDone(2) // a1, and a2's replaced connection
	dial("peerId=a4", "alice").expectText("ready")
}

func TestCloseConnections(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.connect("peerId=a")
	b := h.connect("peerId=b")
	n, err := h.srv.CloseConnections(func(i ConnInfo) bool { return i.PeerID == "a" }, StatusPolicyViolation, "Credential revoked")
	if err != nil || n != 1 {
		t.Fatalf("CloseConnections = %d, %v", n, err)
	}
	a.expectClose(StatusPolicyViolation, "Credential revoked")
	b.writeText("ping")
	b.expectText("pong")
	if _, err := h.srv.CloseConnections(func(ConnInfo) bool { return true }, 1005, ""); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("close code 1005: %v", err)
	}
	if _, err := h.srv.CloseConnections(func(ConnInfo) bool { return true }, 4000, strings.Repeat("x", 124)); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("long reason: %v", err)
	}
}

// Compression is negotiated only when the server enables it, and
// compressed messages flow both ways.
func TestCompressionNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   websocket.CompressionMode
		client websocket.CompressionMode
		want   string // in Sec-WebSocket-Extensions
	}{
		{"disabled by default", websocket.CompressionDisabled, websocket.CompressionContextTakeover, ""},
		{"context takeover", websocket.CompressionContextTakeover, websocket.CompressionContextTakeover, "permessage-deflate"},
		{"no context takeover", websocket.CompressionNoContextTakeover, websocket.CompressionContextTakeover, "server_no_context_takeover"},
		{"client does not offer", websocket.CompressionContextTakeover, websocket.CompressionDisabled, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{CompressionMode: tc.mode, CompressionThreshold: 1})
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			ws, resp, err := websocket.Dial(ctx, h.url, &websocket.DialOptions{HTTPClient: h.hc,
				CompressionMode: tc.client, CompressionThreshold: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if (tc.want == "") != (ext == "") || !strings.Contains(ext, tc.want) {
				t.Fatalf("Sec-WebSocket-Extensions %q, want %q", ext, tc.want)
			}
			c := &testClient{t: t, ws: ws, pipe: transport.NewPipeline(transport.PipelineOptions{Threshold: DefaultFragmentThreshold, ReassemblyTimeout: -1})}
			defer c.pipe.Close()
			c.expectText("ready")
			c.send(establish(strings.Repeat("compressible-", 20)))
			h.rec.waitFor(t, "establish", func() bool {
				return len(h.rec.received) == 1 && h.rec.received[0].msg.(*wire.Establish).Identity.PeerID == strings.Repeat("compressible-", 20)
			})
			c.writeText("ping")
			c.expectText("pong")
		})
	}
	if _, err := New(Options{CompressionMode: 7}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("unknown mode: %v", err)
	}
	if _, err := New(Options{CompressionThreshold: -1}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("negative threshold: %v", err)
	}
	if _, err := New(Options{MaxConnectionsPerIP: -1}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("negative per-IP cap: %v", err)
	}
	if _, err := New(Options{MaxConnectionsPerPrincipal: -1}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("negative per-principal cap: %v", err)
	}
}
