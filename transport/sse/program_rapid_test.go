package sse

import (
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/machine/machinetest"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"pgregory.net/rapid"
)

// held is what a faithful shell holds after carrying out every effect so
// far; the checks compare it with the program's state.
type held struct {
	streams  map[uint64]bool // opened, not yet closed
	channels map[uint64]bool // by stream
	timers   map[uint64]bool
	ever     map[uint64]bool // every stream id ever opened
}

type lifecycleMachine struct {
	cfg programConfig
	p   *program
	s   State
	h   held
}

func (m *lifecycleMachine) init(t *rapid.T) {
	m.cfg = programConfig{Reconnect: backoff.Policy{
		Base:        time.Duration(rapid.Int64Range(1, int64(5*time.Second)).Draw(t, "base")),
		Max:         time.Duration(rapid.Int64Range(1, int64(time.Minute)).Draw(t, "max")),
		MaxAttempts: rapid.IntRange(-1, 5).Draw(t, "maxAttempts"),
		Jitter:      backoff.Jitter(rapid.IntRange(0, 2).Draw(t, "jitter")),
	}}
	r := rapid.Float64Range(0, 1).Draw(t, "r")
	m.cfg.Rand = func() float64 { return r }
	m.p = newProgram(m.cfg)
	m.s, _ = m.p.Init()
	m.h = held{streams: map[uint64]bool{}, channels: map[uint64]bool{}, timers: map[uint64]bool{}, ever: map[uint64]bool{}}
}

// id picks the current id most of the time, else an old or unknown one.
func (m *lifecycleMachine) id(t *rapid.T, current uint64) uint64 {
	if rapid.IntRange(0, 3).Draw(t, "which") == 0 {
		return rapid.Uint64Range(0, m.s.seq+2).Draw(t, "any-id")
	}
	return current
}

func (m *lifecycleMachine) drawMsg(t *rapid.T) clientMsg {
	switch rapid.IntRange(0, 7).Draw(t, "msg") {
	case 0:
		return msgStart{}
	case 1:
		return msgStop{}
	case 2:
		return msgStreamOpened{Stream: m.id(t, m.s.stream)}
	case 3:
		return msgStreamClosed{Stream: m.id(t, m.s.stream), Code: rapid.SampledFrom([]int{1000, 1001, 1006, 1008, 1011, 4000}).Draw(t, "code")}
	case 4:
		return msgStreamError{Stream: m.id(t, m.s.stream), Err: errNet,
			HTTPStatus: rapid.SampledFrom([]int{0, 0, 401, 403, 404, 503}).Draw(t, "status"),
			Config:     rapid.IntRange(0, 9).Draw(t, "config") == 0}
	case 5:
		return msgUploadFailed{Stream: m.id(t, m.s.stream), HTTPStatus: rapid.SampledFrom([]int{0, 400, 401, 403, 404, 409, 502}).Draw(t, "status"), Err: errNet}
	case 6:
		return msgReconnectTimer{Timer: m.id(t, m.s.timer)}
	default:
		return msgBarrier{ID: rapid.Uint64().Draw(t, "barrier")}
	}
}

func (m *lifecycleMachine) step(t *rapid.T) {
	msg := m.drawMsg(t)
	prev := m.s
	before := machinetest.DeepCopy(prev)
	next, effects := m.p.Update(prev, msg)
	if !machinetest.DeepEqual(prev, before) {
		t.Fatalf("Update mutated its input: %v -> %v", before, prev)
	}
	m.check(t, prev, msg, next, effects)
	m.s = next
}

func streamOf(msg clientMsg) (uint64, bool) {
	switch msg := msg.(type) {
	case msgStreamOpened:
		return msg.Stream, true
	case msgStreamClosed:
		return msg.Stream, true
	case msgStreamError:
		return msg.Stream, true
	case msgUploadFailed:
		return msg.Stream, true
	}
	return 0, false
}

