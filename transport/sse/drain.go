package sse

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/kyneta-go/kyneta/server"
)

// drainSchedule returns when each of n streams is closed: floor(r·window)
// with r drawn from rand, or at once for a negative window.
func drainSchedule(n int, window time.Duration, rand func() float64) []time.Duration {
	out := make([]time.Duration, n)
	if window <= 0 {
		return out
	}
	for i := range out {
		r := rand()
		if !(r > 0) {
			r = 0
		} else if r > 1 {
			r = 1
		}
		out[i] = time.Duration(r * float64(window))
	}
	return out
}

// Drain stops accepting streams (HTTP 503 from now on) and ends every open
// stream with opts.CloseCode and CloseReason (default 1001 "Server
// draining") at a random point within the window,
// so that clients do not reconnect as one herd. It returns when they are
// all gone, or with TimedOut at the deadline. Uploads to streams not yet
// ended are still served. A later Stop of the transport ends the drain
// state.
func (s *Server) Drain(ctx context.Context, opts server.DrainOptions) (server.DrainResult, error) {
	window := opts.Window
	if window == 0 {
		window = s.cfg.Drain.Window
	}
	if window == 0 {
		window = defaultDrainWindow
	}
	if err := opts.Validate(); err != nil {
		return server.DrainResult{}, err
	}
	deadline := opts.Deadline
	code, reason := int(cmp.Or(opts.CloseCode, s.cfg.Drain.CloseCode)), cmp.Or(opts.CloseReason, s.cfg.Drain.CloseReason)
	if code == 0 {
		code, reason = closeGoingAway, cmp.Or(reason, closeReasonDraining)
	}
	if deadline == 0 {
		deadline = s.cfg.Drain.Deadline
	}
	if deadline == 0 || (opts.Deadline == 0 && deadline < max(window, 0)) {
		deadline = max(window, 0) + defaultDrainGrace
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = s.cfg.Drain.Rand
	}
	if rnd == nil {
		rnd = s.cfg.Rand
	}

	s.mu.Lock()
	s.draining = true
	all := s.snapshotLocked()
	s.mu.Unlock()
	// In the order the streams opened, so a schedule drawn from a seeded
	// Rand is reproducible.
	slices.SortFunc(all, func(a, b *stream) int { return cmp.Compare(a.id, b.id) })

	expired := make(chan struct{})
	stopDeadline := s.clk.AfterFunc(deadline, func() { close(expired) })
	defer stopDeadline()
	stops := make([]func() bool, 0, len(all))
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	for i, at := range drainSchedule(len(all), window, rnd) {
		st := all[i]
		stops = append(stops, s.clk.AfterFunc(at, func() { st.closeWith(code, reason, true) }))
	}

	var res server.DrainResult
	for i, st := range all {
		select {
		case <-st.gone:
			res.Closed++
		case <-expired:
			res.TimedOut = true
		case <-ctx.Done():
			res.Remaining = countOpen(all[i:])
			res.Closed = len(all) - res.Remaining
			return res, ctx.Err()
		}
		if res.TimedOut {
			res.Remaining = countOpen(all[i:])
			res.Closed = len(all) - res.Remaining
			break
		}
	}
	return res, nil
}

func countOpen(sts []*stream) int {
	n := 0
	for _, st := range sts {
		select {
		case <-st.gone:
		default:
			n++
		}
	}
	return n
}
