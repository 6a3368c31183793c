package client

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/machine"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

var _ machine.Program[clientMsg, State, effect] = (*program)(nil)

// The reference's test setup: r = 0, base 1 s, max 30 s, 10 attempts,
// additive jitter (so every delay is exact), keepalive 30 s, pong 10 s.
func testConfig() programConfig {
	return programConfig{
		Reconnect:         backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 10, Jitter: backoff.JitterAdditive},
		KeepaliveInterval: 30 * time.Second,
		PongTimeout:       10 * time.Second,
	}
}

func withMaxAttempts(n int) func(*programConfig) {
	return func(c *programConfig) { c.Reconnect.MaxAttempts = n }
}

func noKeepalive(c *programConfig) { c.KeepaliveInterval = 0 }
func noPong(c *programConfig)      { c.PongTimeout = 0 }

// The service options the reference lacks: a ready deadline of 10 s and a
// backoff that only restarts after 30 s of being ready.
func readyDeadline(c *programConfig) { c.ReadyTimeout = 10 * time.Second }
func resetAfter(c *programConfig)    { c.BackoffResetAfter = 30 * time.Second }

var errDial = errors.New("dial tcp: connection refused")

// Canonical states. Socket/timer ids are chosen so that every id a
// transition mints is visible in the expected value.
var (
	sD0   = State{}
	sDr   = State{Status: StatusDisconnected, Reason: &DisconnectReason{Reason: reasonClosed, CloseCode: 1000}, seq: 7}
	sC1   = State{Status: StatusConnecting, Attempt: 1, sock: 8, seq: 8}
	sC3   = State{Status: StatusConnecting, Attempt: 3, sock: 8, seq: 8}
	sC10  = State{Status: StatusConnecting, Attempt: 10, sock: 8, seq: 8}
	sO1   = State{Status: StatusConnected, Attempt: 1, sock: 8, seq: 8}
	sO1p  = State{Status: StatusConnected, Attempt: 1, sock: 8, pong: 9, seq: 9}
	sO10  = State{Status: StatusConnected, Attempt: 10, sock: 8, seq: 8}
	sR    = State{Status: StatusReady, sock: 8, seq: 8}
	sRp   = State{Status: StatusReady, sock: 8, pong: 9, seq: 9}
	sRC2  = State{Status: StatusReconnecting, Attempt: 2, Delay: 2 * time.Second, timer: 8, seq: 8}
	stale = uint64(5) // an id that is never current in the canonical states

	// With a ready deadline (9) while connected, and a backoff-reset timer
	// (9) while ready on attempt 3 and not yet stable.
	sO1t   = State{Status: StatusConnected, Attempt: 1, sock: 8, readyT: 9, seq: 9}
	sO1tp  = State{Status: StatusConnected, Attempt: 1, sock: 8, readyT: 9, pong: 10, seq: 10}
	sO10t  = State{Status: StatusConnected, Attempt: 10, sock: 8, readyT: 9, seq: 9}
	sR3s   = State{Status: StatusReady, Attempt: 3, sock: 8, stable: 9, seq: 9}
	sR3sp  = State{Status: StatusReady, Attempt: 3, sock: 8, stable: 9, pong: 10, seq: 10}
	sCHuge = State{Status: StatusConnecting, Attempt: 1_000_000, sock: 8, seq: 8}
)

func dIntentional(seq uint64) State {
	return State{Status: StatusDisconnected, Reason: &DisconnectReason{Reason: reasonIntentional}, seq: seq}
}

func dReason(seq uint64, r *DisconnectReason) State {
	return State{Status: StatusDisconnected, Reason: r, seq: seq}
}

func rc(attempt int, d time.Duration, timer uint64) State {
	return State{Status: StatusReconnecting, Attempt: attempt, Delay: d, timer: timer, seq: timer}
}

// Effect constructors.
func fDial(sock uint64, a int) effect { return effect{Kind: effectDial, Socket: sock, Attempt: a} }
func fClose(sock uint64) effect       { return closeEffect(sock, reasonClientDisconnecting) }
func fClosePong(sock uint64) effect   { return closeEffect(sock, closeReasonPongTimeout) }
func fStartKA(sock uint64) effect {
	return effect{Kind: effectStartKeepalive, Socket: sock, After: 30 * time.Second}
}
func fStopKA(sock uint64) effect { return effect{Kind: effectStopKeepalive, Socket: sock} }
func fPing(sock uint64) effect   { return effect{Kind: effectSendPing, Socket: sock} }
func fStartPong(sock, id uint64) effect {
	return effect{Kind: effectStartPongTimer, Socket: sock, Timer: id, After: 10 * time.Second}
}
func fCancelPong(id uint64) effect { return effect{Kind: effectCancelPongTimer, Timer: id} }
func fStartRC(id uint64, d time.Duration) effect {
	return effect{Kind: effectStartReconnectTimer, Timer: id, After: d}
}
func fCancelRC(id uint64) effect     { return effect{Kind: effectCancelReconnectTimer, Timer: id} }
func fCloseReady(sock uint64) effect { return closeEffect(sock, closeReasonReadyTimeout) }
func fStartReady(sock, id uint64) effect {
	return effect{Kind: effectStartReadyTimer, Socket: sock, Timer: id, After: 10 * time.Second}
}
func fCancelReady(id uint64) effect { return effect{Kind: effectCancelReadyTimer, Timer: id} }
func fStartStable(sock, id uint64) effect {
	return effect{Kind: effectStartStableTimer, Socket: sock, Timer: id, After: 30 * time.Second}
}
func fCancelStable(id uint64) effect      { return effect{Kind: effectCancelStableTimer, Timer: id} }
func fAdd(sock uint64) effect             { return effect{Kind: effectAddChannel, Socket: sock} }
func fRemove(sock uint64) effect          { return effect{Kind: effectRemoveChannel, Socket: sock} }
func fBarrier(id uint64) effect           { return effect{Kind: effectBarrier, Timer: id} }
func fx(e ...effect) []effect             { return e }
func closed(code int, r string) clientMsg { return msgSocketClosed{Socket: 8, Code: code, Reason: r} }
func closedBy(code int, r string) *DisconnectReason {
	return &DisconnectReason{Reason: reasonClosed, CloseCode: code, CloseReason: r}
}
func reasonErr() *DisconnectReason { return &DisconnectReason{Reason: reasonError, Err: errDial} }

type cell struct {
	name    string
	cfg     []func(*programConfig)
	from    State
	msg     clientMsg
	noop    bool // expect the identical state and no effects
	to      State
	effects []effect
}

// allMsgs lists one instance of every message, aimed at the canonical
// states' current socket (8) and timers (8 for reconnect, 9 for pong).
var allMsgs = []struct {
	name string
	msg  clientMsg
}{
	{"start", msgStart{}},
	{"stop", msgStop{}},
	{"barrier", msgBarrier{ID: 77}},
	{"socket-opened", msgSocketOpened{Socket: 8}},
	{"server-ready", msgServerReady{Socket: 8}},
	{"socket-closed", closed(1001, "bye")},
	{"socket-error", msgSocketError{Socket: 8, Err: errDial}},
	{"reconnect-timer-fired", msgReconnectTimer{Timer: 8}},
	{"keepalive-tick", msgKeepaliveTick{Socket: 8}},
	{"pong-received", msgPongReceived{Socket: 8}},
	{"pong-timeout", msgPongTimeout{Timer: 9}},
	{"ready-timeout", msgReadyTimeout{Timer: 9}},
	{"ready-stable", msgReadyStable{Timer: 9}},
}

