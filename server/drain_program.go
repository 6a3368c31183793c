package server

import (
	"maps"
	"math"
	"time"

	"github.com/coder/websocket"
)

// This file is the pure core of Drain: option resolution, the close
// schedule and the drain lifecycle as a Mealy machine. It does no I/O, reads
// no clock and draws no randomness: the shell passes the random draws in the
// start message and interprets the returned effects (timers, closes, the
// final result).

// Drain defaults, as in the reference.
const (
	defaultDrainWindow      = 5 * time.Second
	defaultDrainGrace       = 5 * time.Second
	defaultDrainCloseReason = "Server draining"
)

// connID identifies one accepted socket for the life of the Server. Unlike
// the peer id it is never shared by two sockets, so a late event from a
// replaced socket can never be mistaken for its successor's (reference S1).
type connID uint64

// drainConfig is a fully resolved DrainOptions (randomness excluded).
type drainConfig struct {
	Window   time.Duration // <= 0: every connection is closed at once
	Deadline time.Duration // measured from the start of the drain
	Code     websocket.StatusCode
	Reason   string
}

// resolveDrain merges per-call options over the server's defaults over the
// built-in fallbacks, field by field.
//
// The deadline is the per-call Deadline if set. A default Deadline is kept
// only if it is longer than the resolved window; otherwise (and when none is
// set) it is window + defaultDrainGrace. The reference kept a constructor
// deadline even when a per-call window outlived it, so every such drain
// reported a time-out (reference S3).
func resolveDrain(call, defaults DrainOptions) drainConfig {
	var c drainConfig
	switch {
	case call.Window != 0:
		c.Window = call.Window
	case defaults.Window != 0:
		c.Window = defaults.Window
	default:
		c.Window = defaultDrainWindow
	}
	window := max(c.Window, 0)
	switch {
	case call.Deadline > 0:
		c.Deadline = call.Deadline
	case defaults.Deadline > window:
		c.Deadline = defaults.Deadline
	default:
		c.Deadline = window + defaultDrainGrace
	}
	switch {
	case call.CloseCode != 0:
		c.Code = call.CloseCode
	case defaults.CloseCode != 0:
		c.Code = defaults.CloseCode
	default:
		c.Code = statusGoingAway
	}
	switch {
	case call.CloseReason != "":
		c.Reason = call.CloseReason
	case defaults.CloseReason != "":
		c.Reason = defaults.CloseReason
	default:
		c.Reason = defaultDrainCloseReason
	}
	return c
}

// drainDelay maps one random draw r to floor(r·window), clamped to
// [0, window). A window <= 0 means "now". Draws outside [0, 1) (including
// NaN) are clamped rather than trusted, so a broken random source can never
// schedule a close outside the window.
func drainDelay(window time.Duration, r float64) time.Duration {
	if window <= 0 || !(r > 0) {
		return 0
	}
	d := time.Duration(math.Floor(r * float64(window)))
	if d >= window {
		return window - 1
	}
	if d < 0 {
		return 0
	}
	return d
}

// drainStep is one entry of a close schedule.
type drainStep struct {
	ID    connID
	Delay time.Duration
}

// planDrain returns one step per connection, in input order, using one
// draw per connection in order. With window <= 0 the draws are not
// consulted (and may be absent).
func planDrain(ids []connID, window time.Duration, draws []float64) []drainStep {
	out := make([]drainStep, len(ids))
	for i, id := range ids {
		r := 0.0
		if window > 0 && i < len(draws) {
			r = draws[i]
		}
		out[i] = drainStep{ID: id, Delay: drainDelay(window, r)}
	}
	return out
}

// drainPhase is the lifecycle of the drain machine.
type drainPhase uint8

const (
	drainIdle     drainPhase = iota // never drained
	drainActive                     // a drain round is running
	drainFinished                   // the last round has a result
)

func (p drainPhase) String() string {
	switch p {
	case drainIdle:
		return "idle"
	case drainActive:
		return "active"
	case drainFinished:
		return "finished"
	}
	return "unknown"
}

// drainState is the drain machine's state. Pending holds the connections
// of the current round's snapshot that are still registered; because the
// server refuses new connections from the first drain on, the registry can
// only shrink during a round and len(Pending) is exactly what remains.
type drainState struct {
	Phase    drainPhase
	Round    uint64 // 0 before the first drain; timers carry it
	Config   drainConfig
	Snapshot int
	Pending  map[connID]struct{}
	Result   DrainResult // valid in drainFinished
}

