package exchange

import (
	"fmt"
	"slices"
	"time"

	"github.com/kyneta-go/kyneta/exchange/internal/pmap"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// The session program owns channel topology, the establish handshake and
// peer presence (connected / disconnected in grace / departed). It never
// sees documents: peer transitions reach the sync program as sync events.
//
// It is a pure machine.Program: no I/O, no clock. The departure timeout is
// a value; timers are effects the shell arms, and their expiry comes back
// as a message carrying the generation it was armed with, so a timer that
// fires after the peer reconnected (and maybe disconnected again) is
// recognized as stale.

// defaultDepartureTimeout is how long a peer whose last channel dropped is
// kept (disconnected) before it is considered departed.
const defaultDepartureTimeout = 30 * time.Second

// ConnectRequest is what the canConnect gate sees: the identity a peer
// claims in establish and what the transport knows about the channel.
type ConnectRequest struct {
	Identity      wire.PeerIdentity
	Features      *wire.Features
	Channel       transport.ChannelID
	TransportType string
	// Meta is transport-specific information about the remote end (the
	// WebSocket server's ConnInfo).
	Meta any
	// Principal is who the transport authenticated the remote end as
	// (transport.PrincipalOf(Meta); nil when nobody was authenticated). A
	// policy checks here that the claimed peer id belongs to it. Whatever
	// the policy says, a peer id that is live under one principal cannot
	// be taken by another.
	Principal any
}

// sessionProgram is the session Mealy machine.
type sessionProgram struct {
	identity wire.PeerIdentity
	features wire.Features
	// departureTimeout: 0 departs immediately, < 0 never departs on its own.
	departureTimeout time.Duration
	// canConnect gates establish; nil admits everyone. It must be fast and
	// must not call into the exchange.
	canConnect func(ConnectRequest) bool
}

type sessionChannel struct {
	id            transport.ChannelID
	transportType string
	meta          any
	principal     any
	sent          bool               // our establish went out on this channel
	remote        *wire.PeerIdentity // set once the remote establish arrived
	features      *wire.Features
	pv            wire.ProtocolVersion
}

func (c *sessionChannel) complete() bool { return c.sent && c.remote != nil }

type sessionPeer struct {
	identity wire.PeerIdentity
	// principal: who the peer's channels authenticated as. It is bound by
	// the first channel and kept until the peer departs: a channel of
	// another principal claiming the id is refused.
	principal any
	channels  []transport.ChannelID // sorted; empty = disconnected, in grace
	departing bool
	timerGen  uint64 // generation of the armed departure timer, 0 = none
}

// sessionState is immutable: every transition that changes something
// returns a new value with fresh maps; entries are never modified in place.
type sessionState struct {
	channels map[transport.ChannelID]*sessionChannel
	peers    pmap.Map[*sessionPeer]
	pending  pmap.List[PeerChange]
	gen      uint64 // last timer generation handed out
}

// --- messages ---

type sessionMsg interface{ isSessionMsg() }

type msgChannelAdded struct {
	ch            transport.ChannelID
	transportType string
	meta          any
}
type msgChannelEstablish struct{ ch transport.ChannelID }
type msgChannelRemoved struct{ ch transport.ChannelID }
type msgEstablishReceived struct {
	ch  transport.ChannelID
	msg *wire.Establish
}
type msgDepartReceived struct{ ch transport.ChannelID }
type msgDepartureTimerExpired struct {
	peer string
	gen  uint64
}
type msgSessionTick struct{}
type msgDepartAll struct{}

func (msgChannelAdded) isSessionMsg()          {}
func (msgChannelEstablish) isSessionMsg()      {}
func (msgChannelRemoved) isSessionMsg()        {}
func (msgEstablishReceived) isSessionMsg()     {}
func (msgDepartReceived) isSessionMsg()        {}
func (msgDepartureTimerExpired) isSessionMsg() {}
func (msgSessionTick) isSessionMsg()           {}
func (msgDepartAll) isSessionMsg()             {}

// --- effects ---

type sessionFx interface{ isSessionFx() }

type fxSend struct {
	ch  transport.ChannelID
	msg wire.ChannelMsg
}
type fxRejectChannel struct{ ch transport.ChannelID }
type fxStartDepartureTimer struct {
	peer  string
	delay time.Duration
	gen   uint64
}
type fxCancelDepartureTimer struct{ peer string }
type fxSyncEvent struct{ msg syncMsg }
type fxEmitPeerEvents struct{ changes []PeerChange }
type fxSessionDiagnostic struct{ d Diagnostic }

func (fxSend) isSessionFx()                 {}
func (fxRejectChannel) isSessionFx()        {}
func (fxStartDepartureTimer) isSessionFx()  {}
func (fxCancelDepartureTimer) isSessionFx() {}
func (fxSyncEvent) isSessionFx()            {}
func (fxEmitPeerEvents) isSessionFx()       {}
func (fxSessionDiagnostic) isSessionFx()    {}

// Init returns the empty session.
func (p *sessionProgram) Init() (*sessionState, []sessionFx) {
	return &sessionState{channels: map[transport.ChannelID]*sessionChannel{}}, nil
}

// Update is the transition function. Unchanged input is returned as is.
func (p *sessionProgram) Update(s *sessionState, m sessionMsg) (*sessionState, []sessionFx) {
	switch m := m.(type) {
	case msgChannelAdded:
		if _, ok := s.channels[m.ch]; ok {
			return s, nil
		}
		n := s.clone()
		n.channels[m.ch] = &sessionChannel{id: m.ch, transportType: m.transportType, meta: m.meta, principal: transport.PrincipalOf(m.meta)}
		return n, nil

	case msgChannelEstablish:
		c, ok := s.channels[m.ch]
		if !ok || c.sent {
			return s, nil
		}
		n := s.clone()
		nc := *c
		nc.sent = true
		n.channels[m.ch] = &nc
		fx := []sessionFx{fxSend{ch: m.ch, msg: p.establishMsg()}}
		if nc.remote != nil {
			fx = p.complete(n, &nc, fx)
		}
		return n, fx

	case msgEstablishReceived:
		c, ok := s.channels[m.ch]
		if !ok || m.msg == nil {
			return s, nil
		}
		if p.canConnect != nil && !p.canConnect(ConnectRequest{
			Identity:      m.msg.Identity,
			Features:      m.msg.Features,
			Channel:       m.ch,
			TransportType: c.transportType,
			Meta:          c.meta,
			Principal:     c.principal,
		}) {
			// Nothing is echoed, so our identity is not leaked; the shell
			// closes the channel and reports it removed.
			return s, []sessionFx{fxRejectChannel{ch: m.ch}}
		}
		if c.complete() {
			return s, nil
		}
		if peer, ok := s.peers.Get(m.msg.Identity.PeerID); ok && !transport.SamePrincipal(peer.principal, c.principal) {
			// Identity is bound to the principal: a second connection
			// claiming a known peer's id from elsewhere would receive
			// that peer's traffic.
			return s, []sessionFx{fxRejectChannel{ch: m.ch}, fxSessionDiagnostic{d: Diagnostic{
				Reason: reasonIdentityConflict, Severity: SeverityError, PeerID: m.msg.Identity.PeerID,
				Message: fmt.Sprintf("channel %d claims peer %q, which is bound to another principal; refused", m.ch, m.msg.Identity.PeerID),
			}}}
		}
		n := s.clone()
		nc := *c
		id := m.msg.Identity
		nc.remote = &id
		nc.features = m.msg.Features
		nc.pv = m.msg.ProtocolVersion
		var fx []sessionFx
		if !nc.sent {
			nc.sent = true
			fx = append(fx, fxSend{ch: m.ch, msg: p.establishMsg()})
		}
		n.channels[m.ch] = &nc
		return n, p.complete(n, &nc, fx)

	case msgDepartReceived:
		c, ok := s.channels[m.ch]
		if !ok || !c.complete() {
			return s, nil
		}
		peer, ok := s.peers.Get(c.remote.PeerID)
		if !ok || !slices.Contains(peer.channels, m.ch) {
			return s, nil
		}
		if peer.departing {
			return s, nil
		}
		n := s.clone()
		np := *peer
		np.departing = true
		n.peers = n.peers.Set(np.identity.PeerID, &np)
		return n, nil

	case msgChannelRemoved:
		c, ok := s.channels[m.ch]
		if !ok {
			return s, nil
		}
		n := s.clone()
		delete(n.channels, m.ch)
		if !c.complete() {
			return n, nil
		}
		peer, ok := s.peers.Get(c.remote.PeerID)
		if !ok || !slices.Contains(peer.channels, m.ch) {
			return n, nil
		}
		np := *peer
		np.channels = slices.DeleteFunc(slices.Clone(peer.channels), func(x transport.ChannelID) bool { return x == m.ch })
		if len(np.channels) > 0 {
			n.peers = n.peers.Set(np.identity.PeerID, &np)
			return n, nil
		}
		if np.departing || p.departureTimeout == 0 {
			n.peers = n.peers.Delete(np.identity.PeerID)
			return n, transition(n, PeerDeparted, np.identity, nil)
		}
		var fx []sessionFx
		if p.departureTimeout > 0 {
			n.gen++
			np.timerGen = n.gen
			fx = append(fx, fxStartDepartureTimer{peer: np.identity.PeerID, delay: p.departureTimeout, gen: n.gen})
		}
		n.peers = n.peers.Set(np.identity.PeerID, &np)
		return n, transition(n, PeerDisconnected, np.identity, fx)

	case msgDepartureTimerExpired:
		peer, ok := s.peers.Get(m.peer)
		if !ok || len(peer.channels) > 0 || peer.timerGen != m.gen {
			return s, nil
		}
		n := s.clone()
		n.peers = n.peers.Delete(m.peer)
		return n, transition(n, PeerDeparted, peer.identity, nil)

	case msgSessionTick:
		if s.pending.Len() == 0 {
			return s, nil
		}
		n := s.clone()
		n.pending = pmap.List[PeerChange]{}
		return n, []sessionFx{fxEmitPeerEvents{changes: s.pending.Slice()}}

	case msgDepartAll:
		if s.peers.Len() == 0 {
			return s, nil
		}
		n := s.clone()
		var fx []sessionFx
		for _, id := range s.peers.Keys() {
			peer, _ := s.peers.Get(id)
			if peer.timerGen != 0 && len(peer.channels) == 0 {
				fx = append(fx, fxCancelDepartureTimer{peer: id})
			}
			n.pending = n.pending.Push(PeerChange{Type: PeerDeparted, Peer: peer.identity})
		}
		n.peers = pmap.Map[*sessionPeer]{}
		return n, fx
	}
	return s, nil
}

// complete runs when a channel has both sent and received establish: it
// decides new peer / reconnection / extra channel and adds diagnostics.
// n and c are fresh copies owned by this transition.
func (p *sessionProgram) complete(n *sessionState, c *sessionChannel, fx []sessionFx) []sessionFx {
	remote := *c.remote
	id := remote.PeerID
	if id == p.identity.PeerID {
		fx = append(fx, fxSessionDiagnostic{d: Diagnostic{
			Reason: reasonSelfConnection, Severity: SeverityError, PeerID: id,
			Message: fmt.Sprintf("channel %d connects to ourselves (peer %q)", c.id, id),
		}})
	}
	fx = append(fx, protocolDiagnostics(id, c.pv)...)
	peer, known := n.peers.Get(id)
	switch {
	case !known:
		n.peers = n.peers.Set(id, &sessionPeer{identity: remote, principal: c.principal, channels: []transport.ChannelID{c.id}})
		return transition(n, PeerEstablished, remote, fx)
	case len(peer.channels) == 0:
		// Back within the grace period: cancel the timer, refresh the identity.
		np := &sessionPeer{identity: remote, principal: peer.principal, channels: []transport.ChannelID{c.id}}
		n.peers = n.peers.Set(id, np)
		if peer.timerGen != 0 {
			fx = append(fx, fxCancelDepartureTimer{peer: id})
		}
		return transition(n, PeerReconnected, remote, fx)
	default:
		np := *peer
		np.channels = append(slices.Clone(peer.channels), c.id)
		slices.Sort(np.channels)
		// A fresh channel means the peer is back; an earlier depart no
		// longer applies (the reference kept it and skipped the grace
		// period on the next drop).
		np.departing = false
		n.peers = n.peers.Set(id, &np)
		// The new path may be a reconnection whose old socket is not
		// closed yet: both sides present again, so whatever the old path
		// lost is asked for (without it a peer that missed messages
		// stayed behind until the next write).
		return append(fx, fxSessionDiagnostic{d: Diagnostic{
			Reason: reasonDuplicatePeer, Severity: SeverityWarning, PeerID: id,
			Message: fmt.Sprintf("peer %q already has a live channel; channel %d is an extra path", id, c.id),
		}}, fxSyncEvent{msg: msgPeerNewPath{identity: np.identity}})
	}
}

// transition records one peer transition: exactly one sync event and one
// peer change, so the two can never be split.
func transition(n *sessionState, t PeerChangeType, peer wire.PeerIdentity, fx []sessionFx) []sessionFx {
	n.pending = n.pending.Push(PeerChange{Type: t, Peer: peer})
	var ev syncMsg
	switch t {
	case PeerEstablished, PeerReconnected:
		var principal any
		if sp, ok := n.peers.Get(peer.PeerID); ok {
			principal = sp.principal
		}
		ev = msgPeerAvailable{identity: peer, principal: principalKey(principal)}
	case PeerDisconnected:
		ev = msgPeerUnavailable{peer: peer.PeerID}
	case PeerDeparted:
		ev = msgPeerDeparted{peer: peer.PeerID}
	}
	return append(fx, fxSyncEvent{msg: ev})
}

// protocolSkew classifies a remote protocol version against ours.
func protocolSkew(local, remote wire.ProtocolVersion) (string, bool) {
	switch {
	case local.Major != remote.Major:
		return reasonProtocolMismatch, true
	case local.Minor != remote.Minor:
		return reasonProtocolSkew, true
	}
	return "", false
}

func protocolDiagnostics(peer string, pv wire.ProtocolVersion) []sessionFx {
	code, skewed := protocolSkew(wire.DefaultProtocolVersion, pv)
	if !skewed {
		return nil
	}
	sev := SeverityWarning
	if code == reasonProtocolMismatch {
		sev = SeverityError
	}
	local := fmt.Sprintf("v%d.%d", wire.DefaultProtocolVersion.Major, wire.DefaultProtocolVersion.Minor)
	remote := fmt.Sprintf("v%d.%d", pv.Major, pv.Minor)
	return []sessionFx{fxSessionDiagnostic{d: Diagnostic{
		Reason: code, Severity: sev, PeerID: peer, Local: local, Remote: remote,
		Message: fmt.Sprintf("peer %q speaks protocol %s, we speak %s", peer, remote, local),
	}}}
}

func (p *sessionProgram) establishMsg() *wire.Establish {
	f := p.features
	return &wire.Establish{Identity: p.identity, Features: &f, ProtocolVersion: wire.DefaultProtocolVersion}
}

func (s *sessionState) clone() *sessionState {
	n := *s
	n.channels = make(map[transport.ChannelID]*sessionChannel, len(s.channels)+1)
	for k, v := range s.channels {
		n.channels[k] = v
	}
	return &n
}

// --- read-only projections used by the shell ---

// peerChannels returns the live channels of a peer (nil when none).
func (s *sessionState) peerChannels(peer string) []transport.ChannelID {
	if p, ok := s.peers.Get(peer); ok {
		return p.channels
	}
	return nil
}

// channelPeer returns the remote peer id of a complete channel.
func (s *sessionState) channelPeer(ch transport.ChannelID) (string, bool) {
	c, ok := s.channels[ch]
	if !ok || !c.complete() {
		return "", false
	}
	return c.remote.PeerID, true
}

// principalKey names an authenticated principal for per-principal quotas:
// a string as is, a fmt.Stringer by its String, anything else by its type
// and value; "" for nobody.
func principalKey(p any) string {
	switch p := p.(type) {
	case nil:
		return ""
	case string:
		return p
	case fmt.Stringer:
		return p.String()
	}
	return fmt.Sprintf("%T:%v", p, p)
}
