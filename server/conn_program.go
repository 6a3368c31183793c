package server

import (
	"fmt"

	"github.com/coder/websocket"
)

// This file is the pure core of one accepted connection's lifecycle:
// (connState, connMsg) -> (connState, []connEffect). It decides when a
// connection opens for data, how it closes (flushing or dropping its
// queue, with which code) and what its end releases; the shell in conn.go
// owns the socket, the send queue and the writer goroutine, applies each
// message under the connection's mutex (as the drain program is applied
// under the server's) and carries out the effects.

// connPhase is the discriminant of a connState.
type connPhase uint8

const (
	// connPending: registered; the exchange is being told about the
	// channel. Queued messages wait: "ready" must go out first.
	connPending connPhase = iota
	// connOpen: "ready" is queued ahead of everything else; data flows.
	connOpen
	// connClosing: the close handshake is under way; nothing more may be
	// queued.
	connClosing
	// connFinished: the reader stopped and the connection left the
	// registry. Still closing: a late close request changes nothing.
	connFinished
)

var connPhaseNames = [...]string{"pending", "open", "closing", "finished"}

func (p connPhase) String() string {
	if int(p) < len(connPhaseNames) {
		return connPhaseNames[p]
	}
	return fmt.Sprintf("connPhase(%d)", uint8(p))
}

// connState is a connection's lifecycle state, a small comparable value.
type connState struct {
	phase  connPhase
	code   websocket.StatusCode // close code, once closing (0 when the socket failed)
	reason string               // close reason, once closing
	// closeSent: the close frame went out, or can no longer be written.
	closeSent bool
	// discard: queued messages are dropped, not written.
	discard bool
	// detached: the connection left the registry; a channel announced
	// after that is not attached.
	detached bool
}

// closing reports whether the connection is closing (or finished).
func (s connState) closing() bool { return s.phase >= connClosing }

func (s connState) String() string {
	if s.closing() {
		return fmt.Sprintf("%v(%d %q, sent %v, discard %v, detached %v)", s.phase, int(s.code), s.reason, s.closeSent, s.discard, s.detached)
	}
	return fmt.Sprintf("%v(detached %v)", s.phase, s.detached)
}

// connMsg is a message for the connection program.
type connMsg interface{ isConnMsg() }

// connAttach: the exchange accepted the channel; "ready" may go out.
type connAttach struct{}

// connDetach: the connection left the registry.
type connDetach struct{}

// connClose asks to close with Code and Reason. Flush writes the queued
// messages first (drain, shutdown, a rejected peer); otherwise they are
// dropped and the peer learns from the code that it lost data.
type connClose struct {
	Code   websocket.StatusCode
	Reason string
	Flush  bool
}

// connWriteFailed: the socket refused a write; nothing more can be written.
type connWriteFailed struct{}

// connWriteTimeout: a write stalled for WriteTimeout. The peer is a slow
// consumer, and a close frame cannot get through a stuck socket either.
type connWriteTimeout struct{}

// connWriterIdle: the writer found nothing (more) to write. While closing,
// that is the moment to send the close frame, once.
type connWriterIdle struct{}

// connReadEnded: the reader stopped, for How.
type connReadEnded struct{ How readEnd }

func (connAttach) isConnMsg()       {}
func (connDetach) isConnMsg()       {}
func (connClose) isConnMsg()        {}
func (connWriteFailed) isConnMsg()  {}
func (connWriteTimeout) isConnMsg() {}
func (connWriterIdle) isConnMsg()   {}
func (connReadEnded) isConnMsg()    {}

// statusProtocolError is the close code coder/websocket sends for a
// protocol violation (websocket.StatusProtocolError).
const statusProtocolError websocket.StatusCode = 1002

// readEnd says why the reader stopped.
type readEnd uint8

const (
	// readGone: the peer closed, the connection broke, or the reader
	// stopped by itself (after asking to close).
	readGone readEnd = iota
	// readTooBig: a message above the read limit (coder/websocket has
	// sent 1009).
	readTooBig
	// readProtocol: a protocol violation or a read failure of our own.
	readProtocol
)

// connEffectKind says what a connEffect asks the shell to do.
type connEffectKind uint8

const (
	// fxQueueReady puts "ready" at the head of the queue and wakes the
	// writer.
	fxQueueReady connEffectKind = iota + 1
	// fxDropQueue discards the queued messages.
	fxDropQueue
	// fxArmAbort bounds the close handshake: after CloseTimeout the socket
	// is torn down.
	fxArmAbort
	// fxKickWriter wakes the writer (or starts it) so that it flushes and
	// sends the close frame.
	fxKickWriter
	// fxCountClose counts a server-initiated close with Code (and logs it).
	fxCountClose
	// fxWriteClose sends the close frame Code/Reason. It blocks until the
	// peer answers or the socket is gone: the writer runs it unlocked.
	fxWriteClose
	// fxAbort tears the socket down now.
	fxAbort
	// fxUnregister takes the connection out of the registry and removes
	// its channel.
	fxUnregister
)