// cells is the full table: every state × message, then the variants
// (reconnect disabled, at the limit, keepalive/pong disabled, stale ids,
// non-retryable outcomes).
func cells() []cell {
	var cs []cell
	add := func(c cell) { cs = append(cs, c) }

	// ---- disconnected (initial and with a reason): only start acts.
	add(cell{name: "D/start", from: sD0, msg: msgStart{}, to: State{Status: StatusConnecting, Attempt: 1, sock: 1, seq: 1}, effects: fx(fDial(1, 1))})
	add(cell{name: "D(reason)/start restarts with fresh ids", from: sDr, msg: msgStart{}, to: State{Status: StatusConnecting, Attempt: 1, sock: 8, seq: 8}, effects: fx(fDial(8, 1))})
	add(cell{name: "D/barrier", from: sD0, msg: msgBarrier{ID: 77}, to: sD0, effects: fx(fBarrier(77))})
	for _, m := range allMsgs {
		if m.name == "start" || m.name == "barrier" {
			continue
		}
		add(cell{name: "D/" + m.name, from: sD0, msg: m.msg, noop: true})
		add(cell{name: "D(reason)/" + m.name, from: sDr, msg: m.msg, noop: true})
	}

	// ---- connecting(1), socket 8.
	add(cell{name: "C/start", from: sC1, msg: msgStart{}, noop: true})
	add(cell{name: "C/stop", from: sC1, msg: msgStop{}, to: dIntentional(8), effects: fx(fClose(8))})
	add(cell{name: "C/barrier", from: sC1, msg: msgBarrier{ID: 77}, to: sC1, effects: fx(fBarrier(77))})
	add(cell{name: "C/socket-opened", from: sC1, msg: msgSocketOpened{Socket: 8}, to: State{Status: StatusConnected, Attempt: 1, sock: 8, seq: 8}, effects: fx(fStartKA(8))})
	add(cell{name: "C/server-ready (race)", from: sC1, msg: msgServerReady{Socket: 8}, to: sR, effects: fx(fStartKA(8), fAdd(8))})
	add(cell{name: "C/socket-closed counts as failed attempt", from: sC1, msg: closed(1001, "bye"), to: rc(2, 2*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "C/socket-error", from: sC1, msg: msgSocketError{Socket: 8, Err: errDial}, to: rc(2, 2*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "C/reconnect-timer-fired", from: sC1, msg: msgReconnectTimer{Timer: 8}, noop: true})
	add(cell{name: "C/keepalive-tick", from: sC1, msg: msgKeepaliveTick{Socket: 8}, noop: true})
	add(cell{name: "C/pong-received", from: sC1, msg: msgPongReceived{Socket: 8}, noop: true})
	add(cell{name: "C/pong-timeout", from: sC1, msg: msgPongTimeout{Timer: 8}, noop: true})

	// ---- connected(1), socket 8, no ping outstanding.
	add(cell{name: "O/start", from: sO1, msg: msgStart{}, noop: true})
	add(cell{name: "O/stop", from: sO1, msg: msgStop{}, to: dIntentional(8), effects: fx(fStopKA(8), fClose(8))})
	add(cell{name: "O/barrier", from: sO1, msg: msgBarrier{ID: 77}, to: sO1, effects: fx(fBarrier(77))})
	add(cell{name: "O/socket-opened", from: sO1, msg: msgSocketOpened{Socket: 8}, noop: true})
	add(cell{name: "O/server-ready", from: sO1, msg: msgServerReady{Socket: 8}, to: sR, effects: fx(fAdd(8))})
	add(cell{name: "O/socket-closed before ready counts as failed attempt (W3)", from: sO1, msg: closed(1001, "bye"), to: rc(2, 2*time.Second, 9), effects: fx(fStopKA(8), fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "O/socket-error", from: sO1, msg: msgSocketError{Socket: 8, Err: errDial}, to: rc(2, 2*time.Second, 9), effects: fx(fStopKA(8), fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "O/reconnect-timer-fired", from: sO1, msg: msgReconnectTimer{Timer: 8}, noop: true})
	add(cell{name: "O/keepalive-tick", from: sO1, msg: msgKeepaliveTick{Socket: 8}, to: sO1p, effects: fx(fPing(8), fStartPong(8, 9))})
	add(cell{name: "O/pong-received without ping", from: sO1, msg: msgPongReceived{Socket: 8}, noop: true})
	add(cell{name: "O/pong-timeout without ping", from: sO1, msg: msgPongTimeout{Timer: 9}, noop: true})

	// ---- connected with a ping outstanding (pong deadline 9).
	add(cell{name: "O(ping)/stop", from: sO1p, msg: msgStop{}, to: dIntentional(9), effects: fx(fStopKA(8), fCancelPong(9), fClose(8))})
	add(cell{name: "O(ping)/server-ready keeps deadline", from: sO1p, msg: msgServerReady{Socket: 8}, to: sRp, effects: fx(fAdd(8))})
	add(cell{name: "O(ping)/keepalive-tick pings without new deadline", from: sO1p, msg: msgKeepaliveTick{Socket: 8}, to: sO1p, effects: fx(fPing(8))})
	add(cell{name: "O(ping)/pong-received", from: sO1p, msg: msgPongReceived{Socket: 8}, to: State{Status: StatusConnected, Attempt: 1, sock: 8, seq: 9}, effects: fx(fCancelPong(9))})
	add(cell{name: "O(ping)/pong-timeout (W5)", from: sO1p, msg: msgPongTimeout{Timer: 9}, to: rc(2, 2*time.Second, 10), effects: fx(fStopKA(8), fClosePong(8), fStartRC(10, 2*time.Second))})
	add(cell{name: "O(ping)/socket-closed", from: sO1p, msg: closed(1001, "bye"), to: rc(2, 2*time.Second, 10), effects: fx(fStopKA(8), fCancelPong(9), fClose(8), fStartRC(10, 2*time.Second))})

	// ---- ready, socket 8.
	add(cell{name: "R/start", from: sR, msg: msgStart{}, noop: true})
	add(cell{name: "R/stop", from: sR, msg: msgStop{}, to: dIntentional(8), effects: fx(fStopKA(8), fRemove(8), fClose(8))})
	add(cell{name: "R/barrier", from: sR, msg: msgBarrier{ID: 77}, to: sR, effects: fx(fBarrier(77))})
	add(cell{name: "R/socket-opened", from: sR, msg: msgSocketOpened{Socket: 8}, noop: true})
	add(cell{name: "R/server-ready duplicate", from: sR, msg: msgServerReady{Socket: 8}, noop: true})
	add(cell{name: "R/socket-closed restarts the count", from: sR, msg: closed(1001, "bye"), to: rc(1, time.Second, 9), effects: fx(fStopKA(8), fRemove(8), fClose(8), fStartRC(9, time.Second))})
	add(cell{name: "R/socket-error", from: sR, msg: msgSocketError{Socket: 8, Err: errDial}, to: rc(1, time.Second, 9), effects: fx(fStopKA(8), fRemove(8), fClose(8), fStartRC(9, time.Second))})
	add(cell{name: "R/reconnect-timer-fired", from: sR, msg: msgReconnectTimer{Timer: 8}, noop: true})
	add(cell{name: "R/keepalive-tick", from: sR, msg: msgKeepaliveTick{Socket: 8}, to: sRp, effects: fx(fPing(8), fStartPong(8, 9))})
	add(cell{name: "R/pong-received without ping", from: sR, msg: msgPongReceived{Socket: 8}, noop: true})
	add(cell{name: "R/pong-timeout without ping", from: sR, msg: msgPongTimeout{Timer: 9}, noop: true})

	// ---- ready with a ping outstanding.
	add(cell{name: "R(ping)/stop", from: sRp, msg: msgStop{}, to: dIntentional(9), effects: fx(fStopKA(8), fCancelPong(9), fRemove(8), fClose(8))})
	add(cell{name: "R(ping)/keepalive-tick", from: sRp, msg: msgKeepaliveTick{Socket: 8}, to: sRp, effects: fx(fPing(8))})
	add(cell{name: "R(ping)/pong-received", from: sRp, msg: msgPongReceived{Socket: 8}, to: State{Status: StatusReady, sock: 8, seq: 9}, effects: fx(fCancelPong(9))})
	add(cell{name: "R(ping)/pong-timeout (W5)", from: sRp, msg: msgPongTimeout{Timer: 9}, to: rc(1, time.Second, 10), effects: fx(fStopKA(8), fRemove(8), fClosePong(8), fStartRC(10, time.Second))})
	add(cell{name: "R(ping)/socket-closed", from: sRp, msg: closed(1001, "bye"), to: rc(1, time.Second, 10), effects: fx(fStopKA(8), fCancelPong(9), fRemove(8), fClose(8), fStartRC(10, time.Second))})

	// ---- reconnecting(2, 2 s), timer 8.
	add(cell{name: "RC/start does not short-circuit", from: sRC2, msg: msgStart{}, noop: true})
	add(cell{name: "RC/stop", from: sRC2, msg: msgStop{}, to: dIntentional(8), effects: fx(fCancelRC(8))})
	add(cell{name: "RC/barrier", from: sRC2, msg: msgBarrier{ID: 77}, to: sRC2, effects: fx(fBarrier(77))})
	add(cell{name: "RC/reconnect-timer-fired", from: sRC2, msg: msgReconnectTimer{Timer: 8}, to: State{Status: StatusConnecting, Attempt: 2, sock: 9, seq: 9}, effects: fx(fDial(9, 2))})
	for _, m := range allMsgs {
		switch m.name {
		case "start", "stop", "barrier", "reconnect-timer-fired":
			continue
		}
		add(cell{name: "RC/" + m.name, from: sRC2, msg: m.msg, noop: true})
	}
	// A socket id of 0 never matches the "no socket" of reconnecting.
	add(cell{name: "RC/server-ready socket 0", from: sRC2, msg: msgServerReady{}, noop: true})

	// ---- stale ids: events of an abandoned socket or a cancelled timer (W2).
	for _, st := range []struct {
		name string
		s    State
	}{{"C", sC1}, {"O", sO1p}, {"R", sRp}} {
		add(cell{name: st.name + "/stale socket-opened", from: st.s, msg: msgSocketOpened{Socket: stale}, noop: true})
		add(cell{name: st.name + "/stale server-ready", from: st.s, msg: msgServerReady{Socket: stale}, noop: true})
		add(cell{name: st.name + "/stale socket-closed", from: st.s, msg: msgSocketClosed{Socket: stale, Code: 1000}, noop: true})
		add(cell{name: st.name + "/stale socket-error", from: st.s, msg: msgSocketError{Socket: stale, Err: errDial}, noop: true})
		add(cell{name: st.name + "/stale keepalive-tick", from: st.s, msg: msgKeepaliveTick{Socket: stale}, noop: true})
		add(cell{name: st.name + "/stale pong-received", from: st.s, msg: msgPongReceived{Socket: stale}, noop: true})
		add(cell{name: st.name + "/stale pong-timeout", from: st.s, msg: msgPongTimeout{Timer: stale}, noop: true})
	}
	add(cell{name: "RC/stale reconnect-timer-fired", from: sRC2, msg: msgReconnectTimer{Timer: stale}, noop: true})

	// ---- reconnect disabled (MaxAttempts 0): the original reason, no timer.
	off := []func(*programConfig){withMaxAttempts(0)}
	add(cell{name: "disabled/C socket-error", cfg: off, from: sC1, msg: msgSocketError{Socket: 8, Err: errDial}, to: dReason(8, reasonErr()), effects: fx(fClose(8))})
	add(cell{name: "disabled/C socket-closed", cfg: off, from: sC1, msg: closed(1001, "bye"), to: dReason(8, closedBy(1001, "bye")), effects: fx(fClose(8))})
	add(cell{name: "disabled/O socket-error", cfg: off, from: sO1, msg: msgSocketError{Socket: 8, Err: errDial}, to: dReason(8, reasonErr()), effects: fx(fStopKA(8), fClose(8))})
	add(cell{name: "disabled/O socket-closed", cfg: off, from: sO1, msg: closed(1001, "bye"), to: dReason(8, closedBy(1001, "bye")), effects: fx(fStopKA(8), fClose(8))})
	add(cell{name: "disabled/R socket-error", cfg: off, from: sR, msg: msgSocketError{Socket: 8, Err: errDial}, to: dReason(8, reasonErr()), effects: fx(fStopKA(8), fRemove(8), fClose(8))})
	add(cell{name: "disabled/R socket-closed", cfg: off, from: sR, msg: closed(1001, "bye"), to: dReason(8, closedBy(1001, "bye")), effects: fx(fStopKA(8), fRemove(8), fClose(8))})
	add(cell{name: "disabled/R pong-timeout", cfg: off, from: sRp, msg: msgPongTimeout{Timer: 9}, to: dReason(9, &DisconnectReason{Reason: reasonPongTimeout}), effects: fx(fStopKA(8), fRemove(8), fClosePong(8))})

	// ---- at the limit.
	three := []func(*programConfig){withMaxAttempts(3)}
	add(cell{name: "limit/C(3) socket-error", cfg: three, from: sC3, msg: msgSocketError{Socket: 8, Err: errDial}, to: dReason(8, &DisconnectReason{Reason: reasonMaxRetries, Attempts: 3, Err: reasonErr()}), effects: fx(fClose(8))})
	add(cell{name: "limit/C(10) socket-closed", from: sC10, msg: closed(1001, "bye"), to: dReason(8, &DisconnectReason{Reason: reasonMaxRetries, Attempts: 10, Err: closedBy(1001, "bye")}), effects: fx(fClose(8))})
	add(cell{name: "limit/O(10) socket-closed (W3)", from: sO10, msg: closed(1001, "bye"), to: dReason(8, &DisconnectReason{Reason: reasonMaxRetries, Attempts: 10, Err: closedBy(1001, "bye")}), effects: fx(fStopKA(8), fClose(8))})
	add(cell{name: "limit/C(3) below limit of 10", from: sC3, msg: msgSocketError{Socket: 8, Err: errDial}, to: rc(4, 8*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 8*time.Second))})
	add(cell{name: "limit/R never exceeds (count restarts)", cfg: []func(*programConfig){withMaxAttempts(1)}, from: sR, msg: closed(1001, "bye"), to: rc(1, time.Second, 9), effects: fx(fStopKA(8), fRemove(8), fClose(8), fStartRC(9, time.Second))})

	// ---- non-retryable outcomes (W6): stop at once, whatever the policy.
	add(cell{name: "permanent/C HTTP 401", from: sC1, msg: msgSocketError{Socket: 8, Err: errDial, HTTPStatus: 401}, to: dReason(8, &DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 401, Err: errDial}), effects: fx(fClose(8))})
	add(cell{name: "permanent/C HTTP 403", from: sC1, msg: msgSocketError{Socket: 8, Err: errDial, HTTPStatus: 403}, to: dReason(8, &DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 403, Err: errDial}), effects: fx(fClose(8))})
	add(cell{name: "permanent/C HTTP 503 is retried", from: sC1, msg: msgSocketError{Socket: 8, Err: errDial, HTTPStatus: 503}, to: rc(2, 2*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "permanent/C config error", from: sC1, msg: msgSocketError{Socket: 8, Err: errDial, Config: true}, to: dReason(8, &DisconnectReason{Reason: reasonInvalidConfig, Err: errDial}), effects: fx(fClose(8))})
	add(cell{name: "permanent/C close 1008", from: sC1, msg: closed(1008, "auth"), to: dReason(8, &DisconnectReason{Reason: reasonPolicyViolation, CloseCode: 1008, CloseReason: "auth"}), effects: fx(fClose(8))})
	add(cell{name: "permanent/O close 1008", from: sO1p, msg: closed(1008, "auth"), to: dReason(9, &DisconnectReason{Reason: reasonPolicyViolation, CloseCode: 1008, CloseReason: "auth"}), effects: fx(fStopKA(8), fCancelPong(9), fClose(8))})
	add(cell{name: "permanent/R close 1008", from: sR, msg: closed(1008, "auth"), to: dReason(8, &DisconnectReason{Reason: reasonPolicyViolation, CloseCode: 1008, CloseReason: "auth"}), effects: fx(fStopKA(8), fRemove(8), fClose(8))})
	add(cell{name: "permanent/R config error", from: sR, msg: msgSocketError{Socket: 8, Err: errDial, Config: true}, to: dReason(8, &DisconnectReason{Reason: reasonInvalidConfig, Err: errDial}), effects: fx(fStopKA(8), fRemove(8), fClose(8))})
	add(cell{name: "R close 1001 is retried", from: sR, msg: closed(1001, "going away"), to: rc(1, time.Second, 9), effects: fx(fStopKA(8), fRemove(8), fClose(8), fStartRC(9, time.Second))})

	// ---- keepalive disabled: no keepalive effects, ticks ignored.
	noKA := []func(*programConfig){noKeepalive}
	add(cell{name: "no-keepalive/C socket-opened", cfg: noKA, from: sC1, msg: msgSocketOpened{Socket: 8}, to: State{Status: StatusConnected, Attempt: 1, sock: 8, seq: 8}})
	add(cell{name: "no-keepalive/C server-ready", cfg: noKA, from: sC1, msg: msgServerReady{Socket: 8}, to: sR, effects: fx(fAdd(8))})
	add(cell{name: "no-keepalive/O keepalive-tick", cfg: noKA, from: sO1, msg: msgKeepaliveTick{Socket: 8}, noop: true})
	add(cell{name: "no-keepalive/O stop", cfg: noKA, from: sO1, msg: msgStop{}, to: dIntentional(8), effects: fx(fClose(8))})
	add(cell{name: "no-keepalive/R socket-closed", cfg: noKA, from: sR, msg: closed(1001, "bye"), to: rc(1, time.Second, 9), effects: fx(fRemove(8), fClose(8), fStartRC(9, time.Second))})

	// ---- pong deadline disabled: ping only.
	add(cell{name: "no-pong/R keepalive-tick", cfg: []func(*programConfig){noPong}, from: sR, msg: msgKeepaliveTick{Socket: 8}, to: sR, effects: fx(fPing(8))})

	// ---- ready deadline and backoff reset: nothing to act on outside
	// their states (or with the features off, as in the reference).
	add(cell{name: "C/ready-timeout", from: sC1, msg: msgReadyTimeout{Timer: 9}, noop: true})
	add(cell{name: "C/ready-stable", from: sC1, msg: msgReadyStable{Timer: 9}, noop: true})
	add(cell{name: "O/ready-timeout without deadline", from: sO1p, msg: msgReadyTimeout{Timer: 9}, noop: true})
	add(cell{name: "O/ready-stable", from: sO1, msg: msgReadyStable{Timer: 9}, noop: true})
	add(cell{name: "R/ready-timeout", from: sRp, msg: msgReadyTimeout{Timer: 9}, noop: true})
	add(cell{name: "R/ready-stable without timer", from: sRp, msg: msgReadyStable{Timer: 9}, noop: true})

	svc := []func(*programConfig){readyDeadline, resetAfter}
	// Arming.
	add(cell{name: "svc/C socket-opened arms the ready deadline", cfg: svc, from: sC1, msg: msgSocketOpened{Socket: 8}, to: sO1t, effects: fx(fStartKA(8), fStartReady(8, 9))})
	add(cell{name: "svc/no-keepalive C socket-opened", cfg: append(svc, noKeepalive), from: sC1, msg: msgSocketOpened{Socket: 8}, to: sO1t, effects: fx(fStartReady(8, 9))})
	add(cell{name: "svc/C server-ready (race) arms the backoff reset", cfg: svc, from: sC3, msg: msgServerReady{Socket: 8}, to: sR3s, effects: fx(fStartKA(8), fAdd(8), fStartStable(8, 9))})
	add(cell{name: "svc/O server-ready cancels the deadline, keeps the attempt", cfg: svc, from: sO1t, msg: msgServerReady{Socket: 8},
		to: State{Status: StatusReady, Attempt: 1, sock: 8, stable: 10, seq: 10}, effects: fx(fCancelReady(9), fAdd(8), fStartStable(8, 10))})
	add(cell{name: "svc/O(ping) server-ready keeps the pong deadline", cfg: svc, from: sO1tp, msg: msgServerReady{Socket: 8},
		to: State{Status: StatusReady, Attempt: 1, sock: 8, pong: 10, stable: 11, seq: 11}, effects: fx(fCancelReady(9), fAdd(8), fStartStable(8, 11))})
	add(cell{name: "deadline-only/O server-ready restarts the count at once", cfg: []func(*programConfig){readyDeadline}, from: sO1t, msg: msgServerReady{Socket: 8},
		to: State{Status: StatusReady, sock: 8, seq: 9}, effects: fx(fCancelReady(9), fAdd(8))})

	// Connected with a ready deadline.
	add(cell{name: "svc/O ready-timeout is a failed attempt (never-ready)", cfg: svc, from: sO1t, msg: msgReadyTimeout{Timer: 9}, to: rc(2, 2*time.Second, 10), effects: fx(fStopKA(8), fCloseReady(8), fStartRC(10, 2*time.Second))})
	add(cell{name: "svc/O(ping) ready-timeout", cfg: svc, from: sO1tp, msg: msgReadyTimeout{Timer: 9}, to: rc(2, 2*time.Second, 11), effects: fx(fStopKA(8), fCancelPong(10), fCloseReady(8), fStartRC(11, 2*time.Second))})
	add(cell{name: "svc/O stale ready-timeout", cfg: svc, from: sO1t, msg: msgReadyTimeout{Timer: stale}, noop: true})
	add(cell{name: "svc/O ready-stable with the deadline's id", cfg: svc, from: sO1t, msg: msgReadyStable{Timer: 9}, noop: true})
	add(cell{name: "svc/O stop cancels the deadline", cfg: svc, from: sO1t, msg: msgStop{}, to: dIntentional(9), effects: fx(fStopKA(8), fCancelReady(9), fClose(8))})
	add(cell{name: "svc/O socket-closed cancels the deadline", cfg: svc, from: sO1t, msg: closed(1001, "bye"), to: rc(2, 2*time.Second, 10), effects: fx(fStopKA(8), fCancelReady(9), fClose(8), fStartRC(10, 2*time.Second))})
	add(cell{name: "svc/O(ping) pong-timeout", cfg: svc, from: sO1tp, msg: msgPongTimeout{Timer: 10}, to: rc(2, 2*time.Second, 11), effects: fx(fStopKA(8), fCancelReady(9), fClosePong(8), fStartRC(11, 2*time.Second))})
	add(cell{name: "svc/O keepalive-tick", cfg: svc, from: sO1t, msg: msgKeepaliveTick{Socket: 8}, to: sO1tp, effects: fx(fPing(8), fStartPong(8, 10))})
	add(cell{name: "svc/limit O(10) ready-timeout", cfg: svc, from: sO10t, msg: msgReadyTimeout{Timer: 9},
		to: dReason(9, &DisconnectReason{Reason: reasonMaxRetries, Attempts: 10, Err: &DisconnectReason{Reason: reasonReadyTimeout}}), effects: fx(fStopKA(8), fCloseReady(8))})
	add(cell{name: "svc/disabled O ready-timeout", cfg: append(svc, withMaxAttempts(0)), from: sO1t, msg: msgReadyTimeout{Timer: 9},
		to: dReason(9, &DisconnectReason{Reason: reasonReadyTimeout}), effects: fx(fStopKA(8), fCloseReady(8))})

	// Ready on attempt 3, not yet stable.
	add(cell{name: "svc/R ready-stable restarts the count", cfg: svc, from: sR3s, msg: msgReadyStable{Timer: 9}, to: State{Status: StatusReady, sock: 8, seq: 9}})
	add(cell{name: "svc/R(ping) ready-stable keeps the pong deadline", cfg: svc, from: sR3sp, msg: msgReadyStable{Timer: 9}, to: State{Status: StatusReady, sock: 8, pong: 10, seq: 10}})
	add(cell{name: "svc/R stale ready-stable", cfg: svc, from: sR3s, msg: msgReadyStable{Timer: stale}, noop: true})
	add(cell{name: "svc/R ready-timeout with the reset's id", cfg: svc, from: sR3s, msg: msgReadyTimeout{Timer: 9}, noop: true})
	add(cell{name: "svc/R duplicate server-ready", cfg: svc, from: sR3s, msg: msgServerReady{Socket: 8}, noop: true})
	add(cell{name: "svc/R socket-closed before stable escalates (flapping)", cfg: svc, from: sR3s, msg: closed(1011, "crash"),
		to: rc(4, 8*time.Second, 10), effects: fx(fStopKA(8), fCancelStable(9), fRemove(8), fClose(8), fStartRC(10, 8*time.Second))})
	add(cell{name: "svc/R(ping) pong-timeout before stable escalates", cfg: svc, from: sR3sp, msg: msgPongTimeout{Timer: 10},
		to: rc(4, 8*time.Second, 11), effects: fx(fStopKA(8), fCancelStable(9), fRemove(8), fClosePong(8), fStartRC(11, 8*time.Second))})
	add(cell{name: "svc/R stop cancels the reset", cfg: svc, from: sR3s, msg: msgStop{}, to: dIntentional(9), effects: fx(fStopKA(8), fCancelStable(9), fRemove(8), fClose(8))})
	add(cell{name: "svc/R keepalive-tick", cfg: svc, from: sR3s, msg: msgKeepaliveTick{Socket: 8}, to: sR3sp, effects: fx(fPing(8), fStartPong(8, 10))})
	add(cell{name: "svc/limit R(3) before stable gives up", cfg: append(svc, withMaxAttempts(3)), from: sR3s, msg: closed(1011, "crash"),
		to: dReason(9, &DisconnectReason{Reason: reasonMaxRetries, Attempts: 3, Err: closedBy(1011, "crash")}), effects: fx(fStopKA(8), fCancelStable(9), fRemove(8), fClose(8))})
	add(cell{name: "svc/R close 1008 before stable is not retried", cfg: svc, from: sR3s, msg: closed(1008, "auth"),
		to: dReason(9, &DisconnectReason{Reason: reasonPolicyViolation, CloseCode: 1008, CloseReason: "auth"}), effects: fx(fStopKA(8), fCancelStable(9), fRemove(8), fClose(8))})

	// ---- unlimited attempts: never max-retries-exceeded, the delay stays capped.
	forever := []func(*programConfig){withMaxAttempts(backoff.Unlimited)}
	add(cell{name: "unlimited/C(10) socket-error keeps going", cfg: forever, from: sC10, msg: msgSocketError{Socket: 8, Err: errDial}, to: rc(11, 30*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 30*time.Second))})
	add(cell{name: "unlimited/O(10) socket-closed keeps going", cfg: forever, from: sO10, msg: closed(1006, ""), to: rc(11, 30*time.Second, 9), effects: fx(fStopKA(8), fClose(8), fStartRC(9, 30*time.Second))})
	add(cell{name: "unlimited/C(1e6) socket-error, delay capped", cfg: forever, from: sCHuge, msg: msgSocketError{Socket: 8, Err: errDial}, to: rc(1_000_001, 30*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 30*time.Second))})
	add(cell{name: "unlimited/C HTTP 401 still stops", cfg: forever, from: sC10, msg: msgSocketError{Socket: 8, Err: errDial, HTTPStatus: 401}, to: dReason(8, &DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 401, Err: errDial}), effects: fx(fClose(8))})
	return cs
}

