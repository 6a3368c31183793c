package client

import (
	"math"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/machine/machinetest"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"pgregory.net/rapid"
)

// resources is what a faithful shell would hold after executing every
// effect so far. The checks below compare it with the program's state.
type resources struct {
	sockets    map[uint64]bool // dialled, not yet closed
	keepalive  map[uint64]bool // by socket
	pongTimers map[uint64]bool
	rcTimers   map[uint64]bool
	readyTs    map[uint64]bool // ready deadlines
	stableTs   map[uint64]bool // backoff-reset timers
	channels   map[uint64]bool // by socket
	everSocket map[uint64]bool // every socket id ever dialled
	maxID      uint64          // highest id seen in any effect
}

// held counts every resource alive.
func (r *resources) held() int {
	return len(r.sockets) + len(r.keepalive) + len(r.pongTimers) + len(r.rcTimers) + len(r.channels) + len(r.readyTs) + len(r.stableTs)
}

func newResources() *resources {
	return &resources{
		sockets: map[uint64]bool{}, keepalive: map[uint64]bool{}, pongTimers: map[uint64]bool{},
		rcTimers: map[uint64]bool{}, channels: map[uint64]bool{}, everSocket: map[uint64]bool{},
		readyTs: map[uint64]bool{}, stableTs: map[uint64]bool{},
	}
}

type lifecycleMachine struct {
	cfg  programConfig
	p    *program
	s    State
	res  *resources
	rnds []float64 // values returned by Rand, for the delay bound check
	// lastRC is the last reconnecting state entered, for the growth check.
	lastRC State
}

func (m *lifecycleMachine) init(t *rapid.T) {
	m.cfg = programConfig{
		Reconnect: backoff.Policy{
			Base:        time.Duration(rapid.Int64Range(1, int64(5*time.Second)).Draw(t, "base")),
			Max:         time.Duration(rapid.Int64Range(1, int64(time.Minute)).Draw(t, "max")),
			MaxAttempts: rapid.IntRange(-1, 5).Draw(t, "maxAttempts"),
			Jitter:      backoff.Jitter(rapid.IntRange(0, 2).Draw(t, "jitter")),
		},
		KeepaliveInterval: time.Duration(rapid.SampledFrom([]int64{0, int64(30 * time.Second)}).Draw(t, "keepalive")),
		PongTimeout:       time.Duration(rapid.SampledFrom([]int64{0, int64(10 * time.Second), int64(time.Minute)}).Draw(t, "pong")),
		ReadyTimeout:      time.Duration(rapid.SampledFrom([]int64{0, int64(10 * time.Second)}).Draw(t, "readyTimeout")),
		BackoffResetAfter: time.Duration(rapid.SampledFrom([]int64{0, int64(30 * time.Second)}).Draw(t, "backoffResetAfter")),
	}
	r := rapid.Float64Range(0, 1).Draw(t, "r")
	m.cfg.Rand = func() float64 { m.rnds = append(m.rnds, r); return r }
	m.p = newProgram(m.cfg)
	m.s = State{}
	m.res = newResources()
}

// socketID picks the current socket most of the time, else an old or unknown one.
func (m *lifecycleMachine) socketID(t *rapid.T) uint64 {
	switch rapid.IntRange(0, 3).Draw(t, "which-socket") {
	case 0:
		return rapid.Uint64Range(0, m.s.seq+2).Draw(t, "any-socket")
	default:
		return m.s.sock
	}
}

func (m *lifecycleMachine) timerID(t *rapid.T, current uint64) uint64 {
	if rapid.IntRange(0, 3).Draw(t, "which-timer") == 0 {
		return rapid.Uint64Range(0, m.s.seq+2).Draw(t, "any-timer")
	}
	return current
}

