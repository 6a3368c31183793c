package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// The tests in this file play a long-running service against a misbehaving
// server over real loopback sockets, with every timer on the fake clock.

// waitArmed returns once at least n timers are armed on the fake clock (a
// dial goroutine arms its timeout on its own schedule).
func (h *harness) waitArmed(n int) {
	h.t.Helper()
	for {
		changed := h.clk.Changed()
		if h.clk.Pending() >= n {
			return
		}
		recv(h.t, changed, fmt.Sprintf("%d armed timers", n))
	}
}

// nextRetry waits until the client schedules attempt after, then returns
// that reconnecting state.
func (h *harness) nextRetry(after int) State {
	h.t.Helper()
	return h.waitState(fmt.Sprintf("retry after attempt %d", after), func(s State) bool {
		return s.Status == StatusReconnecting && s.Attempt > after ||
			s.Status == StatusDisconnected && s.Reason != nil
	})
}

// With default options (nil Reconnect: backoff.Default, full jitter) the
// client rides out a 10-minute outage — refused dials first,
// then a server whose upgrades hang until the dial timeout — and is ready
// again within the backoff cap once the server is back.
func TestDefaultOptionsOutlastTenMinuteOutage(t *testing.T) {
	// Full jitter from a seeded source, so a failure can be replayed.
	rnd := rand.New(rand.NewPCG(1, 18))
	h := newHarness(t, func(o *Options) { o.Reconnect = nil; o.Rand = rnd.Float64 })
	h.ready()
	h.advance(defaultBackoffResetAfter) // an established, stable connection
	addr := h.srv.srv.Listener.Addr().String()
	h.srv.closeAll(websocket.StatusServiceRestart, "restart")
	h.srv.srv.Close()

	start := h.clk.Now()
	elapsed := func() time.Duration { return h.clk.Now().Sub(start) }
	attempt := 0
	retry := func() State {
		t.Helper()
		s := h.nextRetry(attempt)
		if s.Status != StatusReconnecting {
			t.Fatalf("gave up after %v of outage: %v", elapsed(), s)
		}
		if s.Delay < 0 || s.Delay > backoff.Default.Max {
			t.Fatalf("delay %v outside [0, %v]", s.Delay, backoff.Default.Max)
		}
		attempt = s.Attempt
		return s
	}

	// Five minutes of refused dials.
	s := retry()
	for elapsed() < 5*time.Minute {
		h.advance(s.Delay)
		s = retry()
	}
	// Then the host is back but the upgrades hang: every attempt ends at
	// the dial timeout. (Switched between attempts, so no dial is in
	// flight.)
	block := make(chan struct{})
	h.srv.set(func(s *refServer) { s.hang = block })
	h.srv.restartOn(t, addr)
	hung := 0
	for elapsed() < 10*time.Minute {
		h.advance(s.Delay)
		h.waitState("dialling", func(s State) bool { return s.Status == StatusConnecting && s.Attempt == attempt })
		h.waitArmed(1) // the dial timeout; nothing else is armed while dialling
		h.advance(defaultDialTimeout)
		hung++
		s = retry()
	}
	if attempt <= 10 || hung == 0 { // the old default gave up after 10
		t.Fatalf("after %v: attempt %d, %d hung dials", elapsed(), attempt, hung)
	}
	select {
	case r := <-h.hook.disconnects:
		t.Fatalf("OnDisconnect(%v) during the outage", r)
	default:
	}

	// The server recovers: the next attempt, at most the cap away, connects.
	h.srv.set(func(s *refServer) { s.hang = nil })
	close(block)
	back := h.clk.Now()
	h.advance(s.Delay)
	recv(t, h.srv.accepted, "reconnect after the outage")
	h.waitStatus(StatusReady)
	if took := h.clk.Now().Sub(back); took > backoff.Default.Max {
		t.Fatalf("ready %v after the server came back, cap %v", took, backoff.Default.Max)
	}
	t.Logf("outage of %v: %d attempts (%d hung), ready %v after recovery", back.Sub(start), attempt, hung, h.clk.Now().Sub(back))
}

// A server that accepts but never says "ready": the client closes with
// "Ready timeout" after ReadyTimeout and retries with a growing backoff.
func TestNeverReadyServerReconnectsAfterReadyTimeout(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Reconnect = testPolicy(backoff.Unlimited) })
	h.srv.set(func(s *refServer) { s.noReady = true })
	h.start()
	for attempt, delay := 1, 2*time.Second; attempt <= 3; attempt, delay = attempt+1, delay*2 {
		h.waitState("connected", func(s State) bool { return s.Status == StatusConnected && s.Attempt == attempt })
		rc := recv(t, h.srv.accepted, "connection")
		h.advance(defaultReadyTimeout - time.Millisecond)
		if s := h.c.State(); s.Status != StatusConnected {
			t.Fatalf("gave up before the ready timeout: %v", s)
		}
		h.advance(time.Millisecond)
		s := h.nextRetry(attempt)
		if s.Attempt != attempt+1 || s.Delay != delay {
			t.Fatalf("after ready timeout of attempt %d: %v, want delay %v", attempt, s, delay)
		}
		<-rc.closed
		var ce websocket.CloseError
		if !errors.As(rc.err, &ce) || ce.Code != closeNormal || ce.Reason != closeReasonReadyTimeout {
			t.Fatalf("server saw %v, want 1000 %q", rc.err, closeReasonReadyTimeout)
		}
		if got := recv(t, h.hook.reconnects, "OnReconnecting"); got != fmt.Sprintf("%d/%v", attempt+1, delay) {
			t.Fatalf("OnReconnecting(%s)", got)
		}
		h.advance(s.Delay)
	}
	// Once the server says "ready" in time, the client stays.
	h.srv.set(func(s *refServer) { s.noReady = false })
	h.waitStatus(StatusReady)
	h.advance(defaultReadyTimeout)
	if s := h.c.State(); s.Status != StatusReady {
		t.Fatalf("state %v", s)
	}
}