func programFor(mods []func(*programConfig)) *program {
	cfg := testConfig()
	for _, m := range mods {
		m(&cfg)
	}
	return newProgram(cfg)
}

func snapshot(s State) (State, DisconnectReason) {
	if s.Reason == nil {
		return s, DisconnectReason{}
	}
	return s, *s.Reason
}

func TestTransitionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range cells() {
		if seen[c.name] {
			t.Fatalf("duplicate row %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			p := programFor(c.cfg)
			before, beforeReason := snapshot(c.from)
			got, effects := p.Update(c.from, c.msg)
			if after, afterReason := snapshot(c.from); after != before || afterReason != beforeReason {
				t.Fatalf("input state mutated")
			}
			if c.noop {
				if got != c.from || len(effects) != 0 {
					t.Fatalf("want identical state and no effects, got %v %v", got, effects)
				}
				return
			}
			if !reflect.DeepEqual(got, c.to) {
				t.Errorf("state:\n got  %#v (reason %+v)\n want %#v (reason %+v)", got, got.Reason, c.to, c.to.Reason)
			}
			if len(effects) != len(c.effects) || (len(effects) > 0 && !reflect.DeepEqual(effects, c.effects)) {
				t.Errorf("effects:\n got  %v\n want %v", effects, c.effects)
			}
		})
	}
}