// drawMsg half of the time picks a message that matters in the current
// status (so long interesting paths are common), otherwise any message.
func (m *lifecycleMachine) drawMsg(t *rapid.T) clientMsg {
	if rapid.Bool().Draw(t, "relevant") {
		sock := m.s.sock
		switch m.s.Status {
		case StatusDisconnected:
			return msgStart{}
		case StatusConnecting:
			return rapid.SampledFrom([]clientMsg{msgSocketOpened{Socket: sock}, msgServerReady{Socket: sock},
				msgSocketError{Socket: sock, Err: errDial}, msgSocketClosed{Socket: sock, Code: 1006}}).Draw(t, "relevant-C")
		case StatusConnected, StatusReady:
			return rapid.SampledFrom([]clientMsg{msgServerReady{Socket: sock}, msgKeepaliveTick{Socket: sock}, msgKeepaliveTick{Socket: sock},
				msgPongReceived{Socket: sock}, msgPongTimeout{Timer: m.s.pong}, msgSocketClosed{Socket: sock, Code: 1001},
				msgReadyTimeout{Timer: m.s.readyT}, msgReadyStable{Timer: m.s.stable}}).Draw(t, "relevant-O")
		case StatusReconnecting:
			old := rapid.Uint64Range(0, m.s.seq+1).Draw(t, "old-timer")
			return rapid.SampledFrom([]clientMsg{msgReconnectTimer{Timer: m.s.timer}, msgReconnectTimer{Timer: old},
				msgSocketOpened{Socket: old}, msgServerReady{Socket: old}}).Draw(t, "relevant-RC")
		}
	}
	switch rapid.IntRange(0, 12).Draw(t, "msg") {
	case 0:
		return msgStart{}
	case 1:
		return msgStop{}
	case 2:
		return msgSocketOpened{Socket: m.socketID(t)}
	case 3:
		return msgServerReady{Socket: m.socketID(t)}
	case 4:
		return msgSocketClosed{Socket: m.socketID(t), Code: rapid.SampledFrom([]int{1000, 1001, 1006, 1008, 1011, 4000}).Draw(t, "code")}
	case 5:
		return msgSocketError{
			Socket:     m.socketID(t),
			Err:        errDial,
			HTTPStatus: rapid.SampledFrom([]int{0, 0, 0, 401, 403, 500}).Draw(t, "status"),
			Config:     rapid.IntRange(0, 9).Draw(t, "config") == 0,
		}
	case 6:
		return msgReconnectTimer{Timer: m.timerID(t, m.s.timer)}
	case 7:
		return msgKeepaliveTick{Socket: m.socketID(t)}
	case 8:
		return msgPongReceived{Socket: m.socketID(t)}
	case 9:
		return msgPongTimeout{Timer: m.timerID(t, m.s.pong)}
	case 10:
		return msgReadyTimeout{Timer: m.timerID(t, m.s.readyT)}
	case 11:
		return msgReadyStable{Timer: m.timerID(t, m.s.stable)}
	default:
		return msgBarrier{ID: rapid.Uint64().Draw(t, "barrier")}
	}
}

func holds(s State) (socket, open, channel bool) {
	switch s.Status {
	case StatusConnecting:
		return true, false, false
	case StatusConnected:
		return true, true, false
	case StatusReady:
		return true, true, true
	}
	return false, false, false
}

