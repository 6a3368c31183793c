package sse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// TestStreamEstablishAndMessages: a stream opens with the reference's
// headers, the channel is registered before the response arrives and
// carries the principal; an upload reaches the exchange before it is
// answered; a message from the exchange arrives as a "2c" text frame.
func TestStreamEstablishAndMessages(t *testing.T) {
	h := newHarness(t, ServerOptions{Authenticate: tokenAuth})
	s := h.stream("alice", bearer("t-alice"))
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	if cc := s.resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("cache control %q", cc)
	}
	// Registered before the response: no waiting needed.
	if n := len(h.rec.added); n != 1 {
		t.Fatalf("%d channels at open", n)
	}
	ch := h.rec.channel(0)
	info, ok := transport.InfoOf(ch)
	if !ok || info.PeerID != "alice" || info.Principal != "alice" || info.StreamID != s.id || ch.TransportType != serverTransportType {
		t.Fatalf("channel %+v info %+v", ch, info)
	}
	if transport.PrincipalOf(ch.Meta) != "alice" {
		t.Fatal("Meta is not a principal carrier")
	}
	if !h.srv.IsConnected("alice") || h.srv.ConnectionCount() != 1 {
		t.Fatal("not connected")
	}

	// Upload: establish, as the reference client sends it (binary frame).
	frames := binaryFrames(t, nil, establish("alice"))
	status, body := h.upload("alice", frames[0], bearer("t-alice"))
	if status != http.StatusOK || body["ok"] != true {
		t.Fatalf("upload: %d %v", status, body)
	}
	if len(h.rec.received) != 1 {
		t.Fatal("upload answered before the message was delivered")
	}
	if est, ok := h.rec.msg(0).(*wire.Establish); !ok || est.Identity.PeerID != "alice" {
		t.Fatalf("received %#v", h.rec.msg(0))
	}

	// Down: the server's establish and a depart as text frames, seq 1, 2.
	if err := ch.Send(establish("server")); err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(&wire.Depart{}); err != nil {
		t.Fatal(err)
	}
	ev := s.next(t)
	// The text form is JSON.stringify of the compact message (the
	// reference's vectors).
	if ev.Type != eventMessage || ev.Data != `["2c",1,{"t":1,"id":"server","y":"service"}]` {
		t.Fatalf("first message event %+v", ev)
	}
	ev = s.next(t)
	rx := newPipe(pipeOptions{})
	defer rx.close()
	if m, err := rx.receiveText(ev.Data); err != nil || !strings.HasPrefix(ev.Data, `["2c",2,`) {
		t.Fatalf("second message event %+v: %v", ev, err)
	} else if _, ok := m.(*wire.Depart); !ok {
		t.Fatalf("second message %#v", m)
	}
	if st := h.srv.Stats(); st.Accepted != 1 || st.Uploads != 1 || st.EventsOut != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFragmentationBothWays: a large message goes down as "2f" fragment