// Every (status × message type) pair has at least one row.
func TestTransitionTableCoversEveryCell(t *testing.T) {
	type key struct {
		st  Status
		msg string
	}
	covered := map[key]bool{}
	for _, c := range cells() {
		covered[key{c.from.Status, msgName(c.msg)}] = true
	}
	for st := StatusDisconnected; st <= StatusReconnecting; st++ {
		for _, m := range allMsgs {
			if !covered[key{st, m.name}] {
				t.Errorf("no row for %v × %s", st, m.name)
			}
		}
	}
	if want := 5 * len(allMsgs); len(covered) < want {
		t.Errorf("%d cells covered, want all %d", len(covered), want)
	}
}

func msgName(m clientMsg) string {
	for _, x := range allMsgs {
		if reflect.TypeOf(x.msg) == reflect.TypeOf(m) {
			return x.name
		}
	}
	return "?"
}

type step struct {
	msg     clientMsg
	to      string // State.String() expected after the message
	effects string // effects rendered and joined with "; "
}

func runWalk(t *testing.T, p *program, steps []step) State {
	t.Helper()
	s, init := p.Init()
	if s != (State{}) || init != nil {
		t.Fatalf("Init = %v %v", s, init)
	}
	for i, st := range steps {
		var effects []effect
		s, effects = p.Update(s, st.msg)
		names := make([]string, len(effects))
		for j, e := range effects {
			names[j] = e.String()
		}
		if got := s.String(); got != st.to {
			t.Fatalf("step %d (%T): state %s, want %s", i, st.msg, got, st.to)
		}
		if got := strings.Join(names, "; "); got != st.effects {
			t.Fatalf("step %d (%T): effects\n got  %s\n want %s", i, st.msg, got, st.effects)
		}
	}
	return s
}