// transition checks one Update against the resource model and applies its
// effects to the model.
func (m *lifecycleMachine) transition(t *rapid.T, prev State, msg clientMsg, next State, effects []effect) {
	defer func() { m.rnds = m.rnds[:0] }()
	m.s = next
	res := m.res

	// Messages about sockets or timers that are not current change nothing (W2).
	stale := false
	switch msg := msg.(type) {
	case msgSocketOpened, msgServerReady, msgSocketClosed, msgSocketError, msgKeepaliveTick, msgPongReceived:
		var sock uint64
		switch msg := msg.(type) {
		case msgSocketOpened:
			sock = msg.Socket
		case msgServerReady:
			sock = msg.Socket
		case msgSocketClosed:
			sock = msg.Socket
		case msgSocketError:
			sock = msg.Socket
		case msgKeepaliveTick:
			sock = msg.Socket
		case msgPongReceived:
			sock = msg.Socket
		}
		stale = !prev.live(sock)
	case msgReconnectTimer:
		stale = msg.Timer != prev.timer || prev.timer == 0
	case msgPongTimeout:
		stale = msg.Timer != prev.pong || prev.pong == 0
	case msgReadyTimeout:
		stale = msg.Timer != prev.readyT || prev.readyT == 0
	case msgReadyStable:
		stale = msg.Timer != prev.stable || prev.stable == 0
	}
	if stale && (next != prev || len(effects) != 0) {
		t.Fatalf("stale %T %+v changed %v -> %v with %v", msg, msg, prev, next, effects)
	}

	// Apply the effects to the resource model, checking each one.
	timerLast := -1
	for i, e := range effects {
		if e.Socket > res.maxID {
			res.maxID = e.Socket
		}
		if e.Timer > res.maxID && e.Kind != effectBarrier {
			res.maxID = e.Timer
		}
		// Never an effect on a socket that is not live (except dialling a new one).
		if e.Socket != 0 && e.Kind != effectDial && !res.sockets[e.Socket] {
			t.Fatalf("%v on socket %d that is not live (live: %v)", e, e.Socket, res.sockets)
		}
		switch e.Kind {
		case effectDial:
			if res.everSocket[e.Socket] || e.Socket == 0 {
				t.Fatalf("%v reuses a socket id", e)
			}
			if len(res.sockets) != 0 {
				t.Fatalf("%v while sockets %v are live", e, res.sockets)
			}
			if next.Status != StatusConnecting || e.Attempt != next.Attempt || e.Socket != next.sock {
				t.Fatalf("%v does not match new state %v", e, next)
			}
			res.sockets[e.Socket], res.everSocket[e.Socket] = true, true
		case effectCloseSocket:
			if res.keepalive[e.Socket] || res.channels[e.Socket] {
				t.Fatalf("%v before its keepalive/channel were released", e)
			}
			delete(res.sockets, e.Socket)
		case effectStartKeepalive:
			if prev.Status != StatusConnecting || (next.Status != StatusConnected && next.Status != StatusReady) {
				t.Fatalf("%v on %v -> %v (invariant 1)", e, prev.Status, next.Status)
			}
			if res.keepalive[e.Socket] || e.After != m.cfg.KeepaliveInterval {
				t.Fatalf("%v twice or with the wrong interval", e)
			}
			res.keepalive[e.Socket] = true
		case effectStopKeepalive:
			if !res.keepalive[e.Socket] {
				t.Fatalf("%v without a keepalive", e)
			}
			delete(res.keepalive, e.Socket)
		case effectSendPing:
			if !res.keepalive[e.Socket] {
				t.Fatalf("%v without a keepalive", e)
			}
		case effectStartPongTimer:
			if len(res.pongTimers) != 0 || e.After != m.cfg.PongTimeout || e.Timer != next.pong {
				t.Fatalf("%v with pong timers %v, state %v", e, res.pongTimers, next)
			}
			res.pongTimers[e.Timer] = true
		case effectCancelPongTimer:
			if !res.pongTimers[e.Timer] {
				t.Fatalf("%v not armed", e)
			}
			delete(res.pongTimers, e.Timer)
		case effectStartReconnectTimer:
			if len(res.rcTimers) != 0 || next.Status != StatusReconnecting || e.Timer != next.timer || e.After != next.Delay {
				t.Fatalf("%v with timers %v, state %v (invariant 4)", e, res.rcTimers, next)
			}
			res.rcTimers[e.Timer] = true
			timerLast = i
		case effectCancelReconnectTimer:
			if !res.rcTimers[e.Timer] {
				t.Fatalf("%v not armed", e)
			}
			delete(res.rcTimers, e.Timer)
		case effectStartReadyTimer:
			if prev.Status != StatusConnecting || next.Status != StatusConnected || len(res.readyTs) != 0 ||
				e.After != m.cfg.ReadyTimeout || e.Timer != next.readyT || e.Socket != next.sock {
				t.Fatalf("%v on %v -> %v with deadlines %v", e, prev, next, res.readyTs)
			}
			res.readyTs[e.Timer] = true
		case effectCancelReadyTimer:
			if !res.readyTs[e.Timer] {
				t.Fatalf("%v not armed", e)
			}
			delete(res.readyTs, e.Timer)
		case effectStartStableTimer:
			if prev.Status == StatusReady || next.Status != StatusReady || len(res.stableTs) != 0 ||
				e.After != m.cfg.BackoffResetAfter || e.Timer != next.stable || e.Socket != next.sock {
				t.Fatalf("%v on %v -> %v with reset timers %v", e, prev, next, res.stableTs)
			}
			res.stableTs[e.Timer] = true
		case effectCancelStableTimer:
			if !res.stableTs[e.Timer] {
				t.Fatalf("%v not armed", e)
			}
			delete(res.stableTs, e.Timer)
		case effectAddChannel:
			if next.Status != StatusReady || prev.Status == StatusReady || res.channels[e.Socket] {
				t.Fatalf("%v on %v -> %v (invariant 2)", e, prev.Status, next.Status)
			}
			res.channels[e.Socket] = true
		case effectRemoveChannel:
			if prev.Status != StatusReady || next.Status == StatusReady || !res.channels[e.Socket] {
				t.Fatalf("%v on %v -> %v (invariant 2)", e, prev.Status, next.Status)
			}
			delete(res.channels, e.Socket)
		case effectBarrier:
			if b, ok := msg.(msgBarrier); !ok || b.ID != e.Timer || len(effects) != 1 || next != prev {
				t.Fatalf("%v for %T", e, msg)
			}
		default:
			t.Fatalf("unknown effect %v", e)
		}
	}
	if timerLast >= 0 && timerLast != len(effects)-1 {
		t.Fatalf("start-reconnect-timer not last in %v", effects)
	}
	// Fired timers are gone.
	switch msg := msg.(type) {
	case msgReconnectTimer:
		if !stale {
			delete(res.rcTimers, msg.Timer)
		}
	case msgPongTimeout:
		if !stale {
			delete(res.pongTimers, msg.Timer)
		}
	case msgReadyTimeout:
		if !stale {
			delete(res.readyTs, msg.Timer)
		}
	case msgReadyStable:
		if !stale {
			delete(res.stableTs, msg.Timer)
		}
	}

	// Transition rules.
	if next.Status == StatusConnecting && prev.Status != StatusConnecting {
		_, fromStart := msg.(msgStart)
		_, fromTimer := msg.(msgReconnectTimer)
		switch {
		case prev.Status == StatusDisconnected && fromStart:
			if next.Attempt != 1 {
				t.Fatalf("start -> attempt %d", next.Attempt)
			}
		case prev.Status == StatusReconnecting && fromTimer:
			if next.Attempt != prev.Attempt {
				t.Fatalf("timer fired for attempt %d -> connecting %d", prev.Attempt, next.Attempt)
			}
		default:
			t.Fatalf("%v -> connecting via %T: only start or the backoff timer may (invariant 5)", prev, msg)
		}
	}
	if prev.Status == StatusReconnecting && next.Status != StatusReconnecting {
		_, fromStop := msg.(msgStop)
		_, fromTimer := msg.(msgReconnectTimer)
		if !fromStop && !fromTimer {
			t.Fatalf("left reconnecting via %T (invariant 4)", msg)
		}
	}
	if _, ok := msg.(msgStop); ok && prev.Status != StatusDisconnected {
		if next.Status != StatusDisconnected || next.Reason == nil || next.Reason.Reason != reasonIntentional {
			t.Fatalf("stop -> %v (invariant 6)", next)
		}
	}
	if next.Status == StatusReconnecting && prev.Status != StatusReconnecting {
		m.checkDelay(t, next)
	}
	m.checkGrowth(t, prev, msg, stale, next)
	m.checkOutcome(t, prev, msg, stale, next, effects)
	if next.seq < prev.seq {
		t.Fatalf("id counter went back: %d -> %d", prev.seq, next.seq)
	}
	if next.Status == StatusDisconnected && next.Reason != nil && permanent(next.Reason.Reason) {
		// Non-retryable outcomes never schedule a retry.
		if len(res.rcTimers) != 0 {
			t.Fatalf("retry scheduled after %v", next.Reason)
		}
	}
}