// events and up as binary fragment uploads (202 until the last), and a
// text-frame upload is accepted too.
func TestFragmentationBothWays(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	s := h.stream("p", nil)
	ch := h.rec.channel(0)
	big := bytes.Repeat([]byte("0123456789"), 30_000) // 300 KB
	offer := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: big}}

	if err := ch.Send(offer); err != nil {
		t.Fatal(err)
	}
	rx := newPipe(pipeOptions{})
	defer rx.close()
	fragments := 0
	var got wire.ChannelMsg
	for got == nil {
		ev := s.next(t)
		if !strings.HasPrefix(ev.Data, `["2f",1,`) {
			t.Fatalf("event %.40q", ev.Data)
		}
		fragments++
		var err error
		if got, err = rx.receiveText(ev.Data); err != nil {
			t.Fatal(err)
		}
	}
	if o, ok := got.(*wire.Offer); !ok || !bytes.Equal(o.Payload.Data, big) || fragments < 6 {
		t.Fatalf("offer down: %d fragments, ok %v", fragments, ok)
	}

	// Up, binary fragments of 60 000 bytes as the reference client makes.
	up := newPipe(pipeOptions{threshold: defaultFragmentThreshold})
	defer up.close()
	frames := binaryFrames(t, up, offer)
	if len(frames) < 5 {
		t.Fatalf("%d frames", len(frames))
	}
	for i, f := range frames {
		status, body := h.upload("p", f, nil)
		want := http.StatusAccepted
		if i == len(frames)-1 {
			want = http.StatusOK
		}
		if status != want {
			t.Fatalf("fragment %d: %d %v", i, status, body)
		}
	}
	if o, ok := h.rec.msg(0).(*wire.Offer); !ok || !bytes.Equal(o.Payload.Data, big) {
		t.Fatal("offer up corrupted")
	}

	// A text frame upload (the reference's earlier, symmetric format).
	tx := newPipe(pipeOptions{})
	defer tx.close()
	text, err := tx.sendText(&wire.Interest{DocID: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := h.upload("p", []byte(text[0]), nil); status != http.StatusOK {
		t.Fatalf("text upload: %d", status)
	}
	if i, ok := h.rec.msg(1).(*wire.Interest); !ok || i.DocID != "d" {
		t.Fatalf("got %#v", h.rec.msg(1))
	}
}

// TestAuthentication: refused requests never open a stream or reach a
// stream; an upload must come from the stream's principal.
func TestAuthentication(t *testing.T) {
	h := newHarness(t, ServerOptions{Authenticate: tokenAuth})
	for _, c := range []struct {
		tok    string
		status int
	}{{"", 401}, {"wrong", 401}, {"t-banned", 403}, {"t-teapot", 418}} {
		resp, err := h.open("alice", bearer(c.tok))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") == "text/event-stream" {
			t.Errorf("token %q: HTTP %d %q, want %d", c.tok, resp.StatusCode, resp.Header.Get("Content-Type"), c.status)
		}
	}
	if len(h.rec.added) != 0 || h.srv.Stats().Refused[refuseAuth] != 4 {
		t.Fatalf("refused requests registered: %d channels, stats %+v", len(h.rec.added), h.srv.Stats())
	}
	h.stream("alice", bearer("t-alice"))
	frame := binaryFrames(t, nil, establish("alice"))[0]
	if status, _ := h.upload("alice", frame, nil); status != http.StatusUnauthorized {
		t.Fatalf("upload without token: %d", status)
	}
	if status, _ := h.upload("alice", frame, bearer("t-bob")); status != http.StatusForbidden {
		t.Fatalf("upload as another principal: %d", status)
	}
	// Bob cannot take alice's peer id either.
	resp, err := h.open("alice", bearer("t-bob"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("peer id takeover: %d", resp.StatusCode)
	}
	if len(h.rec.received) != 0 || len(h.rec.added) != 1 {
		t.Fatal("a refused request got through")
	}
}

// TestRequestChecks covers the other refusals and that a bad upload does
// not end the stream.
func TestRequestChecks(t *testing.T) {
	h := newHarness(t, ServerOptions{MaxBodySize: 100_000})
	resp, err := h.open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no peer id: %d", resp.StatusCode)
	}
	resp, err = h.open(strings.Repeat("x", 257), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("long peer id: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPut, h.url, nil)
	if resp, err = h.hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}

	s := h.stream("p", nil)
	frame := binaryFrames(t, nil, establish("p"))[0]
	for _, c := range []struct {
		name   string
		peer   string
		body   []byte
		hdr    http.Header
		status int
	}{
		{"no peer header", "", frame, nil, 400},
		{"unknown peer", "q", frame, nil, 404},
		{"stale stream id", "p", frame, http.Header{headerStreamID: {"0000"}}, 409},
		{"too large", "p", make([]byte, 100_001), nil, 413},
		{"garbage", "p", []byte{3, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0xff}, nil, 400},
		{"empty", "p", nil, nil, 400},
		{"bad text frame", "p", []byte(`["2c",1,{"type":"nope"}]`), nil, 400},
		{"matching stream id", "p", frame, http.Header{headerStreamID: {s.id}}, 200},
	} {
		if status, body := h.upload(c.peer, c.body, c.hdr); status != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, status, body, c.status)
		}
	}
	if st := h.srv.Stats(); st.InvalidUploads != 3 || st.Open != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(h.rec.received) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(h.rec.received))
	}
}