// With retries disabled the reason says what happened: a ready timeout.
func TestReadyTimeoutReason(t *testing.T) {
	none := backoff.Default
	none.MaxAttempts = 0
	h := newHarness(t, func(o *Options) { o.Reconnect = &none; o.ReadyTimeout = 3 * time.Second })
	h.srv.set(func(s *refServer) { s.noReady = true })
	h.start()
	h.waitState("connected", func(s State) bool { return s.Status == StatusConnected })
	h.advance(3 * time.Second)
	_, err := h.c.WaitForStatus(h.ctx, StatusReady)
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonReadyTimeout}) {
		t.Fatalf("err %v, want ready-timeout", err)
	}
}

// A negative ReadyTimeout waits for "ready" as long as the socket is open.
func TestReadyTimeoutDisabled(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ReadyTimeout = -1; o.KeepaliveInterval = -1 })
	h.srv.set(func(s *refServer) { s.noReady = true })
	h.start()
	h.waitState("connected", func(s State) bool { return s.Status == StatusConnected })
	if n := h.clk.Pending(); n != 0 {
		t.Fatalf("timers armed while waiting for ready: %v", h.clk.Durations())
	}
	h.advance(time.Hour)
	if s := h.c.State(); s.Status != StatusConnected {
		t.Fatalf("state %v", s)
	}
}

// A server that says "ready" and then drops the connection (1011) is
// retried at growing intervals, not at the first step every time; once a
// connection stays ready for BackoffResetAfter the backoff starts over.
func TestFlappingServerSeesGrowingIntervals(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Reconnect = testPolicy(backoff.Unlimited) })
	h.srv.set(func(s *refServer) {
		s.greet = func(rc *refConn) error {
			if err := rc.conn.Write(context.Background(), websocket.MessageText, []byte("ready")); err != nil {
				return err
			}
			return rc.conn.Close(websocket.StatusInternalError, "crash")
		}
	})
	h.start()
	var delays []string
	start := h.clk.Now()
	for attempt := 1; ; attempt++ {
		s := h.nextRetry(attempt - 1)
		if s.Status != StatusReconnecting || s.Attempt != attempt+1 {
			t.Fatalf("after flap %d: %v", attempt, s)
		}
		delays = append(delays, s.Delay.String())
		if attempt == 7 {
			break
		}
		h.advance(s.Delay)
	}
	if got, want := strings.Join(delays, " "), "2s 4s 8s 16s 30s 30s 30s"; got != want {
		t.Fatalf("intervals %s, want %s", got, want)
	}
	// The reference retried such a server every backoff(1): here 7
	// connections take 90 s instead of about 7.
	if n, span := h.srv.upgrades(), h.clk.Now().Sub(start); n != 7 || span != 90*time.Second {
		t.Fatalf("%d connections in %v", n, span)
	}
	if n := h.hook.ready.Load(); n != 7 {
		t.Fatalf("OnReady ran %d times, want 7: the server did say ready", n)
	}
	// The server stops flapping (before the clock starts attempt 8: a
	// change made after it could come too late for that attempt's
	// greeting): the connection that stays ready for BackoffResetAfter
	// restarts the count, so the next drop retries at the first step.
	h.srv.set(func(s *refServer) { s.greet = nil })
	h.advance(h.c.State().Delay)
	h.waitStatus(StatusReady)
	if s := h.c.State(); s.Attempt != 8 {
		t.Fatalf("ready but not yet stable: %v", s)
	}
	h.advance(defaultBackoffResetAfter)
	if s := h.c.State(); s.Status != StatusReady || s.Attempt != 0 {
		t.Fatalf("after %v ready: %v", defaultBackoffResetAfter, s)
	}
	h.srv.closeAll(websocket.StatusGoingAway, "restart")
	if s := h.nextRetry(0); s.Attempt != 1 || s.Delay != time.Second {
		t.Fatalf("after a stable connection: %v", s)
	}
}

// A dial cut short by DialTimeout names that cause, not "context canceled".
func TestDialTimeoutNamesItsCause(t *testing.T) {
	none := backoff.Default
	none.MaxAttempts = 0
	h := newHarness(t, func(o *Options) { o.Reconnect = &none })
	block := make(chan struct{})
	defer close(block)
	h.srv.set(func(s *refServer) { s.hang = block })
	h.start()
	h.waitArmed(1)
	h.advance(defaultDialTimeout)
	_, err := h.c.WaitForStatus(h.ctx, StatusReady)
	if !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonDialTimeout, Code: kyneta.CodeDeadlineExceeded}) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want dial-timeout", err)
	}
	if strings.Contains(err.Error(), "canceled") || !strings.Contains(err.Error(), defaultDialTimeout.String()) {
		t.Fatalf("message %q", err)
	}
	var to interface{ Timeout() bool }
	if !errors.As(err, &to) || !to.Timeout() {
		t.Fatalf("%v is not a timeout", err)
	}
}

// Stop during a dial is not reported as a dial timeout.
func TestStopDuringDialIsNotATimeout(t *testing.T) {
	h := newHarness(t, nil)
	block := make(chan struct{})
	defer close(block)
	h.srv.set(func(s *refServer) { s.hang = block })
	h.start()
	h.waitArmed(1)
	if err := h.c.Stop(h.ctx); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, h.hook.disconnects, "OnDisconnect"); r.Reason != reasonIntentional || errors.Is(r, &kyneta.Error{Reason: reasonDialTimeout}) {
		t.Fatalf("OnDisconnect(%v)", r)
	}
}