// checkOutcome checks what a live message must lead to: idle cells change
// nothing, failures release the socket, escalate the attempt count until
// "ready", and stop for good on non-retryable outcomes.
func (m *lifecycleMachine) checkOutcome(t *rapid.T, prev State, msg clientMsg, stale bool, next State, effects []effect) {
	switch msg.(type) {
	case msgStart:
		if prev.Status != StatusDisconnected && (next != prev || len(effects) != 0) {
			t.Fatalf("start in %v acted", prev)
		}
	case msgBarrier:
	default:
		if prev.Status == StatusDisconnected && (next != prev || len(effects) != 0) {
			t.Fatalf("%T in %v acted: %v %v", msg, prev, next, effects)
		}
	}
	if stale {
		return
	}
	var failure *DisconnectReason
	closeReason := reasonClientDisconnecting
	switch msg := msg.(type) {
	case msgSocketClosed:
		failure = &DisconnectReason{Reason: reasonClosed}
		if msg.Code == closePolicyViolation {
			failure.Reason = reasonPolicyViolation
		}
	case msgSocketError:
		failure = &DisconnectReason{Reason: reasonError}
		switch {
		case msg.Config:
			failure.Reason = reasonInvalidConfig
		case msg.HTTPStatus == 401 || msg.HTTPStatus == 403:
			failure.Reason = reasonUnauthorized
		}
	case msgPongTimeout:
		failure = &DisconnectReason{Reason: reasonPongTimeout}
		closeReason = closeReasonPongTimeout
	case msgReadyTimeout:
		failure = &DisconnectReason{Reason: reasonReadyTimeout}
		closeReason = closeReasonReadyTimeout
	case msgReadyStable:
		if next.Status != StatusReady || next.Attempt != 0 || next.stable != 0 || len(effects) != 0 {
			t.Fatalf("ready-stable in %v -> %v %v, want ready with the count restarted", prev, next, effects)
		}
	}
	if failure == nil {
		return
	}
	if len(m.res.sockets) != 0 {
		t.Fatalf("%T did not release the socket", msg)
	}
	var closes []effect
	for _, e := range effects {
		if e.Kind == effectCloseSocket {
			closes = append(closes, e)
		}
	}
	if len(closes) != 1 || closes[0].Socket != prev.sock || closes[0].Code != closeNormal || closes[0].Reason != closeReason {
		t.Fatalf("%T: close effects %v", msg, closes)
	}
	failed := prev.Attempt // 0 once ready and stable
	pol := m.cfg.Reconnect
	switch {
	case permanent(failure.Reason), pol.MaxAttempts == 0:
		if next.Status != StatusDisconnected || next.Reason == nil || next.Reason.Reason != failure.Reason {
			t.Fatalf("%T (%v) -> %v, want disconnected(%v)", msg, failure.Reason, next, failure.Reason)
		}
	case pol.MaxAttempts > 0 && failed >= pol.MaxAttempts:
		r := next.Reason
		if next.Status != StatusDisconnected || r == nil || r.Reason != reasonMaxRetries || r.Attempts != failed {
			t.Fatalf("%T after attempt %d -> %v, want max-retries after %d", msg, failed, next, failed)
		}
		if last, ok := r.Err.(*DisconnectReason); !ok || last.Reason != failure.Reason {
			t.Fatalf("max-retries wraps %v, want %v", r.Err, failure.Reason)
		}
	default:
		if next.Status != StatusReconnecting || next.Attempt != failed+1 {
			t.Fatalf("%T from %v -> %v, want reconnecting(attempt %d)", msg, prev, next, failed+1)
		}
	}
}

