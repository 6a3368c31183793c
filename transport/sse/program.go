package sse

import (
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// This file is the SSE client's pure lifecycle program: (State, Msg) ->
// (State, []effect). It performs no I/O, reads no clock and draws no
// randomness of its own; the shell in client.go interprets the effects.

// The client's status is the WebSocket client's [client.Status], so one
// check covers both clients. The SSE client goes through the reference's
// four SSE states only, never client.StatusReady: the stream is usable once
// the events response arrived, because the server registers the stream
// before it answers.
//
//   - client.StatusDisconnected: idle; initially without a reason,
//     afterwards with one.
//   - client.StatusConnecting: the events request is under way.
//   - client.StatusConnected: the stream is open; the channel exists and
//     the establish handshake runs over it.
//   - client.StatusReconnecting: the backoff timer runs before the next
//     attempt.

// State is the client's lifecycle state, a small comparable value.
type State struct {
	Status client.Status
	// Attempt is the 1-based attempt while connecting, the next attempt's
	// number while reconnecting, zero otherwise.
	Attempt int
	// Delay is the backoff before the next attempt while reconnecting.
	Delay time.Duration
	// Reason says why the client is disconnected (nil initially and in
	// other statuses). Read-only.
	Reason *client.DisconnectReason

	// Every stream and timer gets a fresh id from seq, so messages about
	// an abandoned stream or a cancelled timer are recognised and ignored.
	stream uint64 // live stream (connecting, connected), else 0
	timer  uint64 // reconnect timer (reconnecting), else 0
	seq    uint64
}

// String renders the state, e.g. "reconnecting(attempt 2, 2s)".
func (s State) String() string {
	switch s.Status {
	case client.StatusConnecting:
		return fmt.Sprintf("%v(attempt %d)", s.Status, s.Attempt)
	case client.StatusReconnecting:
		return fmt.Sprintf("%v(attempt %d, %v)", s.Status, s.Attempt, s.Delay)
	case client.StatusDisconnected:
		if s.Reason != nil {
			return fmt.Sprintf("%v(%v)", s.Status, s.Reason)
		}
	}
	return s.Status.String()
}

// clientMsg is a message for the client program: msgStart, msgStop,
// msgStreamOpened, msgStreamClosed, msgStreamError, msgUploadFailed,
// msgReconnectTimer or msgBarrier.
type clientMsg interface{ isMsg() }

// msgStart asks the client to connect.
type msgStart struct{}

// msgStop asks the client to disconnect and release everything.
type msgStop struct{}

// msgStreamOpened reports that the events response of stream Stream arrived
// (HTTP 200, text/event-stream).
type msgStreamOpened struct{ Stream uint64 }

// msgStreamClosed reports that stream Stream ended: Code and Reason from the
// server's close event, or closeAbnormal without one.
type msgStreamClosed struct {
	Stream uint64
	Code   int
	Reason string
}

// msgStreamError reports that stream Stream failed: a request that did not
// succeed, a refused response, a read error or an idle timeout.
type msgStreamError struct {
	Stream uint64
	Err    error
	// HTTPStatus is the status of a refused events request (0 if none);
	// 401 and 403 are not retried.
	HTTPStatus int
	// Config marks a configuration error (bad URL, failing header
	// function); not retried.
	Config bool
}

// msgUploadFailed reports that an upload on stream Stream failed. The
// message is lost to the server, so the stream is given up and, after
// reconnecting, the exchange resynchronises.
type msgUploadFailed struct {
	Stream     uint64
	HTTPStatus int // 0 for a network error
	Err        error
}

// msgReconnectTimer reports that reconnect timer Timer elapsed.
type msgReconnectTimer struct{ Timer uint64 }

// msgBarrier asks for an effectBarrier with the same ID once every earlier
// message was processed; it never changes the state.
type msgBarrier struct{ ID uint64 }

func (msgStart) isMsg()          {}
func (msgStop) isMsg()           {}
func (msgStreamOpened) isMsg()   {}
func (msgStreamClosed) isMsg()   {}
func (msgStreamError) isMsg()    {}
func (msgUploadFailed) isMsg()   {}
func (msgReconnectTimer) isMsg() {}
func (msgBarrier) isMsg()        {}

// effectKind says what an effect asks the shell to do.
type effectKind uint8

// The effects of the client program.
const (
	// effectOpenStream sends the events request of stream Stream
	// (attempt Attempt).
	effectOpenStream effectKind = iota + 1
	// effectCloseStream ends stream Stream and releases what is attached
	// to it. Graceful lets queued uploads finish first (Stop); otherwise
	// they are aborted, so none reaches the server after the stream was
	// given up. Every opened stream gets exactly one.
	effectCloseStream
	// effectAddChannel adds the transport channel of stream Stream and
	// starts the establish handshake on it.
	effectAddChannel
	// effectRemoveChannel removes the channel of stream Stream.
	effectRemoveChannel
	// effectStartReconnectTimer arms reconnect timer Timer, After from now.
	effectStartReconnectTimer
	// effectCancelReconnectTimer disarms reconnect timer Timer.
	effectCancelReconnectTimer
	// effectBarrier answers msgBarrier Timer.
	effectBarrier
)

var effectNames = [...]string{
	effectOpenStream:           "open-stream",
	effectCloseStream:          "close-stream",
	effectAddChannel:           "add-channel",
	effectRemoveChannel:        "remove-channel",
	effectStartReconnectTimer:  "start-reconnect-timer",
	effectCancelReconnectTimer: "cancel-reconnect-timer",
	effectBarrier:              "barrier",
}

// String returns the effect's name.
func (k effectKind) String() string {
	if int(k) < len(effectNames) && effectNames[k] != "" {
		return effectNames[k]
	}
	return fmt.Sprintf("EffectKind(%d)", uint8(k))
}

// effect is an instruction for the shell: one flat comparable struct, so
// a step allocates nothing but the returned slice.
type effect struct {
	Kind     effectKind
	Stream   uint64
	Timer    uint64 // timer or barrier id
	Attempt  int
	After    time.Duration
	Graceful bool
}

// String renders the effect for test failures and logs.
func (e effect) String() string {
	switch e.Kind {
	case effectOpenStream:
		return fmt.Sprintf("open-stream{stream %d, attempt %d}", e.Stream, e.Attempt)
	case effectCloseStream:
		return fmt.Sprintf("close-stream{stream %d, graceful %v}", e.Stream, e.Graceful)
	case effectStartReconnectTimer:
		return fmt.Sprintf("start-reconnect-timer{timer %d, %v}", e.Timer, e.After)
	case effectCancelReconnectTimer, effectBarrier:
		return fmt.Sprintf("%v{%d}", e.Kind, e.Timer)
	}
	return fmt.Sprintf("%v{stream %d}", e.Kind, e.Stream)
}

// programConfig configures a program; a plain value.
type programConfig struct {
	// Reconnect is the backoff policy, used as given (its zero value
	// never retries).
	Reconnect backoff.Policy
	// Rand returns a uniform value in [0, 1) for the jitter, called once
	// per scheduled reconnect. Nil means 0.
	Rand func() float64
}

// program is the client lifecycle as a pure Mealy machine
// (machine.Program[clientMsg, State, effect]).
type program struct{ cfg programConfig }

// newProgram returns the program for cfg.
func newProgram(cfg programConfig) *program { return &program{cfg: cfg} }

// Init returns the initial state (disconnected, no reason), no effects.
func (p *program) Init() (State, []effect) { return State{}, nil }

// Update is the transition function. Messages that do not apply to the
// current state, or concern a stream or timer that is no longer current,
// return s unchanged with no effects.
func (p *program) Update(s State, m clientMsg) (State, []effect) {
	switch m := m.(type) {
	case msgStart:
		if s.Status != client.StatusDisconnected {
			return s, nil
		}
		return open(s, 1)
	case msgStop:
		if s.Status == client.StatusDisconnected {
			return s, nil
		}
		return disconnected(s, &client.DisconnectReason{Reason: reasonIntentional}), release(s, true)
	case msgBarrier:
		return s, []effect{{Kind: effectBarrier, Timer: m.ID}}
	case msgStreamOpened:
		if s.Status != client.StatusConnecting || m.Stream != s.stream {
			return s, nil
		}
		n := s
		n.Status, n.Attempt = client.StatusConnected, 0
		return n, []effect{{Kind: effectAddChannel, Stream: s.stream}}
	case msgStreamClosed:
		if !s.live(m.Stream) {
			return s, nil
		}
		r := client.DisconnectReason{Reason: reasonClosed, CloseCode: m.Code, CloseReason: m.Reason}
		if m.Code == closePolicyViolation {
			r.Reason = reasonPolicyViolation
		}
		return p.fail(s, r)
	case msgStreamError:
		if !s.live(m.Stream) {
			return s, nil
		}
		r := client.DisconnectReason{Reason: reasonError, HTTPStatus: m.HTTPStatus, Err: m.Err}
		switch {
		case m.Config:
			r.Reason = reasonInvalidConfig
		case m.HTTPStatus == 401 || m.HTTPStatus == 403:
			r.Reason = reasonUnauthorized
		}
		return p.fail(s, r)
	case msgUploadFailed:
		if !s.live(m.Stream) {
			return s, nil
		}
		r := client.DisconnectReason{Reason: reasonError, HTTPStatus: m.HTTPStatus, Err: m.Err}
		if m.HTTPStatus == 401 || m.HTTPStatus == 403 {
			r.Reason = reasonUnauthorized
		}
		return p.fail(s, r)
	case msgReconnectTimer:
		if s.Status != client.StatusReconnecting || m.Timer != s.timer {
			return s, nil
		}
		return open(s, s.Attempt)
	}
	return s, nil
}

// live reports whether stream is the state's current stream.
func (s State) live(stream uint64) bool {
	return stream != 0 && stream == s.stream && (s.Status == client.StatusConnecting || s.Status == client.StatusConnected)
}

// open enters connecting with a fresh stream for attempt a.
func open(s State, a int) (State, []effect) {
	n := State{Status: client.StatusConnecting, Attempt: a, seq: s.seq + 1}
	n.stream = n.seq
	return n, []effect{{Kind: effectOpenStream, Stream: n.stream, Attempt: a}}
}

// release returns the effects that free everything s holds: the channel
// before its stream, or the reconnect timer.
func release(s State, graceful bool) []effect {
	switch s.Status {
	case client.StatusConnecting:
		return []effect{{Kind: effectCloseStream, Stream: s.stream}}
	case client.StatusConnected:
		return []effect{{Kind: effectRemoveChannel, Stream: s.stream}, {Kind: effectCloseStream, Stream: s.stream, Graceful: graceful}}
	case client.StatusReconnecting:
		return []effect{{Kind: effectCancelReconnectTimer, Timer: s.timer}}
	}
	return nil
}

func disconnected(s State, r *client.DisconnectReason) State {
	return State{Status: client.StatusDisconnected, Reason: r, seq: s.seq}
}

// fail handles the loss of the current stream for reason r: release it,
// then stop for good or schedule the next attempt. A stream that opened
// restarts the attempt count (the reference's tryReconnect(0)).
func (p *program) fail(s State, r client.DisconnectReason) (State, []effect) {
	fx := release(s, false)
	if permanent(r.Reason) {
		return disconnected(s, onHeap(r)), fx
	}
	attempt, delay, ok := p.cfg.Reconnect.Next(s.Attempt, p.cfg.Rand)
	switch {
	case !ok && p.cfg.Reconnect.MaxAttempts == 0: // retries disabled: the failure itself is the reason
		return disconnected(s, onHeap(r)), fx
	case !ok:
		return disconnected(s, &client.DisconnectReason{Reason: reasonMaxRetries, Attempts: attempt, Err: onHeap(r)}), fx
	}
	n := State{Status: client.StatusReconnecting, Attempt: attempt, Delay: delay, seq: s.seq + 1}
	n.timer = n.seq
	return n, append(fx, effect{Kind: effectStartReconnectTimer, Timer: n.timer, After: delay})
}

// onHeap copies r to the heap; taking &r in fail would move r there on
// every call, reconnects included.
func onHeap(r client.DisconnectReason) *client.DisconnectReason { return &r }