// §3.3 worked example: additive, r = 0, base 1 s, max 30 s, M = 3, server
// down from the start: three sockets, then max-retries-exceeded.
func TestWalkEscalationToMaxRetries(t *testing.T) {
	p := programFor([]func(*programConfig){withMaxAttempts(3)})
	s := runWalk(t, p, []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgSocketError{Socket: 1, Err: errDial}, "reconnecting(attempt 2, 2s)", `close-socket{socket 1, 1000 "Client disconnecting"}; start-reconnect-timer{timer 2, 2s}`},
		{msgReconnectTimer{Timer: 2}, "connecting(attempt 2)", "dial{socket 3, attempt 2}"},
		{msgSocketError{Socket: 3, Err: errDial}, "reconnecting(attempt 3, 4s)", `close-socket{socket 3, 1000 "Client disconnecting"}; start-reconnect-timer{timer 4, 4s}`},
		{msgReconnectTimer{Timer: 4}, "connecting(attempt 3)", "dial{socket 5, attempt 3}"},
		{msgSocketError{Socket: 5, Err: errDial}, "disconnected(client: max-retries-exceeded after 3 attempts: client: error: dial tcp: connection refused)", `close-socket{socket 5, 1000 "Client disconnecting"}`},
	})
	if !errors.Is(s.Reason, &kyneta.Error{Pkg: "client", Reason: reasonMaxRetries}) || !errors.Is(s.Reason, errDial) || s.Reason.Attempts != 3 {
		t.Fatalf("reason %#v", s.Reason)
	}
}

