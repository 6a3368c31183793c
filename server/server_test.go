package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

func TestReadyPingPongAndMessages(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.connect("peerId=alice")
	c.writeText("ping")
	c.expectText("pong")
	c.writeText("hello") // other text is ignored, as in the reference
	c.writeText("ping")
	c.expectText("pong")

	c.send(establish("alice"))
	h.rec.waitFor(t, "establish", func() bool { return len(h.rec.received) == 1 })
	h.rec.mu.Lock()
	got := h.rec.received[0]
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	if e, ok := got.msg.(*wire.Establish); !ok || e.Identity.PeerID != "alice" || got.id != ch.ID {
		t.Fatalf("received %#v on %d, want establish from alice on %d", got.msg, got.id, ch.ID)
	}
	info, ok := transport.InfoOf(ch)
	if !ok || info.PeerID != "alice" {
		t.Fatalf("InfoOf = %+v, %v", info, ok)
	}
	if !h.srv.IsConnected("alice") || h.srv.ConnectionCount() != 1 {
		t.Fatal("alice not registered")
	}

	// Server → client on the channel, as the exchange sends: seq starts at 1.
	for i := 1; i <= 3; i++ {
		if err := ch.Send(&wire.Interest{DocID: fmt.Sprint("doc", i)}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		msg, seq := c.readMsg()
		if in, ok := msg.(*wire.Interest); !ok || in.DocID != fmt.Sprint("doc", i) || seq != uint32(i) {
			t.Fatalf("got %#v seq %d", msg, seq)
		}
	}

	c.close()
	h.waitDone(1)
	h.rec.waitFor(t, "removal", func() bool { return len(h.rec.removed) == 1 })
	st := h.srv.Stats()
	if st.Open != 0 || st.Accepted != 1 || st.FramesIn != 4 || st.FramesOut != 6 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFragmentedMessagesBothWays(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.connect("")
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	offer := &wire.Offer{DocID: "big", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: big}}
	c.send(offer)
	h.rec.waitFor(t, "offer", func() bool { return len(h.rec.received) == 1 })
	h.rec.mu.Lock()
	got := h.rec.received[0].msg.(*wire.Offer)
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	if string(got.Payload.Data) != string(big) {
		t.Fatal("inbound payload corrupted")
	}
	if err := ch.Send(offer); err != nil {
		t.Fatal(err)
	}
	msg, seq := c.readMsg()
	if o, ok := msg.(*wire.Offer); !ok || string(o.Payload.Data) != string(big) || seq != 1 {
		t.Fatalf("outbound offer corrupted (seq %d)", seq)
	}
}

func TestAuthentication(t *testing.T) {
	type user struct{ name string }
	h := newHarness(t, Options{Authenticate: func(r *http.Request) (Principal, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer good":
			return user{"alice"}, nil
		case "Bearer banned":
			return nil, fmt.Errorf("banned user: %w", &kyneta.Error{Code: kyneta.CodePermissionDenied})
		case "Bearer slow":
			return nil, &AuthError{Status: http.StatusTooManyRequests, Message: "slow down"}
		case "Bearer expired":
			return nil, &AuthError{Challenge: `Bearer realm="kyneta", error="invalid_token"`, Err: errors.New("expired")}
		}
		return nil, errors.New("no token")
	}})

	for _, tt := range []struct {
		token     string
		status    int
		challenge string // WWW-Authenticate
	}{
		{"", 401, "Bearer"},
		{"Bearer bad", 401, "Bearer"},
		{"Bearer expired", 401, `Bearer realm="kyneta", error="invalid_token"`},
		{"Bearer banned", 403, ""},
		{"Bearer slow", 429, ""},
	} {
		hdr := http.Header{}
		if tt.token != "" {
			hdr.Set("Authorization", tt.token)
		}
		_, resp, err := h.dial("", hdr)
		if err == nil || resp == nil || resp.StatusCode != tt.status {
			t.Fatalf("token %q: err %v, resp %v; want HTTP %d", tt.token, err, resp, tt.status)
		}
		if got := resp.Header.Values("WWW-Authenticate"); strings.Join(got, ",") != tt.challenge {
			t.Fatalf("token %q: WWW-Authenticate %q, want %q", tt.token, got, tt.challenge)
		}
	}
	if a, _, _ := h.rec.counts(); a != 0 {
		t.Fatalf("a refused request was registered (%d channels)", a)
	}
	if n := h.srv.Stats().Rejected[reasonAuth]; n != 5 {
		t.Fatalf("rejected auth = %d", n)
	}

	c, _, err := h.dial("peerId=alice", http.Header{"Authorization": {"Bearer good"}})
	if err != nil {
		t.Fatal(err)
	}
	c.expectText("ready")
	h.rec.mu.Lock()
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	info, _ := transport.InfoOf(ch)
	if info.Principal != (user{"alice"}) || info.PeerID != "alice" {
		t.Fatalf("channel info %+v", info)
	}
}

