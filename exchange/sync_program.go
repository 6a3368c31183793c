package exchange

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kyneta-go/kyneta/exchange/internal/pmap"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// The sync program drives document convergence. It speaks peers and
// documents, never channels. Offers are effects that describe what to send;
// the shell computes payloads when it executes them, because only the shell
// holds replicas.
//
// Deviations from the reference (all stricter, wire-compatible):
//   - canShare gates answers to interest and reactions to present; a denied
//     peer gets vacant instead of data or our version.
//   - every interest from a known peer is answered by an offer or a vacant:
//     an interest for an unknown or deferred document gets vacant (the
//     reference sent nothing and the requester waited for its timeout). An
//     interest for a document that is still being loaded from a store is
//     parked and answered once the document is registered.

// syncProgram is the sync Mealy machine. canShare and canAccept are
// injected predicates; they must be fast and must not call the exchange.
type syncProgram struct {
	identity wire.PeerIdentity
	// maxPerPrincipal caps the docs the peers of one authenticated
	// principal may make us take on, over the exchange's life (0: none).
	maxPerPrincipal int
	// maxAnnounced caps the docs one peer may make us take on (create or
	// defer) by presenting them; 0 means no cap.
	maxAnnounced int
	// persistent: the exchange has stores; writes it merges are
	// acknowledged to their writers once every store holds them.
	persistent bool
	canShare   func(docID string, peer wire.PeerIdentity) bool
	canAccept  func(docID string, peer wire.PeerIdentity) bool
}

type syncDoc struct {
	mode    DocMode
	version string // serialized; "" for deferred docs
	meta    DocMeta
	// presenters: for a deferred doc, what each peer that presented it
	// said; a promotion checks them against the doc's own metadata.
	presenters pmap.Map[DocMeta]
	// durable: the version every store confirmed (persistent exchanges).
	durable string
	// ackTo: peers whose offers were merged and not yet acknowledged, with
	// our version right after their last merge.
	ackTo pmap.Map[string]
}

// acknowledged reports whether writes to the doc are acknowledged: plain
// op-log docs, whose empty delta is a valid offer every peer ignores.
func (d *syncDoc) acknowledged() bool {
	return d.meta.ReplicaType.Name == "plain" && d.meta.SyncMode.Delivery == wirecore.DeltaCapable
}

type syncPeer struct {
	identity wire.PeerIdentity
	states   pmap.Map[PeerDocState]
	// mismatched: docs this peer presented with metadata incompatible with
	// ours. Its interests for them are answered vacant and its offers
	// ignored, so an interest sent before the present was validated cannot
	// pull data across a schema mismatch.
	mismatched pmap.Map[Diagnostic]
	// heard: docs for which an offer of this peer was absorbed (or found
	// already held) since it became available. Versions that cannot be
	// ordered (field-LWW state, opaque stamps) prove nothing about
	// containment, so WaitForSync waits for the peer's offer itself.
	heard pmap.Set
	// announced counts the docs this peer's presents made us classify;
	// it survives reconnects (a peer cannot reset its quota by dropping
	// its connection).
	announced int
	// principal: the key of the principal its channels authenticated as.
	principal string
	// acked: per doc, the latest version this peer acknowledged holding
	// (an empty delta offer, sent once its stores confirmed our write).
	acked pmap.Map[string]
	// congested: the peer's channels whose send queue is past its
	// high-water mark. While any is, pushes to the peer are held in held
	// (per doc, the baseline of the first held push) and sent as one
	// coalesced offer per doc once every channel drained: a fast writer
	// then never overflows a reader's queue that is still being read.
	congested pmap.Map[struct{}]
	held      pmap.Map[heldPush]
	// fresh: docs whose state this peer set on its current connection
	// (its interest, an offer, a vacant). States kept across a reconnect
	// may be stale: the peer may have lost pushes with the old path, so a
	// delta from our version could apply on the wrong base (the reference
	// does not check). Pushes wait until the peer spoke again.
	fresh pmap.Set
}

// heldPush is an offer withheld from a congested peer: a push (since is
// our version before the first change it missed) or the answer to its
// interest (answer; since is the peer's version). nil since: the entirety.
// An answer carries everything up to now, so it absorbs held pushes.
type heldPush struct {
	since  *string
	answer bool
}

// loadingDoc is what arrived for a doc while it loaded: interests to
// answer and what each peer that presented it said, checked against the
// doc's metadata once it is known (a stored doc keeps its stored type).
type loadingDoc struct {
	parked     []parkedInterest
	presenters pmap.Map[DocMeta]
}

// presented: a peer presented a doc with meta (the present that made us
// classify it).
type presented struct {
	peer string
	meta DocMeta
}

type parkedInterest struct {
	from string
	msg  *wire.Interest
}

// syncState is immutable; see sessionState.
type syncState struct {
	docs  pmap.Map[*syncDoc]
	peers pmap.Map[*syncPeer]
	// loading: docs the shell is hydrating from a store; interests for them
	// wait until the doc is registered, and presents are checked then.
	loading pmap.Map[loadingDoc]
	// reconciled is the monotonic readiness latch: peers that were ever
	// synced or vacant for a doc.
	reconciled pmap.Map[pmap.Map[wire.PeerIdentity]]

	docEvents pmap.List[DocChange]
	peerSync  pmap.Set // docs whose per-peer states changed since the last tick
	advanced  pmap.Set // docs whose state advanced since the last tick

	// pushedNow: (peer, doc) pairs pushed since the last tick; a later
	// change in the same burst is held for the tick, so a burst costs a
	// peer at most two offers per doc however many changes it made.
	pushedNow pmap.Map[struct{}]
	// holding: peers with held pushes.
	holding pmap.Map[struct{}]
	// byPrincipal counts the docs each authenticated principal's peers
	// made us take on; unlike a peer's count it survives departures.
	byPrincipal pmap.Map[int]
}

// --- messages ---

type syncMsg interface{ isSyncMsg() }

type msgPeerAvailable struct {
	identity wire.PeerIdentity
	// principal keys the authenticated principal of the peer's channels
	// ("" for none), for the per-principal document quota.
	principal string
}

