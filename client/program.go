package client

import (
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta/transport/backoff"
)

// This file is the client's pure lifecycle program: (State, clientMsg) -> (State,
// []effect). It performs no I/O, reads no clock and draws no randomness of
// its own; the shell in client.go interprets the effects.

// Status is the discriminant of a client [State].
type Status uint8

// The five client states.
const (
	// StatusDisconnected: idle. Initially without a reason; after stop,
	// a non-retryable outcome or exhausted retries with one.
	StatusDisconnected Status = iota
	// StatusConnecting: a socket is being dialled.
	StatusConnecting
	// StatusConnected: the socket is open; waiting for the server's "ready".
	StatusConnected
	// StatusReady: "ready" received; the channel is added and establish
	// started.
	StatusReady
	// StatusReconnecting: the backoff timer runs before the next attempt.
	StatusReconnecting
)

// String returns the reference's name of the status.
func (s Status) String() string {
	switch s {
	case StatusDisconnected:
		return "disconnected"
	case StatusConnecting:
		return "connecting"
	case StatusConnected:
		return "connected"
	case StatusReady:
		return "ready"
	case StatusReconnecting:
		return "reconnecting"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// State is the client's lifecycle state. It is a small comparable value: a
// message that changes nothing returns it unchanged, which the runner takes
// as "no transition".
type State struct {
	// Status is the discriminant.
	Status Status
	// Attempt is the 1-based attempt number while connecting or connected
	// (an attempt only succeeds once "ready" arrives), and the number of
	// the next attempt while reconnecting. While ready it keeps the number
	// of the attempt that got there until the connection has stayed ready
	// for Options.BackoffResetAfter, then it is 0: losing a connection that
	// was ready only briefly escalates the backoff like a failed attempt.
	// Zero otherwise.
	Attempt int
	// Delay is the backoff before the next attempt while reconnecting.
	Delay time.Duration
	// Reason says why the client is disconnected; nil in the initial state
	// and in every other status. Treat it as read-only.
	Reason *DisconnectReason

	// Bookkeeping. Every socket and timer the program asks for gets a
	// fresh id from seq, so messages about an abandoned socket or a
	// cancelled timer can be recognised and ignored.
	sock  uint64 // live socket (connecting, connected, ready), else 0
	timer uint64 // reconnect timer (reconnecting), else 0
	pong  uint64 // pong deadline while a ping is unanswered, else 0
	// readyT is the ready deadline while connected (0 when disabled).
	readyT uint64
	// stable is the backoff-reset timer while ready and not yet stable.
	stable uint64
	seq    uint64 // last id handed out
}

// String renders the state compactly, e.g. "reconnecting(attempt 2, 2s)";
// a ready state shows its attempt until the connection is stable.
func (s State) String() string {
	switch s.Status {
	case StatusConnecting, StatusConnected:
		return fmt.Sprintf("%v(attempt %d)", s.Status, s.Attempt)
	case StatusReady:
		if s.Attempt != 0 { // not yet stable
			return fmt.Sprintf("%v(attempt %d)", s.Status, s.Attempt)
		}
	case StatusReconnecting:
		return fmt.Sprintf("%v(attempt %d, %v)", s.Status, s.Attempt, s.Delay)
	case StatusDisconnected:
		if s.Reason != nil {
			return fmt.Sprintf("%v(%v)", s.Status, s.Reason)
		}
	}
	return s.Status.String()
}

// clientMsg is a message for the client program: one of msgStart, msgStop,
// msgSocketOpened, msgServerReady, msgSocketClosed, msgSocketError,
// msgReconnectTimer, msgKeepaliveTick, msgPongReceived, msgPongTimeout,
// msgReadyTimeout, msgReadyStable or msgBarrier.
type clientMsg interface{ isMsg() }

// msgStart asks the client to connect.
type msgStart struct{}

// msgStop asks the client to disconnect and release everything.
type msgStop struct{}

// msgSocketOpened reports that the dial of socket Socket succeeded.
type msgSocketOpened struct{ Socket uint64 }

// msgServerReady reports the server's "ready" text frame on socket Socket.
type msgServerReady struct{ Socket uint64 }

// msgSocketClosed reports that socket Socket closed with a WebSocket close code
// (1006 when the connection dropped without a close frame).
type msgSocketClosed struct {
	Socket uint64
	Code   int
	Reason string
}

// msgSocketError reports that socket Socket failed: a dial that did not
// succeed, or a transport error.
type msgSocketError struct {
	Socket uint64
	Err    error
	// HTTPStatus is the status of a refused upgrade (0 if none); 401 and
	// 403 are not retried.
	HTTPStatus int
	// Config marks a configuration error (bad URL, failing header
	// function): retrying cannot help, so it is not retried.
	Config bool
}

// msgReconnectTimer reports that reconnect timer Timer elapsed.
type msgReconnectTimer struct{ Timer uint64 }

// msgKeepaliveTick reports that the keepalive interval of socket Socket
// elapsed: time to send a ping.
type msgKeepaliveTick struct{ Socket uint64 }

// msgPongReceived reports a "pong" (or any other frame, which proves the
// connection alive just as well) on socket Socket.
type msgPongReceived struct{ Socket uint64 }

// msgPongTimeout reports that pong deadline Timer elapsed.
type msgPongTimeout struct{ Timer uint64 }

// msgReadyTimeout reports that ready deadline Timer elapsed: the socket opened
// but the server's "ready" did not follow in time.
type msgReadyTimeout struct{ Timer uint64 }

// msgReadyStable reports that backoff-reset timer Timer elapsed: the connection
// has stayed ready long enough to count as a success.
type msgReadyStable struct{ Timer uint64 }

// msgBarrier asks for an effectBarrier with the same ID once every earlier
// message has been processed. It never changes the state; the shell uses it
// to wait until a stop has been fully applied.
type msgBarrier struct{ ID uint64 }

func (msgStart) isMsg()          {}
func (msgStop) isMsg()           {}
func (msgSocketOpened) isMsg()   {}
func (msgServerReady) isMsg()    {}
func (msgSocketClosed) isMsg()   {}
func (msgSocketError) isMsg()    {}
func (msgReconnectTimer) isMsg() {}
func (msgKeepaliveTick) isMsg()  {}
func (msgPongReceived) isMsg()   {}
func (msgPongTimeout) isMsg()    {}
func (msgReadyTimeout) isMsg()   {}
func (msgReadyStable) isMsg()    {}
func (msgBarrier) isMsg()        {}

// effectKind says what an effect asks the shell to do.
type effectKind uint8

// The effects of the client program.
const (
	// effectDial opens socket Socket (attempt Attempt).
	effectDial effectKind = iota + 1
	// effectCloseSocket closes socket Socket with Code and Reason and
	// releases everything attached to it. Every dialled socket gets
	// exactly one.
	effectCloseSocket
	// effectStartKeepalive starts pinging socket Socket every After.
	effectStartKeepalive
	// effectStopKeepalive stops the keepalive of socket Socket.
	effectStopKeepalive
	// effectSendPing sends the text frame "ping" on socket Socket.
	effectSendPing
	// effectStartPongTimer arms pong deadline Timer for socket Socket,
	// After from now.
	effectStartPongTimer
	// effectCancelPongTimer disarms pong deadline Timer.
	effectCancelPongTimer
	// effectStartReconnectTimer arms reconnect timer Timer, After from now.
	effectStartReconnectTimer
	// effectCancelReconnectTimer disarms reconnect timer Timer.
	effectCancelReconnectTimer
	// effectAddChannel adds the transport channel for socket Socket and
	// starts the establish handshake on it.
	effectAddChannel
	// effectRemoveChannel removes the channel of socket Socket.
	effectRemoveChannel
	// effectBarrier answers msgBarrier Timer.
	effectBarrier
	// effectStartReadyTimer arms ready deadline Timer for socket Socket,
	// After from now.
	effectStartReadyTimer
	// effectCancelReadyTimer disarms ready deadline Timer.
	effectCancelReadyTimer
	// effectStartStableTimer arms backoff-reset timer Timer for socket
	// Socket, After from now.
	effectStartStableTimer
	// effectCancelStableTimer disarms backoff-reset timer Timer.
	effectCancelStableTimer
)

var effectNames = [...]string{
	effectDial:                 "dial",
	effectCloseSocket:          "close-socket",
	effectStartKeepalive:       "start-keepalive",
	effectStopKeepalive:        "stop-keepalive",
	effectSendPing:             "send-ping",
	effectStartPongTimer:       "start-pong-timer",
	effectCancelPongTimer:      "cancel-pong-timer",
	effectStartReconnectTimer:  "start-reconnect-timer",
	effectCancelReconnectTimer: "cancel-reconnect-timer",
	effectAddChannel:           "add-channel",
	effectRemoveChannel:        "remove-channel",
	effectBarrier:              "barrier",
	effectStartReadyTimer:      "start-ready-timer",
	effectCancelReadyTimer:     "cancel-ready-timer",
	effectStartStableTimer:     "start-stable-timer",
	effectCancelStableTimer:    "cancel-stable-timer",
}

// String returns the effect's name, e.g. "start-reconnect-timer".
func (k effectKind) String() string {
	if int(k) < len(effectNames) && effectNames[k] != "" {
		return effectNames[k]
	}
	return fmt.Sprintf("EffectKind(%d)", uint8(k))
}

// effect is an instruction for the shell. It is one flat comparable struct
// rather than an interface so that a program step allocates nothing but the
// returned slice; fields a kind does not use are zero.
type effect struct {
	Kind    effectKind
	Socket  uint64        // socket generation concerned
	Timer   uint64        // timer (or barrier) id
	Attempt int           // effectDial
	After   time.Duration // timers and keepalive interval
	Code    int           // effectCloseSocket
	Reason  string        // effectCloseSocket
}

// String renders the effect for test failures and logs.
func (e effect) String() string {
	switch e.Kind {
	case effectDial:
		return fmt.Sprintf("dial{socket %d, attempt %d}", e.Socket, e.Attempt)
	case effectCloseSocket:
		return fmt.Sprintf("close-socket{socket %d, %d %q}", e.Socket, e.Code, e.Reason)
	case effectStartKeepalive:
		return fmt.Sprintf("start-keepalive{socket %d, every %v}", e.Socket, e.After)
	case effectStartPongTimer, effectStartReadyTimer, effectStartStableTimer:
		return fmt.Sprintf("%v{socket %d, timer %d, %v}", e.Kind, e.Socket, e.Timer, e.After)
	case effectStartReconnectTimer:
		return fmt.Sprintf("start-reconnect-timer{timer %d, %v}", e.Timer, e.After)
	case effectCancelPongTimer, effectCancelReconnectTimer, effectCancelReadyTimer, effectCancelStableTimer, effectBarrier:
		return fmt.Sprintf("%v{%d}", e.Kind, e.Timer)
	}
	return fmt.Sprintf("%v{socket %d}", e.Kind, e.Socket)
}

// Close codes and reasons the client sends.
const (
	// closeNormal is the WebSocket close code for a normal closure.
	closeNormal = 1000
	// closePolicyViolation (1008) from the server is not retried.
	closePolicyViolation = 1008
	// closeAbnormal (1006) is reported when a connection dropped without a
	// close frame. It is never sent.
	closeAbnormal = 1006
	// reasonClientDisconnecting is the reference's close reason.
	reasonClientDisconnecting = "Client disconnecting"
	// closeReasonPongTimeout is the close reason after a missed pong.
	closeReasonPongTimeout = "Pong timeout"
	// closeReasonReadyTimeout is the close reason when "ready" did not arrive
	// within the ready timeout.
	closeReasonReadyTimeout = "Ready timeout"
)

// programConfig configures a program. It is a plain value.
type programConfig struct {
	// Reconnect is the backoff policy (used as given: its zero value
	// never retries).
	Reconnect backoff.Policy
	// KeepaliveInterval is the time between pings; ≤ 0 disables keepalive
	// (and with it the pong deadline).
	KeepaliveInterval time.Duration
	// msgPongTimeout is how long after a ping the connection may stay silent
	// before it is given up; ≤ 0 disables the deadline.
	PongTimeout time.Duration
	// msgReadyTimeout is how long an open socket may wait for the server's
	// "ready" before it is given up (a failed attempt); ≤ 0 waits forever.
	ReadyTimeout time.Duration
	// BackoffResetAfter is how long a connection must stay ready before
	// the attempt count restarts; until then losing it counts as one more
	// failed attempt, so a server that says "ready" and drops the
	// connection sees growing intervals. ≤ 0 restarts the count on "ready".
	BackoffResetAfter time.Duration
	// Rand returns a uniform value in [0, 1) for the backoff jitter. It is
	// called once per scheduled reconnect, only then. Nil means always 0.
	Rand func() float64
}

// program is the client's lifecycle as a pure Mealy machine
// (machine.Program[clientMsg, State, effect]). The zero value is not useful; use
// newProgram.
type program struct {
	cfg programConfig
}

// newProgram returns the program for cfg.
func newProgram(cfg programConfig) *program { return &program{cfg: cfg} }

// Init returns the initial state (disconnected, no reason) and no effects.
func (p *program) Init() (State, []effect) { return State{}, nil }

// Update is the transition function. Messages that do not apply to the
// current state, or that concern a socket or timer that is no longer
// current, return s unchanged with no effects.
func (p *program) Update(s State, m clientMsg) (State, []effect) {
	switch m := m.(type) {
	case msgStart:
		if s.Status != StatusDisconnected {
			return s, nil
		}
		return p.dial(s, 1)
	case msgStop:
		if s.Status == StatusDisconnected {
			return s, nil
		}
		fx := p.release(s, make([]effect, 0, 5), closeEffect(s.sock, reasonClientDisconnecting))
		return disconnected(s, &DisconnectReason{Reason: reasonIntentional}), fx
	case msgBarrier:
		return s, []effect{{Kind: effectBarrier, Timer: m.ID}}
	case msgSocketOpened:
		if s.Status != StatusConnecting || m.Socket != s.sock {
			return s, nil
		}
		n := s
		n.Status = StatusConnected
		var fx []effect
		if p.cfg.KeepaliveInterval > 0 || p.cfg.ReadyTimeout > 0 {
			fx = make([]effect, 0, 2)
		}
		if p.cfg.KeepaliveInterval > 0 {
			fx = append(fx, p.startKeepalive(s.sock))
		}
		if p.cfg.ReadyTimeout > 0 {
			n.seq++
			n.readyT = n.seq
			fx = append(fx, effect{Kind: effectStartReadyTimer, Socket: s.sock, Timer: n.readyT, After: p.cfg.ReadyTimeout})
		}
		return n, fx
	case msgServerReady:
		if m.Socket != s.sock || (s.Status != StatusConnecting && s.Status != StatusConnected) {
			return s, nil // stale, or a duplicate "ready"
		}
		return p.ready(s)
	case msgSocketClosed:
		if !s.live(m.Socket) {
			return s, nil
		}
		r := DisconnectReason{Reason: reasonClosed, CloseCode: m.Code, CloseReason: m.Reason}
		if m.Code == closePolicyViolation {
			r.Reason = reasonPolicyViolation
		}
		return p.fail(s, r, closeEffect(s.sock, reasonClientDisconnecting))
	case msgSocketError:
		if !s.live(m.Socket) {
			return s, nil
		}
		r := DisconnectReason{Reason: reasonError, HTTPStatus: m.HTTPStatus, Err: m.Err}
		switch {
		case m.Config:
			r.Reason = reasonInvalidConfig
		case m.HTTPStatus == 401 || m.HTTPStatus == 403:
			r.Reason = reasonUnauthorized
		}
		return p.fail(s, r, closeEffect(s.sock, reasonClientDisconnecting))
	case msgReconnectTimer:
		if s.Status != StatusReconnecting || m.Timer != s.timer {
			return s, nil
		}
		return p.dial(s, s.Attempt)
	case msgKeepaliveTick:
		if !s.open(m.Socket) || p.cfg.KeepaliveInterval <= 0 {
			return s, nil
		}
		if s.pong != 0 || p.cfg.PongTimeout <= 0 {
			// Still waiting for the previous answer: ping again, but keep
			// the earlier (stricter) deadline.
			return s, []effect{{Kind: effectSendPing, Socket: s.sock}}
		}
		n := s
		n.seq++
		n.pong = n.seq
		return n, []effect{
			{Kind: effectSendPing, Socket: s.sock},
			{Kind: effectStartPongTimer, Socket: s.sock, Timer: n.pong, After: p.cfg.PongTimeout},
		}
	case msgPongReceived:
		if !s.open(m.Socket) || s.pong == 0 {
			return s, nil
		}
		n := s
		n.pong = 0
		return n, []effect{{Kind: effectCancelPongTimer, Timer: s.pong}}
	case msgPongTimeout:
		if s.pong == 0 || m.Timer != s.pong || (s.Status != StatusConnected && s.Status != StatusReady) {
			return s, nil
		}
		n := s
		n.pong = 0 // it fired; nothing to cancel
		return p.fail(n, DisconnectReason{Reason: reasonPongTimeout}, closeEffect(s.sock, closeReasonPongTimeout))
	case msgReadyTimeout:
		if s.readyT == 0 || m.Timer != s.readyT || s.Status != StatusConnected {
			return s, nil
		}
		n := s
		n.readyT = 0 // it fired; nothing to cancel
		return p.fail(n, DisconnectReason{Reason: reasonReadyTimeout}, closeEffect(s.sock, closeReasonReadyTimeout))
	case msgReadyStable:
		if s.stable == 0 || m.Timer != s.stable || s.Status != StatusReady {
			return s, nil
		}
		n := s
		n.stable, n.Attempt = 0, 0
		return n, nil
	}
	return s, nil
}

// ready enters ready from connecting (the race path: "ready" processed
// before our own open, so the keepalive starts here too) or connected. The
// attempt count restarts at once, or once the connection has stayed ready
// for BackoffResetAfter.
func (p *program) ready(s State) (State, []effect) {
	n := s
	n.Status, n.readyT = StatusReady, 0
	fx := make([]effect, 0, 4)
	if s.Status == StatusConnecting && p.cfg.KeepaliveInterval > 0 {
		fx = append(fx, p.startKeepalive(s.sock))
	}
	if s.readyT != 0 {
		fx = append(fx, effect{Kind: effectCancelReadyTimer, Timer: s.readyT})
	}
	fx = append(fx, effect{Kind: effectAddChannel, Socket: s.sock})
	if p.cfg.BackoffResetAfter <= 0 {
		n.Attempt = 0
		return n, fx
	}
	n.seq++
	n.stable = n.seq
	return n, append(fx, effect{Kind: effectStartStableTimer, Socket: s.sock, Timer: n.stable, After: p.cfg.BackoffResetAfter})
}

// live reports whether sock is the socket the state holds (connecting,
// connected or ready).
func (s State) live(sock uint64) bool {
	return sock != 0 && sock == s.sock &&
		(s.Status == StatusConnecting || s.Status == StatusConnected || s.Status == StatusReady)
}

// open reports whether sock is the state's socket and it is open.
func (s State) open(sock uint64) bool {
	return sock != 0 && sock == s.sock && (s.Status == StatusConnected || s.Status == StatusReady)
}

func (p *program) startKeepalive(sock uint64) effect {
	return effect{Kind: effectStartKeepalive, Socket: sock, After: p.cfg.KeepaliveInterval}
}

func closeEffect(sock uint64, reason string) effect {
	return effect{Kind: effectCloseSocket, Socket: sock, Code: closeNormal, Reason: reason}
}

// dial enters connecting with a fresh socket for attempt a.
func (p *program) dial(s State, a int) (State, []effect) {
	n := State{Status: StatusConnecting, Attempt: a, seq: s.seq + 1}
	n.sock = n.seq
	return n, []effect{{Kind: effectDial, Socket: n.sock, Attempt: a}}
}

// release appends the effects that free everything s holds, in a fixed
// order: keepalive, pong deadline, ready deadline or backoff-reset timer,
// channel, socket (with closeFx), reconnect timer.
func (p *program) release(s State, fx []effect, closeFx effect) []effect {
	switch s.Status {
	case StatusConnected, StatusReady:
		if p.cfg.KeepaliveInterval > 0 {
			fx = append(fx, effect{Kind: effectStopKeepalive, Socket: s.sock})
		}
		if s.pong != 0 {
			fx = append(fx, effect{Kind: effectCancelPongTimer, Timer: s.pong})
		}
		if s.readyT != 0 {
			fx = append(fx, effect{Kind: effectCancelReadyTimer, Timer: s.readyT})
		}
		if s.stable != 0 {
			fx = append(fx, effect{Kind: effectCancelStableTimer, Timer: s.stable})
		}
		if s.Status == StatusReady {
			fx = append(fx, effect{Kind: effectRemoveChannel, Socket: s.sock})
		}
	}
	switch s.Status {
	case StatusConnecting, StatusConnected, StatusReady:
		fx = append(fx, closeFx)
	case StatusReconnecting:
		fx = append(fx, effect{Kind: effectCancelReconnectTimer, Timer: s.timer})
	}
	return fx
}

// disconnected returns the disconnected state that keeps s's id counter.
func disconnected(s State, r *DisconnectReason) State {
	return State{Status: StatusDisconnected, Reason: r, seq: s.seq}
}

// fail handles the loss of the current socket (connecting, connected or
// ready) for reason r: release everything, then stop for good or schedule
// the next attempt. An attempt counts as failed until "ready" arrived and,
// with BackoffResetAfter, until the connection has stayed ready that long;
// losing a stable connection restarts the count.
//
// r is passed by value and only copied to the heap when the client ends up
// disconnected, so a reconnect step allocates nothing but its effects.
func (p *program) fail(s State, r DisconnectReason, closeFx effect) (State, []effect) {
	fx := p.release(s, make([]effect, 0, 6), closeFx)
	if permanent(r.Reason) {
		return disconnected(s, onHeap(r)), fx
	}
	attempt, delay, ok := p.cfg.Reconnect.Next(s.Attempt, p.cfg.Rand) // s.Attempt is 0 when stable
	switch {
	case !ok && p.cfg.Reconnect.MaxAttempts == 0: // retries disabled: the failure itself is the reason
		return disconnected(s, onHeap(r)), fx
	case !ok:
		return disconnected(s, &DisconnectReason{Reason: reasonMaxRetries, Attempts: attempt, Err: onHeap(r)}), fx
	}
	n := State{Status: StatusReconnecting, Attempt: attempt, Delay: delay, seq: s.seq + 1}
	n.timer = n.seq
	return n, append(fx, effect{Kind: effectStartReconnectTimer, Timer: n.timer, After: delay})
}

// onHeap copies r to the heap. Taking &r inside fail instead would move r to
// the heap on every call.
func onHeap(r DisconnectReason) *DisconnectReason { return &r }