// The bearer scheme is case-insensitive (RFC 7235 §2.1, RFC 6750 §2.1).
func TestBearerToken(t *testing.T) {
	for _, tt := range []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"bEaReR  abc", "abc", true},
		{"Bearer a.b-c_d~e+f/g=", "a.b-c_d~e+f/g=", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		if token, ok := BearerToken(r); token != tt.token || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, token, ok, tt.token, tt.ok)
		}
	}
}

func TestInvalidFrameReasonFitsACloseFrame(t *testing.T) {
	long := &pipeline.Error{Reason: "invalid-wire-message", Detail: strings.Repeat("é", 100)}
	got := invalidFrameReason(long)
	if len(got) > maxCloseReason || !utf8.ValidString(got) || !strings.HasPrefix(got, "Invalid frame: invalid-wire-message: é") {
		t.Fatalf("reason %q (%d bytes)", got, len(got))
	}
	if got := invalidFrameReason(errors.New("other")); got != "Invalid frame: decode-failed" {
		t.Fatalf("reason %q", got)
	}
}

// TestRefusedIsNeverUpgraded uses a raw HTTP request to show that a refused
// upgrade gets a plain HTTP answer, not 101.
func TestRefusedIsNeverUpgraded(t *testing.T) {
	h := newHarness(t, Options{Authenticate: func(*http.Request) (Principal, error) { return nil, &kyneta.Error{Code: kyneta.CodeUnauthenticated} }})
	req, _ := http.NewRequest("GET", h.ts.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Upgrade") != "" {
		t.Fatalf("status %d, upgrade %q", resp.StatusCode, resp.Header.Get("Upgrade"))
	}
}