// msgPeerNewPath: a known, connected peer gained a channel (often a
// reconnection whose old socket is still closing). We present again so
// the peer asks for what the old path lost.
type msgPeerNewPath struct{ identity wire.PeerIdentity }
type msgPeerUnavailable struct{ peer string }

// msgHold: the shell found peer's queue congested when it came to send
// an offer of doc (the pressure report is on its way): hold it as push()
// or onInterest() would have.
type msgHold struct {
	peer, doc string
	since     *string
	answer    bool
}

// msgChannelPressure: channel ch of peer became congested or drained
// (a channel that is removed counts as drained).
type msgChannelPressure struct {
	peer      string
	ch        transport.ChannelID
	congested bool
}
type msgPeerDeparted struct{ peer string }
type msgDocLoading struct {
	doc string
	by  *presented // the present it was classified from (nil: a local Get or Replicate)
}
type msgDocEnsure struct {
	doc     string
	by      *presented // see msgDocLoading
	mode    DocMode    // interpret or replicate
	version string
	meta    DocMeta
	event   *DocChange
}
type msgDocDefer struct {
	doc   string
	meta  DocMeta
	from  string // the peer whose present made us defer it
	event *DocChange
}
type msgLocalChange struct {
	doc     string
	version string
}

// msgPushed: a push offer was exported at version (the replica's version
// when the shell built it, which may be ahead of the change that asked for
// it). Later changes are pushed from there.
type msgPushed struct {
	doc     string
	version string
	// to: the peers the push went to. A synced peer is caught up to
	// version once it arrives: channels are reliable, and a channel that
	// loses a message is closed, after which the peer resyncs from its
	// own version. (This is what lets compaction advance past a reader
	// that never writes back.)
	to []string
}
type msgDocDelete struct {
	doc   string
	event *DocChange
}
type msgDocDismiss struct {
	doc   string
	event *DocChange
}
type msgDocImported struct {
	doc     string
	version string
	from    string
}

// msgAcked: peer acknowledged holding doc at version.
type msgAcked struct {
	doc     string
	version string
	peer    string
}

type msgPeerSynced struct {
	doc     string
	version string
	peer    string
	// write: the peer offered a write we already hold (it reached us
	// another way, e.g. through another node before a failover): it is
	// owed an acknowledgement like a write we merged.
	write bool
}
type msgDeclareVacant struct {
	doc string
	to  string
}
type msgReceived struct {
	from string
	msg  wire.ChannelMsg
}
type msgSyncTick struct{}

// msgDurable: every store holds the doc at version.
type msgDurable struct {
	doc     string
	version string
}
type msgDocRemovedAll struct{}

func (msgPeerAvailable) isSyncMsg()   {}
func (msgPeerNewPath) isSyncMsg()     {}
func (msgPeerUnavailable) isSyncMsg() {}
func (msgChannelPressure) isSyncMsg() {}
func (msgHold) isSyncMsg()            {}
func (msgPeerDeparted) isSyncMsg()    {}
func (msgDocLoading) isSyncMsg()      {}
func (msgDocEnsure) isSyncMsg()       {}
func (msgDocDefer) isSyncMsg()        {}
func (msgLocalChange) isSyncMsg()     {}
func (msgPushed) isSyncMsg()          {}
func (msgDocDelete) isSyncMsg()       {}
func (msgDocDismiss) isSyncMsg()      {}
func (msgDocImported) isSyncMsg()     {}
func (msgPeerSynced) isSyncMsg()      {}
func (msgAcked) isSyncMsg()           {}
func (msgDeclareVacant) isSyncMsg()   {}
func (msgReceived) isSyncMsg()        {}
func (msgSyncTick) isSyncMsg()        {}
func (msgDurable) isSyncMsg()         {}
func (msgDocRemovedAll) isSyncMsg()   {}

// --- effects ---

type syncFx interface{ isSyncFx() }

// fxSendToPeers sends msg to every channel of every listed peer; peers
// without a live channel are skipped by the shell.
type fxSendToPeers struct {
	peers []string
	msg   wire.ChannelMsg
}

// fxSendOffers asks the shell to build and send an offer for doc to each
// peer (§2.7). since is nil for "send the entirety".
type fxSendOffers struct {
	peers       []string
	doc         string
	since       *string
	reciprocate *bool
	// push: the offer carries a change of ours to the peers that follow
	// the doc, from our previous version (since). The shell reports the
	// version it actually exported with msgPushed, so writes it already
	// carried are not pushed again. Otherwise the offer answers an
	// interest and since is the peer's own version.
	push bool
}

// fxImport asks the shell to import an accepted offer (§2.8) and report
// back with msgDocImported or msgPeerSynced.
type fxImport struct {
	doc     string
	payload wire.Payload
	version string
	from    string
	// reciprocate: the offer asked for an answer; an empty one is a
	// request for an acknowledgement (Doc.WaitAcknowledged after a
	// failover).
	reciprocate bool
}

// fxEnsureDoc asks the shell to classify a document a peer announced.
type fxEnsureDoc struct {
	doc  string
	peer wire.PeerIdentity
	meta DocMeta
}

type fxDocDismissed struct {
	doc  string
	peer wire.PeerIdentity
}

// The tick's document sets are passed as they are (immutable), not copied
// out.
type fxEmitReady struct{ docs pmap.Set }

type fxEmitStateAdvanced struct{ docs pmap.Set }
type fxEmitDocEvents struct{ events []DocChange }
type fxSyncDiagnostic struct{ d Diagnostic }

func (fxSendToPeers) isSyncFx()       {}
func (fxSendOffers) isSyncFx()        {}
func (fxImport) isSyncFx()            {}
func (fxEnsureDoc) isSyncFx()         {}
func (fxDocDismissed) isSyncFx()      {}
func (fxEmitReady) isSyncFx()         {}
func (fxEmitStateAdvanced) isSyncFx() {}
func (fxEmitDocEvents) isSyncFx()     {}
func (fxSyncDiagnostic) isSyncFx()    {}