// The reference's normal walk: start, open, ready, drop, reconnect, open,
// ready, stop.
func TestWalkNormalLifecycle(t *testing.T) {
	runWalk(t, programFor(nil), []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgSocketOpened{Socket: 1}, "connected(attempt 1)", "start-keepalive{socket 1, every 30s}"},
		{msgServerReady{Socket: 1}, "ready", "add-channel{socket 1}"},
		{msgSocketClosed{Socket: 1, Code: 1001, Reason: "restart"}, "reconnecting(attempt 1, 1s)",
			`stop-keepalive{socket 1}; remove-channel{socket 1}; close-socket{socket 1, 1000 "Client disconnecting"}; start-reconnect-timer{timer 2, 1s}`},
		{msgReconnectTimer{Timer: 2}, "connecting(attempt 1)", "dial{socket 3, attempt 1}"},
		{msgSocketOpened{Socket: 3}, "connected(attempt 1)", "start-keepalive{socket 3, every 30s}"},
		{msgServerReady{Socket: 3}, "ready", "add-channel{socket 3}"},
		{msgStop{}, "disconnected(client: stopped)", `stop-keepalive{socket 3}; remove-channel{socket 3}; close-socket{socket 3, 1000 "Client disconnecting"}`},
	})
}

// The race path: "ready" before our own open, then the late open is ignored.
func TestWalkRacePath(t *testing.T) {
	runWalk(t, programFor(nil), []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgServerReady{Socket: 1}, "ready", "start-keepalive{socket 1, every 30s}; add-channel{socket 1}"},
		{msgSocketOpened{Socket: 1}, "ready", ""},
		{msgStop{}, "disconnected(client: stopped)", `stop-keepalive{socket 1}; remove-channel{socket 1}; close-socket{socket 1, 1000 "Client disconnecting"}`},
	})
}

// W3: a server that accepts and closes at once, before "ready", ends in
// max-retries-exceeded instead of retrying forever.
func TestWalkAcceptThenCloseEscalates(t *testing.T) {
	p := programFor([]func(*programConfig){withMaxAttempts(2), noKeepalive})
	runWalk(t, p, []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgSocketOpened{Socket: 1}, "connected(attempt 1)", ""},
		{msgSocketClosed{Socket: 1, Code: 1001, Reason: "draining"}, "reconnecting(attempt 2, 2s)", `close-socket{socket 1, 1000 "Client disconnecting"}; start-reconnect-timer{timer 2, 2s}`},
		{msgReconnectTimer{Timer: 2}, "connecting(attempt 2)", "dial{socket 3, attempt 2}"},
		{msgSocketOpened{Socket: 3}, "connected(attempt 2)", ""},
		{msgSocketClosed{Socket: 3, Code: 1001, Reason: "draining"}, `disconnected(client: max-retries-exceeded after 2 attempts: client: closed: closed by server with 1001 "draining")`, `close-socket{socket 3, 1000 "Client disconnecting"}`},
	})
}

