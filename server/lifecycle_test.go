package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

func TestIdleTimeout(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	// WriteTimeout is out of the way: fake time jumps past it while a write
	// is finishing would look like a stuck socket.
	h := newHarness(t, Options{Clock: fc, IdleTimeout: 30 * time.Second, WriteTimeout: time.Hour})
	c := h.connect("")
	waitTimer(t, fc, 30*time.Second)

	fc.Advance(20 * time.Second)
	c.writeText("ping") // activity at t=20
	c.expectText("pong")
	fc.Advance(15 * time.Second) // t=35: the t=30 check saw 10 s of silence and re-armed for t=50
	// A WebSocket-level ping counts as activity too (t=35).
	ended := make(chan error, 1)
	go func() {
		_, _, err := c.read() // runs the client's control-frame handling
		ended <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	waitTimer(t, fc, 15*time.Second)
	fc.Advance(15 * time.Second) // t=50: 15 s since t=35, re-arm for t=65
	waitTimer(t, fc, 15*time.Second)
	fc.Advance(15 * time.Second) // t=65: 30 s of silence
	var ce websocket.CloseError
	if err := <-ended; !errors.As(err, &ce) || ce.Code != statusGoingAway || ce.Reason != closeReasonIdle {
		t.Fatalf("ended with %v, want 1001 %q", err, closeReasonIdle)
	}
	h.waitDone(1)
	if n := h.srv.Stats().Closed[statusGoingAway]; n != 1 {
		t.Fatalf("closed 1001 = %d", n)
	}
}

func TestMessageRateLimit(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	h := newHarness(t, Options{Clock: fc, MessageRate: 1, MessageBurst: 2})
	c := h.connect("")
	for range 2 {
		c.writeText("ping")
		c.expectText("pong")
	}
	fc.Advance(time.Second) // one token back
	c.writeText("ping")
	c.expectText("pong")
	c.writeText("ping") // bucket empty
	c.expectClose(statusPolicyViolation, closeReasonRateLimited)
}

// TestSlowConsumer: a client that stops reading is closed with 4000 when
// its send queue overflows, while a fast client keeps receiving; the sender
// never blocks and learns about the overflow from the error.
func TestSlowConsumer(t *testing.T) {
	h := newHarness(t, Options{SendQueueBytes: 64 << 10, SendQueueMessages: 16}, smallBuffers)
	slow := h.connect("peerId=slow")
	fast := h.connect("peerId=fast")
	h.rec.waitFor(t, "channels", func() bool { return len(h.rec.added) == 2 })
	h.rec.mu.Lock()
	slowCh, fastCh := h.rec.added[0], h.rec.added[1]
	h.rec.mu.Unlock()

	data := make([]byte, 8<<10)
	offer := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: data}}
	sent := 0
	var slowErr error
	for i := 0; i < 10000 && slowErr == nil; i++ {
		slowErr = slowCh.Send(offer)
		if err := fastCh.Send(offer); err != nil {
			t.Fatalf("fast consumer refused: %v", err)
		}
		fast.readMsg()
		sent++
	}
	if !errors.Is(slowErr, &kyneta.Error{Pkg: "server", Reason: reasonSlowConsumer}) {
		t.Fatalf("slow consumer never detected after %d messages: %v", sent, slowErr)
	}
	if err := slowCh.Send(offer); !errors.Is(err, &kyneta.Error{Pkg: "server", Reason: reasonClosed}) {
		t.Fatalf("send after overflow: %v, want reason closed", err)
	}
	// The fast consumer is unaffected.
	for range 20 {
		if err := fastCh.Send(offer); err != nil {
			t.Fatal(err)
		}
		fast.readMsg()
	}
	// Once the slow client reads, it gets what was already on the wire and
	// then the close.
	slow.expectClose(StatusSlowConsumer, closeReasonSlowConsumer)
	h.waitDone(1)
	st := h.srv.Stats()
	if st.Closed[StatusSlowConsumer] != 1 || st.QueueHighWaterMessages > 16 || st.QueueHighWaterBytes > 64<<10 {
		t.Fatalf("stats %+v", st)
	}
	fast.writeText("ping")
	fast.expectText("pong")
}