// Init returns the empty model.
func (p *syncProgram) Init() (*syncState, []syncFx) { return &syncState{}, nil }

func (p *syncProgram) share(doc string, peer wire.PeerIdentity) bool {
	return p.canShare == nil || p.canShare(doc, peer)
}

func (p *syncProgram) accept(doc string, peer wire.PeerIdentity) bool {
	return p.canAccept == nil || p.canAccept(doc, peer)
}

func ptr[T any](v T) *T { return &v }

// Update is the transition function. Unchanged input is returned as is.
func (p *syncProgram) Update(s *syncState, m syncMsg) (*syncState, []syncFx) {
	switch m := m.(type) {
	case msgPeerAvailable, msgPeerNewPath:
		var who wire.PeerIdentity
		var principal string
		switch m := m.(type) {
		case msgPeerAvailable:
			who, principal = m.identity, m.principal
		case msgPeerNewPath:
			who = m.identity
		}
		n := s.clone()
		old, ok := s.peers.Get(who.PeerID)
		np := &syncPeer{identity: who, principal: principal}
		if ok {
			np.states = old.states
			np.announced = old.announced
			np.principal = old.principal
			if _, newPath := m.(msgPeerNewPath); newPath {
				// The old path may still be congested. Held answers stay
				// (they start at the peer's own version); held pushes are
				// dropped because the presents below make the peer ask.
				np.congested = old.congested
				old.held.Range(func(doc string, h heldPush) bool {
					if h.answer {
						np.held = np.held.Set(doc, h)
					}
					return true
				})
			}
		}
		n.peers = n.peers.Set(who.PeerID, np)
		var entries []wire.DocPresence
		for _, id := range s.docs.Keys() {
			if p.share(id, who) {
				d, _ := s.docs.Get(id)
				entries = append(entries, presence(id, d))
			}
		}
		if len(entries) == 0 {
			return n, nil
		}
		return n, presents(who.PeerID, entries)

	case msgChannelPressure:
		return p.pressure(s, m)

	case msgHold:
		peer, ok := s.peers.Get(m.peer)
		if !ok {
			return s, nil
		}
		if h, held := peer.held.Get(m.doc); held && (h.answer || !m.answer) {
			return s, nil // what is held already covers it
		}
		n := s.clone()
		np := *peer
		np.held = peer.held.Set(m.doc, heldPush{since: m.since, answer: m.answer})
		n.peers = n.peers.Set(m.peer, &np)
		n.holding = n.holding.Set(m.peer, struct{}{})
		return n, nil

	case msgPeerUnavailable:
		peer, ok := s.peers.Get(m.peer)
		if !ok {
			return s, nil
		}
		n := s.clone()
		for _, doc := range peer.states.Keys() {
			n.peerSync = n.peerSync.Add(doc)
		}
		return n, nil

	case msgPeerDeparted:
		peer, ok := s.peers.Get(m.peer)
		if !ok {
			return s, nil
		}
		n := s.clone()
		n.peers = n.peers.Delete(m.peer)
		for _, doc := range peer.states.Keys() {
			n.peerSync = n.peerSync.Add(doc)
		}
		// Deferred docs only this peer presented expire with it: nobody
		// is left to serve them.
		s.docs.Range(func(id string, d *syncDoc) bool {
			if d.mode != ModeDeferred || !d.presenters.Has(m.peer) {
				return true
			}
			if rest := d.presenters.Delete(m.peer); rest.Len() > 0 {
				nd := *d
				nd.presenters = rest
				n.docs = n.docs.Set(id, &nd)
				return true
			}
			n.docs = n.docs.Delete(id)
			n.docEvents = n.docEvents.Push(DocChange{Type: DocRemoved, DocID: id})
			return true
		})
		return n, nil

	case msgDocLoading:
		if s.docs.Has(m.doc) || s.loading.Has(m.doc) {
			return s, nil
		}
		n := s.clone()
		var l loadingDoc
		if m.by != nil {
			l.presenters = l.presenters.Set(m.by.peer, m.by.meta)
		}
		n.loading = n.loading.Set(m.doc, l)
		return n, nil

	case msgDocEnsure:
		old, known := s.docs.Get(m.doc)
		if known && old.mode != ModeDeferred {
			return s, nil // already tracked; its event is dropped (reference behaviour)
		}
		n := s.clone()
		d := &syncDoc{mode: m.mode, version: m.version, meta: m.meta}
		n.docs = n.docs.Set(m.doc, d)
		// The peers that presented it with other metadata (before it was
		// promoted from deferred, while it loaded, or the present it was
		// classified from) will not sync it with us.
		var presenters pmap.Map[DocMeta]
		if known {
			presenters = old.presenters
		}
		if l, ok := s.loading.Get(m.doc); ok {
			l.presenters.Range(func(id string, meta DocMeta) bool {
				presenters = presenters.Set(id, meta)
				return true
			})
		}
		if m.by != nil {
			presenters = presenters.Set(m.by.peer, m.by.meta)
		}
		pre := markPresenterMismatches(n, m.doc, d, presenters)
		if m.event != nil {
			ev := *m.event
			if known && ev.Type == DocCreated {
				ev.Type = DocPromoted // it was deferred
			}
			n.docEvents = n.docEvents.Push(ev)
		}
		targets := p.sharePeers(s, m.doc, s.peers.Keys())
		fx := pre
		if len(targets) > 0 {
			fx = append(fx,
				fxSendToPeers{peers: targets, msg: &wire.Present{Docs: []wire.DocPresence{presence(m.doc, d)}}},
				fxSendToPeers{peers: targets, msg: &wire.Interest{DocID: m.doc, Version: ptr(m.version), Reciprocate: ptr(bidirectional(m.meta.SyncMode))}},
			)
		}
		return p.unpark(n, m.doc, fx)

	case msgDocDefer:
		if s.docs.Has(m.doc) {
			return s, nil
		}
		n := s.clone()
		d := &syncDoc{mode: ModeDeferred, meta: m.meta}
		if m.from != "" {
			d.presenters = d.presenters.Set(m.from, m.meta)
		}
		n.docs = n.docs.Set(m.doc, d)
		if m.event != nil {
			n.docEvents = n.docEvents.Push(*m.event)
		}
		var fx []syncFx
		if targets := p.sharePeers(s, m.doc, s.peers.Keys()); len(targets) > 0 {
			fx = append(fx, fxSendToPeers{peers: targets, msg: &wire.Present{Docs: []wire.DocPresence{presence(m.doc, d)}}})
		}
		return p.unpark(n, m.doc, fx)

	case msgLocalChange:
		d, ok := s.docs.Get(m.doc)
		if !ok || d.mode == ModeDeferred || d.version == m.version {
			return s, nil // nothing new: an earlier push already carried it
		}
		n := s.clone()
		fx := p.push(n, m.doc, d, "")
		nd := *d
		nd.version = m.version
		n.docs = n.docs.Set(m.doc, &nd)
		n.advanced = n.advanced.Add(m.doc)
		return n, fx

	case msgPushed:
		d, ok := s.docs.Get(m.doc)
		if !ok || d.mode == ModeDeferred {
			return s, nil
		}
		n := s.clone()
		if d.version != m.version {
			nd := *d
			nd.version = m.version
			n.docs = n.docs.Set(m.doc, &nd)
		}
		for _, id := range m.to {
			if peer, ok := n.peers.Get(id); ok {
				if st, ok := peer.states.Get(m.doc); ok && st.Kind == PeerSynced && st.LastKnownVersion != m.version {
					setPeerDocState(n, id, m.doc, PeerDocState{Kind: PeerSynced, LastKnownVersion: m.version})
				}
			}
		}
		return n, nil

	case msgDocDelete:
		n := s.clone()
		var fx []syncFx
		n, fx = p.dropDoc(n, m.doc, fx)
		if m.event != nil {
			n.docEvents = n.docEvents.Push(*m.event)
		}
		return n, fx

	case msgDocDismiss:
		_, ok := s.docs.Get(m.doc)
		n := s.clone()
		var fx []syncFx
		suspended := m.event != nil && m.event.Type == DocSuspended
		if suspended {
			// Keep latch and per-peer states: resume continues from them.
			n.docs = n.docs.Delete(m.doc)
		} else {
			n, fx = p.dropDoc(n, m.doc, fx)
		}
		if m.event != nil {
			n.docEvents = n.docEvents.Push(*m.event)
		}
		if ok {
			if targets := p.sharePeers(s, m.doc, s.peers.Keys()); len(targets) > 0 {
				fx = append(fx, fxSendToPeers{peers: targets, msg: &wire.Dismiss{DocID: m.doc}})
			}
		}
		return n, fx

	case msgDocImported:
		d, ok := s.docs.Get(m.doc)
		if !ok || d.mode == ModeDeferred {
			return s, nil
		}
		n := s.clone()
		fx := p.push(n, m.doc, d, m.from)
		nd := *d
		nd.version = m.version
		if m.from != "" && p.persistent && nd.acknowledged() {
			// Acknowledged once durable (msgDurable). A peer without
			// stores promises nothing and sends no acknowledgements.
			nd.ackTo = nd.ackTo.Set(m.from, m.version)
		}
		n.docs = n.docs.Set(m.doc, &nd)
		n.advanced = n.advanced.Add(m.doc)
		setPeerDocState(n, m.from, m.doc, PeerDocState{Kind: PeerSynced, LastKnownVersion: m.version})
		markHeard(n, m.from, m.doc)
		return n, fx

	case msgDurable:
		d, ok := s.docs.Get(m.doc)
		if !ok {
			return s, nil
		}
		n := s.clone()
		nd := *d
		nd.durable = m.version
		n.docs = n.docs.Set(m.doc, &nd)
		if d.ackTo.Len() == 0 {
			return n, nil
		}
		return n, p.ack(n, m.doc, &nd, m.version)

	case msgPeerSynced:
		if !s.docs.Has(m.doc) || !s.peers.Has(m.peer) {
			return s, nil
		}
		n := s.clone()
		setPeerDocState(n, m.peer, m.doc, PeerDocState{Kind: PeerSynced, LastKnownVersion: m.version})
		markHeard(n, m.peer, m.doc)
		if d, _ := n.docs.Get(m.doc); m.write && p.persistent && d.acknowledged() {
			nd := *d
			nd.ackTo = d.ackTo.Set(m.peer, d.version)
			n.docs = n.docs.Set(m.doc, &nd)
			if d.durable == d.version {
				return n, p.ack(n, m.doc, &nd, d.version) // already durable
			}
		}
		return n, nil

	case msgAcked:
		peer, ok := s.peers.Get(m.peer)
		if !ok || !s.docs.Has(m.doc) {
			return s, nil
		}
		n := s.clone()
		np := *peer
		np.acked = peer.acked.Set(m.doc, m.version)
		n.peers = n.peers.Set(m.peer, &np)
		n.peerSync = n.peerSync.Add(m.doc) // waiters re-check
		return n, nil

	case msgDeclareVacant:
		if !s.peers.Has(m.to) {
			return s, nil
		}
		return s, []syncFx{vacant(m.to, m.doc)}

	case msgReceived:
		return p.received(s, m.from, m.msg)

	case msgSyncTick:
		if s.docEvents.Len() == 0 && s.peerSync.Len() == 0 && s.advanced.Len() == 0 && s.pushedNow.Len() == 0 && s.holding.Len() == 0 {
			return s, nil
		}
		n := s.clone()
		n.pushedNow = pmap.Map[struct{}]{}
		var fx []syncFx
		if s.holding.Len() > 0 {
			fx = p.release(n, s.holding.Keys())
		} else {
			fx = make([]syncFx, 0, 3) // a tick's usual effects, in one allocation
		}
		if s.peerSync.Len() > 0 {
			fx = append(fx, fxEmitReady{docs: s.peerSync})
		}
		if s.advanced.Len() > 0 {
			fx = append(fx, fxEmitStateAdvanced{docs: s.advanced})
		}
		if s.docEvents.Len() > 0 {
			fx = append(fx, fxEmitDocEvents{events: s.docEvents.Slice()})
		}
		n.peerSync, n.advanced, n.docEvents = pmap.Set{}, pmap.Set{}, pmap.List[DocChange]{}
		return n, fx

	case msgDocRemovedAll:
		if s.docs.Len() == 0 && s.loading.Len() == 0 {
			return s, nil
		}
		n := s.clone()
		for _, id := range s.docs.Keys() {
			n.docEvents = n.docEvents.Push(DocChange{Type: DocRemoved, DocID: id})
		}
		n.docs = pmap.Map[*syncDoc]{}
		n.loading = pmap.Map[loadingDoc]{}
		n.reconciled = pmap.Map[pmap.Map[wire.PeerIdentity]]{}
		return n, nil
	}
	return s, nil
}