// checkGrowth checks that the attempt count only restarts when a connection
// proved stable (the backoff-reset timer, or "ready" when there is none) or
// on a fresh start: a server that keeps failing the client, whether before
// or after "ready", sees a growing count and so growing delays. With an
// unlimited policy the client never gives up on its own.
func (m *lifecycleMachine) checkGrowth(t *rapid.T, prev State, msg clientMsg, stale bool, next State) {
	if prev.Status != StatusDisconnected && next.Status != StatusDisconnected && next.Attempt < prev.Attempt {
		_, isStable := msg.(msgReadyStable)
		_, isReady := msg.(msgServerReady)
		if !(isStable && !stale) && !(isReady && m.cfg.BackoffResetAfter <= 0) {
			t.Fatalf("attempt count went back %v -> %v via %T", prev, next, msg)
		}
	}
	if next.Status == StatusReconnecting && prev.Status != StatusReconnecting {
		if m.lastRC.Status == StatusReconnecting && next.Attempt > m.lastRC.Attempt &&
			m.cfg.Reconnect.Jitter == backoff.JitterNone && next.Delay < m.lastRC.Delay {
			t.Fatalf("interval shrank from %v to %v", m.lastRC, next)
		}
		m.lastRC = next
	}
	if _, ok := msg.(msgStart); ok && next.Status == StatusConnecting {
		m.lastRC = State{}
	}
	if r := next.Reason; m.cfg.Reconnect.MaxAttempts < 0 && r != nil && r.Reason != reasonIntentional && !permanent(r.Reason) {
		t.Fatalf("unlimited policy gave up: %v", next)
	}
}

// checkDelay checks invariant 7: attempts bounded, delay within the jitter's bounds.
func (m *lifecycleMachine) checkDelay(t *rapid.T, s State) {
	pol := m.cfg.Reconnect
	if pol.MaxAttempts > 0 && s.Attempt > pol.MaxAttempts {
		t.Fatalf("attempt %d above max %d", s.Attempt, pol.MaxAttempts)
	}
	if len(m.rnds) != 1 {
		t.Fatalf("Rand drawn %d times for one retry", len(m.rnds))
	}
	raw := float64(pol.Base) * math.Exp2(float64(s.Attempt-1))
	capped := time.Duration(math.Min(raw, float64(pol.Max)))
	lo, hi := capped, capped
	switch pol.Jitter {
	case backoff.JitterFull:
		lo = 0
	case backoff.JitterAdditive:
		hi = time.Duration(math.Min(raw*1.2, float64(pol.Max)))
	}
	if s.Delay < lo || s.Delay > hi {
		t.Fatalf("delay %v outside [%v, %v] for attempt %d", s.Delay, lo, hi, s.Attempt)
	}
}