// W2 + W1/W9: stop while connecting, restart at once; the abandoned
// socket's late error must not touch the new attempt. Restart after a
// terminal outcome works too.
func TestWalkStaleSocketAfterRestart(t *testing.T) {
	runWalk(t, programFor(nil), []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgStop{}, "disconnected(client: stopped)", `close-socket{socket 1, 1000 "Client disconnecting"}`},
		{msgStart{}, "connecting(attempt 1)", "dial{socket 2, attempt 1}"},
		{msgSocketError{Socket: 1, Err: errDial}, "connecting(attempt 1)", ""},
		{msgServerReady{Socket: 1}, "connecting(attempt 1)", ""},
		{msgSocketError{Socket: 2, Err: errDial, HTTPStatus: 401}, "disconnected(client: unauthorized: refused with HTTP 401)", `close-socket{socket 2, 1000 "Client disconnecting"}`},
		{msgStart{}, "connecting(attempt 1)", "dial{socket 3, attempt 1}"},
		{msgSocketOpened{Socket: 3}, "connected(attempt 1)", "start-keepalive{socket 3, every 30s}"},
	})
}

// W5: a silent connection is given up after the pong timeout; a pong in
// time keeps it.
func TestWalkPongDeadline(t *testing.T) {
	runWalk(t, programFor(nil), []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgSocketOpened{Socket: 1}, "connected(attempt 1)", "start-keepalive{socket 1, every 30s}"},
		{msgServerReady{Socket: 1}, "ready", "add-channel{socket 1}"},
		{msgKeepaliveTick{Socket: 1}, "ready", "send-ping{socket 1}; start-pong-timer{socket 1, timer 2, 10s}"},
		{msgPongReceived{Socket: 1}, "ready", "cancel-pong-timer{2}"},
		{msgPongTimeout{Timer: 2}, "ready", ""}, // raced with the pong: stale
		{msgKeepaliveTick{Socket: 1}, "ready", "send-ping{socket 1}; start-pong-timer{socket 1, timer 3, 10s}"},
		{msgPongTimeout{Timer: 3}, "reconnecting(attempt 1, 1s)", `stop-keepalive{socket 1}; remove-channel{socket 1}; close-socket{socket 1, 1000 "Pong timeout"}; start-reconnect-timer{timer 4, 1s}`},
	})
}

// A server that accepts but never says "ready": each attempt ends at the
// ready deadline, and the backoff grows like for refused dials, without
// ever giving up under the default (unlimited) policy.
func TestWalkNeverReady(t *testing.T) {
	p := programFor([]func(*programConfig){withMaxAttempts(backoff.Unlimited), noKeepalive, readyDeadline, resetAfter})
	runWalk(t, p, []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgSocketOpened{Socket: 1}, "connected(attempt 1)", "start-ready-timer{socket 1, timer 2, 10s}"},
		{msgReadyTimeout{Timer: 2}, "reconnecting(attempt 2, 2s)", `close-socket{socket 1, 1000 "Ready timeout"}; start-reconnect-timer{timer 3, 2s}`},
		{msgReconnectTimer{Timer: 3}, "connecting(attempt 2)", "dial{socket 4, attempt 2}"},
		{msgSocketOpened{Socket: 4}, "connected(attempt 2)", "start-ready-timer{socket 4, timer 5, 10s}"},
		{msgReadyTimeout{Timer: 5}, "reconnecting(attempt 3, 4s)", `close-socket{socket 4, 1000 "Ready timeout"}; start-reconnect-timer{timer 6, 4s}`},
		{msgReconnectTimer{Timer: 6}, "connecting(attempt 3)", "dial{socket 7, attempt 3}"},
		{msgSocketOpened{Socket: 7}, "connected(attempt 3)", "start-ready-timer{socket 7, timer 8, 10s}"},
		{msgReadyTimeout{Timer: 2}, "connected(attempt 3)", ""}, // an old deadline
		{msgServerReady{Socket: 7}, "ready(attempt 3)", "cancel-ready-timer{8}; add-channel{socket 7}; start-stable-timer{socket 7, timer 9, 30s}"},
		{msgReadyTimeout{Timer: 8}, "ready(attempt 3)", ""}, // raced with "ready": stale
	})
}

// A server that says "ready" and drops the connection at once (flapping):
// the attempt count is not restarted by "ready", so the intervals grow;
// a connection that stays ready for BackoffResetAfter starts over.
func TestWalkFlappingServerBacksOff(t *testing.T) {
	p := programFor([]func(*programConfig){withMaxAttempts(backoff.Unlimited), noKeepalive, readyDeadline, resetAfter})
	s := runWalk(t, p, []step{
		{msgStart{}, "connecting(attempt 1)", "dial{socket 1, attempt 1}"},
		{msgSocketOpened{Socket: 1}, "connected(attempt 1)", "start-ready-timer{socket 1, timer 2, 10s}"},
		{msgServerReady{Socket: 1}, "ready(attempt 1)", "cancel-ready-timer{2}; add-channel{socket 1}; start-stable-timer{socket 1, timer 3, 30s}"},
		{msgSocketClosed{Socket: 1, Code: 1011, Reason: "crash"}, "reconnecting(attempt 2, 2s)",
			`cancel-stable-timer{3}; remove-channel{socket 1}; close-socket{socket 1, 1000 "Client disconnecting"}; start-reconnect-timer{timer 4, 2s}`},
		{msgReconnectTimer{Timer: 4}, "connecting(attempt 2)", "dial{socket 5, attempt 2}"},
		{msgSocketOpened{Socket: 5}, "connected(attempt 2)", "start-ready-timer{socket 5, timer 6, 10s}"},
		{msgServerReady{Socket: 5}, "ready(attempt 2)", "cancel-ready-timer{6}; add-channel{socket 5}; start-stable-timer{socket 5, timer 7, 30s}"},
		{msgSocketClosed{Socket: 5, Code: 1011, Reason: "crash"}, "reconnecting(attempt 3, 4s)",
			`cancel-stable-timer{7}; remove-channel{socket 5}; close-socket{socket 5, 1000 "Client disconnecting"}; start-reconnect-timer{timer 8, 4s}`},
		{msgReconnectTimer{Timer: 8}, "connecting(attempt 3)", "dial{socket 9, attempt 3}"},
		{msgSocketOpened{Socket: 9}, "connected(attempt 3)", "start-ready-timer{socket 9, timer 10, 10s}"},
		{msgServerReady{Socket: 9}, "ready(attempt 3)", "cancel-ready-timer{10}; add-channel{socket 9}; start-stable-timer{socket 9, timer 11, 30s}"},
		{msgReadyStable{Timer: 7}, "ready(attempt 3)", ""}, // an earlier connection's timer
		{msgReadyStable{Timer: 11}, "ready", ""},
		{msgSocketClosed{Socket: 9, Code: 1001, Reason: "restart"}, "reconnecting(attempt 1, 1s)",
			`remove-channel{socket 9}; close-socket{socket 9, 1000 "Client disconnecting"}; start-reconnect-timer{timer 12, 1s}`},
	})
	if s.Attempt != 1 {
		t.Fatalf("after a stable connection: %v", s)
	}
}

