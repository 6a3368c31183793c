package server

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/machine"
	"pgregory.net/rapid"
)

var _ machine.Program[connMsg, connState, connEffect] = connProgram{}

// with returns s changed by f.
func with(s connState, f func(*connState)) connState {
	f(&s)
	return s
}

// closeFx is what entering closing with code asks for.
func closeFx(code websocket.StatusCode, flush bool) []connEffect {
	var fx []connEffect
	if !flush {
		fx = append(fx, connEffect{Kind: fxDropQueue})
	}
	return append(fx, connEffect{Kind: fxArmAbort}, connEffect{Kind: fxKickWriter}, connEffect{Kind: fxCountClose, Code: code})
}

func fxs(fx ...any) []connEffect {
	var out []connEffect
	for _, f := range fx {
		switch f := f.(type) {
		case connEffectKind:
			out = append(out, connEffect{Kind: f})
		case connEffect:
			out = append(out, f)
		case []connEffect:
			out = append(out, f...)
		default:
			panic(fmt.Sprintf("fxs: %T", f))
		}
	}
	return out
}

// The states a connection can be in, one of each shape.
var (
	stPending  = connState{}
	stDetached = connState{detached: true}
	stOpen     = connState{phase: connOpen}
	// closing with a flush (drain, shutdown, rejected peer)
	stFlushing = connState{phase: connClosing, code: statusGoingAway, reason: closeReasonShuttingDown}
	// closing with the queue dropped (rate limit, slow consumer, …)
	stDropping = connState{phase: connClosing, code: StatusSlowConsumer, reason: closeReasonSlowConsumer, discard: true}
	// the close frame went out
	stSent = connState{phase: connClosing, code: statusGoingAway, reason: closeReasonShuttingDown, closeSent: true}
	// a write failed: nothing more can be written
	stDead = connState{phase: connClosing, closeSent: true, discard: true}
	// the reader stopped and the connection left the registry
	stFinished = connState{phase: connFinished, code: statusGoingAway, reason: closeReasonShuttingDown, closeSent: true, detached: true}
)

// The messages, one of each kind (and each read ending).
var (
	mAttach    = connAttach{}
	mDetach    = connDetach{}
	mCloseKeep = connClose{Code: statusGoingAway, Reason: closeReasonShuttingDown, Flush: true}
	mCloseDrop = connClose{Code: statusPolicyViolation, Reason: closeReasonRateLimited}
	mWriteFail = connWriteFailed{}
	mStalled   = connWriteTimeout{}
	mIdle      = connWriterIdle{}
	mGone      = connReadEnded{How: readGone}
	mTooBig    = connReadEnded{How: readTooBig}
	mProtocol  = connReadEnded{How: readProtocol}
)

var allConnMsgs = []connMsg{mAttach, mDetach, mCloseKeep, mCloseDrop, mWriteFail, mStalled, mIdle, mGone, mTooBig, mProtocol}

type connRow struct {
	from   connState
	msg    connMsg
	to     connState
	effect []connEffect
}

// notClosingRows are the rows of a state that is not closing yet (pending,
// detached or open): every message but attach and detach starts the close
// the same way.
func notClosingRows(s connState) []connRow {
	closing := func(code websocket.StatusCode, reason string, f func(*connState)) connState {
		return with(s, func(n *connState) {
			n.phase, n.code, n.reason = connClosing, code, reason
			if f != nil {
				f(n)
			}
		})
	}
	finished := func(code websocket.StatusCode, reason string, f func(*connState)) connState {
		n := closing(code, reason, f)
		n.phase = connFinished
		return n
	}
	return []connRow{
		{s, mCloseKeep, closing(statusGoingAway, closeReasonShuttingDown, nil), closeFx(statusGoingAway, true)},
		{s, mCloseDrop, closing(statusPolicyViolation, closeReasonRateLimited, func(n *connState) { n.discard = true }), closeFx(statusPolicyViolation, false)},
		{s, mWriteFail, closing(0, "", func(n *connState) { n.closeSent, n.discard = true, true }), fxs(fxDropQueue, fxAbort)},
		{s, mStalled, closing(StatusSlowConsumer, closeReasonSlowConsumer, func(n *connState) { n.closeSent, n.discard = true, true }),
			fxs(closeFx(StatusSlowConsumer, false), fxAbort)},
		{s, mIdle, s, nil},
		{s, mGone, finished(0, "", func(n *connState) { n.closeSent, n.discard = true, true }), fxs(fxDropQueue, fxUnregister, fxAbort)},
		{s, mTooBig, finished(statusMessageTooBig, "Message too big", func(n *connState) { n.discard = true }),
			fxs(closeFx(statusMessageTooBig, false), fxUnregister)},
		{s, mProtocol, finished(statusProtocolError, "Protocol error", func(n *connState) { n.discard = true }),
			fxs(closeFx(statusProtocolError, false), fxUnregister)},
	}
}