// ack tells the peers whose writes we merged that we hold the doc at
// version: an offer with an empty delta, which a peer at or past version
// ignores (and one behind it answers with an interest). A peer stays owed
// an acknowledgement until version is the one its last write led to (a
// durable version can lag behind the merges). n is a fresh clone.
func (p *syncProgram) ack(n *syncState, doc string, d *syncDoc, version string) []syncFx {
	var to []string
	owed := d.ackTo
	for _, id := range d.ackTo.Keys() {
		if peer, ok := n.peers.Get(id); ok && p.share(doc, peer.identity) {
			to = append(to, id)
		}
		if v, _ := d.ackTo.Get(id); v == version || !n.peers.Has(id) {
			owed = owed.Delete(id)
		}
	}
	nd := *d
	nd.ackTo = owed
	n.docs = n.docs.Set(doc, &nd)
	if len(to) == 0 {
		return nil
	}
	return []syncFx{fxSendToPeers{peers: to, msg: &wire.Offer{DocID: doc, Version: version,
		Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte("[]")}, Reciprocate: ptr(false)}}}
}

// dropDoc forgets a doc locally: entry, latch, per-peer states. Parked
// interests for a doc that never finished loading are answered vacant.
func (p *syncProgram) dropDoc(n *syncState, doc string, fx []syncFx) (*syncState, []syncFx) {
	n.docs = n.docs.Delete(doc)
	n.reconciled = n.reconciled.Delete(doc)
	if l, ok := n.loading.Get(doc); ok {
		n.loading = n.loading.Delete(doc)
		for _, pi := range l.parked {
			if n.peers.Has(pi.from) {
				fx = append(fx, vacant(pi.from, doc))
			}
		}
	}
	for _, id := range n.peers.Keys() {
		peer, _ := n.peers.Get(id)
		if peer.states.Has(doc) {
			np := *peer
			np.states = peer.states.Delete(doc)
			n.peers = n.peers.Set(id, &np)
			n.peerSync = n.peerSync.Add(doc)
		}
	}
	return n, fx
}