func TestNotStartedRefused(t *testing.T) {
	srv, err := NewServer(ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rr := httptest.NewRecorder()
	srv.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/?peerId=a", nil))
	if rr.Code != http.StatusServiceUnavailable || rr.Header().Get("Retry-After") == "" {
		t.Fatalf("not started: %d", rr.Code)
	}
}

func TestMaxConnections(t *testing.T) {
	h := newHarness(t, ServerOptions{MaxConnections: 1})
	h.stream("a", nil)
	resp, err := h.open("b", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || h.srv.Stats().Refused[refuseTooMany] != 1 {
		t.Fatalf("above the cap: %d", resp.StatusCode)
	}
	// Replacing one's own stream is not a new connection.
	h.stream("a", nil)
}

// TestPerIPAndPrincipalCaps: one address or one principal cannot hold more
// than its share of streams; a refused request changes nothing, replacing
// one's own stream is free, and a stream that ends gives its slot back.
func TestPerIPAndPrincipalCaps(t *testing.T) {
	h := newHarness(t, ServerOptions{
		Authenticate:               tokenAuth,
		ClientIP:                   func(r *http.Request) string { return r.Header.Get("X-Client") },
		MaxConnectionsPerIP:        2,
		MaxConnectionsPerPrincipal: 3,
	})
	from := func(ip, tok string) http.Header {
		hdr := bearer(tok)
		hdr.Set("X-Client", ip)
		return hdr
	}
	refused := func(peer string, hdr http.Header, reason string, n uint64) {
		t.Helper()
		resp, err := h.open(peer, hdr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || h.srv.Stats().Refused[reason] != n {
			t.Fatalf("%s: HTTP %d, refused %v", peer, resp.StatusCode, h.srv.Stats().Refused)
		}
	}
	a1 := h.stream("a1", from("10.0.0.1", "t-alice"))
	h.stream("a2", from("10.0.0.1", "t-alice"))
	refused("a3", from("10.0.0.1", "t-alice"), refusePerIP, 1)
	refused("b1", from("10.0.0.1", "t-bob"), refusePerIP, 2) // the address is full for everyone
	h.stream("a2", from("10.0.0.1", "t-alice"))              // replacing one's own stream is free
	h.stream("a3", from("10.0.0.2", "t-alice"))
	refused("a4", from("10.0.0.3", "t-alice"), refusePerPrincipal, 1)
	h.stream("b1", from("10.0.0.3", "t-bob"))
	if n := h.srv.ConnectionCount(); n != 4 {
		t.Fatalf("%d streams, want 4 (refusals must register nothing)", n)
	}

	// An ended stream frees its slot on both counts.
	a1.resp.Body.Close()
	h.rec.waitFor(t, "a1 gone", func() bool { return !h.srv.IsConnected("a1") })
	h.stream("a4", from("10.0.0.1", "t-alice"))

	h.close()
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	if len(h.srv.perIP) != 0 || len(h.srv.perPrin) != 0 {
		t.Fatalf("counts left after every stream ended: %v %v", h.srv.perIP, h.srv.perPrin)
	}
}

// TestCloseCodes: every stream end the server starts is announced with its
// code and reason, then the response ends.
func TestCloseCodes(t *testing.T) {
	h := newHarness(t, ServerOptions{Authenticate: tokenAuth})

	// Replacement by the same principal: 1000.
	old := h.stream("alice", bearer("t-alice"))
	h.stream("alice", bearer("t-alice"))
	if code, reason := old.end(t); code != closeReplaced || reason != closeReasonReplaced {
		t.Fatalf("replaced: %d %q", code, reason)
	}
	h.rec.waitFor(t, "old channel removed", func() bool { return len(h.rec.removed) == 1 })
	if h.rec.removed[0] != h.rec.added[0] {
		t.Fatal("the new channel was removed")
	}

	// The exchange rejects the peer: 1008, after what was queued.
	bob := h.stream("bob", bearer("t-bob"))
	ch := h.rec.channel(2)
	if err := ch.Send(&wire.Depart{}); err != nil {
		t.Fatal(err)
	}
	ch.Close()
	if ev := bob.next(t); ev.Type != eventMessage {
		t.Fatalf("queued message lost: %+v", ev)
	}
	if code, reason := bob.end(t); code != closePolicyViolation || reason != closeReasonRejected {
		t.Fatalf("rejected: %d %q", code, reason)
	}
	if err := ch.Send(&wire.Depart{}); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
		t.Fatalf("send after close: %v", err)
	}

	// Transport stop: 1001 "Server shutting down".
	alice := &rawStream{}
	*alice = *h.stream("alice", bearer("t-alice")) // replaces the second alice stream
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := h.srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if code, reason := alice.end(t); code != closeGoingAway || reason != closeReasonShuttingDown {
		t.Fatalf("stop: %d %q", code, reason)
	}
	st := h.srv.Stats()
	if st.Closed[closeReplaced] != 2 || st.Closed[closePolicyViolation] != 1 || st.Closed[closeGoingAway] != 1 {
		t.Fatalf("closed %v", st.Closed)
	}
}

// TestDrain spreads the stream ends over the window on the injected clock
// and refuses new streams meanwhile.
func TestDrain(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	var streams []*rawStream
	for _, p := range []string{"a", "b", "c"} {
		streams = append(streams, h.stream(p, nil))
	}
	draws := []float64{0.5, 0.1, 0.9}
	i := 0
	rnd := func() float64 { r := draws[i%3]; i++; return r }
	type result struct {
		r   server.DrainResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := h.srv.Drain(context.Background(), server.DrainOptions{Window: 10 * time.Second, Rand: rnd})
		done <- result{r, err}
	}()
	// The closes at 5, 1 and 9 s and the deadline at 10+5 s.
	waitDurations(t, h.clk, time.Second, 5*time.Second, 9*time.Second, 15*time.Second)
	if !h.srv.IsDraining() {
		t.Fatal("not draining")
	}
	resp, err := h.open("d", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("open while draining: %d", resp.StatusCode)
	}
	h.clk.Advance(2 * time.Second) // b (1 s) closes
	if code, reason := streams[1].end(t); code != closeGoingAway || reason != closeReasonDraining {
		t.Fatalf("drain close %d %q", code, reason)
	}
	if h.srv.ConnectionCount() != 2 {
		t.Fatalf("%d open after 2 s", h.srv.ConnectionCount())
	}
	h.clk.Advance(8 * time.Second)
	r := <-done
	if r.err != nil || r.r != (server.DrainResult{Closed: 3}) {
		t.Fatalf("drain %+v %v", r.r, r.err)
	}
}

// A drain's own close code and reason reach the client's close event.
func TestDrainCloseCode(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	st := h.stream("a", nil)
	done := make(chan error, 1)
	go func() {
		_, err := h.srv.Drain(context.Background(), server.DrainOptions{Window: -1, CloseCode: 4001, CloseReason: "maintenance"})
		done <- err
	}()
	waitDurations(t, h.clk, 0) // the close, at once on the clock
	h.clk.Advance(0)
	if code, reason := st.end(t); code != 4001 || reason != "maintenance" {
		t.Fatalf("drain close %d %q", code, reason)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Drain(context.Background(), server.DrainOptions{CloseCode: 999}); !errors.Is(err, &kyneta.Error{Pkg: "server", Reason: reasonInvalidOptions, Code: kyneta.CodeInvalidArgument}) {
		t.Fatalf("close code 999: %v", err)
	}
}

func TestDrainDeadline(t *testing.T) {
	h := newHarness(t, ServerOptions{WriteTimeout: time.Hour}, smallBuffers)
	s := h.stream("a", nil)
	// Fill the stream so its close event cannot be written.
	ch := h.rec.channel(0)
	big := &wire.Offer{DocID: "d", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 50_000)}}
	for range 100 { // 5 MB: far above the socket buffers, within the queue
		if err := ch.Send(big); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan server.DrainResult, 1)
	go func() {
		r, _ := h.srv.Drain(context.Background(), server.DrainOptions{Window: -1, Deadline: 3 * time.Second})
		done <- r
	}()
	waitDurations(t, h.clk, 0, 3*time.Second)
	h.clk.Advance(3 * time.Second)
	if r := <-done; r != (server.DrainResult{Remaining: 1, TimedOut: true}) {
		t.Fatalf("drain %+v", r)
	}
	_ = s
}

// TestSlowConsumer: a client that stops reading overflows its bounded
// queue; the send fails, nothing is silently dropped, and the stuck write
// is cut off after WriteTimeout.
func TestSlowConsumer(t *testing.T) {
	h := newHarness(t, ServerOptions{SendQueueMessages: 8, SendQueueBytes: 256 << 10}, smallBuffers)
	h.stream("a", nil) // never read again
	ch := h.rec.channel(0)
	msg := &wire.Offer{DocID: "d", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 40_000)}}
	var err error
	for range 10_000 {
		if err = ch.Send(msg); err != nil {
			break
		}
	}
	if !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonSlowConsumer, Code: kyneta.CodeResourceExhausted}) {
		t.Fatalf("send: %v", err)
	}
	if err := ch.Send(msg); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
		t.Fatalf("send after overflow: %v", err)
	}
	// The handler ends up stuck in a write; the watchdog cuts it off. The
	// clock moves only while a watchdog is armed: a move made between two
	// writes would be lost, and the next write would then block for good.
	h.advanceWatchdogUntil(t, "channel removed", func() bool { return len(h.rec.removed) == 1 })
	if st := h.srv.Stats(); st.Closed[closeSlowConsumer] != 1 {
		t.Fatalf("closed %v", st.Closed)
	}
}