// closingRows are the rows of a closing state: closes are ignored, a
// failed or stalled write gives the socket up, the idle writer sends the
// close frame once, and the reader's end only unregisters.
func closingRows(s connState) []connRow {
	giveUp := with(s, func(n *connState) { n.closeSent, n.discard = true, true })
	idle := connRow{s, mIdle, s, nil}
	if !s.closeSent {
		idle = connRow{s, mIdle, with(s, func(n *connState) { n.closeSent = true }), fxs(connEffect{Kind: fxWriteClose, Code: s.code, Reason: s.reason})}
	}
	fin := with(s, func(n *connState) { n.phase = connFinished })
	ended := []connEffect{{Kind: fxUnregister}}
	if s.phase == connFinished {
		fin, ended = s, nil
	}
	return []connRow{
		{s, mAttach, s, nil},
		{s, mDetach, with(s, func(n *connState) { n.detached = true }), nil},
		{s, mCloseKeep, s, nil},
		{s, mCloseDrop, s, nil},
		{s, mWriteFail, giveUp, fxs(fxAbort)},
		{s, mStalled, giveUp, fxs(fxAbort)},
		idle,
		{s, mGone, fin, ended},
		{s, mTooBig, fin, ended},
		{s, mProtocol, fin, ended},
	}
}

// TestConnProgramTable has a row for every state × message cell.
func TestConnProgramTable(t *testing.T) {
	var rows []connRow
	rows = append(rows,
		connRow{stPending, mAttach, stOpen, fxs(fxQueueReady)},
		connRow{stPending, mDetach, stDetached, nil},
		connRow{stDetached, mAttach, stDetached, nil}, // the channel came too late
		connRow{stDetached, mDetach, stDetached, nil},
		connRow{stOpen, mAttach, stOpen, nil}, // a duplicate
		connRow{stOpen, mDetach, with(stOpen, func(n *connState) { n.detached = true }), nil},
	)
	for _, s := range []connState{stPending, stDetached, stOpen} {
		rows = append(rows, notClosingRows(s)...)
	}
	for _, s := range []connState{stFlushing, stDropping, stSent, stDead, stFinished} {
		rows = append(rows, closingRows(s)...)
	}

	// Every cell exactly once.
	states := []connState{stPending, stDetached, stOpen, stFlushing, stDropping, stSent, stDead, stFinished}
	seen := map[string]int{}
	for _, r := range rows {
		seen[fmt.Sprintf("%v|%#v", r.from, r.msg)]++
	}
	for _, s := range states {
		for _, m := range allConnMsgs {
			if n := seen[fmt.Sprintf("%v|%#v", s, m)]; n != 1 {
				t.Errorf("cell %v × %T: %d rows", s, m, n)
			}
		}
	}

	for _, r := range rows {
		got, fx := connProgram{}.Update(r.from, r.msg)
		if got != r.to || !reflect.DeepEqual(fx, r.effect) {
			t.Errorf("%v × %#v:\n got %v %v\nwant %v %v", r.from, r.msg, got, fx, r.to, r.effect)
		}
	}
}

func TestConnProgramInit(t *testing.T) {
	s, fx := connProgram{}.Init()
	if s != stPending || fx != nil {
		t.Fatalf("Init = %v %v", s, fx)
	}
}

// connModel follows a connection through random messages and checks what
// a faithful shell would see: one "ready" at most and only before any
// close, one counted close, one close frame, one unregister; closing never
// ends; the effects that must run unlocked come last.
type connModel struct {
	s                                    connState
	ready, counted, frames, unregistered int
	aborted                              bool
}