// unpark answers the interests that arrived while doc was loading.
func (p *syncProgram) unpark(n *syncState, doc string, fx []syncFx) (*syncState, []syncFx) {
	l, ok := n.loading.Get(doc)
	if !ok {
		return n, fx
	}
	n.loading = n.loading.Delete(doc)
	for _, pi := range l.parked {
		var more []syncFx
		n, more = p.onInterest(n, pi.from, pi.msg)
		fx = append(fx, more...)
	}
	return n, fx
}

func (p *syncProgram) received(s *syncState, from string, msg wire.ChannelMsg) (*syncState, []syncFx) {
	peer, ok := s.peers.Get(from)
	if !ok {
		return s, nil // sync traffic from an unknown sender is dropped
	}
	switch msg.(type) {
	case *wire.Offer, *wire.Dismiss, *wire.Vacant:
		// CanShare is symmetric: a peer that may not see a doc cannot
		// change it either, nor learn anything from our reaction (no
		// import, no reciprocal interest, no sync state, no readiness).
		if !p.share(docOf(msg), peer.identity) {
			return s, nil
		}
	}
	switch msg := msg.(type) {
	case *wire.Present:
		return p.onPresent(s, peer, msg)
	case *wire.Interest:
		return p.onInterest(s, from, msg)
	case *wire.Offer:
		d, ok := s.docs.Get(msg.DocID)
		if !ok || d.mode == ModeDeferred || peer.mismatched.Has(msg.DocID) {
			return s, nil
		}
		var fx []syncFx
		if p.accept(msg.DocID, peer.identity) {
			fx = append(fx, fxImport{doc: msg.DocID, payload: msg.Payload, version: msg.Version, from: from,
				reciprocate: msg.Reciprocate != nil && *msg.Reciprocate})
		}
		if msg.Reciprocate != nil && *msg.Reciprocate {
			fx = append(fx, fxSendToPeers{peers: []string{from}, msg: &wire.Interest{DocID: msg.DocID, Version: ptr(d.version), Reciprocate: ptr(false)}})
		}
		return s, fx
	case *wire.Dismiss:
		n := s.clone()
		if peer.states.Has(msg.DocID) {
			np := *peer
			np.states = peer.states.Delete(msg.DocID)
			n.peers = n.peers.Set(from, &np)
		}
		n.peerSync = n.peerSync.Add(msg.DocID)
		return n, []syncFx{fxDocDismissed{doc: msg.DocID, peer: peer.identity}}
	case *wire.Vacant:
		if !s.docs.Has(msg.DocID) {
			return s, nil
		}
		n := s.clone()
		setPeerDocState(n, from, msg.DocID, PeerDocState{Kind: PeerVacant})
		return n, nil
	}
	return s, nil
}

