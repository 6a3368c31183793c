// Package pressure tracks a send queue's congestion for the exchange that
// fills it (transport.Context.OnChannelPressure).
//
// A queue is congested once it holds more than half of a limit
// ([AboveHighWater]) and stays so until it drained to a quarter of every
// limit ([BelowLowWater]): the exchange holds back at half full, so the
// offers it coalesced and its replies still fit, and the gap keeps it from
// flapping. A [Gauge] delivers the changes in order, one report at a time,
// without holding the queue's lock, and a sender's report returns only
// once the listener knows the state the send left: a sender never goes on
// sending into a queue its listener still thinks has room.
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
	mu        sync.Mutex // guards congested and told
	congested bool
	told      bool
	report    sync.Mutex // one report at a time, so reports arrive in order
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
// waits for it, then reports what is still untold, so reports never
// overtake each other and none is left to a reporter that already looked.
// deliver returns false when there is nobody to tell yet (no channel): the
// change is then reported by a later call. deliver must not call Report of
// the same gauge (it would wait for itself).
func (g *Gauge) Report(deliver func(congested bool) bool) {
	g.report.Lock()
	defer g.report.Unlock()
	for {
		g.mu.Lock()
		now, told := g.congested, g.told
		g.mu.Unlock()
		if now == told || !deliver(now) {
			return
		}
		g.mu.Lock()
		g.told = now
		g.mu.Unlock()
	}
}
