package exchange

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// runtimeFor returns the live runtime of doc (nil if destroyed or unknown).
func (ex *Exchange) runtimeFor(doc string) *docRuntime {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.runtimes[doc]
}

func (ex *Exchange) warn(reason string, doc, peer string, err error, format string, args ...any) {
	ex.diagnose(Diagnostic{Reason: reason, Severity: SeverityWarning, DocID: doc, PeerID: peer, Err: err, Message: fmt.Sprintf(format, args...)})
}

// sendOffers builds and queues the offers of one send-offers effect (§2.7).
// Targets with the same baseline share one export.
func (ex *Exchange) sendOffers(f fxSendOffers) {
	rt := ex.runtimeFor(f.doc)
	if rt == nil {
		ex.warn(reasonExportFailed, f.doc, "", nil, "no local runtime for doc %q at send time; offer dropped", f.doc)
		return
	}
	var offers []*transport.OfferPieces
	var at string
	var sent []string
	for _, peer := range f.peers {
		chans := ex.cs().sess.peerChannels(peer)
		if len(chans) == 0 {
			continue // no path: the peer resyncs from its version when it returns
		}
		if ex.congested(chans) {
			// Its queue filled up since the program decided (the report
			// is queued behind this step): the program holds the offer.
			ex.enqueue(msgHold{peer: peer, doc: f.doc, since: f.since, answer: !f.push})
			continue
		}
		if sent == nil {
			// Built once for every target: a joined copy of pieces too.
			var parts []replica.OfferPart
			var pieces wire.Pieces
			parts, pieces, at = ex.buildOffer(rt, f.since, f.push, peer)
			for _, part := range parts {
				offers = append(offers, &transport.OfferPieces{Data: pieces, Offer: wire.Offer{DocID: f.doc, Payload: part.Payload.Wire(), Version: part.Version, Reciprocate: f.reciprocate}})
			}
		}
		sent = append(sent, peer)
		for _, o := range offers {
			ex.sendOffer(chans, o)
		}
	}
	if f.push && sent != nil {
		// Only the peers it reached count as caught up.
		ex.enqueue(msgPushed{doc: f.doc, version: at, to: sent})
	}
}

// buildOffer computes what a peer at since lacks (nil since: everything)
// and returns it with the version it was exported at. A change kept in
// pieces (replica.PiecesExporter) comes back as one part with nil Data,
// and its pieces.
func (ex *Exchange) buildOffer(rt *docRuntime, since *string, push bool, peer string) ([]replica.OfferPart, wire.Pieces, string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ours := rt.rep.Version()
	cur := ours.String()
	parts, pieces := ex.exportFor(rt, ours, since, push, peer)
	return parts, pieces, cur
}

func (ex *Exchange) exportFor(rt *docRuntime, ours replica.Version, since *string, push bool, peer string) ([]replica.OfferPart, wire.Pieces) {
	me, multi := rt.rep.(replica.MultiExporter)
	plan := planOffer(ours, since, push, multi, rt.factory.ParseVersion)
	cur := ours.String()
	one := func(p replica.Payload, ok bool, err error, what string) []replica.OfferPart {
		if err != nil {
			ex.warn(reasonExportFailed, rt.id, peer, err, "%s export failed", what)
			return nil
		}
		if !ok {
			return nil
		}
		return []replica.OfferPart{{Payload: p, Version: cur}}
	}
	entirety := func() []replica.OfferPart {
		p, err := rt.rep.ExportEntirety()
		return one(p, true, err, "entirety")
	}
	switch plan.act {
	case offerLog:
		parts, err := me.ExportFor(plan.from)
		if err != nil {
			ex.warn(reasonExportFailed, rt.id, peer, err, "export for %q failed", plan.from)
			return nil, wire.Pieces{}
		}
		return parts, wire.Pieces{}
	case offerEntirety:
		return entirety(), wire.Pieces{}
	case offerBadVersion:
		ex.warn(reasonVersionParse, rt.id, peer, plan.err, "cannot use peer version %q; nothing sent", *since)
		return nil, wire.Pieces{}
	case offerSinceOurs, offerSince:
		from := ours
		if plan.act == offerSince {
			from = plan.theirs
		}
		p, pieces, ok, err := replica.ExportSincePieces(rt.rep, from)
		if plan.act == offerSince && err == nil && !ok {
			return entirety(), wire.Pieces{} // their version predates our base, or another lineage
		}
		return one(p, ok, err, "since"), pieces
	}
	return nil, wire.Pieces{}
}

