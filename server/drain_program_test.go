package server

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/machine"
	"pgregory.net/rapid"
)

var _ machine.Program[drainMsg, drainState, drainEffect] = drainProgram{}

func TestResolveDrain(t *testing.T) {
	s := time.Second
	tests := []struct {
		name           string
		call, defaults DrainOptions
		want           drainConfig
	}{
		{"fallbacks", DrainOptions{}, DrainOptions{},
			drainConfig{Window: 5 * s, Deadline: 10 * s, Code: 1001, Reason: "Server draining"}},
		{"defaults used", DrainOptions{}, DrainOptions{Window: 2 * s, Deadline: 3 * s, CloseCode: 4001, CloseReason: "bye"},
			drainConfig{Window: 2 * s, Deadline: 3 * s, Code: 4001, Reason: "bye"}},
		{"per call wins", DrainOptions{Window: 1 * s, Deadline: 7 * s, CloseCode: 1012, CloseReason: "restart"},
			DrainOptions{Window: 2 * s, Deadline: 3 * s, CloseCode: 4001, CloseReason: "bye"},
			drainConfig{Window: 1 * s, Deadline: 7 * s, Code: 1012, Reason: "restart"}},
		{"deadline follows the resolved window", DrainOptions{Window: 4 * s}, DrainOptions{Window: 1 * s},
			drainConfig{Window: 4 * s, Deadline: 9 * s, Code: 1001, Reason: "Server draining"}},
		// S3: a default deadline shorter than a per-call window is not kept.
		{"S3 default deadline shorter than window", DrainOptions{Window: 30 * s}, DrainOptions{Deadline: 10 * s},
			drainConfig{Window: 30 * s, Deadline: 35 * s, Code: 1001, Reason: "Server draining"}},
		{"default deadline longer than window kept", DrainOptions{Window: 3 * s}, DrainOptions{Deadline: 20 * s},
			drainConfig{Window: 3 * s, Deadline: 20 * s, Code: 1001, Reason: "Server draining"}},
		{"explicit per-call deadline honoured", DrainOptions{Window: 30 * s, Deadline: 1 * s}, DrainOptions{},
			drainConfig{Window: 30 * s, Deadline: 1 * s, Code: 1001, Reason: "Server draining"}},
		{"negative window: immediate, grace only", DrainOptions{Window: -1}, DrainOptions{},
			drainConfig{Window: -1, Deadline: 5 * s, Code: 1001, Reason: "Server draining"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolveDrain(tt.call, tt.defaults); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPlanDrain(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		ids    []connID
		window time.Duration
		draws  []float64
		want   []drainStep
	}{
		{"empty", nil, 5 * time.Second, nil, []drainStep{}},
		{"order preserved", []connID{3, 1, 2}, 1000 * ms, []float64{0.5, 0.5, 0.5},
			[]drainStep{{3, 500 * ms}, {1, 500 * ms}, {2, 500 * ms}}},
		// The reference's cycling draws [0, 0.25, 0.999] over 4000 ms.
		{"reference draws", []connID{1, 2, 3}, 4000 * ms, []float64{0, 0.25, 0.999},
			[]drainStep{{1, 0}, {2, 1000 * ms}, {3, 3996 * ms}}},
		{"zero window ignores draws", []connID{1, 2}, 0, []float64{0.9, 0.9}, []drainStep{{1, 0}, {2, 0}}},
		{"negative window", []connID{1}, -time.Second, []float64{0.9}, []drainStep{{1, 0}}},
		{"draws clamped", []connID{1, 2, 3, 4}, 100, []float64{-1, 1, 7, math.NaN()},
			[]drainStep{{1, 0}, {2, 99}, {3, 99}, {4, 0}}},
		{"missing draws mean 0", []connID{1, 2}, 100, []float64{0.5}, []drainStep{{1, 50}, {2, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planDrain(tt.ids, tt.window, tt.draws); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDrainProgramTable has a row for every state × message cell (with the
// sub-cases that matter: empty or not, pending or not, current round or
// stale).
func TestDrainProgramTable(t *testing.T) {
	cfg := drainConfig{Window: 1000, Deadline: 6000, Code: 1001, Reason: "Server draining"}
	cfg0 := drainConfig{Window: -1, Deadline: 5000, Code: 4001, Reason: "now"}
	idle := drainState{}
	active := drainState{Phase: drainActive, Round: 2, Config: cfg, Snapshot: 3,
		Pending: map[connID]struct{}{1: {}, 2: {}}}
	activeOne := drainState{Phase: drainActive, Round: 2, Config: cfg, Snapshot: 3,
		Pending: map[connID]struct{}{2: {}}}
	finished := drainState{Phase: drainFinished, Round: 2, Config: cfg, Snapshot: 3,
		Result: DrainResult{Closed: 3}}
	start := drainStartMsg{Conns: []connID{7, 8}, Config: cfg, Draws: []float64{0.5, 0}}
	startEmpty := drainStartMsg{Config: cfg}
	startNow := drainStartMsg{Conns: []connID{7, 8}, Config: cfg0}

	tests := []struct {
		name   string
		s      drainState
		m      drainMsg
		want   drainState
		wantFx []drainEffect
	}{
		// idle
		{"idle start", idle, start,
			drainState{Phase: drainActive, Round: 1, Config: cfg, Snapshot: 2, Pending: map[connID]struct{}{7: {}, 8: {}}},
			[]drainEffect{fxArmClose{Round: 1, ID: 7, Delay: 500}, fxCloseConn{ID: 8, Code: 1001, Reason: "Server draining"},
				fxArmDeadline{Round: 1, Delay: 6000}}},
		{"idle start empty", idle, startEmpty,
			drainState{Phase: drainFinished, Round: 1, Config: cfg},
			[]drainEffect{fxCancelTimers{Round: 1}, fxFinish{Round: 1, Result: DrainResult{}}}},
		{"idle start immediate window", idle, startNow,
			drainState{Phase: drainActive, Round: 1, Config: cfg0, Snapshot: 2, Pending: map[connID]struct{}{7: {}, 8: {}}},
			[]drainEffect{fxCloseConn{ID: 7, Code: 4001, Reason: "now"}, fxCloseConn{ID: 8, Code: 4001, Reason: "now"},
				fxArmDeadline{Round: 1, Delay: 5000}}},
		{"idle start duplicate ids", idle, drainStartMsg{Conns: []connID{7, 7}, Config: cfg0},
			drainState{Phase: drainActive, Round: 1, Config: cfg0, Snapshot: 1, Pending: map[connID]struct{}{7: {}}},
			[]drainEffect{fxCloseConn{ID: 7, Code: 4001, Reason: "now"}, fxArmDeadline{Round: 1, Delay: 5000}}},
		{"idle removed", idle, drainRemovedMsg{ID: 1}, idle, nil},
		{"idle close due", idle, drainCloseDueMsg{Round: 0, ID: 1}, idle, nil},
		{"idle deadline", idle, drainDeadlineMsg{Round: 0}, idle, nil},

		// active
		{"active start joins (S2)", active, start, active, nil},
		{"active removed pending", active, drainRemovedMsg{ID: 1}, activeOne, nil},
		{"active removed unknown", active, drainRemovedMsg{ID: 9}, active, nil},
		{"active removed last", activeOne, drainRemovedMsg{ID: 2},
			drainState{Phase: drainFinished, Round: 2, Config: cfg, Snapshot: 3, Result: DrainResult{Closed: 3}},
			[]drainEffect{fxCancelTimers{Round: 2}, fxFinish{Round: 2, Result: DrainResult{Closed: 3}}}},
		{"active close due pending", active, drainCloseDueMsg{Round: 2, ID: 1}, active,
			[]drainEffect{fxCloseConn{ID: 1, Code: 1001, Reason: "Server draining"}}},
		{"active close due gone", activeOne, drainCloseDueMsg{Round: 2, ID: 1}, activeOne, nil},
		{"active close due stale round", active, drainCloseDueMsg{Round: 1, ID: 1}, active, nil},
		{"active deadline", active, drainDeadlineMsg{Round: 2},
			drainState{Phase: drainFinished, Round: 2, Config: cfg, Snapshot: 3, Result: DrainResult{Closed: 1, Remaining: 2, TimedOut: true}},
			[]drainEffect{fxCancelTimers{Round: 2}, fxFinish{Round: 2, Result: DrainResult{Closed: 1, Remaining: 2, TimedOut: true}}}},
		{"active deadline stale round", active, drainDeadlineMsg{Round: 1}, active, nil},

		// finished
		{"finished start begins a new round", finished, start,
			drainState{Phase: drainActive, Round: 3, Config: cfg, Snapshot: 2, Pending: map[connID]struct{}{7: {}, 8: {}}},
			[]drainEffect{fxArmClose{Round: 3, ID: 7, Delay: 500}, fxCloseConn{ID: 8, Code: 1001, Reason: "Server draining"},
				fxArmDeadline{Round: 3, Delay: 6000}}},
		{"finished start empty", finished, startEmpty,
			drainState{Phase: drainFinished, Round: 3, Config: cfg},
			[]drainEffect{fxCancelTimers{Round: 3}, fxFinish{Round: 3, Result: DrainResult{}}}},
		{"finished removed", finished, drainRemovedMsg{ID: 1}, finished, nil},
		{"finished close due", finished, drainCloseDueMsg{Round: 2, ID: 1}, finished, nil},
		{"finished deadline", finished, drainDeadlineMsg{Round: 2}, finished, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneDrainState(tt.s)
			got, fx := drainProgram{}.Update(tt.s, tt.m)
			if !reflect.DeepEqual(tt.s, before) {
				t.Fatalf("input state mutated: %+v, was %+v", tt.s, before)
			}
			if !drainStateEqual(got, tt.want) {
				t.Fatalf("state\n got %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(fx, tt.wantFx) {
				t.Fatalf("effects\n got %#v\nwant %#v", fx, tt.wantFx)
			}
		})
	}
}

func TestDrainProgramInit(t *testing.T) {
	s, fx := drainProgram{}.Init()
	if s.Phase != drainIdle || s.Round != 0 || fx != nil {
		t.Fatalf("Init = %+v, %v", s, fx)
	}
}

func cloneDrainState(s drainState) drainState {
	c := s
	if s.Pending != nil {
		c.Pending = make(map[connID]struct{}, len(s.Pending))
		for k := range s.Pending {
			c.Pending[k] = struct{}{}
		}
	}
	return c
}

func drainStateEqual(a, b drainState) bool {
	if len(a.Pending) == 0 && len(b.Pending) == 0 {
		a.Pending, b.Pending = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// drainModel is the rapid state machine: a registry of live connections, a
// drain program fed random events, and a model of the timers it armed.
type drainModel struct {
	p      drainProgram
	s      drainState
	live   map[connID]bool // registered connections
	next   connID
	timers map[connID]time.Duration // armed close timers of the current round
	closed map[connID]bool          // fxCloseConn seen this round
	rounds map[uint64]int           // fxFinish count per round
	snap   int
}

func (m *drainModel) step(t *rapid.T, msg drainMsg) {
	before := cloneDrainState(m.s)
	n, fx := m.p.Update(m.s, msg)
	if !reflect.DeepEqual(m.s, before) {
		t.Fatalf("input state mutated by %#v", msg)
	}
	for _, f := range fx {
		switch f := f.(type) {
		case fxArmClose:
			if f.Round != n.Round || n.Phase != drainActive {
				t.Fatalf("arm close for round %d in %+v", f.Round, n)
			}
			if f.Delay <= 0 || f.Delay >= max(n.Config.Window, 1) {
				t.Fatalf("delay %v outside (0, %v)", f.Delay, n.Config.Window)
			}
			m.timers[f.ID] = f.Delay
		case fxArmDeadline:
			if f.Delay != n.Config.Deadline {
				t.Fatalf("deadline %v, want %v", f.Delay, n.Config.Deadline)
			}
		case fxCloseConn:
			if _, ok := n.Pending[f.ID]; !ok && n.Phase == drainActive {
				t.Fatalf("close for %d which is not pending", f.ID)
			}
			if m.closed[f.ID] {
				t.Fatalf("conn %d closed twice in one round", f.ID)
			}
			m.closed[f.ID] = true
			if f.Code != n.Config.Code || f.Reason != n.Config.Reason {
				t.Fatalf("close %+v does not use the round's code/reason %+v", f, n.Config)
			}
		case fxCancelTimers:
			clear(m.timers)
		case fxFinish:
			m.rounds[f.Round]++
			if m.rounds[f.Round] > 1 {
				t.Fatalf("round %d finished twice", f.Round)
			}
			if f.Result != n.Result || n.Phase != drainFinished {
				t.Fatalf("finish %+v in state %+v", f.Result, n)
			}
		}
	}
	m.s = n
}

func (m *drainModel) Check(t *rapid.T) {
	switch m.s.Phase {
	case drainActive:
		if len(m.s.Pending) == 0 {
			t.Fatalf("active with nothing pending")
		}
		for id := range m.s.Pending {
			if !m.live[id] {
				t.Fatalf("pending %d is no longer registered", id)
			}
		}
		if m.s.Snapshot != m.snap {
			t.Fatalf("snapshot %d, want %d", m.s.Snapshot, m.snap)
		}
	case drainFinished:
		r := m.s.Result
		if r.Closed+r.Remaining != m.s.Snapshot || r.Closed < 0 || r.Remaining < 0 {
			t.Fatalf("result %+v does not add up to snapshot %d", r, m.s.Snapshot)
		}
		if r.Remaining > 0 && !r.TimedOut {
			t.Fatalf("remaining without time-out: %+v", r)
		}
		if len(m.timers) != 0 {
			t.Fatalf("timers left after finish: %v", m.timers)
		}
	}
}

func TestDrainProgramProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &drainModel{live: map[connID]bool{}, timers: map[connID]time.Duration{},
			closed: map[connID]bool{}, rounds: map[uint64]int{}}
		m.s, _ = m.p.Init()
		t.Repeat(map[string]func(*rapid.T){
			"connect": func(t *rapid.T) {
				if m.s.Phase == drainActive {
					t.Skip("the server refuses connections while draining")
				}
				m.next++
				m.live[m.next] = true
			},
			"start": func(t *rapid.T) {
				var ids []connID
				for id := range m.live {
					ids = append(ids, id)
				}
				cfg := drainConfig{
					Window:   time.Duration(rapid.Int64Range(-5, 5000).Draw(t, "window")),
					Deadline: time.Duration(rapid.Int64Range(1, 10000).Draw(t, "deadline")),
					Code:     1001, Reason: "Server draining",
				}
				draws := rapid.SliceOfN(rapid.Float64Range(0, 1), len(ids), len(ids)).Draw(t, "draws")
				wasActive := m.s.Phase == drainActive
				if !wasActive {
					clear(m.closed)
					m.snap = len(ids)
				}
				m.step(t, drainStartMsg{Conns: ids, Config: cfg, Draws: draws})
				if !wasActive && len(ids) > 0 && m.s.Phase != drainActive {
					t.Fatalf("non-empty drain did not start")
				}
				if !wasActive && len(ids) == 0 && (m.s.Phase != drainFinished || m.s.Result != (DrainResult{})) {
					t.Fatalf("empty drain did not finish at once: %+v", m.s)
				}
			},
			"remove": func(t *rapid.T) {
				if len(m.live) == 0 {
					t.Skip("nothing live")
				}
				id := rapid.SampledFrom(sortedIDs(m.live)).Draw(t, "id")
				delete(m.live, id)
				delete(m.timers, id)
				m.step(t, drainRemovedMsg{ID: id})
			},
			"fire close": func(t *rapid.T) {
				if len(m.timers) == 0 {
					t.Skip("no timer")
				}
				id := rapid.SampledFrom(sortedTimerIDs(m.timers)).Draw(t, "id")
				delete(m.timers, id)
				m.step(t, drainCloseDueMsg{Round: m.s.Round, ID: id})
				if !m.closed[id] && m.live[id] && m.s.Phase == drainActive {
					t.Fatalf("close timer for live %d produced no close", id)
				}
			},
			"fire deadline": func(t *rapid.T) {
				if m.s.Phase != drainActive {
					t.Skip("no drain")
				}
				m.step(t, drainDeadlineMsg{Round: m.s.Round})
				if m.s.Phase != drainFinished || !m.s.Result.TimedOut {
					t.Fatalf("deadline did not finish: %+v", m.s)
				}
			},
			"stale timers": func(t *rapid.T) {
				before := cloneDrainState(m.s)
				m.step(t, drainDeadlineMsg{Round: m.s.Round + 1})
				m.step(t, drainCloseDueMsg{Round: m.s.Round + 1, ID: 1})
				if !drainStateEqual(m.s, before) {
					t.Fatalf("stale timer changed the state")
				}
			},
			"": m.Check,
		})
	})
}

func sortedIDs(m map[connID]bool) []connID {
	out := make([]connID, 0, len(m))
	for id := connID(1); len(out) < len(m); id++ {
		if m[id] {
			out = append(out, id)
		}
	}
	return out
}

func sortedTimerIDs(m map[connID]time.Duration) []connID {
	out := make([]connID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
