package exchange

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

// runtimeFor returns the live runtime of doc (nil if destroyed or unknown).
func (ex *Exchange) runtimeFor(doc string) *docRuntime {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.runtimes[doc]
}

func (ex *Exchange) warn(code DiagnosticCode, doc, peer string, err error, format string, args ...any) {
	ex.diagnose(Diagnostic{Code: code, Severity: SeverityWarning, DocID: doc, PeerID: peer, Err: err, Message: fmt.Sprintf(format, args...)})
}

// sendOffers builds and queues the offers of one send-offers effect (§2.7).
// Targets with the same baseline share one export.
func (ex *Exchange) sendOffers(f fxSendOffers) {
	rt := ex.runtimeFor(f.doc)
	if rt == nil {
		ex.warn(DiagExportFailed, f.doc, "", nil, "no local runtime for doc %q at send time; offer dropped", f.doc)
		return
	}
	var parts []replica.OfferPart
	built := false
	for _, peer := range f.peers {
		chans := ex.sess.peerChannels(peer)
		if len(chans) == 0 {
			continue
		}
		if !built {
			var at string
			parts, at = ex.buildOffer(rt, f.since, f.push, peer)
			built = true
			if f.push {
				ex.enqueue(msgPushed{doc: f.doc, version: at})
			}
		}
		for _, part := range parts {
			ex.sendTo(chans, &wire.Offer{DocID: f.doc, Payload: part.Payload.Wire(), Version: part.Version, Reciprocate: f.reciprocate})
		}
	}
}

// buildOffer computes what a peer at since lacks (nil since: everything)
// and returns it with the version it was exported at.
func (ex *Exchange) buildOffer(rt *docRuntime, since *string, push bool, peer string) ([]replica.OfferPart, string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ours := rt.rep.Version()
	cur := ours.String()
	return ex.exportFor(rt, ours, since, push, peer), cur
}

func (ex *Exchange) exportFor(rt *docRuntime, ours replica.Version, since *string, push bool, peer string) []replica.OfferPart {
	cur := ours.String()
	if me, ok := rt.rep.(replica.MultiExporter); ok {
		// An opaque log cannot tell what a peer's own version contains: a
		// peer's stamp says nothing about payloads that reached the relay
		// from others. Only a push, from our own previous version, can
		// send just the payloads after it; an answer to an interest sends
		// the whole log (set union: the receiver skips what it has).
		v := ""
		if since != nil && push {
			v = *since
		}
		parts, err := me.ExportFor(v)
		if err != nil {
			ex.warn(DiagExportFailed, rt.id, peer, err, "export for %q failed", v)
			return nil
		}
		return parts
	}
	entirety := func() []replica.OfferPart {
		p, err := rt.rep.ExportEntirety()
		if err != nil {
			ex.warn(DiagExportFailed, rt.id, peer, err, "entirety export failed")
			return nil
		}
		return []replica.OfferPart{{Payload: p, Version: cur}}
	}
	if since == nil || *since == "" {
		return entirety()
	}
	theirs, err := rt.factory.ParseVersion(*since)
	if err != nil {
		ex.warn(DiagVersionParse, rt.id, peer, err, "cannot parse peer version %q; nothing sent", *since)
		return nil
	}
	ord, err := ours.Compare(theirs)
	if err != nil {
		ex.warn(DiagVersionParse, rt.id, peer, err, "cannot compare with peer version %q; nothing sent", *since)
		return nil
	}
	if ord == replica.Behind || ord == replica.Equal {
		// No gap. Replicas that always have something to say (CRDTs)
		// still answer; plain has nothing and the peer is synced through
		// the interest path.
		p, ok, err := rt.rep.ExportSince(ours)
		if err != nil {
			ex.warn(DiagExportFailed, rt.id, peer, err, "export failed")
			return nil
		}
		if !ok {
			return nil
		}
		return []replica.OfferPart{{Payload: p, Version: cur}}
	}
	p, ok, err := rt.rep.ExportSince(theirs)
	if err != nil {
		ex.warn(DiagExportFailed, rt.id, peer, err, "export since %q failed", *since)
		return nil
	}
	if !ok {
		// Their version predates our base (or another lineage): send it all.
		return entirety()
	}
	return []replica.OfferPart{{Payload: p, Version: cur}}
}