// markPresenterMismatches marks the peers that presented doc (while it
// was deferred) with metadata d does not accept, and reports each. n is a
// fresh clone owned by the caller.
func markPresenterMismatches(n *syncState, doc string, d *syncDoc, presenters pmap.Map[DocMeta]) []syncFx {
	var fx []syncFx
	for _, id := range presenters.Keys() {
		meta, _ := presenters.Get(id)
		peer, ok := n.peers.Get(id)
		if !ok {
			continue
		}
		e := wire.DocPresence{DocID: doc, ReplicaType: meta.ReplicaType, SyncMode: meta.SyncMode, SchemaHash: meta.SchemaHash, SupportedHashes: meta.SupportedHashes}
		if diag, bad := mismatch(e, d, id); bad {
			np := *peer
			np.mismatched = peer.mismatched.Set(doc, diag)
			n.peers = n.peers.Set(id, &np)
			n.peerSync = n.peerSync.Add(doc)
			fx = append(fx, fxSyncDiagnostic{d: diag})
		}
	}
	return fx
}

// presentedMeta is what a present entry says about its doc.
func presentedMeta(e wire.DocPresence) DocMeta {
	return DocMeta{ReplicaType: e.ReplicaType, SyncMode: e.SyncMode, SchemaHash: e.SchemaHash,
		SupportedHashes: slices.Clone(e.SupportedHashes)}
}

// docOf returns the doc id a single-doc sync message is about.
func docOf(m wire.ChannelMsg) string {
	switch m := m.(type) {
	case *wire.Offer:
		return m.DocID
	case *wire.Dismiss:
		return m.DocID
	case *wire.Vacant:
		return m.DocID
	case *wire.Interest:
		return m.DocID
	}
	return ""
}

func (p *syncProgram) onPresent(s *syncState, peer *syncPeer, msg *wire.Present) (*syncState, []syncFx) {
	from := peer.identity.PeerID
	var fx []syncFx
	for _, e := range msg.Docs {
		if l, ok := s.loading.Get(e.DocID); ok {
			// Registration will present and ask for it anyway; what the
			// peer said is checked then.
			s = s.clone()
			l.presenters = l.presenters.Set(from, presentedMeta(e))
			s.loading = s.loading.Set(e.DocID, l)
			continue
		}
		if !p.share(e.DocID, peer.identity) {
			fx = append(fx, vacant(from, e.DocID))
			continue
		}
		d, known := s.docs.Get(e.DocID)
		if !known {
			cur, _ := s.peers.Get(from)
			if byPrincipal, _ := s.byPrincipal.Get(cur.principal); p.maxPerPrincipal > 0 && cur.principal != "" && byPrincipal >= p.maxPerPrincipal {
				// The principal's quota, shared by all its peers and kept
				// across departures.
				if byPrincipal == p.maxPerPrincipal {
					fx = append(fx, fxSyncDiagnostic{d: Diagnostic{Reason: reasonQuota, Severity: SeverityWarning, PeerID: from, DocID: e.DocID,
						Message: fmt.Sprintf("the principal of peer %q announced more than %d documents we did not hold; the rest are answered vacant", from, p.maxPerPrincipal)}})
					s = s.clone()
					s.byPrincipal = s.byPrincipal.Set(cur.principal, byPrincipal+1)
				}
				fx = append(fx, vacant(from, e.DocID))
				continue
			}
			if p.maxAnnounced > 0 && cur.announced >= p.maxAnnounced {
				// A peer cannot make us hold without bound: past its quota
				// an unknown doc is answered vacant (reported once).
				if cur.announced == p.maxAnnounced {
					fx = append(fx, fxSyncDiagnostic{d: Diagnostic{Reason: reasonQuota, Severity: SeverityWarning, PeerID: from, DocID: e.DocID,
						Message: fmt.Sprintf("peer %q announced more than %d documents we did not hold; the rest are answered vacant", from, p.maxAnnounced)}})
				}
				fx = append(fx, vacant(from, e.DocID))
				s = s.clone()
				np := *cur
				np.announced = min(cur.announced+1, p.maxAnnounced+1)
				s.peers = s.peers.Set(from, &np)
				continue
			}
			s = s.clone()
			np := *cur
			np.announced++
			s.peers = s.peers.Set(from, &np)
			if cur.principal != "" {
				k, _ := s.byPrincipal.Get(cur.principal)
				s.byPrincipal = s.byPrincipal.Set(cur.principal, k+1)
			}
			fx = append(fx, fxEnsureDoc{doc: e.DocID, peer: peer.identity, meta: presentedMeta(e)})
			continue
		}
		if d.mode == ModeDeferred {
			// What each presenter said is checked once the doc is promoted
			// with its own metadata: the first presenter's claim is no
			// yardstick for the others.
			nd := *d
			nd.presenters = d.presenters.Set(from, presentedMeta(e))
			s = s.clone()
			s.docs = s.docs.Set(e.DocID, &nd)
			if cur, _ := s.peers.Get(from); cur.mismatched.Has(e.DocID) {
				np := *cur
				np.mismatched = cur.mismatched.Delete(e.DocID)
				s.peers = s.peers.Set(from, &np)
			}
			continue // deferred docs never request data
		}
		if diag, bad := mismatch(e, d, from); bad {
			fx = append(fx, fxSyncDiagnostic{d: diag})
			if cur, _ := s.peers.Get(from); !cur.mismatched.Has(e.DocID) {
				// (recorded with its diagnostic: WaitForSync reports it)
				s = s.clone()
				np := *cur
				np.mismatched = cur.mismatched.Set(e.DocID, diag)
				s.peerSync = s.peerSync.Add(e.DocID) // waiters re-check
				s.peers = s.peers.Set(from, &np)
			}
			continue
		}
		if cur, _ := s.peers.Get(from); cur.mismatched.Has(e.DocID) {
			s = s.clone()
			np := *cur
			np.mismatched = cur.mismatched.Delete(e.DocID)
			s.peers = s.peers.Set(from, &np)
		}
		fx = append(fx, fxSendToPeers{peers: []string{from}, msg: &wire.Interest{
			DocID: e.DocID, Version: ptr(d.version), Reciprocate: ptr(bidirectional(d.meta.SyncMode)),
		}})
	}
	return s, fx
}