var connEffectNames = [...]string{
	fxQueueReady: "queue-ready",
	fxDropQueue:  "drop-queue",
	fxArmAbort:   "arm-abort",
	fxKickWriter: "kick-writer",
	fxCountClose: "count-close",
	fxWriteClose: "write-close",
	fxAbort:      "abort",
	fxUnregister: "unregister",
}

func (k connEffectKind) String() string {
	if int(k) < len(connEffectNames) && connEffectNames[k] != "" {
		return connEffectNames[k]
	}
	return fmt.Sprintf("connEffectKind(%d)", uint8(k))
}

// unlocked reports whether the shell must release the connection's mutex
// before carrying the effect out (it blocks, or takes the server's lock).
func (k connEffectKind) unlocked() bool {
	return k == fxWriteClose || k == fxAbort || k == fxUnregister
}

// connEffect is one instruction for the shell; a flat comparable struct.
type connEffect struct {
	Kind   connEffectKind
	Code   websocket.StatusCode // fxCountClose, fxWriteClose
	Reason string               // fxWriteClose
}

func (e connEffect) String() string {
	switch e.Kind {
	case fxCountClose:
		return fmt.Sprintf("count-close{%d}", int(e.Code))
	case fxWriteClose:
		return fmt.Sprintf("write-close{%d %q}", int(e.Code), e.Reason)
	}
	return e.Kind.String()
}

// connProgram is the connection lifecycle as a pure Mealy machine
// (machine.Program[connMsg, connState, connEffect]). It has no
// configuration: the timeouts it asks for are the shell's.
type connProgram struct{}

// Init returns a freshly registered connection: pending, nothing to do.
func (connProgram) Init() (connState, []connEffect) { return connState{}, nil }

// Update is the transition function. A message that does not apply
// returns s unchanged with no effects.
func (connProgram) Update(s connState, m connMsg) (connState, []connEffect) {
	switch m := m.(type) {
	case connAttach:
		if s.phase != connPending || s.detached {
			return s, nil // closing, unregistered, or a duplicate
		}
		s.phase = connOpen
		return s, []connEffect{{Kind: fxQueueReady}}
	case connDetach:
		s.detached = true
		return s, nil
	case connClose:
		if s.closing() {
			return s, nil // only the first close counts
		}
		return startClose(s, m.Code, m.Reason, m.Flush, make([]connEffect, 0, 4))
	case connWriteFailed:
		var fx []connEffect
		if !s.closing() {
			s.phase = connClosing
			fx = append(fx, connEffect{Kind: fxDropQueue})
		}
		// A socket that refused a write cannot carry a close frame.
		s.discard, s.closeSent = true, true
		return s, append(fx, connEffect{Kind: fxAbort})
	case connWriteTimeout:
		var fx []connEffect
		if !s.closing() {
			s, fx = startClose(s, StatusSlowConsumer, closeReasonSlowConsumer, false, make([]connEffect, 0, 5))
		}
		s.discard, s.closeSent = true, true
		return s, append(fx, connEffect{Kind: fxAbort})
	case connWriterIdle:
		if !s.closing() || s.closeSent {
			return s, nil
		}
		s.closeSent = true
		return s, []connEffect{{Kind: fxWriteClose, Code: s.code, Reason: s.reason}}
	case connReadEnded:
		if s.phase == connFinished {
			return s, nil
		}
		fx := make([]connEffect, 0, 6)
		wasClosing := s.closing()
		if !wasClosing {
			switch m.How {
			case readTooBig:
				// Wait (bounded) for the peer's answer to coder/websocket's
				// 1009 instead of resetting a socket that still carries
				// the rest of the oversized message.
				s, fx = startClose(s, statusMessageTooBig, "Message too big", false, fx)
			case readProtocol:
				s, fx = startClose(s, statusProtocolError, "Protocol error", false, fx)
			default:
				// The peer closed or the connection broke: nothing more
				// can be written.
				s.closeSent, s.discard = true, true
				fx = append(fx, connEffect{Kind: fxDropQueue})
			}
		}
		s.phase = connFinished
		fx = append(fx, connEffect{Kind: fxUnregister})
		if !wasClosing && m.How == readGone {
			fx = append(fx, connEffect{Kind: fxAbort}) // a failed socket is never left open (S5)
		}
		return s, fx
	}
	return s, nil
}

// startClose enters closing with code and reason: drop the queue unless
// flushing, bound the handshake, let the writer flush and send the close
// frame, count the close.
func startClose(s connState, code websocket.StatusCode, reason string, flush bool, fx []connEffect) (connState, []connEffect) {
	s.phase, s.code, s.reason = connClosing, code, reason
	if !flush {
		s.discard = true
		fx = append(fx, connEffect{Kind: fxDropQueue})
	}
	// One append per effect: a variadic append would put a temporary
	// array on the stack of the accept path (see stepLocked in conn.go).
	fx = append(fx, connEffect{Kind: fxArmAbort})
	fx = append(fx, connEffect{Kind: fxKickWriter})
	return s, append(fx, connEffect{Kind: fxCountClose, Code: code})
}
