package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and schedules callbacks.
//
// AfterFunc runs f on its own goroutine (Real) or on the goroutine that
// advances the clock (Fake) once d has elapsed. The returned stop function
// cancels the timer and reports whether it did so before f started, like
// [time.Timer.Stop].
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Real is the wall clock.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// OrReal returns c, or Real when c is nil, so option structs can leave the
// clock unset.
func OrReal(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// Fake is a manual clock for tests. Its zero value is not usable; call NewFake.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	nextID uint64
	timers []*fakeTimer
	// changed is closed and replaced whenever a timer is added, so tests can
	// wait for a shell to arm a timer without sleeping.
	changed chan struct{}
}

type fakeTimer struct {
	id  uint64
	at  time.Time
	f   func()
	off bool
}

// NewFake returns a fake clock that reads start until advanced.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d. A non-positive d fires on the next Advance
// (including Advance(0)).
func (c *Fake) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	c.nextID++
	t := &fakeTimer{id: c.nextID, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if t.off {
			return false
		}
		t.off = true
		c.remove(t)
		return true
	}
}

func (c *Fake) remove(t *fakeTimer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}

// Advance moves the clock forward by d and runs every timer due at or before
// the new time, in due order (ties in scheduling order). Each callback runs
// on the caller's goroutine with the clock set to its due time and no lock
// held, so callbacks may schedule or stop timers; a timer they schedule that
// falls due within the window also fires.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool {
			if c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].id < c.timers[j].id
			}
			return c.timers[i].at.Before(c.timers[j].at)
		})
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		t.off = true
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// Pending reports how many timers are armed.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Durations returns the remaining time of every armed timer, soonest first.
func (c *Fake) Durations() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, 0, len(c.timers))
	for _, t := range c.timers {
		out = append(out, t.at.Sub(c.now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Changed returns a channel that is closed the next time a timer is armed.
// Tests use it to wait for a shell goroutine to schedule something.
func (c *Fake) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}