// importOffer absorbs an accepted offer (§2.8) and reports back through
// the queue with doc-imported or peer-synced.
func (ex *Exchange) importOffer(f fxImport) {
	rt := ex.runtimeFor(f.doc)
	if rt == nil {
		return
	}
	peer, _ := ex.sync.peers.Get(f.from)
	var identity PeerIdentity
	if peer != nil {
		identity = peer.identity
	}
	wasSynced := false
	if peer != nil {
		st, ok := peer.states.Get(f.doc)
		wasSynced = ok && st.Kind == PeerSynced
	}

	rt.mu.Lock()
	incoming, err := rt.factory.ParseVersion(f.version)
	if err != nil {
		rt.mu.Unlock()
		ex.warn(DiagVersionParse, f.doc, f.from, err, "cannot parse offer version %q; dropped", f.version)
		return
	}
	ours := rt.rep.Version()
	ord, err := incoming.Compare(ours)
	if err != nil {
		rt.mu.Unlock()
		ex.warn(DiagVersionParse, f.doc, f.from, err, "cannot compare offer version %q; dropped", f.version)
		return
	}
	if ord == replica.Behind || ord == replica.Equal {
		rt.mu.Unlock()
		ex.enqueue(msgPeerSynced{doc: f.doc, version: f.version, peer: f.from})
		return
	}
	payload := replica.FromWire(f.payload)
	setUnion := false
	if su, ok := rt.rep.(replica.SetUnion); ok {
		setUnion = su.SetUnion()
	}
	lineageBoundary := incoming.Lineage() != replica.Genesis && ours.Lineage() != replica.Genesis && incoming.Lineage() != ours.Lineage()
	compacted := payload.Kind == wire.Entirety && wasSynced && rt.meta.SyncMode.Durability != wire.Transient
	var mergeErr error
	switch {
	case (lineageBoundary || compacted) && !setUnion:
		rt.mu.Unlock()
		if lineageBoundary && !dominates(incoming, ours) {
			// Two writers on different lineages (typically a writer that
			// restarted without a store). Both sides apply the same rule,
			// so exactly one adopts the other's state: the reference let
			// each side reset to the other's, which crossed them over.
			ex.warn(DiagResetRefused, f.doc, f.from, nil, "keeping lineage %s over %s; sending ours", ours.String(), incoming.String())
			ex.sendOffers(fxSendOffers{peers: []string{f.from}, doc: f.doc, reciprocate: ptr(false)})
			return
		}
		if !ex.canReset(f.doc, identity) {
			ex.warn(DiagResetRefused, f.doc, f.from, nil, "peer's state diverged from ours and canReset refused; keeping local state")
			return
		}
		if payload.Kind == wire.Since {
			// A delta cannot rebuild a diverged replica: ask for the
			// entirety (our lineage differs, so its export falls back).
			ex.sendTo(ex.sess.peerChannels(f.from), &wire.Interest{DocID: f.doc, Version: ptr(ours.String()), Reciprocate: ptr(false)})
			return
		}
		rt.mu.Lock()
		switch {
		case rt.mode == ModeReplicate && rt.factory.Type().Name != replica.StateType.Name:
			rep, err := rt.factory.FromEntirety(payload)
			if err != nil {
				mergeErr = err
			} else {
				rt.rep = rep
			}
		case rt.mode == ModeReplicate:
			mergeErr = rt.rep.Merge(payload)
		default:
			mergeErr = rt.rep.ResetFromEntirety(payload, incoming)
		}
		if mergeErr != nil {
			rt.mu.Unlock()
			ex.warn(DiagResetFailed, f.doc, f.from, mergeErr, "reset from entirety failed; dropped")
			return
		}
	case payload.Kind == wire.Entirety && ours.Lineage() == replica.Genesis && incoming.Lineage() != replica.Genesis && !setUnion:
		// A fresh replica adopting a lineage from an entirety: reset so
		// the op counter lines up with the sender's (the reference merged
		// and landed one flush in, which later resent ops; §10.3 item 16).
		mergeErr = rt.rep.ResetFromEntirety(payload, incoming)
	case payload.Kind == wire.Since && !plainContiguous(ours, incoming, payload):
		// The delta does not start at our version (a message was lost, or
		// an old push was duplicated): applying it would skip or repeat
		// ops. Ask for exactly what we lack instead.
		rt.mu.Unlock()
		ex.warn(DiagMergeFailed, f.doc, f.from, nil, "delta to %s does not start at our version %s; re-requesting", f.version, ours.String())
		ex.sendTo(ex.sess.peerChannels(f.from), &wire.Interest{DocID: f.doc, Version: ptr(ours.String()), Reciprocate: ptr(false)})
		return
	default:
		if sm, ok := rt.rep.(replica.StampedMerger); ok {
			mergeErr = sm.MergeStamped(payload, f.version, f.from)
		} else {
			mergeErr = rt.rep.Merge(payload)
		}
	}
	if mergeErr != nil {
		rt.mu.Unlock()
		ex.warn(DiagMergeFailed, f.doc, f.from, mergeErr, "merge failed (incompatible data?); dropped")
		return
	}
	v := rt.rep.Version().String()
	rt.mu.Unlock()
	if rt.doc != nil {
		ex.markChanged(rt)
	}
	ex.enqueue(msgDocImported{doc: f.doc, version: v, from: f.from})
}