func (p *syncProgram) onInterest(s *syncState, from string, msg *wire.Interest) (*syncState, []syncFx) {
	peer, ok := s.peers.Get(from)
	if !ok {
		return s, nil
	}
	if l, ok := s.loading.Get(msg.DocID); ok {
		n := s.clone()
		l.parked = append(slices.Clip(l.parked), parkedInterest{from: from, msg: msg})
		n.loading = n.loading.Set(msg.DocID, l)
		return n, nil
	}
	d, ok := s.docs.Get(msg.DocID)
	if !ok || d.mode == ModeDeferred || !p.share(msg.DocID, peer.identity) || peer.mismatched.Has(msg.DocID) {
		return s, []syncFx{vacant(from, msg.DocID)}
	}
	recip := msg.Reciprocate != nil && *msg.Reciprocate
	var fx []syncFx
	n := s.clone()
	var since *string
	if d.meta.SyncMode.Delivery == wirecore.DeltaCapable {
		since = msg.Version
	}
	if peer.congested.Len() > 0 {
		// The answer waits until the peer's queue drained: a peer asking
		// for thousands of documents at once must not overflow it.
		np := *peer
		np.held = peer.held.Set(msg.DocID, heldPush{since: since, answer: true})
		n.peers = n.peers.Set(from, &np)
		n.holding = n.holding.Set(from, struct{}{})
	} else {
		fx = append(fx, fxSendOffers{peers: []string{from}, doc: msg.DocID, since: since, reciprocate: ptr(false)})
	}
	if recip && bidirectional(d.meta.SyncMode) && d.meta.SyncMode.Delivery == wirecore.DeltaCapable {
		fx = append(fx, fxSendToPeers{peers: []string{from}, msg: &wire.Interest{DocID: msg.DocID, Version: ptr(d.version), Reciprocate: ptr(false)}})
	}
	if recip {
		setPeerDocState(n, from, msg.DocID, PeerDocState{Kind: PeerPending})
	} else {
		v := ""
		if msg.Version != nil {
			v = *msg.Version
		}
		setPeerDocState(n, from, msg.DocID, PeerDocState{Kind: PeerSynced, LastKnownVersion: v})
	}
	return n, fx
}

// mismatch validates a present entry against our doc: replica type, then
// schema hashes, then sync mode; the first failure is reported.
func mismatch(e wire.DocPresence, d *syncDoc, peer string) (Diagnostic, bool) {
	base := Diagnostic{Severity: SeverityError, PeerID: peer, DocID: e.DocID}
	lt, rt := d.meta.ReplicaType, e.ReplicaType
	if lt.Name != rt.Name || lt.Major != rt.Major {
		base.Reason = reasonReplicaTypeMismatch
		base.Local = fmt.Sprintf("%s/%d.%d", lt.Name, lt.Major, lt.Minor)
		base.Remote = fmt.Sprintf("%s/%d.%d", rt.Name, rt.Major, rt.Minor)
	} else if remote := (DocMeta{SchemaHash: e.SchemaHash, SupportedHashes: e.SupportedHashes}).hashes(); !intersects(d.meta.hashes(), remote) {
		base.Reason = reasonSchemaHashMismatch
		base.Local = strings.Join(d.meta.hashes(), ",")
		base.Remote = strings.Join(remote, ",")
	} else if d.meta.SyncMode != e.SyncMode {
		base.Reason = reasonSyncModeMismatch
		base.Local = modeString(d.meta.SyncMode)
		base.Remote = modeString(e.SyncMode)
	} else {
		return Diagnostic{}, false
	}
	base.Message = fmt.Sprintf("doc %q from peer %q: %s (local %s, remote %s)", e.DocID, peer, base.Reason, base.Local, base.Remote)
	return base, true
}

