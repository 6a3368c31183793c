package server

import (
	"context"
	"slices"
)

// Drain stops accepting connections and closes the open ones, spread over
// a window so their clients do not reconnect as one herd.
//
// From the first call on, new connections are refused (HTTP 503 before the
// upgrade; a socket already being upgraded is closed with the drain's code)
// until the transport is stopped. Each connection open at the call is
// closed at floor(r·Window) with CloseCode/CloseReason (default 1001
// "Server draining"); its queued messages are flushed first. Drain returns
// when all of them are gone, or at the deadline (default Window + 5 s) with
// TimedOut set and the stragglers counted in Remaining. The counts are
// exact: Closed + Remaining is the number of connections open at the call.
//
// A Drain called while another runs joins it: it returns the same result
// when that drain ends (its options are ignored). A Drain after a finished
// one starts a new round over whatever connections are left.
//
// If ctx ends first, Drain returns the progress so far and ctx.Err(); the
// drain itself carries on. Options are validated ("invalid-options"). The Rand
// function is called while the server's lock is held and must not call
// back into the Server.
func (s *Server) Drain(ctx context.Context, opts DrainOptions) (DrainResult, error) {
	if err := opts.validate(""); err != nil {
		return DrainResult{}, err
	}
	s.mu.Lock()
	joined := s.drain.Phase == drainActive
	var start drainStartMsg
	if !joined {
		cfg := resolveDrain(opts, s.cfg.Drain)
		ids := make([]connID, 0, len(s.conns))
		for id := range s.conns {
			ids = append(ids, id)
		}
		slices.Sort(ids) // registration order: the schedule is reproducible
		var draws []float64
		if cfg.Window > 0 {
			rnd := opts.Rand
			if rnd == nil {
				rnd = s.cfg.Drain.Rand
			}
			if rnd == nil {
				rnd = s.cfg.Rand
			}
			draws = make([]float64, len(ids))
			for i := range draws {
				draws[i] = rnd()
			}
		}
		s.draining = true
		s.drainRefuse = cfg
		s.st.drains.Add(1)
		s.log.Info("drain started", "connections", len(ids), "window", cfg.Window, "deadline", cfg.Deadline)
		start = drainStartMsg{Conns: ids, Config: cfg, Draws: draws}
	}
	// The waiter is registered before dispatching, so an empty drain that
	// finishes inside the dispatch finds it.
	var w *drainWaiter
	if joined {
		w = s.drainWaiterLocked(s.drain.Round) // join (reference S2)
	} else {
		w = s.drainWaiterLocked(s.drain.Round + 1)
		s.dispatchDrainLocked(start)
	}
	if s.testHookDrainCall != nil {
		s.testHookDrainCall(joined)
	}
	s.mu.Unlock()

	select {
	case <-w.done:
		return w.result, nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-w.done:
			return w.result, nil
		default:
		}
		r := DrainResult{}
		if s.drain.Phase == drainActive {
			r.Remaining = len(s.drain.Pending)
			r.Closed = s.drain.Snapshot - r.Remaining
		}
		return r, ctx.Err()
	}
}

type drainWaiter struct {
	done   chan struct{}
	result DrainResult
}

func (s *Server) drainWaiterLocked(round uint64) *drainWaiter {
	if w, ok := s.drainWaiters[round]; ok {
		return w
	}
	w := &drainWaiter{done: make(chan struct{})}
	s.drainWaiters[round] = w
	return w
}

// dispatchDrainLocked runs one drain program step and interprets its
// effects. Effects never block and never dispatch synchronously (timers
// call back later, closes complete on the connection's goroutines), so they
// run under s.mu in order.
func (s *Server) dispatchDrainLocked(m drainMsg) {
	if m == nil {
		return
	}
	if _, ok := m.(drainStartMsg); !ok && s.drain.Phase != drainActive {
		return // fast path: nothing to do outside a drain
	}
	next, fx := drainProgram{}.Update(s.drain, m)
	s.drain = next
	for _, f := range fx {
		switch f := f.(type) {
		case fxArmClose:
			round, id := f.Round, f.ID
			s.drainTimers = append(s.drainTimers, s.clk.AfterFunc(f.Delay, func() {
				s.mu.Lock()
				s.dispatchDrainLocked(drainCloseDueMsg{Round: round, ID: id})
				s.mu.Unlock()
			}))
		case fxArmDeadline:
			round := f.Round
			s.drainTimers = append(s.drainTimers, s.clk.AfterFunc(f.Delay, func() {
				s.mu.Lock()
				s.dispatchDrainLocked(drainDeadlineMsg{Round: round})
				s.mu.Unlock()
			}))
		case fxCloseConn:
			if c := s.conns[f.ID]; c != nil {
				c.closeWith(f.Code, f.Reason, newError(reasonDraining, "", nil), true)
			}
		case fxCancelTimers:
			for _, stop := range s.drainTimers {
				stop()
			}
			s.drainTimers = nil
		case fxFinish:
			if w, ok := s.drainWaiters[f.Round]; ok {
				w.result = f.Result
				close(w.done)
				delete(s.drainWaiters, f.Round)
			}
			s.log.Info("drain finished", "closed", f.Result.Closed, "remaining", f.Result.Remaining, "timedOut", f.Result.TimedOut)
		}
	}
}