// Messages.
type (
	drainMsg interface{ isDrainMsg() }

	// drainStartMsg starts a round, or joins the running one (reference
	// S2: a second drain replaced the first one's completion waiter).
	// Draws holds one random number in [0, 1) per connection.
	drainStartMsg struct {
		Conns  []connID
		Config drainConfig
		Draws  []float64
	}
	// drainRemovedMsg: a connection left the registry (closed by us, by the
	// peer, or by an error).
	drainRemovedMsg struct{ ID connID }
	// drainCloseDueMsg: a close timer of round Round fired.
	drainCloseDueMsg struct {
		Round uint64
		ID    connID
	}
	// drainDeadlineMsg: the deadline timer of round Round fired.
	drainDeadlineMsg struct{ Round uint64 }
)

func (drainStartMsg) isDrainMsg()    {}
func (drainRemovedMsg) isDrainMsg()  {}
func (drainCloseDueMsg) isDrainMsg() {}
func (drainDeadlineMsg) isDrainMsg() {}

// Effects.
type (
	drainEffect interface{ isDrainEffect() }

	// fxArmClose: start a timer that dispatches drainCloseDueMsg after Delay.
	fxArmClose struct {
		Round uint64
		ID    connID
		Delay time.Duration
	}
	// fxArmDeadline: start a timer that dispatches drainDeadlineMsg.
	fxArmDeadline struct {
		Round uint64
		Delay time.Duration
	}
	// fxCloseConn: close the connection with the drain's code and reason.
	fxCloseConn struct {
		ID     connID
		Code   websocket.StatusCode
		Reason string
	}
	// fxCancelTimers: stop every timer of the round.
	fxCancelTimers struct{ Round uint64 }
	// fxFinish: the round is over; wake every Drain waiting on it.
	fxFinish struct {
		Round  uint64
		Result DrainResult
	}
)

func (fxArmClose) isDrainEffect()     {}
func (fxArmDeadline) isDrainEffect()  {}
func (fxCloseConn) isDrainEffect()    {}
func (fxCancelTimers) isDrainEffect() {}
func (fxFinish) isDrainEffect()       {}

// drainProgram is the drain lifecycle. It satisfies machine.Program.
type drainProgram struct{}

// Init returns the idle state.
func (drainProgram) Init() (drainState, []drainEffect) { return drainState{}, nil }

// Update is the transition function; see the table test for every cell.
func (drainProgram) Update(s drainState, m drainMsg) (drainState, []drainEffect) {
	switch m := m.(type) {
	case drainStartMsg:
		if s.Phase == drainActive {
			return s, nil // join the running round
		}
		return startRound(s, m)
	case drainRemovedMsg:
		if s.Phase != drainActive {
			return s, nil
		}
		if _, ok := s.Pending[m.ID]; !ok {
			return s, nil
		}
		n := s
		n.Pending = maps.Clone(s.Pending)
		delete(n.Pending, m.ID)
		if len(n.Pending) > 0 {
			return n, nil
		}
		return finishRound(n, false)
	case drainCloseDueMsg:
		if s.Phase != drainActive || m.Round != s.Round {
			return s, nil
		}
		if _, ok := s.Pending[m.ID]; !ok {
			return s, nil
		}
		return s, []drainEffect{fxCloseConn{ID: m.ID, Code: s.Config.Code, Reason: s.Config.Reason}}
	case drainDeadlineMsg:
		if s.Phase != drainActive || m.Round != s.Round {
			return s, nil
		}
		return finishRound(s, true)
	}
	return s, nil
}

func startRound(s drainState, m drainStartMsg) (drainState, []drainEffect) {
	n := drainState{
		Phase:    drainActive,
		Round:    s.Round + 1,
		Config:   m.Config,
		Snapshot: 0,
		Pending:  make(map[connID]struct{}, len(m.Conns)),
	}
	for _, id := range m.Conns {
		n.Pending[id] = struct{}{}
	}
	n.Snapshot = len(n.Pending) // duplicates in the snapshot count once
	if n.Snapshot == 0 {
		return finishRound(n, false)
	}
	steps := planDrain(m.Conns, m.Config.Window, m.Draws)
	fx := make([]drainEffect, 0, len(steps)+1)
	seen := make(map[connID]bool, len(steps))
	for _, st := range steps {
		if seen[st.ID] {
			continue
		}
		seen[st.ID] = true
		if st.Delay <= 0 {
			fx = append(fx, fxCloseConn{ID: st.ID, Code: m.Config.Code, Reason: m.Config.Reason})
			continue
		}
		fx = append(fx, fxArmClose{Round: n.Round, ID: st.ID, Delay: st.Delay})
	}
	fx = append(fx, fxArmDeadline{Round: n.Round, Delay: m.Config.Deadline})
	return n, fx
}

func finishRound(s drainState, timedOut bool) (drainState, []drainEffect) {
	remaining := len(s.Pending)
	n := s
	n.Phase = drainFinished
	n.Pending = nil
	n.Result = DrainResult{Closed: s.Snapshot - remaining, Remaining: remaining, TimedOut: timedOut}
	return n, []drainEffect{fxCancelTimers{Round: s.Round}, fxFinish{Round: s.Round, Result: n.Result}}
}