func (m *connModel) step(t *rapid.T, msg connMsg) {
	prev := m.s
	next, fx := connProgram{}.Update(prev, msg)
	unlocked := false
	for _, f := range fx {
		if f.Kind.unlocked() {
			unlocked = true
		} else if unlocked {
			t.Fatalf("%v × %#v: locked effect %v after an unlocked one in %v", prev, msg, f, fx)
		}
		switch f.Kind {
		case fxQueueReady:
			m.ready++
			if prev.phase != connPending || prev.detached {
				t.Fatalf("ready queued from %v", prev)
			}
		case fxCountClose:
			m.counted++
			if prev.closing() || !next.closing() || f.Code != next.code {
				t.Fatalf("close counted on %v -> %v: %v", prev, next, f)
			}
		case fxWriteClose:
			m.frames++
			if !prev.closing() || prev.closeSent || f.Code != prev.code || f.Reason != prev.reason {
				t.Fatalf("close frame %v from %v", f, prev)
			}
		case fxUnregister:
			m.unregistered++
		case fxAbort:
			m.aborted = true
		case fxDropQueue:
			if !next.discard {
				t.Fatalf("queue dropped but %v keeps writing", next)
			}
		}
	}
	switch {
	case m.ready > 1, m.counted > 1, m.frames > 1, m.unregistered > 1:
		t.Fatalf("ready %d, counted %d, close frames %d, unregistered %d", m.ready, m.counted, m.frames, m.unregistered)
	case prev.closing() && !next.closing(), prev.phase == connFinished && next.phase != connFinished:
		t.Fatalf("%v -> %v: closing must not end", prev, next)
	case prev.discard && !next.discard, prev.closeSent && !next.closeSent, prev.detached && !next.detached:
		t.Fatalf("%v -> %v: a given-up queue, a sent close or a detach came back", prev, next)
	case prev.closing() && (next.code != prev.code || next.reason != prev.reason):
		t.Fatalf("%v -> %v: the close code changed", prev, next)
	case (next.phase == connFinished) != (m.unregistered == 1):
		t.Fatalf("%v after %d unregisters", next, m.unregistered)
	}
	if _, ok := msg.(connWriteFailed); ok && !(next.discard && next.closeSent && m.aborted) {
		t.Fatalf("write failure left %v (aborted %v)", next, m.aborted)
	}
	if _, ok := msg.(connWriteTimeout); ok && !(next.discard && next.closeSent && m.aborted) {
		t.Fatalf("stalled write left %v (aborted %v)", next, m.aborted)
	}
	if e, ok := msg.(connReadEnded); ok && e.How == readGone && !prev.closing() && !m.aborted {
		t.Fatalf("a broken socket was left open: %v", next)
	}
	m.s = next
}

func TestConnProgramProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &connModel{}
		m.s, _ = connProgram{}.Init()
		codes := []websocket.StatusCode{statusReplaced, statusGoingAway, statusPolicyViolation, StatusSlowConsumer, statusTryAgainLater}
		for range rapid.IntRange(0, 40).Draw(t, "steps") {
			var msg connMsg
			switch rapid.IntRange(0, 7).Draw(t, "kind") {
			case 0:
				msg = connAttach{}
			case 1:
				msg = connDetach{}
			case 2:
				msg = connClose{Code: rapid.SampledFrom(codes).Draw(t, "code"), Reason: "r", Flush: rapid.Bool().Draw(t, "flush")}
			case 3:
				msg = connWriteFailed{}
			case 4:
				msg = connWriteTimeout{}
			case 5:
				msg = connWriterIdle{}
			case 6:
				msg = connReadEnded{How: readEnd(rapid.IntRange(0, 2).Draw(t, "how"))}
			default:
				msg = connWriterIdle{}
			}
			m.step(t, msg)
		}
		// Once finished and idle, a closing connection has sent its close
		// frame or given the socket up.
		if m.s.closing() {
			m.step(t, connWriterIdle{})
			if !m.s.closeSent {
				t.Fatalf("idle writer left %v without a close frame", m.s)
			}
		}
	})
}
