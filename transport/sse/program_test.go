package sse

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/machine"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

var _ machine.Program[clientMsg, State, effect] = (*program)(nil)

// The reference's test setup: r = 0, base 1 s, max 30 s, 10 attempts,
// additive jitter, so every delay is exact.
func testConfig() programConfig {
	return programConfig{Reconnect: backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 10, Jitter: backoff.JitterAdditive}}
}

func withMaxAttempts(n int) func(*programConfig) {
	return func(c *programConfig) { c.Reconnect.MaxAttempts = n }
}

var errNet = errors.New("dial tcp: connection refused")

// Canonical states: the live stream or timer is always 8, so every id a
// transition mints (9) is visible in the expected value.
var (
	sD0  = State{}
	sDr  = State{Status: client.StatusDisconnected, Reason: &client.DisconnectReason{Reason: reasonClosed, CloseCode: 1000}, seq: 7}
	sC1  = State{Status: client.StatusConnecting, Attempt: 1, stream: 8, seq: 8}
	sC10 = State{Status: client.StatusConnecting, Attempt: 10, stream: 8, seq: 8}
	sO   = State{Status: client.StatusConnected, stream: 8, seq: 8}
	sRC2 = State{Status: client.StatusReconnecting, Attempt: 2, Delay: 2 * time.Second, timer: 8, seq: 8}
)

const stale = uint64(5) // never current in the canonical states

func dReason(seq uint64, r *client.DisconnectReason) State {
	return State{Status: client.StatusDisconnected, Reason: r, seq: seq}
}

func rc(attempt int, d time.Duration, timer uint64) State {
	return State{Status: client.StatusReconnecting, Attempt: attempt, Delay: d, timer: timer, seq: timer}
}

func fOpen(stream uint64, a int) effect {
	return effect{Kind: effectOpenStream, Stream: stream, Attempt: a}
}
func fClose(stream uint64) effect { return effect{Kind: effectCloseStream, Stream: stream} }
func fCloseGraceful(stream uint64) effect {
	return effect{Kind: effectCloseStream, Stream: stream, Graceful: true}
}
func fAdd(stream uint64) effect    { return effect{Kind: effectAddChannel, Stream: stream} }
func fRemove(stream uint64) effect { return effect{Kind: effectRemoveChannel, Stream: stream} }
func fStartRC(id uint64, d time.Duration) effect {
	return effect{Kind: effectStartReconnectTimer, Timer: id, After: d}
}
func fCancelRC(id uint64) effect { return effect{Kind: effectCancelReconnectTimer, Timer: id} }
func fBarrier(id uint64) effect  { return effect{Kind: effectBarrier, Timer: id} }
func fx(e ...effect) []effect    { return e }

var (
	mClosed   = msgStreamClosed{Stream: 8, Code: 1001, Reason: "Server draining"}
	mError    = msgStreamError{Stream: 8, Err: errNet}
	mUpload   = msgUploadFailed{Stream: 8, HTTPStatus: 502, Err: errNet}
	rClosed   = client.DisconnectReason{Reason: reasonClosed, CloseCode: 1001, CloseReason: "Server draining"}
	rError    = client.DisconnectReason{Reason: reasonError, Err: errNet}
	rUpload   = client.DisconnectReason{Reason: reasonError, HTTPStatus: 502, Err: errNet}
	intention = &client.DisconnectReason{Reason: reasonIntentional}
)

type cell struct {
	name    string
	cfg     []func(*programConfig)
	from    State
	msg     clientMsg
	noop    bool
	to      State
	effects []effect
}

var allMsgs = []struct {
	name string
	msg  clientMsg
}{
	{"start", msgStart{}},
	{"stop", msgStop{}},
	{"barrier", msgBarrier{ID: 77}},
	{"stream-opened", msgStreamOpened{Stream: 8}},
	{"stream-closed", mClosed},
	{"stream-error", mError},
	{"upload-failed", mUpload},
	{"reconnect-timer-fired", msgReconnectTimer{Timer: 8}},
}