// TestWriteTimeout: a socket that accepts nothing for WriteTimeout is cut.
func TestWriteTimeout(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	// One unfragmented 2 MiB frame: the writer's first write cannot finish.
	h := newHarness(t, Options{Clock: fc, WriteTimeout: 10 * time.Second, SendQueueBytes: 8 << 20, FragmentThreshold: -1}, smallBuffers)
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	h.rec.mu.Lock()
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	writes := make(chan int, 4)
	h.srv.testHookWrite = func(size int) { writes <- size }
	offer := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 2<<20)}}
	if err := ch.Send(offer); err != nil {
		t.Fatal(err)
	}
	if size := <-writes; size < 2<<20 {
		t.Fatalf("first write of %d bytes", size)
	}
	// The writer is inside its write, which cannot finish: one
	// WriteTimeout later the watchdog cuts the socket.
	fc.Advance(10 * time.Second)
	h.waitDone(1)
	if n := h.srv.Stats().Closed[StatusSlowConsumer]; n != 1 {
		t.Fatalf("closed 4000 = %d", n)
	}
	// The client sees the stream end without a clean close.
	for {
		_, _, err := c.read()
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				t.Fatalf("unexpected clean close: %v", err)
			}
			break
		}
	}
}

// TestChannelCloseClosesSocket: the exchange rejecting a peer closes its
// socket (reference T3/T4 left it open).
func TestChannelCloseClosesSocket(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	h.rec.mu.Lock()
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	ch.Close()
	c.expectClose(statusPolicyViolation, closeReasonRejected)
	h.rec.waitFor(t, "removal", func() bool { return len(h.rec.removed) == 1 })
}

// TestBadFrameClosesSocket (reference S5): an invalid frame closes the
// socket with 1007 and removes the channel; nothing more is delivered.
func TestBadFrameClosesSocket(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.connect("")
	other := h.connect("")
	if err := c.writeBinary([]byte{3, 0, 0, 0, 0, 99}); err != nil { // truncated header
		t.Fatal(err)
	}
	c.expectClose(statusInvalidData, "Invalid frame: truncated_frame: need at least 10 header bytes, have 6")
	h.waitDone(1)
	h.rec.waitFor(t, "removal", func() bool { return len(h.rec.removed) == 1 })
	if h.srv.ConnectionCount() != 1 || h.srv.Stats().InvalidFrames != 1 {
		t.Fatalf("count %d stats %+v", h.srv.ConnectionCount(), h.srv.Stats())
	}
	if _, _, r := h.rec.counts(); r != 0 {
		t.Fatal("a message was delivered")
	}
	other.writeText("ping")
	other.expectText("pong")
}

// TestReplacementRace (reference S1): a second connection with the same
// peer id replaces the first; the first socket's late close must not
// unregister the second.
func TestReplacementRace(t *testing.T) {
	h := newHarness(t, Options{})
	old := h.connect("peerId=x")
	// old does not read yet, so its close completes only later.
	repl := h.connect("peerId=x")
	repl.send(establish("x"))
	h.rec.waitFor(t, "establish", func() bool { return len(h.rec.received) == 1 })

	old.expectClose(statusReplaced, closeReasonReplaced)
	h.waitDone(1) // the old socket's close has been fully processed

	if !h.srv.IsConnected("x") || h.srv.ConnectionCount() != 1 {
		t.Fatalf("replacement lost: connected=%v count=%d", h.srv.IsConnected("x"), h.srv.ConnectionCount())
	}
	h.rec.mu.Lock()
	oldCh, newCh := h.rec.added[0], h.rec.added[1]
	removed := append([]*transport.Channel(nil), h.rec.removed...)
	h.rec.mu.Unlock()
	if len(removed) != 1 || removed[0] != oldCh {
		t.Fatalf("removed %v, want only the old channel", removed)
	}
	if _, ok := h.srv.base.Channel(newCh.ID); !ok {
		t.Fatal("the new channel was removed")
	}
	repl.send(&wire.Interest{DocID: "still-here"})
	h.rec.waitFor(t, "message on the new channel", func() bool {
		return len(h.rec.received) == 2 && h.rec.received[1].id == newCh.ID
	})
	if err := newCh.Send(&wire.Vacant{DocID: "v"}); err != nil {
		t.Fatal(err)
	}
	if msg, _ := repl.readMsg(); msg.MsgType() != wire.TypeVacant {
		t.Fatalf("got %v", msg.MsgType())
	}
}