// check applies effects to the held resources and checks every invariant.
func (m *lifecycleMachine) check(t *rapid.T, prev State, msg clientMsg, next State, effects []effect) {
	h := &m.h
	// Messages about a stream or timer that is not current change nothing.
	if id, ok := streamOf(msg); ok && !prev.live(id) {
		if next != prev || len(effects) != 0 {
			t.Fatalf("stale %T changed %v -> %v with %v", msg, prev, next, effects)
		}
	}
	if tf, ok := msg.(msgReconnectTimer); ok && (tf.Timer != prev.timer || prev.Status != client.StatusReconnecting) {
		if next != prev || len(effects) != 0 {
			t.Fatalf("stale timer changed %v -> %v with %v", prev, next, effects)
		}
	}
	for i, e := range effects {
		switch e.Kind {
		case effectOpenStream:
			if len(h.streams) != 0 || h.ever[e.Stream] || e.Stream == 0 {
				t.Fatalf("%v with streams %v live or the id reused", e, h.streams)
			}
			if next.Status != client.StatusConnecting || next.stream != e.Stream || next.Attempt != e.Attempt {
				t.Fatalf("%v does not match %v", e, next)
			}
			h.streams[e.Stream], h.ever[e.Stream] = true, true
		case effectCloseStream:
			if !h.streams[e.Stream] || h.channels[e.Stream] {
				t.Fatalf("%v: stream not live, or its channel still there", e)
			}
			if _, stop := msg.(msgStop); e.Graceful && !stop {
				t.Fatalf("graceful close on %T: uploads of a lost stream must be aborted", msg)
			}
			delete(h.streams, e.Stream)
		case effectAddChannel:
			if !h.streams[e.Stream] || h.channels[e.Stream] || prev.Status != client.StatusConnecting || next.Status != client.StatusConnected {
				t.Fatalf("%v on %v -> %v", e, prev, next)
			}
			h.channels[e.Stream] = true
		case effectRemoveChannel:
			if !h.channels[e.Stream] || prev.Status != client.StatusConnected {
				t.Fatalf("%v without a channel", e)
			}
			delete(h.channels, e.Stream)
		case effectStartReconnectTimer:
			if len(h.timers) != 0 || next.Status != client.StatusReconnecting || e.Timer != next.timer || e.After != next.Delay || i != len(effects)-1 {
				t.Fatalf("%v with timers %v, state %v, effects %v", e, h.timers, next, effects)
			}
			if e.After < 0 || e.After > max(m.cfg.Reconnect.Max, 0) {
				t.Fatalf("%v outside [0, Max %v]", e, m.cfg.Reconnect.Max)
			}
			h.timers[e.Timer] = true
		case effectCancelReconnectTimer:
			if !h.timers[e.Timer] {
				t.Fatalf("%v not armed", e)
			}
			delete(h.timers, e.Timer)
		case effectBarrier:
			if b, ok := msg.(msgBarrier); !ok || b.ID != e.Timer || len(effects) != 1 || next != prev {
				t.Fatalf("%v for %T", e, msg)
			}
		default:
			t.Fatalf("unknown effect %v", e)
		}
	}
	if tf, ok := msg.(msgReconnectTimer); ok && prev.Status == client.StatusReconnecting && tf.Timer == prev.timer {
		delete(h.timers, tf.Timer) // it fired
	}

	// Held resources match the state.
	switch next.Status {
	case client.StatusDisconnected, client.StatusReconnecting:
		if len(h.streams) != 0 || len(h.channels) != 0 {
			t.Fatalf("%v holds streams %v channels %v", next, h.streams, h.channels)
		}
	case client.StatusConnecting:
		if len(h.streams) != 1 || !h.streams[next.stream] || len(h.channels) != 0 {
			t.Fatalf("%v holds streams %v channels %v", next, h.streams, h.channels)
		}
	case client.StatusConnected:
		if len(h.streams) != 1 || !h.streams[next.stream] || len(h.channels) != 1 || !h.channels[next.stream] {
			t.Fatalf("%v holds streams %v channels %v", next, h.streams, h.channels)
		}
	}
	if (next.Status == client.StatusReconnecting) != (len(h.timers) == 1) || (len(h.timers) == 1 && !h.timers[next.timer]) {
		t.Fatalf("%v with timers %v", next, h.timers)
	}

	// Transition rules.
	if next.Status == client.StatusConnecting && prev.Status != client.StatusConnecting {
		_, fromStart := msg.(msgStart)
		_, fromTimer := msg.(msgReconnectTimer)
		switch {
		case prev.Status == client.StatusDisconnected && fromStart:
			if next.Attempt != 1 {
				t.Fatalf("start -> attempt %d", next.Attempt)
			}
		case prev.Status == client.StatusReconnecting && fromTimer:
			if next.Attempt != prev.Attempt {
				t.Fatalf("attempt %d -> %d", prev.Attempt, next.Attempt)
			}
		default:
			t.Fatalf("%v -> connecting via %T: only start or the backoff timer may", prev, msg)
		}
	}
	if _, ok := msg.(msgStop); ok && prev.Status != client.StatusDisconnected {
		if next.Status != client.StatusDisconnected || next.Reason == nil || next.Reason.Reason != reasonIntentional {
			t.Fatalf("stop from %v ended in %v", prev, next)
		}
	}
	if next.Status == client.StatusDisconnected && prev.Status != client.StatusDisconnected && next.Reason == nil {
		t.Fatalf("disconnected without a reason after %v", prev)
	}
	if next.Status == client.StatusReconnecting && m.cfg.Reconnect.MaxAttempts >= 0 && next.Attempt > m.cfg.Reconnect.MaxAttempts {
		t.Fatalf("attempt %d beyond MaxAttempts %d", next.Attempt, m.cfg.Reconnect.MaxAttempts)
	}
	if next.Status == client.StatusDisconnected && next.Reason != nil && permanent(next.Reason.Reason) {
		if _, ok := msg.(msgStop); ok && prev.Status != client.StatusDisconnected {
			t.Fatalf("stop gave a permanent reason %v", next.Reason)
		}
	}
}

func TestProgramStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &lifecycleMachine{}
		m.init(t)
		t.Repeat(map[string]func(*rapid.T){
			"step": m.step,
			"": func(t *rapid.T) {
				if m.s.seq < m.s.stream || m.s.seq < m.s.timer {
					t.Fatalf("ids beyond seq in %#v", m.s)
				}
			},
		})
		// However it got here, Stop releases everything.
		next, effects := m.p.Update(m.s, msgStop{})
		m.check(t, m.s, msgStop{}, next, effects)
		if len(m.h.streams)+len(m.h.channels)+len(m.h.timers) != 0 || next.Status != client.StatusDisconnected {
			t.Fatalf("after stop: %v holds %+v", next, m.h)
		}
	})
}