// cells is the full table: every state × message, then the variants
// (limits, non-retryable outcomes, stale ids).
func cells() []cell {
	var cs []cell
	add := func(c cell) { cs = append(cs, c) }

	// ---- disconnected: only start (and barrier) act.
	add(cell{name: "D/start", from: sD0, msg: msgStart{}, to: State{Status: client.StatusConnecting, Attempt: 1, stream: 1, seq: 1}, effects: fx(fOpen(1, 1))})
	add(cell{name: "D(reason)/start uses fresh ids", from: sDr, msg: msgStart{}, to: sC1, effects: fx(fOpen(8, 1))})
	add(cell{name: "D/barrier", from: sD0, msg: msgBarrier{ID: 77}, to: sD0, effects: fx(fBarrier(77))})
	for _, m := range allMsgs {
		if m.name == "start" || m.name == "barrier" {
			continue
		}
		add(cell{name: "D/" + m.name, from: sD0, msg: m.msg, noop: true})
		add(cell{name: "D(reason)/" + m.name, from: sDr, msg: m.msg, noop: true})
	}

	// ---- connecting(1), stream 8.
	add(cell{name: "C/start", from: sC1, msg: msgStart{}, noop: true})
	add(cell{name: "C/stop", from: sC1, msg: msgStop{}, to: dReason(8, intention), effects: fx(fClose(8))})
	add(cell{name: "C/barrier", from: sC1, msg: msgBarrier{ID: 77}, to: sC1, effects: fx(fBarrier(77))})
	add(cell{name: "C/stream-opened", from: sC1, msg: msgStreamOpened{Stream: 8}, to: sO, effects: fx(fAdd(8))})
	add(cell{name: "C/stream-closed", from: sC1, msg: mClosed, to: rc(2, 2*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "C/stream-error", from: sC1, msg: mError, to: rc(2, 2*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "C/upload-failed", from: sC1, msg: mUpload, to: rc(2, 2*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "C/reconnect-timer-fired", from: sC1, msg: msgReconnectTimer{Timer: 8}, noop: true})
	// Variants.
	add(cell{name: "C10/stream-error: attempts used up", from: sC10, msg: mError,
		to: dReason(8, &client.DisconnectReason{Reason: reasonMaxRetries, Attempts: 10, Err: &rError}), effects: fx(fClose(8))})
	add(cell{name: "C/stream-error without retries", cfg: []func(*programConfig){withMaxAttempts(0)}, from: sC1, msg: mError,
		to: dReason(8, &rError), effects: fx(fClose(8))})
	add(cell{name: "C/stream-error unlimited", cfg: []func(*programConfig){withMaxAttempts(backoff.Unlimited)}, from: sC10, msg: mError,
		to: rc(11, 30*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 30*time.Second))})
	add(cell{name: "C/stream-error 401 is final", from: sC1, msg: msgStreamError{Stream: 8, Err: errNet, HTTPStatus: 401},
		to: dReason(8, &client.DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 401, Err: errNet}), effects: fx(fClose(8))})
	add(cell{name: "C/stream-error 403 is final", from: sC1, msg: msgStreamError{Stream: 8, Err: errNet, HTTPStatus: 403},
		to: dReason(8, &client.DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 403, Err: errNet}), effects: fx(fClose(8))})
	add(cell{name: "C/stream-error 503 is retried", from: sC1, msg: msgStreamError{Stream: 8, Err: errNet, HTTPStatus: 503},
		to: rc(2, 2*time.Second, 9), effects: fx(fClose(8), fStartRC(9, 2*time.Second))})
	add(cell{name: "C/stream-error config is final", from: sC1, msg: msgStreamError{Stream: 8, Err: errNet, Config: true},
		to: dReason(8, &client.DisconnectReason{Reason: reasonInvalidConfig, Err: errNet}), effects: fx(fClose(8))})
	add(cell{name: "C/stream-closed 1008 is final", from: sC1, msg: msgStreamClosed{Stream: 8, Code: 1008, Reason: closeReasonRejected},
		to: dReason(8, &client.DisconnectReason{Reason: reasonPolicyViolation, CloseCode: 1008, CloseReason: closeReasonRejected}), effects: fx(fClose(8))})
	for _, m := range []clientMsg{msgStreamOpened{Stream: stale}, msgStreamClosed{Stream: stale, Code: 1001}, msgStreamError{Stream: stale}, msgUploadFailed{Stream: stale}, msgStreamOpened{Stream: 0}} {
		add(cell{name: "C/stale " + msgName(m), from: sC1, msg: m, noop: true})
	}

	// ---- connected, stream 8.
	add(cell{name: "O/start", from: sO, msg: msgStart{}, noop: true})
	add(cell{name: "O/stop", from: sO, msg: msgStop{}, to: dReason(8, intention), effects: fx(fRemove(8), fCloseGraceful(8))})
	add(cell{name: "O/barrier", from: sO, msg: msgBarrier{ID: 77}, to: sO, effects: fx(fBarrier(77))})
	add(cell{name: "O/stream-opened (duplicate)", from: sO, msg: msgStreamOpened{Stream: 8}, noop: true})
	lost := fx(fRemove(8), fClose(8), fStartRC(9, time.Second))
	add(cell{name: "O/stream-closed restarts the count", from: sO, msg: mClosed, to: rc(1, time.Second, 9), effects: lost})
	add(cell{name: "O/stream-error", from: sO, msg: mError, to: rc(1, time.Second, 9), effects: lost})
	add(cell{name: "O/upload-failed", from: sO, msg: mUpload, to: rc(1, time.Second, 9), effects: lost})
	add(cell{name: "O/reconnect-timer-fired", from: sO, msg: msgReconnectTimer{Timer: 8}, noop: true})
	// Variants.
	add(cell{name: "O/upload-failed 403 is final", from: sO, msg: msgUploadFailed{Stream: 8, HTTPStatus: 403, Err: errNet},
		to: dReason(8, &client.DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 403, Err: errNet}), effects: fx(fRemove(8), fClose(8))})
	add(cell{name: "O/stream-closed 1008 is final", from: sO, msg: msgStreamClosed{Stream: 8, Code: 1008},
		to: dReason(8, &client.DisconnectReason{Reason: reasonPolicyViolation, CloseCode: 1008}), effects: fx(fRemove(8), fClose(8))})
	add(cell{name: "O/stream-closed without retries", cfg: []func(*programConfig){withMaxAttempts(0)}, from: sO, msg: mClosed,
		to: dReason(8, &rClosed), effects: fx(fRemove(8), fClose(8))})
	add(cell{name: "O/upload-failed without retries", cfg: []func(*programConfig){withMaxAttempts(0)}, from: sO, msg: mUpload,
		to: dReason(8, &rUpload), effects: fx(fRemove(8), fClose(8))})
	for _, m := range []clientMsg{msgStreamClosed{Stream: stale, Code: 1001}, msgStreamError{Stream: stale}, msgUploadFailed{Stream: stale}} {
		add(cell{name: "O/stale " + msgName(m), from: sO, msg: m, noop: true})
	}

	// ---- reconnecting(2), timer 8.
	add(cell{name: "RC/start", from: sRC2, msg: msgStart{}, noop: true})
	add(cell{name: "RC/stop", from: sRC2, msg: msgStop{}, to: dReason(8, intention), effects: fx(fCancelRC(8))})
	add(cell{name: "RC/barrier", from: sRC2, msg: msgBarrier{ID: 77}, to: sRC2, effects: fx(fBarrier(77))})
	add(cell{name: "RC/reconnect-timer-fired", from: sRC2, msg: msgReconnectTimer{Timer: 8},
		to: State{Status: client.StatusConnecting, Attempt: 2, stream: 9, seq: 9}, effects: fx(fOpen(9, 2))})
	add(cell{name: "RC/stale timer", from: sRC2, msg: msgReconnectTimer{Timer: stale}, noop: true})
	for _, m := range []clientMsg{msgStreamOpened{Stream: 8}, mClosed, mError, mUpload} {
		add(cell{name: "RC/" + msgName(m) + " of the old stream", from: sRC2, msg: m, noop: true})
	}
	return cs
}