// TestHeartbeat: ": heartbeat" comments go out on the injected clock.
func TestHeartbeat(t *testing.T) {
	h := newHarness(t, ServerOptions{HeartbeatInterval: 15 * time.Second})
	resp, err := h.open("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line := func() string {
		s, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, want := range []string{": ok\n", "\n", "event: kyneta-stream\n"} {
		if got := line(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	line()
	line()
	for range 2 {
		// The heartbeat is re-armed once the previous write is done, so
		// no write watchdog is running when the clock moves.
		waitDurations(t, h.clk, 15*time.Second)
		h.clk.Advance(15 * time.Second)
		if got := line(); got != ": heartbeat\n" {
			t.Fatalf("got %q", got)
		}
		line()
	}
}

// TestClose ends every stream and waits for the handlers; a stream stuck
// in a write is cut off when Close's context ends.
func TestClose(t *testing.T) {
	h := newHarness(t, ServerOptions{WriteTimeout: time.Hour}, smallBuffers)
	ok := h.stream("ok", nil)
	h.stream("stuck", nil)
	ch := h.rec.channel(1)
	msg := &wire.Offer{DocID: "d", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 50_000)}}
	for range 100 {
		if err := ch.Send(msg); err != nil {
			t.Fatal(err)
		}
	}
	// Close waits for the stuck stream until its context ends; the other
	// stream ends normally meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	okCode := make(chan int, 1)
	go func() {
		code, _ := ok.end(t)
		okCode <- code
		cancel()
	}()
	if err := h.srv.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
	if code := <-okCode; code != closeGoingAway {
		t.Fatalf("ok stream ended with %d", code)
	}
	if h.srv.ConnectionCount() != 0 {
		t.Fatal("streams left")
	}
	resp, err := h.open("late", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d", resp.StatusCode)
	}
}

func TestFlush(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	s := h.stream("a", nil)
	ch := h.rec.channel(0)
	for range 10 {
		if err := ch.Send(&wire.Interest{DocID: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := h.srv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h.srv.mu.Lock()
	st := h.srv.byPeer["a"]
	h.srv.mu.Unlock()
	st.mu.Lock()
	n := st.qMsgs
	st.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d queued after Flush", n)
	}
	for range 10 {
		s.next(t)
	}
}

func TestServerOptionsValidation(t *testing.T) {
	for _, o := range []ServerOptions{
		{MaxConnections: -1}, {MaxBodySize: -1}, {MaxBodySize: 1000}, {SendQueueBytes: -1},
		{WriteTimeout: -1}, {MaxReassemblySize: -1}, {Drain: server.DrainOptions{Deadline: -1}},
	} {
		if _, err := NewServer(o); !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonInvalidOptions, Code: kyneta.CodeInvalidArgument}) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestUploadsTakenInSeqOrder: the reference client sends uploads
// concurrently; one that arrives ahead of its turn waits for the messages
// before it, so an alias is never used before it was announced.
func TestUploadsTakenInSeqOrder(t *testing.T) {
	h := newHarness(t, ServerOptions{})
	h.stream("p", nil)
	up := newPipe(pipeOptions{})
	defer up.close()
	first := binaryFrames(t, up, &wire.Interest{DocID: "one"})[0]  // seq 1
	second := binaryFrames(t, up, &wire.Interest{DocID: "two"})[0] // seq 2
	done := make(chan int, 1)
	go func() {
		status, _ := h.upload("p", second, nil)
		done <- status
	}()
	// The early upload waits on the reorder timer; then its predecessor
	// arrives and both are taken in order.
	waitDurations(t, h.clk, defaultReorderWait)
	if status, _ := h.upload("p", first, nil); status != http.StatusOK {
		t.Fatalf("first: %d", status)
	}
	if status := <-done; status != http.StatusOK {
		t.Fatalf("second: %d", status)
	}
	for i, want := range []string{"one", "two"} {
		if in, ok := h.rec.msg(i).(*wire.Interest); !ok || in.DocID != want {
			t.Fatalf("message %d: %#v", i, h.rec.msg(i))
		}
	}
}

// TestUploadGapSkipped: a seq that never comes (the client's send failed)
// holds the next upload for ReorderWait only.
func TestUploadGapSkipped(t *testing.T) {
	h := newHarness(t, ServerOptions{ReorderWait: 2 * time.Second})
	h.stream("p", nil)
	up := newPipe(pipeOptions{})
	defer up.close()
	binaryFrames(t, up, &wire.Interest{DocID: "lost"}) // seq 1, never uploaded
	late := binaryFrames(t, up, &wire.Interest{DocID: "two"})[0]
	done := make(chan int, 1)
	go func() {
		status, _ := h.upload("p", late, nil)
		done <- status
	}()
	waitDurations(t, h.clk, 2*time.Second)
	h.clk.Advance(2 * time.Second)
	if status := <-done; status != http.StatusOK {
		t.Fatalf("after the gap: %d", status)
	}
	if in, ok := h.rec.msg(0).(*wire.Interest); !ok || in.DocID != "two" {
		t.Fatalf("got %#v", h.rec.msg(0))
	}
	// The stream moved on: the next seq is taken at once.
	next := binaryFrames(t, up, &wire.Interest{DocID: "three"})[0]
	if status, _ := h.upload("p", next, nil); status != http.StatusOK {
		t.Fatalf("next: %d", status)
	}
}

// TestAliasLimitEndsStream: a peer announcing more aliases than
// MaxAliases is answered 400 and its stream ends with 1008, as on the
// WebSocket server.
func TestAliasLimitEndsStream(t *testing.T) {
	h := newHarness(t, ServerOptions{MaxAliases: 1})
	s := h.stream("p", nil)
	doc := func(id string) wire.DocPresence {
		return wire.DocPresence{DocID: id, ReplicaType: wire.ReplicaType{Name: "plain", Major: 1}, SyncMode: wire.Authoritative, SchemaHash: "h"}
	}
	frame := binaryFrames(t, nil, &wire.Present{Docs: []wire.DocPresence{doc("a"), doc("b")}})[0]
	if status, body := h.upload("p", frame, nil); status != http.StatusBadRequest || body["error"] != "alias-resolution-failed" {
		t.Fatalf("upload: %d %v", status, body)
	}
	if code, reason := s.end(t); code != closePolicyViolation || reason != "Limit exceeded: too-many-aliases" {
		t.Fatalf("stream ended with %d %q", code, reason)
	}
}
