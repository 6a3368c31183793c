package server

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/wire"
)

type drainOutcome struct {
	res DrainResult
	err error
}

// closeReader reads c until it ends and reports the close status.
func closeReader(c *testClient, out chan<- websocket.CloseError) {
	for {
		_, _, err := c.read()
		if err != nil {
			var ce websocket.CloseError
			errors.As(err, &ce)
			out <- ce
			return
		}
	}
}

// TestDrain200 drains 200 live connections on a fake clock: each is closed
// inside the window with 1001 "Server draining", new connections are
// refused with 503 meanwhile, a concurrent second Drain joins the first
// (reference S2) and both report exactly {200, 0, false}.
func TestDrain200(t *testing.T) {
	const n = 200
	fc := clock.NewFake(time.Unix(0, 0))
	h := newHarness(t, Options{Clock: fc})
	calls := make(chan bool, 4)
	h.srv.testHookDrainCall = func(joined bool) { calls <- joined }
	codes := make(chan websocket.CloseError, n)
	for range n {
		c := h.connect("")
		go closeReader(c, codes)
	}
	if got := h.srv.ConnectionCount(); got != n {
		t.Fatalf("%d connections", got)
	}
	i := 0
	draws := func() float64 { i++; return float64(i-1) / n } // 0, 1/200, …: spread over the window

	results := make(chan drainOutcome, 2)
	go func() {
		r, err := h.srv.Drain(context.Background(), DrainOptions{Rand: draws})
		results <- drainOutcome{r, err}
	}()
	if joined := <-calls; joined {
		t.Fatal("first Drain joined")
	}
	go func() {
		r, err := h.srv.Drain(context.Background(), DrainOptions{Window: time.Hour})
		results <- drainOutcome{r, err}
	}()
	if joined := <-calls; !joined {
		t.Fatal("second Drain did not join the first")
	}
	if !h.srv.IsDraining() {
		t.Fatal("not draining")
	}
	// Clients reconnecting during the drain are refused before the upgrade.
	for range 3 {
		_, resp, err := h.dial("", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("dial during drain: err %v resp %v", err, resp)
		}
	}

	// Draw 0 closes the first connection at once; the rest are spread
	// over the 5 s window.
	first := <-codes
	if first.Code != statusGoingAway || first.Reason != defaultDrainCloseReason {
		t.Fatalf("first close %+v", first)
	}
	fc.Advance(2500 * time.Millisecond)
	fc.Advance(2500 * time.Millisecond)
	for range n - 1 {
		ce := <-codes
		if ce.Code != statusGoingAway || ce.Reason != defaultDrainCloseReason {
			t.Fatalf("close %+v", ce)
		}
	}
	want := DrainResult{Closed: n, Remaining: 0, TimedOut: false}
	for range 2 {
		o := <-results
		if o.err != nil || o.res != want {
			t.Fatalf("Drain = %+v, %v; want %+v", o.res, o.err, want)
		}
	}
	h.waitDone(n)
	st := h.srv.Stats()
	if st.Drains != 1 || st.Rejected[reasonDraining] != 3 || st.Closed[statusGoingAway] != n || st.Open != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Every drain timer was cancelled or fired.
	if p := fc.Pending(); p != 0 {
		t.Fatalf("%d timers left: %v", p, fc.Durations())
	}
	// A drain after the first one finished starts a new, empty round.
	if r, err := h.srv.Drain(context.Background(), DrainOptions{}); err != nil || r != (DrainResult{}) {
		t.Fatalf("second round %+v %v", r, err)
	}
}

// TestDrainDeadline: connections whose close cannot complete are counted
// in Remaining when the deadline passes.
func TestDrainDeadline(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	h := newHarness(t, Options{Clock: fc, WriteTimeout: time.Hour, CloseTimeout: time.Hour}, smallBuffers)
	codes := make(chan websocket.CloseError, 10)
	for range 7 {
		go closeReader(h.connect(""), codes)
	}
	// Three clients stop reading with a large message in flight, so their
	// close (which flushes first) cannot complete.
	var stuck []*testClient
	for range 3 {
		stuck = append(stuck, h.connect(""))
	}
	h.rec.waitFor(t, "channels", func() bool { return len(h.rec.added) == 10 })
	big := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 2<<20)}}
	h.rec.mu.Lock()
	stuckChs := h.rec.added[7:]
	h.rec.mu.Unlock()
	for _, ch := range stuckChs {
		if err := ch.Send(big); err != nil {
			t.Fatal(err)
		}
	}

	results := make(chan drainOutcome, 1)
	go func() {
		r, err := h.srv.Drain(context.Background(), DrainOptions{Window: 1000 * time.Millisecond, Rand: func() float64 { return 0.5 }})
		results <- drainOutcome{r, err}
	}()
	waitTimer(t, fc, 6*time.Second)    // the deadline: window + 5 s
	fc.Advance(500 * time.Millisecond) // every close fires
	for range 7 {
		if ce := <-codes; ce.Code != statusGoingAway {
			t.Fatalf("close %+v", ce)
		}
	}
	h.waitDone(7)
	fc.Advance(5500 * time.Millisecond) // the deadline
	o := <-results
	if want := (DrainResult{Closed: 7, Remaining: 3, TimedOut: true}); o.err != nil || o.res != want {
		t.Fatalf("Drain = %+v, %v; want %+v", o.res, o.err, want)
	}
	// The stuck sockets are torn down when their close timeout passes.
	fc.Advance(time.Hour)
	h.waitDone(3)
	_ = stuck
}

func TestDrainEmptyAndContext(t *testing.T) {
	h := newHarness(t, Options{})
	r, err := h.srv.Drain(context.Background(), DrainOptions{})
	if err != nil || r != (DrainResult{}) {
		t.Fatalf("empty drain %+v %v", r, err)
	}
	if !h.srv.IsDraining() {
		t.Fatal("an empty drain still stops accepting")
	}
	if _, err := h.srv.Drain(context.Background(), DrainOptions{CloseCode: 1006}); !errors.Is(err, &kyneta.Error{Pkg: "server", Reason: reasonInvalidOptions}) {
		t.Fatalf("bad code accepted: %v", err)
	}
}

func TestDrainContextCancel(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	h := newHarness(t, Options{Clock: fc})
	codes := make(chan websocket.CloseError, 2)
	go closeReader(h.connect(""), codes)
	go closeReader(h.connect(""), codes)
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan drainOutcome, 1)
	calls := make(chan bool, 1)
	h.srv.testHookDrainCall = func(bool) { calls <- true }
	go func() {
		r, err := h.srv.Drain(ctx, DrainOptions{Rand: func() float64 { return 0.5 }})
		results <- drainOutcome{r, err}
	}()
	<-calls
	cancel()
	o := <-results
	if !errors.Is(o.err, context.Canceled) || o.res != (DrainResult{Closed: 0, Remaining: 2}) {
		t.Fatalf("cancelled Drain = %+v %v", o.res, o.err)
	}
	// The drain carries on without the caller.
	fc.Advance(5 * time.Second)
	<-codes
	<-codes
	h.waitDone(2)
}