func TestTransitionTable(t *testing.T) {
	for _, c := range cells() {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			for _, f := range c.cfg {
				f(&cfg)
			}
			p := newProgram(cfg)
			from := c.from
			var reasonBefore client.DisconnectReason
			if from.Reason != nil {
				reasonBefore = *from.Reason
			}
			to, effects := p.Update(from, c.msg)
			if from.Reason != nil && *from.Reason != reasonBefore {
				t.Fatal("Update modified the input state's reason")
			}
			if c.noop {
				if to != from || len(effects) != 0 {
					t.Fatalf("want no change, got %v %v", to, effects)
				}
				return
			}
			if !statesEqual(to, c.to) {
				t.Errorf("state\n got %#v (%v)\nwant %#v (%v)", to, to, c.to, c.to)
			}
			if !reflect.DeepEqual(effects, c.effects) {
				t.Errorf("effects\n got %v\nwant %v", effects, c.effects)
			}
		})
	}
}

// statesEqual compares states with their reasons by value.
func statesEqual(a, b State) bool {
	ar, br := a.Reason, b.Reason
	a.Reason, b.Reason = nil, nil
	if a != b || (ar == nil) != (br == nil) {
		return false
	}
	return ar == nil || reflect.DeepEqual(ar, br)
}

func TestTransitionTableCoversEveryCell(t *testing.T) {
	type key struct {
		st  client.Status
		msg string
	}
	covered := map[key]bool{}
	for _, c := range cells() {
		covered[key{c.from.Status, msgName(c.msg)}] = true
	}
	// The SSE client has the four SSE states of client.Status: never ready.
	for _, st := range []client.Status{client.StatusDisconnected, client.StatusConnecting, client.StatusConnected, client.StatusReconnecting} {
		for _, m := range allMsgs {
			if !covered[key{st, m.name}] {
				t.Errorf("no row for %v × %s", st, m.name)
			}
		}
	}
	if want := 4 * len(allMsgs); len(covered) != want {
		t.Errorf("%d cells covered, want %d", len(covered), want)
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

// TestWalkEscalation follows a server that refuses every attempt: the
// delays double (attempt n waits base·2^(n-1), as in the reference),
// then the client gives up with the last reason.
func TestWalkEscalation(t *testing.T) {
	p := newProgram(programConfig{Reconnect: backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 3, Jitter: backoff.JitterNone}})
	s, _ := p.Init()
	s, _ = p.Update(s, msgStart{})
	var delays []time.Duration
	for range 3 {
		s, _ = p.Update(s, msgStreamError{Stream: s.stream, HTTPStatus: 503})
		if s.Status == client.StatusDisconnected {
			break
		}
		delays = append(delays, s.Delay)
		var fx []effect
		s, fx = p.Update(s, msgReconnectTimer{Timer: s.timer})
		if len(fx) != 1 || fx[0].Kind != effectOpenStream || fx[0].Attempt != s.Attempt {
			t.Fatalf("timer fired: %v", fx)
		}
	}
	if want := []time.Duration{2 * time.Second, 4 * time.Second}; !reflect.DeepEqual(delays, want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	if s.Status != client.StatusDisconnected || s.Reason.Reason != reasonMaxRetries || s.Reason.Attempts != 3 || !errors.Is(s.Reason, &kyneta.Error{Pkg: "client", Reason: reasonMaxRetries}) {
		t.Fatalf("end state %v", s)
	}
	var last *client.DisconnectReason
	if !errors.As(s.Reason.Err, &last) || last.HTTPStatus != 503 {
		t.Fatalf("last reason %v", s.Reason.Err)
	}
}

// TestRandIsDrawnOnlyForRetries: randomness is consumed once per scheduled
// reconnect and never otherwise.
func TestRandIsDrawnOnlyForRetries(t *testing.T) {
	n := 0
	cfg := testConfig()
	cfg.Rand = func() float64 { n++; return 0.5 }
	p := newProgram(cfg)
	s, _ := p.Update(State{}, msgStart{})
	s, _ = p.Update(s, msgStreamOpened{Stream: s.stream})
	s, _ = p.Update(s, msgBarrier{ID: 1})
	if n != 0 {
		t.Fatalf("rand drawn %d times without a retry", n)
	}
	p.Update(s, msgStreamClosed{Stream: s.stream, Code: 1001})
	if n != 1 {
		t.Fatalf("rand drawn %d times for one retry", n)
	}
	p.Update(sC1, msgStreamError{Stream: 8, HTTPStatus: 401})
	if n != 1 {
		t.Fatal("rand drawn for a final outcome")
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{sC1.String(), "connecting(attempt 1)"},
		{sRC2.String(), "reconnecting(attempt 2, 2s)"},
		{sO.String(), "connected"},
		{sD0.String(), "disconnected"},
		{fOpen(3, 2).String(), "open-stream{stream 3, attempt 2}"},
		{fCloseGraceful(3).String(), "close-stream{stream 3, graceful true}"},
		{fStartRC(4, time.Second).String(), "start-reconnect-timer{timer 4, 1s}"},
		{fBarrier(5).String(), "barrier{5}"},
		{fAdd(6).String(), "add-channel{stream 6}"},
		{effectKind(99).String(), "EffectKind(99)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if s := dReason(1, &client.DisconnectReason{Reason: reasonUnauthorized, HTTPStatus: 401}).String(); !strings.Contains(s, "401") {
		t.Errorf("reason string %q", s)
	}
}

func BenchmarkProgramStep(b *testing.B) {
	p := newProgram(testConfig())
	b.ReportAllocs()
	for b.Loop() {
		s, _ := p.Update(sO, mClosed)
		s, _ = p.Update(s, msgReconnectTimer{Timer: s.timer})
		_, _ = p.Update(s, msgStreamOpened{Stream: s.stream})
	}
}

// A stream that opens, is lost, and is retried after the backoff, rendered
// as the shell's logs would show it. (This was the package example while
// the program was exported.)
func TestProgramWalkthrough(t *testing.T) {
	// backoff.Default has full jitter; a nil Rand draws 0, so no delay.
	p := newProgram(programConfig{Reconnect: backoff.Default})
	s, _ := p.Init()
	var got []string
	s, fx := p.Update(s, msgStart{})
	got = append(got, fmt.Sprint(s, fx))
	s, fx = p.Update(s, msgStreamOpened{Stream: fx[0].Stream})
	got = append(got, fmt.Sprint(s, fx))
	s, fx = p.Update(s, msgStreamClosed{Stream: fx[0].Stream, Code: closeGoingAway, Reason: closeReasonDraining})
	got = append(got, fmt.Sprint(s.Status, fx))
	want := []string{
		"connecting(attempt 1) [open-stream{stream 1, attempt 1}]",
		"connected [add-channel{stream 1}]",
		"reconnecting [remove-channel{stream 1} close-stream{stream 1, graceful false} start-reconnect-timer{timer 2, 0s}]",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}