func TestRandIsDrawnOnlyForRetries(t *testing.T) {
	calls := 0
	cfg := testConfig()
	cfg.Reconnect.Jitter = backoff.JitterFull
	cfg.Rand = func() float64 { calls++; return 0.5 }
	p := newProgram(cfg)
	s, _ := p.Update(sR, closed(1001, "bye"))
	if s.Delay != 500*time.Millisecond || calls != 1 {
		t.Fatalf("delay %v after %d draws", s.Delay, calls)
	}
	p.Update(sR, msgStop{})
	p.Update(sC1, msgSocketError{Socket: 8, Err: errDial, HTTPStatus: 401})
	p.Update(sC10, msgSocketError{Socket: 8, Err: errDial})
	if calls != 1 {
		t.Fatalf("Rand drawn %d times, want 1", calls)
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		StatusDisconnected: "disconnected", StatusConnecting: "connecting", StatusConnected: "connected",
		StatusReady: "ready", StatusReconnecting: "reconnecting", Status(9): "Status(9)",
		effectDial: "dial", effectBarrier: "barrier", effectKind(0): "EffectKind(0)", effectKind(99): "EffectKind(99)",
		sD0: "disconnected", sR: "ready", sR3s: "ready(attempt 3)", sRC2: "reconnecting(attempt 2, 2s)",
		fStopKA(3): "stop-keepalive{socket 3}", fBarrier(4): "barrier{4}",
		fStartReady(3, 4): "start-ready-timer{socket 3, timer 4, 10s}", fCancelReady(4): "cancel-ready-timer{4}",
		fStartStable(3, 4): "start-stable-timer{socket 3, timer 4, 30s}", fCancelStable(4): "cancel-stable-timer{4}",
		effectCancelStableTimer: "cancel-stable-timer",
	} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}

// One program step: the budget is no allocation beyond the effects slice.
func BenchmarkProgramStep(b *testing.B) {
	p := newProgram(testConfig())
	b.Run("keepalive-tick", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Update(sR, msgKeepaliveTick{Socket: 8})
		}
	})
	b.Run("socket-closed-reconnect", func(b *testing.B) {
		b.ReportAllocs()
		var m clientMsg = closed(1001, "bye")
		for b.Loop() {
			p.Update(sR, m)
		}
	})
	svc := programFor([]func(*programConfig){readyDeadline, resetAfter})
	b.Run("server-ready-arms-reset", func(b *testing.B) {
		b.ReportAllocs()
		var m clientMsg = msgServerReady{Socket: 8}
		for b.Loop() {
			svc.Update(sO1t, m)
		}
	})
	b.Run("ready-timeout-reconnect", func(b *testing.B) {
		b.ReportAllocs()
		var m clientMsg = msgReadyTimeout{Timer: 9}
		for b.Loop() {
			svc.Update(sO1t, m)
		}
	})
	b.Run("ready-stable", func(b *testing.B) {
		b.ReportAllocs()
		var m clientMsg = msgReadyStable{Timer: 9}
		for b.Loop() {
			svc.Update(sR3s, m)
		}
	})
	b.Run("stale-noop", func(b *testing.B) {
		b.ReportAllocs()
		var m clientMsg = msgSocketOpened{Socket: stale}
		for b.Loop() {
			p.Update(sR, m)
		}
	})
}

// The program fed by hand, rendered as the shell's logs would show it.
// (These two walkthroughs were package examples while the program was
// exported.)
func TestProgramWalkthrough(t *testing.T) {
	p := newProgram(programConfig{
		Reconnect:         backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 3, Jitter: backoff.JitterNone},
		KeepaliveInterval: 30 * time.Second,
	})
	s, _ := p.Init()
	var fx []effect
	var got []string
	for _, m := range []clientMsg{
		msgStart{},
		msgSocketOpened{Socket: 1},
		msgServerReady{Socket: 1},
		msgSocketClosed{Socket: 1, Code: 1001, Reason: "restart"},
	} {
		s, fx = p.Update(s, m)
		got = append(got, fmt.Sprint(s, fx))
	}
	want := []string{
		"connecting(attempt 1) [dial{socket 1, attempt 1}]",
		"connected(attempt 1) [start-keepalive{socket 1, every 30s}]",
		"ready [add-channel{socket 1}]",
		`reconnecting(attempt 1, 1s) [stop-keepalive{socket 1} remove-channel{socket 1} close-socket{socket 1, 1000 "Client disconnecting"} start-reconnect-timer{timer 2, 1s}]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A server that says "ready" and drops the connection at once is retried
// at growing intervals: the backoff only starts over once a connection
// has stayed ready for BackoffResetAfter.
func TestProgramBackoffResetWalkthrough(t *testing.T) {
	p := newProgram(programConfig{
		Reconnect:         backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: backoff.Unlimited, Jitter: backoff.JitterNone},
		BackoffResetAfter: 30 * time.Second,
	})
	var got []string
	s, _ := p.Init()
	s, fx := p.Update(s, msgStart{})
	for range 4 {
		sock := fx[0].Socket // the dial
		s, _ = p.Update(s, msgSocketOpened{Socket: sock})
		s, _ = p.Update(s, msgServerReady{Socket: sock})
		s, fx = p.Update(s, msgSocketClosed{Socket: sock, Code: 1011, Reason: "crash"})
		got = append(got, s.String())
		s, fx = p.Update(s, msgReconnectTimer{Timer: fx[len(fx)-1].Timer})
	}
	// This time the connection stays up for 30 s.
	sock := fx[0].Socket
	s, _ = p.Update(s, msgSocketOpened{Socket: sock})
	s, fx = p.Update(s, msgServerReady{Socket: sock})
	got = append(got, s.String())
	s, _ = p.Update(s, msgReadyStable{Timer: fx[len(fx)-1].Timer})
	s, _ = p.Update(s, msgSocketClosed{Socket: sock, Code: 1001, Reason: "restart"})
	got = append(got, s.String())
	want := []string{
		"reconnecting(attempt 2, 2s)",
		"reconnecting(attempt 3, 4s)",
		"reconnecting(attempt 4, 8s)",
		"reconnecting(attempt 5, 16s)",
		"ready(attempt 5)",
		"reconnecting(attempt 1, 1s)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every reason's code, spelled out so a change shows up in review.
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"intentional":          kyneta.CodeCanceled,
		"error":                kyneta.CodeUnavailable,
		"closed":               kyneta.CodeUnavailable,
		"max-retries-exceeded": kyneta.CodeUnavailable,
		"unauthorized":         kyneta.CodeUnauthenticated,
		"policy-violation":     kyneta.CodePermissionDenied,
		"invalid-config":       kyneta.CodeInvalidArgument,
		"pong-timeout":         kyneta.CodeDeadlineExceeded,
		"ready-timeout":        kyneta.CodeDeadlineExceeded,
		"client-closed":        kyneta.CodeUnavailable,
		"send-queue-full":      kyneta.CodeResourceExhausted,
		"not-connected":        kyneta.CodeUnavailable,
		"dial-timeout":         kyneta.CodeDeadlineExceeded,
		"redirect-refused":     kyneta.CodeUnsupported,
	}
	if len(want) != len(reasonCodes) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		if err := newError(reason, "", nil); err.Code != code || err.Reason != reason || err.Pkg != "client" {
			t.Errorf("%s: got %+v, want code %s", reason, err, code)
		}
		if got := kyneta.CodeOf(&DisconnectReason{Reason: reason}); got != code {
			t.Errorf("DisconnectReason %s: code %s, want %s", reason, got, code)
		}
	}
	if got := kyneta.CodeOf(&DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 403}); got != kyneta.CodePermissionDenied {
		t.Errorf("a 403 refusal has code %s", got)
	}
}
