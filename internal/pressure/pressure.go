// Package pressure tracks a send queue's congestion for the exchange that
// fills it (transport.Context.OnChannelPressure).
//
// A queue is congested once it holds more than half of a limit
// ([AboveHighWater]) and stays so until it drained to a quarter of every
// limit ([BelowLowWater]): the exchange holds back at half full, so the
// offers it coalesced and its replies still fit, and the gap keeps it from
// flapping. A [Gauge] delivers the changes in order, from one goroutine at
// a time, without holding the queue's lock while the exchange runs (it may
// send from inside the report, and so come back to the queue).
package pressure

import "sync"

// AboveHighWater reports whether a queue holding n of limit is past its
// high-water mark.
func AboveHighWater(n, limit int) bool { return n*2 > limit }

// BelowLowWater reports whether a queue holding n of limit drained to its
// low-water mark.
func BelowLowWater(n, limit int) bool { return n*4 <= limit }

// Gauge holds a queue's congestion state and what its listener was last
// told. The zero value is an uncongested queue. Its methods may be called
// under the queue's own lock, except Report.
type Gauge struct {
	mu        sync.Mutex
	congested bool
	told      bool
	reporting bool
}

// Congested reports the current state.
func (g *Gauge) Congested() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.congested
}

// Set records the queue's state.
func (g *Gauge) Set(congested bool) {
	g.mu.Lock()
	g.congested = congested
	g.mu.Unlock()
}

// Report tells deliver every change since the last report until the
// listener knows the current state. A call that finds a report under way
// returns at once and leaves its change to that reporter, so reports never
// overtake each other. deliver returns false when there is nobody to tell
// yet (no channel): the change is then reported by a later call.
func (g *Gauge) Report(deliver func(congested bool) bool) {
	g.mu.Lock()
	if g.reporting {
		g.mu.Unlock()
		return
	}
	g.reporting = true
	for g.congested != g.told {
		now := g.congested
		g.mu.Unlock()
		ok := deliver(now)
		g.mu.Lock()
		if !ok {
			break
		}
		g.told = now
	}
	g.reporting = false
	g.mu.Unlock()
}