// enqueue queues the outcome of an import ahead of later inputs (called
// while draining).
func (ex *Exchange) enqueue(m any) {
	ex.mu.Lock()
	ex.urgentLocked(m)
	ex.mu.Unlock()
}

// plainContiguous checks that a plain since payload starts at our version:
// its end version minus its batch count (one flush per non-empty batch)
// must equal our counter. Non-plain versions are not checked.
func plainContiguous(ours, incoming replica.Version, p replica.Payload) bool {
	o, ok1 := ours.(replica.PlainVersion)
	in, ok2 := incoming.(replica.PlainVersion)
	if !ok1 || !ok2 || p.Encoding != wire.JSON {
		return true
	}
	if o.Lineage() != replica.Genesis && o.Lineage() != in.Lineage() {
		return true // lineage boundaries are handled by the reset path
	}
	k, ok := countBatches(p.Data)
	if !ok {
		return true // malformed: let the merge report it
	}
	return uint64(k) <= in.Counter() && in.Counter()-uint64(k) == o.Counter()
}

// countBatches counts the non-empty elements of a JSON array of arrays
// without decoding it.
func countBatches(data []byte) (int, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return 0, false
	}
	n, depth, inStr := 0, 0, false
	for ; i < len(data); i++ {
		c := data[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
			if depth == 2 && c == '[' {
				if j := skipSpace(data, i+1); j < len(data) && data[j] != ']' {
					n++
				}
			}
		case ']', '}':
			depth--
			if depth == 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// dominates decides which of two diverged lineages wins: the higher op
// counter, then the greater lineage string. It is a total order both
// peers evaluate identically.
func dominates(incoming, ours replica.Version) bool {
	in, ok1 := incoming.(replica.PlainVersion)
	o, ok2 := ours.(replica.PlainVersion)
	if ok1 && ok2 {
		if in.Counter() != o.Counter() {
			return in.Counter() > o.Counter()
		}
		return in.Lineage() > o.Lineage()
	}
	return incoming.String() > ours.String()
}