// importOffer absorbs an accepted offer (§2.8) as planImport decides and
// reports back through the queue with doc-imported or peer-synced.
func (ex *Exchange) importOffer(f fxImport) {
	rt := ex.runtimeFor(f.doc)
	if rt == nil {
		return
	}
	var identity wire.PeerIdentity
	wasSynced := false
	if peer, ok := ex.cs().sync.peers.Get(f.from); ok {
		identity = peer.identity
		st, ok := peer.states.Get(f.doc)
		wasSynced = ok && st.Kind == PeerSynced
	}
	incoming, err := rt.factory.ParseVersion(f.version)
	if err != nil {
		ex.warn(reasonVersionParse, f.doc, f.from, err, "cannot parse offer version %q; dropped", f.version)
		return
	}
	// A received message belongs to the exchange (transport.Base.Receive),
	// so the replica may keep its data rather than copy it.
	payload := replica.Payload{Kind: f.payload.Kind, Encoding: f.payload.Encoding, Data: f.payload.Data, Owned: true}
	if f.payload.Lineage != nil {
		payload.Lineage = *f.payload.Lineage
	}
	in := importInput{incoming: incoming, payload: payload, wasSynced: wasSynced,
		transient: rt.meta.SyncMode.Durability == wirecore.Transient, now: ex.clock.Now()}
	rt.mu.Lock()
	in.ours = rt.rep.Version()
	if su, ok := rt.rep.(replica.SetUnion); ok {
		in.setUnion = su.SetUnion()
	}
	rt.mu.Unlock()
	askOurs := func() {
		ex.sendTo(ex.cs().sess.peerChannels(f.from), &wire.Interest{DocID: f.doc, Version: ptr(in.ours.String()), Reciprocate: ptr(false)})
	}

	act, why := planImport(in)
	if act != importRefuse && isAck(payload) {
		ex.enqueue(msgAcked{doc: f.doc, version: f.version, peer: f.from})
	}
	switch act {
	case importSynced:
		// A write we already hold, or a request for an acknowledgement
		// (an empty offer that asks for an answer), is owed one like a
		// write we merged.
		ex.enqueue(msgPeerSynced{doc: f.doc, version: f.version, peer: f.from, write: owesAck(payload, f.reciprocate)})
		return
	case importRefuse:
		ex.warn(reasonVersionRefused, f.doc, f.from, nil, "offer refused: %s", why)
		return
	case importKeepOurs:
		ex.warn(reasonResetRefused, f.doc, f.from, nil, "keeping lineage %s over %s; sending ours", in.ours, incoming)
		ex.sendOffers(fxSendOffers{peers: []string{f.from}, doc: f.doc, reciprocate: ptr(false)})
		return
	case importAskGap:
		ex.warn(reasonMergeFailed, f.doc, f.from, nil, "%s; re-requesting", why)
		askOurs()
		return
	case importAskEntirety, importReset:
		if !ex.canReset(f.doc, identity) {
			ex.warn(reasonResetRefused, f.doc, f.from, nil, "peer's state diverged from ours and canReset refused; keeping local state")
			return
		}
		if act == importAskEntirety {
			askOurs() // our lineage differs, so its export falls back to the entirety
			return
		}
	}

	rt.mu.Lock()
	_, stamped := rt.rep.(replica.StampedMerger)
	var mergeErr error
	switch absorbHow(act, rt.mode == ModeReplicate, rt.factory.Type().Name == replica.StateType.Name, stamped) {
	case absorbReplace:
		var rep replica.Replica
		if rep, mergeErr = rt.factory.FromEntirety(payload); mergeErr == nil {
			rt.rep = rep
		}
	case absorbResetTo:
		mergeErr = rt.rep.ResetFromEntirety(payload, incoming)
	case absorbStamped:
		mergeErr = rt.rep.(replica.StampedMerger).MergeStamped(payload, f.version, f.from)
	default:
		mergeErr = rt.rep.Merge(payload)
	}
	v := rt.rep.Version().String()
	rt.mu.Unlock()
	if mergeErr != nil {
		if act == importReset {
			ex.warn(reasonResetFailed, f.doc, f.from, mergeErr, "reset from entirety failed; dropped")
		} else {
			ex.warn(reasonMergeFailed, f.doc, f.from, mergeErr, "merge failed (incompatible data?); dropped")
		}
		return
	}
	if v == in.ours.String() {
		// A join that added nothing: the peer is synced, nothing to push.
		ex.enqueue(msgPeerSynced{doc: f.doc, version: f.version, peer: f.from})
		return
	}
	if rt.doc != nil {
		ex.markChanged(rt)
	}
	ex.enqueue(msgDocImported{doc: f.doc, version: v, from: f.from})
}

// enqueue queues the outcome of an import ahead of later inputs (called
// while draining).
func (ex *Exchange) enqueue(m any) { ex.consequence(m) }

// congested reports whether one of chans reported its queue past its
// high-water mark (the latest report, before the core has seen it).
func (ex *Exchange) congested(chans []transport.ChannelID) bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	for _, ch := range chans {
		if ex.pressure[ch] {
			return true
		}
	}
	return false
}