// check compares the resource model with the state after every step.
func (m *lifecycleMachine) check(t *rapid.T, s State, _ []effect) {
	res := m.res
	socket, open, channel := holds(s)
	if len(res.sockets) > 1 || len(res.pongTimers) > 1 || len(res.rcTimers) > 1 || len(res.keepalive) > 1 || len(res.channels) > 1 ||
		len(res.readyTs) > 1 || len(res.stableTs) > 1 {
		t.Fatalf("more than one live resource of a kind: %+v", res)
	}
	if socket != res.sockets[s.sock] || socket != (len(res.sockets) == 1) {
		t.Fatalf("state %v holds socket=%v but live sockets %v", s, socket, res.sockets)
	}
	wantKA := open && m.cfg.KeepaliveInterval > 0
	if wantKA != res.keepalive[s.sock] || wantKA != (len(res.keepalive) == 1) {
		t.Fatalf("keepalive runs iff the socket is open: state %v, keepalive %v", s, res.keepalive)
	}
	if channel != res.channels[s.sock] || channel != (len(res.channels) == 1) {
		t.Fatalf("channel iff ready: state %v, channels %v", s, res.channels)
	}
	if (s.pong != 0) != res.pongTimers[s.pong] || (s.pong != 0) != (len(res.pongTimers) == 1) {
		t.Fatalf("pong deadline %d vs armed %v", s.pong, res.pongTimers)
	}
	if s.pong != 0 && !open {
		t.Fatalf("pong deadline without an open socket: %v", s)
	}
	rcWant := s.Status == StatusReconnecting
	if rcWant != res.rcTimers[s.timer] || rcWant != (len(res.rcTimers) == 1) {
		t.Fatalf("reconnect timer iff reconnecting: state %v, timers %v", s, res.rcTimers)
	}
	if s.Status != StatusDisconnected && s.Reason != nil {
		t.Fatalf("reason outside disconnected: %v", s)
	}
	if (s.Status == StatusConnecting || s.Status == StatusConnected) && s.Attempt < 1 {
		t.Fatalf("attempt %d in %v", s.Attempt, s.Status)
	}
	// The client never waits for "ready" without a deadline when it has one.
	wantReadyT := s.Status == StatusConnected && m.cfg.ReadyTimeout > 0
	if wantReadyT != (s.readyT != 0) || wantReadyT != res.readyTs[s.readyT] || wantReadyT != (len(res.readyTs) == 1) {
		t.Fatalf("ready deadline iff connected: state %v (deadline %d), armed %v", s, s.readyT, res.readyTs)
	}
	// A ready connection keeps its attempt number exactly while its
	// backoff-reset timer runs.
	wantStable := s.Status == StatusReady && s.Attempt != 0
	if wantStable != (s.stable != 0) || wantStable != res.stableTs[s.stable] || wantStable != (len(res.stableTs) == 1) {
		t.Fatalf("reset timer iff ready and not yet stable: state %v (timer %d), armed %v", s, s.stable, res.stableTs)
	}
	if s.Status == StatusReady && m.cfg.BackoffResetAfter <= 0 && s.Attempt != 0 {
		t.Fatalf("ready keeps attempt %d without a reset delay", s.Attempt)
	}
	if res.maxID > s.seq {
		t.Fatalf("an effect used id %d beyond the counter %d", res.maxID, s.seq)
	}
	if s.Status == StatusDisconnected && s.Reason != nil && s.Reason.Reason == reasonIntentional {
		if res.held() != 0 {
			t.Fatalf("stop left resources behind: %+v", res)
		}
	}
	if s.Status == StatusDisconnected && res.held() != 0 {
		t.Fatalf("disconnected with resources held: %+v", res)
	}
}

// TestProgramStateMachine drives random message sequences (aimed mostly at
// the current socket and timers, sometimes at stale or unknown ones) through
// the program with machinetest, which also checks that Update never mutates
// its input state or message, and checks §3.5's invariants plus the
// resource rules above after every step.
func TestProgramStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &lifecycleMachine{}
		m.init(t)
		machinetest.Check(t, machinetest.Config[clientMsg, State, effect]{
			Program:    m.p,
			Msg:        rapid.Custom(m.drawMsg),
			Steps:      100,
			Transition: m.transition,
			Invariant:  m.check,
		})
	})
}