func TestOrigin(t *testing.T) {
	h := newHarness(t, Options{OriginPatterns: []string{"app.example.com"}})
	_, resp, err := h.dial("", http.Header{"Origin": {"https://evil.example.com"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("evil origin: err %v resp %v", err, resp)
	}
	if n := h.srv.Stats().Rejected[reasonOrigin]; n != 1 {
		t.Fatalf("rejected origin = %d", n)
	}
	c, _, err := h.dial("", http.Header{"Origin": {"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	c.expectText("ready")
}

func TestSubprotocol(t *testing.T) {
	h := newHarness(t, Options{Subprotocols: []string{"kyneta.v3"}, RequireSubprotocol: true})
	_, resp, err := h.dial("", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no subprotocol: err %v resp %v", err, resp)
	}
	c, _, err := h.dial("", nil, "other", "kyneta.v3")
	if err != nil {
		t.Fatal(err)
	}
	c.expectText("ready")
	if got := c.ws.Subprotocol(); got != "kyneta.v3" {
		t.Fatalf("negotiated %q", got)
	}
	if infos := h.srv.Connections(); len(infos) != 1 || infos[0].Subprotocol != "kyneta.v3" {
		t.Fatalf("connections %+v", infos)
	}
}

func TestPeerIDTooLong(t *testing.T) {
	h := newHarness(t, Options{})
	_, resp, err := h.dial("peerId="+strings.Repeat("x", 300), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("err %v resp %v", err, resp)
	}
}

func TestNotStartedRefused(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	if n := srv.Stats().Rejected[reasonNotStarted]; n != 1 {
		t.Fatalf("rejected = %d", n)
	}
}

func TestMaxConnections(t *testing.T) {
	h := newHarness(t, Options{MaxConnections: 2})
	a := h.connect("peerId=a")
	h.connect("peerId=b")
	c, _, err := h.dial("peerId=c", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.expectClose(statusTryAgainLater, closeReasonTooMany)
	if h.srv.ConnectionCount() != 2 || h.srv.IsConnected("c") {
		t.Fatal("refused connection was registered")
	}
	st := h.srv.Stats()
	if st.Rejected[reasonMaxConnections] != 1 || st.Closed[statusTryAgainLater] != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A slot frees up when a client leaves.
	a.close()
	h.waitDone(1)
	h.connect("peerId=d")
}

func TestOversizeMessage(t *testing.T) {
	h := newHarness(t, Options{FragmentThreshold: 1000, MaxMessageSize: 2048})
	c := h.connect("")
	other := h.connect("")
	if err := c.writeBinary(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	c.expectClose(statusMessageTooBig, "")
	h.waitDone(1)
	if n := h.srv.Stats().Closed[statusMessageTooBig]; n != 1 {
		t.Fatalf("closed 1009 = %d", n)
	}
	// Others are unaffected.
	other.writeText("ping")
	other.expectText("pong")
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{FragmentThreshold: 4096, MaxMessageSize: 4096},
		{MaxConnections: -1},
		{IdleTimeout: -1},
		{MessageBurst: -1},
		{SendQueueBytes: -1},
		{WriteTimeout: -1},
		{MaxReassemblySize: -1},
		{ReadBufferSize: -1},
		{MaxMessageSize: -5},
		{RequireSubprotocol: true},
		{Drain: DrainOptions{Deadline: -1}},
		{Drain: DrainOptions{CloseCode: 1005}},
		{Drain: DrainOptions{CloseReason: strings.Repeat("x", 124)}},
	} {
		if _, err := New(o); !errors.Is(err, &kyneta.Error{Pkg: "server", Reason: reasonInvalidOptions}) {
			t.Errorf("New(%+v) = %v, want reason invalid-options", o, err)
		}
	}
	if _, err := New(Options{FragmentThreshold: -1, MaxMessageSize: 10}); err != nil {
		t.Errorf("no fragmentation with a small limit: %v", err)
	}
}

func TestHandleConnCustomStack(t *testing.T) {
	srv, err := New(Options{MaxConnections: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rec.srv = srv
	ctx := context.Background()
	_ = srv.Initialize(ctx, rec.context())
	_ = srv.Start(ctx)
	served := make(chan error, 2)
	mux := http.NewServeMux()
	mux.HandleFunc("/custom", func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			served <- err
			return
		}
		served <- srv.HandleConn(context.Background(), ws, transport.ConnInfo{PeerID: "custom", Principal: "svc"})
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/custom", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, ws: ws}
	c.expectText("ready")
	c.writeText("ping")
	c.expectText("pong")
	rec.mu.Lock()
	info, _ := transport.InfoOf(rec.added[0])
	rec.mu.Unlock()
	if info.PeerID != "custom" || info.Principal != "svc" {
		t.Fatalf("info %+v", info)
	}
	// A second connection is over the limit: closed with 1013, and
	// HandleConn says why.
	ws2, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/custom", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	(&testClient{t: t, ws: ws2}).expectClose(statusTryAgainLater, closeReasonTooMany)
	var ce *CloseError
	if err := <-served; !errors.As(err, &ce) || !errors.Is(err, &kyneta.Error{Pkg: "server", Reason: reasonMaxConnections}) || ce.Code != statusTryAgainLater {
		t.Fatalf("HandleConn refusal = %v", err)
	}
	c.close()
	if err := <-served; err != nil {
		t.Fatalf("HandleConn: %v", err)
	}
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_ = srv.Stop(ctx)
}
