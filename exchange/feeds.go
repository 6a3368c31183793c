package exchange

import (
	"maps"

	"github.com/kyneta-go/kyneta/wire"
)

// PeerEvent is one batch of the peers feed: the changes of one dispatch
// burst and the peer map after them (connected peers and peers in their
// departure grace period).
type PeerEvent struct {
	Changes []PeerChange
	Peers   map[string]wire.PeerIdentity
}

// DocInfo describes a held document in the documents feed.
type DocInfo struct {
	Mode      DocMode
	Suspended bool
}

// DocEvent is one batch of the documents feed: the changes of one
// dispatch burst. Documents returns the whole map when a subscriber needs
// it; the event does not carry it, since a copy of every document per
// burst would make a server with many documents spend time quadratic in
// their number while they arrive.
type DocEvent struct {
	Changes []DocChange
}

// Peers returns the current peers (connected or within their departure
// grace period).
func (ex *Exchange) Peers() map[string]wire.PeerIdentity {
	ex.mu.Lock()
	s := ex.cs().sess
	ex.mu.Unlock()
	return peersOf(s)
}

// Connected reports whether peer has at least one live channel.
func (ex *Exchange) Connected(peer string) bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return len(ex.cs().sess.peerChannels(peer)) > 0
}

// Documents returns every held document (interpreted, headless and
// deferred).
func (ex *Exchange) Documents() map[string]DocInfo {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.docsLocked()
}

func (ex *Exchange) docsLocked() map[string]DocInfo {
	out := make(map[string]DocInfo, len(ex.runtimes))
	for id, rt := range ex.runtimes {
		out[id] = DocInfo{Mode: rt.mode, Suspended: rt.suspended}
	}
	ex.cs().sync.docs.Range(func(id string, d *syncDoc) bool {
		if d.mode == ModeDeferred {
			out[id] = DocInfo{Mode: ModeDeferred}
		}
		return true
	})
	return out
}

// SubscribePeers calls fn with every batch of peer changes, at the end of
// the dispatch burst that caused them, outside every lock. fn may call the
// exchange (its calls are queued), but must not block waiting on it.
func (ex *Exchange) SubscribePeers(fn func(PeerEvent)) (cancel func()) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.peerSubs.add(&ex.mu, fn)
}

// SubscribeDocuments calls fn with every batch of document changes (same
// delivery rules as SubscribePeers).
func (ex *Exchange) SubscribeDocuments(fn func(DocEvent)) (cancel func()) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.docSubs.add(&ex.mu, fn)
}

func (ex *Exchange) emitPeerEvents(changes []PeerChange) {
	if ex.obs.on() {
		for _, c := range changes {
			ex.publish(ObsEvent{Layer: ObsDirectory, Kind: "peer", Change: string(c.Type), Peer: c.Peer.PeerID})
		}
	}
	ex.mu.Lock()
	subs := ex.peerSubs.snapshot()
	s := ex.cs().sess
	ex.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	ev := PeerEvent{Changes: changes, Peers: peersOf(s)}
	for _, sub := range subs {
		e := PeerEvent{Changes: append([]PeerChange(nil), ev.Changes...), Peers: maps.Clone(ev.Peers)}
		ex.safeCall("SubscribePeers callback", func() { sub.call(e) })
	}
}

func (ex *Exchange) emitDocEvents(changes []DocChange) {
	if ex.obs.on() {
		for _, c := range changes {
			ex.publish(ObsEvent{Layer: ObsDirectory, Kind: "doc", Change: string(c.Type), DocID: c.DocID})
		}
	}
	ex.mu.Lock()
	subs := ex.docSubs.snapshot()
	ex.mu.Unlock()
	for _, sub := range subs {
		e := DocEvent{Changes: append([]DocChange(nil), changes...)} // each subscriber owns its event
		ex.safeCall("SubscribeDocuments callback", func() { sub.call(e) })
	}
}

// Connectivity summarizes the exchange's network state (§6.5).
type Connectivity string

// Connectivity values.
const (
	// Online: at least one peer has a live channel.
	Online Connectivity = "online"
	// Connecting: transports are attached but no peer is connected.
	Connecting Connectivity = "connecting"
	// Offline: no transport is attached.
	Offline Connectivity = "offline"
)

// Connectivity reports whether any peer is connected.
func (ex *Exchange) Connectivity() Connectivity {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	online := false
	ex.cs().sess.peers.Range(func(_ string, p *sessionPeer) bool {
		online = len(p.channels) > 0
		return !online
	})
	switch {
	case online:
		return Online
	case len(ex.transports) == 0:
		return Offline
	}
	return Connecting
}

// PeerFeatures returns the features a connected peer advertised in
// establish (from any of its live channels).
func (ex *Exchange) PeerFeatures(peer string) (wire.Features, bool) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	for _, id := range ex.cs().sess.peerChannels(peer) {
		if c := ex.cs().sess.channels[id]; c != nil && c.features != nil {
			return *c.features, true
		}
	}
	return wire.Features{}, false
}
