package exchange

import (
	"slices"

	"github.com/kyneta-go/kyneta/wire"

	"github.com/kyneta-go/kyneta/transport"
)

// The exchange's core is one pure program run by one machine.Runner: the
// session program (channels, handshake, peer presence), the sync program
// (documents, per-peer sync states, offers, policy gates) and the store
// program (per-store persistence) as a single value. A peer transition
// reaches the sync program in the same step, so there is no window in which
// one program has seen it and the other not.
//
// Inputs are transport events, timer expiries, local writes, store results
// and the outcomes of effects the shell carried out (imports, exports,
// classification), which the shell feeds back with DispatchUrgent so later
// inputs see them. Outputs are effects: messages to send, replica work,
// store writes, events for subscribers, timers. Messages go to the
// transports as they are made; each burst of inputs ends with a tick that
// emits the burst's events (fxTickDone).
//
// Decisions that need replica values (how to absorb an offer, what an
// offer carries) are pure functions the shell calls with those values
// (planImport, planOffer, classifyDoc); their outcomes come back here.

// coreProgram combines the three programs.
type coreProgram struct {
	session *sessionProgram
	sync    *syncProgram
	store   storeProgram
}

// coreState is immutable: a step that changes anything returns a new value.
type coreState struct {
	sess  *sessionState
	sync  *syncState
	store *storeState
	// tickPending: a tick is queued behind the current burst.
	tickPending bool
}

// Shell messages: they carry closures or handles, so the core passes them
// back as effects for the shell to run in order.
type (
	tickMsg struct{}
	// tickLostMsg: a blown budget dropped the queued tick; the next input
	// schedules a new one (not at once: that would restart the loop the
	// budget just broke).
	tickLostMsg struct{}
	funcMsg     func()
	chanSyncMsg struct {
		ch  transport.ChannelID
		msg wire.ChannelMsg
	}
	// localChangeMsg: rt was written locally; its version is read when the
	// message runs.
	localChangeMsg struct{ rt *docRuntime }
	// coreResetMsg: start over from the initial state (Exchange.Reset,
	// once the synthetic teardown events went out).
	coreResetMsg struct{}
	// chanPressureMsg: a channel's send queue became congested or drained.
	chanPressureMsg struct {
		ch        transport.ChannelID
		congested bool
	}
)

// Core effects besides the programs' own.
type (
	// fxScheduleTick: queue a tick behind the current burst.
	fxScheduleTick struct{}
	// fxTickDone: the tick's events went out; deliver document changes
	// and resolve waiters.
	fxTickDone struct{}
)

func (c *coreProgram) Init() (*coreState, []any) {
	sess, _ := c.session.Init()
	sync, _ := c.sync.Init()
	st, _ := c.store.Init()
	return &coreState{sess: sess, sync: sync, store: st}, nil
}

// Update steps the program the message belongs to.
func (c *coreProgram) Update(s *coreState, m any) (*coreState, []any) {
	var n *coreState
	var fx []any
	switch m := m.(type) {
	case tickMsg:
		n = s.with()
		n.tickPending = false
		sess, sfx := c.session.Update(n.sess, msgSessionTick{})
		n.sess = sess
		fx = c.sessionFx(n, sfx, fx)
		sync, yfx := c.sync.Update(n.sync, msgSyncTick{})
		n.sync = sync
		fx = appendAll(slices.Grow(fx, len(yfx)+2), yfx)
		fx = append(fx, fxTickDone{})
		if sync.releasable() {
			// Held offers go out a batch per tick.
			n.tickPending = true
			fx = append(fx, fxScheduleTick{})
		}
		return n, fx
	case coreResetMsg:
		n, _ = c.Init()
		return n, nil
	case tickLostMsg:
		if !s.tickPending {
			return s, nil
		}
		n = s.with()
		n.tickPending = false
		return n, nil
	case sessionMsg:
		if rm, ok := m.(msgChannelRemoved); ok {
			// A channel that goes away no longer holds its peer back.
			if peer, ok := s.sess.channelPeer(rm.ch); ok {
				s, fx = c.step(s, msgChannelPressure{peer: peer, ch: rm.ch})
			}
		}
		sess, sfx := c.session.Update(s.sess, m)
		if sess == s.sess && len(sfx) == 0 && len(fx) == 0 {
			return s, fx
		}
		n = s.with()
		n.sess = sess
		fx = c.sessionFx(n, sfx, fx)
	case chanPressureMsg:
		peer, ok := s.sess.channelPeer(m.ch)
		if !ok {
			return s, nil
		}
		return c.Update(s, msgChannelPressure{peer: peer, ch: m.ch, congested: m.congested})
	case syncMsg:
		sync, yfx := c.sync.Update(s.sync, m)
		if sync == s.sync && len(yfx) == 0 {
			return s, nil
		}
		n = s.with()
		n.sync = sync
		fx = appendAll(make([]any, 0, len(yfx)+1), yfx) // +1: the tick
	case storeMsg:
		st, tfx := c.store.Update(s.store, m)
		if st == s.store && len(tfx) == 0 {
			return s, nil
		}
		n = s.with()
		n.store = st
		fx = appendAll(make([]any, 0, len(tfx)+1), tfx)
	case chanSyncMsg:
		// The channel's peer is looked up now, in order with the establish
		// before it; sync traffic before establish is dropped.
		peer, ok := s.sess.channelPeer(m.ch)
		if !ok {
			return s, nil
		}
		return c.Update(s, msgReceived{from: peer, msg: m.msg})
	case funcMsg, localChangeMsg:
		n = s.with()
		fx = append(make([]any, 0, 2), m)
	default:
		return s, nil
	}
	if !n.tickPending {
		n.tickPending = true
		fx = append(fx, fxScheduleTick{})
	}
	return n, fx
}

// sessionFx turns the session's sync events into sync steps (in the same
// step) and collects every other effect. n is a fresh value owned by the
// caller.
func (c *coreProgram) sessionFx(n *coreState, sfx []sessionFx, fx []any) []any {
	for _, f := range sfx {
		if ev, ok := f.(fxSyncEvent); ok {
			sync, yfx := c.sync.Update(n.sync, ev.msg)
			n.sync = sync
			fx = appendAll(fx, yfx)
			continue
		}
		fx = append(fx, f)
	}
	return fx
}

// step runs one sync message inside a larger step: s is returned updated
// (a fresh value when anything changed) with the message's effects.
func (c *coreProgram) step(s *coreState, m syncMsg) (*coreState, []any) {
	sync, yfx := c.sync.Update(s.sync, m)
	if sync == s.sync && len(yfx) == 0 {
		return s, nil
	}
	n := s.with()
	n.sync = sync
	return n, appendAll(nil, yfx)
}

func (s *coreState) with() *coreState {
	n := *s
	return &n
}

func appendAll[T any](fx []any, more []T) []any {
	for _, f := range more {
		fx = append(fx, f)
	}
	return fx
}

// --- queries the API answers from the core's state ---

func peersOf(s *sessionState) map[string]wire.PeerIdentity {
	out := make(map[string]wire.PeerIdentity, s.peers.Len())
	s.peers.Range(func(id string, p *sessionPeer) bool {
		out[id] = p.identity
		return true
	})
	return out
}

func peerStates(s *syncState, doc string) map[string]PeerDocState {
	out := map[string]PeerDocState{}
	s.peers.Range(func(id string, p *syncPeer) bool {
		if st, ok := p.states.Get(doc); ok {
			out[id] = st
		}
		return true
	})
	return out
}