// TestStopInAnyOrder (reference S7, S8): stopping the transport while
// sockets close by themselves, in either order, removes each channel
// exactly once and never fails; a restarted transport accepts again.
func TestStopInAnyOrder(t *testing.T) {
	h := newHarness(t, Options{})
	var clients []*testClient
	for range 6 {
		clients = append(clients, h.connect(""))
	}
	var wg sync.WaitGroup
	for _, c := range clients[:3] {
		wg.Add(1)
		go func() { defer wg.Done(); c.close() }()
	}
	stopped := make(chan error, 1)
	go func() { stopped <- h.srv.Stop(context.Background()) }()
	for _, c := range clients[3:] {
		c.expectClose(statusGoingAway, closeReasonShuttingDown)
	}
	wg.Wait()
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	h.waitDone(6)
	h.rec.mu.Lock()
	seen := map[transport.ChannelID]int{}
	for _, ch := range h.rec.removed {
		seen[ch.ID]++
	}
	h.rec.mu.Unlock()
	if len(seen) != 6 {
		t.Fatalf("removed %d distinct channels, want 6", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("channel %d removed %d times", id, n)
		}
	}
	if _, resp, err := h.dial("", nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after stop: %v", err)
	}
	rec2 := newRecorder()
	rec2.srv = h.srv
	if err := h.srv.Initialize(context.Background(), rec2.context()); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.connect("")
}

func TestCloseShutsDown(t *testing.T) {
	h := newHarness(t, Options{})
	a, b := h.connect(""), h.connect("")
	closed := make(chan error, 1)
	go func() { closed <- h.srv.Close(context.Background()) }()
	a.expectClose(statusGoingAway, closeReasonShuttingDown)
	b.expectClose(statusGoingAway, closeReasonShuttingDown)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, resp, err := h.dial("", nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %v", err)
	}
	if n := h.srv.Stats().Rejected[reasonClosed]; n != 1 {
		t.Fatalf("rejected closed = %d", n)
	}
}

// TestCloseForcesStuckSockets: when ctx ends, Close tears down sockets
// whose close handshake cannot complete and still waits for every
// goroutine.
func TestCloseForcesStuckSockets(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	h := newHarness(t, Options{Clock: fc, WriteTimeout: time.Hour, CloseTimeout: time.Hour}, smallBuffers)
	h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	h.rec.mu.Lock()
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	big := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 2<<20)}}
	if err := ch.Send(big); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.srv.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v", err)
	}
	if h.srv.ConnectionCount() != 0 {
		t.Fatal("connection left after Close")
	}
}

func TestFlush(t *testing.T) {
	h := newHarness(t, Options{WriteTimeout: time.Hour}, smallBuffers)
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	h.rec.mu.Lock()
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	big := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 1<<20)}}
	if err := ch.Send(big); err != nil {
		t.Fatal(err)
	}
	// The client does not read: Flush cannot finish and honours ctx.
	ctx, cancel := context.WithCancel(context.Background())
	flushed := make(chan error, 1)
	go func() { flushed <- h.srv.Flush(ctx) }()
	cancel()
	if err := <-flushed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush = %v", err)
	}
	// Once it reads, Flush completes.
	go func() { flushed <- h.srv.Flush(context.Background()) }()
	if msg, _ := c.readMsg(); msg.MsgType() != wire.TypeOffer {
		t.Fatal("offer lost")
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
}
