package pipeline

import (
	"sync"
	"time"

	"github.com/kyneta-go/kyneta/clock"
)

// ExpiryTimer is the one reassembly timer of a connection's shell. The
// reassemblers arm no timers: they record deadlines and drop what is due
// when told to (Expire). An ExpiryTimer keeps one timer on the clock armed
// for the earliest deadline, calls expire with the clock's time when it
// fires, and re-arms for the next deadline, if any.
//
// next reports the earliest pending deadline (false: none) and is called
// with the timer's lock held, so it must not call back into the timer;
// expire drops what is due at now and runs without that lock (on the
// clock's goroutine), so the events it reports may call back into the
// shell. It is safe for concurrent use.
type ExpiryTimer struct {
	clk    clock.Clock
	next   func() (time.Time, bool)
	expire func(now time.Time)

	mu      sync.Mutex
	stopped bool
	armed   bool
	at      time.Time   // when the armed timer fires
	stop    func() bool // stops the armed timer
	gen     uint64      // identifies the armed timer
}

// NewExpiryTimer returns a timer with nothing armed; nil clk means
// clock.Real.
func NewExpiryTimer(clk clock.Clock, next func() (time.Time, bool), expire func(now time.Time)) *ExpiryTimer {
	return &ExpiryTimer{clk: clock.OrReal(clk), next: next, expire: expire}
}

// Update brings the timer in line with the pending deadlines: call it
// after every change that may add, remove or advance a deadline (a
// receive, a reset). It arms the timer when none is armed or the earliest
// deadline is earlier than the armed one, and stops it when nothing is
// pending. A timer armed for a later-dropped deadline may fire early; it
// then expires nothing and re-arms.
func (t *ExpiryTimer) Update() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	at, ok := t.next()
	if !ok {
		t.disarm()
		return
	}
	if t.armed && !at.Before(t.at) {
		return
	}
	t.disarm()
	t.gen++
	gen := t.gen
	t.armed, t.at = true, at
	t.stop = t.clk.AfterFunc(at.Sub(t.clk.Now()), func() { t.fire(gen) })
}

// Stop stops the timer for good; later Updates arm nothing.
func (t *ExpiryTimer) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.disarm()
}

// disarm stops the armed timer, if any. Lock held.
func (t *ExpiryTimer) disarm() {
	if t.armed {
		t.stop()
		t.armed, t.stop = false, nil
	}
}

// fire is the callback of the timer gen: it expires what is due and
// re-arms. A timer stopped or replaced after it started firing does
// nothing.
func (t *ExpiryTimer) fire(gen uint64) {
	t.mu.Lock()
	if t.stopped || !t.armed || gen != t.gen {
		t.mu.Unlock()
		return
	}
	t.armed, t.stop = false, nil
	t.mu.Unlock()
	t.expire(t.clk.Now())
	t.Update()
}