func modeString(m wire.SyncMode) string {
	return fmt.Sprintf("%s/%s/%s", m.WriterModel, m.Delivery, m.Durability)
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// push builds the offers for a change: to every peer that is synced or
// pending for doc (canShare-filtered, minus exclude), with since = the doc's
// version before the change for delta-capable docs. One shared baseline
// for all targets (§2.7). A congested peer's push is held instead (in n,
// a fresh clone owned by the caller), keeping the first baseline.
func (p *syncProgram) push(n *syncState, doc string, before *syncDoc, exclude string) []syncFx {
	var since *string
	if before.meta.SyncMode.Delivery == wirecore.DeltaCapable {
		since = &before.version // shared, never written: syncDoc values are immutable
	}
	var targets []string
	for _, id := range n.peers.Keys() {
		if id == exclude {
			continue
		}
		peer, _ := n.peers.Get(id)
		st, ok := peer.states.Get(doc)
		if !ok || st.Kind == PeerVacant || !peer.fresh.Has(doc) || !p.share(doc, peer.identity) {
			continue
		}
		key := id + "\x00" + doc
		if peer.congested.Len() > 0 || n.pushedNow.Has(key) {
			if !peer.held.Has(doc) { // a held push keeps its baseline; a held answer covers this change
				np := *peer
				np.held = peer.held.Set(doc, heldPush{since: since})
				n.peers = n.peers.Set(id, &np)
				n.holding = n.holding.Set(id, struct{}{})
			}
			continue
		}
		n.pushedNow = n.pushedNow.Set(key, struct{}{})
		targets = append(targets, id)
	}
	if len(targets) == 0 {
		return nil
	}
	return []syncFx{fxSendOffers{peers: targets, doc: doc, since: since, push: true}}
}

// pressure folds a channel's congestion into its peer's. When the peer's
// last congested channel drains, each held push goes out as one offer from
// its first baseline: everything the peer missed, coalesced.
func (p *syncProgram) pressure(s *syncState, m msgChannelPressure) (*syncState, []syncFx) {
	peer, ok := s.peers.Get(m.peer)
	key := strconv.FormatUint(uint64(m.ch), 10)
	if !ok || peer.congested.Has(key) == m.congested {
		return s, nil
	}
	n := s.clone()
	np := *peer
	if m.congested {
		np.congested = peer.congested.Set(key, struct{}{})
		n.peers = n.peers.Set(m.peer, &np)
		return n, nil
	}
	np.congested = peer.congested.Delete(key)
	n.peers = n.peers.Set(m.peer, &np)
	if np.congested.Len() > 0 {
		return n, nil
	}
	return n, p.release(n, []string{m.peer})
}

// releaseBatch is how many held offers one peer gets per step: a peer that
// asked for thousands of documents while congested gets them in batches,
// so its queue can report pressure again between them.
const releaseBatch = 64

// releasable reports whether some peer that is not congested still holds
// offers (the core then schedules another tick to send the next batch).
func (s *syncState) releasable() bool {
	found := false
	s.holding.Range(func(id string, _ struct{}) bool {
		if p, ok := s.peers.Get(id); ok && p.congested.Len() == 0 && p.held.Len() > 0 {
			found = true
		}
		return !found
	})
	return found
}

// release sends the held pushes of the given peers that are not congested
// (n is a fresh clone owned by the caller): one offer per doc and
// baseline, shared by the peers that hold the same one.
func (p *syncProgram) release(n *syncState, ids []string) []syncFx {
	type group struct {
		doc    string
		since  *string
		answer bool
		peers  []string
	}
	var groups []*group
	var vacants []syncFx
	index := map[string]*group{}
	for _, id := range ids {
		peer, ok := n.peers.Get(id)
		if !ok || peer.held.Len() == 0 {
			n.holding = n.holding.Delete(id)
			continue
		}
		if peer.congested.Len() > 0 {
			continue
		}
		np := *peer
		released := 0
		for _, doc := range peer.held.Keys() {
			if released == releaseBatch {
				break // the rest at the next tick, once these went out
			}
			released++
			np.held = np.held.Delete(doc)
			h, _ := peer.held.Get(doc)
			d, ok := n.docs.Get(doc)
			if h.answer && (!ok || d.mode == ModeDeferred || !p.share(doc, peer.identity)) {
				vacants = append(vacants, vacant(id, doc)) // as the interest would be answered now
				continue
			}
			if st, known := peer.states.Get(doc); !ok || d.mode == ModeDeferred || !known || st.Kind == PeerVacant || !p.share(doc, peer.identity) {
				continue // gone, dismissed or denied since it was held
			}
			k := fmt.Sprintf("%s\x00%v", doc, h.answer)
			if h.since != nil {
				k += "@" + *h.since
			}
			g := index[k]
			if g == nil {
				g = &group{doc: doc, since: h.since, answer: h.answer}
				index[k] = g
				groups = append(groups, g)
			}
			g.peers = append(g.peers, id)
		}
		n.peers = n.peers.Set(id, &np)
		if np.held.Len() == 0 {
			n.holding = n.holding.Delete(id)
		}
	}
	fx := make([]syncFx, 0, len(groups)+len(vacants))
	fx = append(fx, vacants...)
	for _, g := range groups {
		if g.answer {
			fx = append(fx, fxSendOffers{peers: g.peers, doc: g.doc, since: g.since, reciprocate: ptr(false)})
		} else {
			fx = append(fx, fxSendOffers{peers: g.peers, doc: g.doc, since: g.since, push: true})
		}
	}
	return fx
}

func (p *syncProgram) sharePeers(s *syncState, doc string, ids []string) []string {
	var out []string
	for _, id := range ids {
		peer, _ := s.peers.Get(id)
		if p.share(doc, peer.identity) {
			out = append(out, id)
		}
	}
	return out
}

// presentBatch is how many docs one present lists: a peer caps the
// entries it accepts in one message (50,000 by default in Go), and smaller
// messages interleave with other traffic.
const presentBatch = 1000

// presents announces entries to peer in batches.
func presents(peer string, entries []wire.DocPresence) []syncFx {
	fx := make([]syncFx, 0, (len(entries)+presentBatch-1)/presentBatch)
	for len(entries) > 0 {
		k := min(len(entries), presentBatch)
		fx = append(fx, fxSendToPeers{peers: []string{peer}, msg: &wire.Present{Docs: entries[:k:k]}})
		entries = entries[k:]
	}
	return fx
}

func vacant(to, doc string) syncFx {
	return fxSendToPeers{peers: []string{to}, msg: &wire.Vacant{DocID: doc}}
}

func presence(id string, d *syncDoc) wire.DocPresence {
	e := wire.DocPresence{DocID: id, ReplicaType: d.meta.ReplicaType, SyncMode: d.meta.SyncMode, SchemaHash: d.meta.SchemaHash}
	if len(d.meta.SupportedHashes) > 1 {
		e.SupportedHashes = slices.Clone(d.meta.SupportedHashes)
	}
	return e
}

// setPeerDocState is the single fold point for per-peer doc states. n must
// be a fresh clone owned by the caller.
func setPeerDocState(n *syncState, peerID, doc string, st PeerDocState) {
	peer, ok := n.peers.Get(peerID)
	if !ok {
		return
	}
	np := *peer
	np.states = peer.states.Set(doc, st)
	np.fresh = peer.fresh.Add(doc)
	n.peers = n.peers.Set(peerID, &np)
	n.peerSync = n.peerSync.Add(doc)
	if st.Kind == PeerSynced || st.Kind == PeerVacant {
		latch, _ := n.reconciled.Get(doc)
		if !latch.Has(peerID) {
			n.reconciled = n.reconciled.Set(doc, latch.Set(peerID, peer.identity))
		}
	}
}

// markHeard records that an offer of peerID for doc was absorbed. n must
// be a fresh clone owned by the caller.
func markHeard(n *syncState, peerID, doc string) {
	peer, ok := n.peers.Get(peerID)
	if !ok || peer.heard.Has(doc) {
		return
	}
	np := *peer
	np.heard = peer.heard.Add(doc)
	n.peers = n.peers.Set(peerID, &np)
	n.peerSync = n.peerSync.Add(doc) // waiters re-check
}

func (s *syncState) clone() *syncState {
	n := *s
	return &n
}

// --- read-only projections used by the shell ---

// hasReconciled reports the readiness latch for doc.
func (s *syncState) hasReconciled(doc string) bool {
	l, ok := s.reconciled.Get(doc)
	return ok && l.Len() > 0
}
