package exchange

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

// The conditions WaitForSync and WaitAcknowledged wait for, decided from
// the core's state and version values (the shell passes the replica's
// version parser and a reader of its current version).

// synced: some peer with a live channel is vacant, or synced at a version
// we are not behind, for rt's doc. It reads the immutable states given and
// locks only rt.
func synced(doc string, parse func(string) (replica.Version, error), current func() replica.Version, s *syncState, sess *sessionState) bool {
	var ours replica.Version
	found := false
	s.peers.Range(func(id string, p *syncPeer) bool {
		st, ok := p.states.Get(doc)
		if !ok || st.Kind == PeerPending || len(sess.peerChannels(id)) == 0 || p.mismatched.Has(doc) {
			return true // a peer that holds the doc with other metadata syncs nothing
		}
		if st.Kind == PeerVacant || st.LastKnownVersion == "" {
			found = true
			return false
		}
		theirs, err := parse(st.LastKnownVersion)
		if err != nil {
			found = true // nothing to compare against
			return false
		}
		if ours == nil {
			ours = current()
		}
		switch ord, err := ours.Compare(theirs); {
		case err != nil:
			found = true
		case ord == replica.Concurrent:
			// The versions cannot tell whether we hold the peer's data
			// (field-LWW state, opaque stamps): its offer must have come.
			found = p.heard.Has(doc)
		case ord != replica.Behind:
			found = true
		}
		return !found
	})
	return found
}

// mismatchOnly reports a schema, replica type or sync mode mismatch as the
// outcome of WaitForSync when every connected peer that presented the doc
// did so with incompatible metadata: nothing will ever sync, so waiting
// for a timeout would only hide the cause.
func mismatchOnly(doc string, s *syncState, sess *sessionState) (bool, error) {
	var diag *Diagnostic
	waiting := false
	s.peers.Range(func(id string, p *syncPeer) bool {
		if len(sess.peerChannels(id)) == 0 {
			return true
		}
		if d, ok := p.mismatched.Get(doc); ok {
			diag = &d
		} else if _, ok := p.states.Get(doc); ok {
			waiting = true // another peer may still sync it
		}
		return true
	})
	if diag == nil || waiting {
		return false, nil
	}
	reason := reasonSchemaMismatch
	if diag.Reason != reasonSchemaHashMismatch {
		reason = reasonTypeMismatch
	}
	return true, newError(reason, doc, fmt.Sprintf("peer %q: %s (local %s, remote %s)", diag.PeerID, diag.Reason, diag.Local, diag.Remote), nil)
}

// acknowledged: a peer with a live channel acknowledged a version that is
// not behind target.
func acknowledged(doc string, parse func(string) (replica.Version, error), target replica.Version, s *syncState, sess *sessionState) bool {
	found := false
	s.peers.Range(func(id string, p *syncPeer) bool {
		v, ok := p.acked.Get(doc)
		if !ok || len(sess.peerChannels(id)) == 0 {
			return true
		}
		if theirs, err := parse(v); err == nil {
			if ord, err := target.Compare(theirs); err == nil && (ord == replica.Behind || ord == replica.Equal) {
				found = true
			}
		}
		return !found
	})
	return found
}

// ackTargets lists the peers a WaitAcknowledged waiter still asks for an
// acknowledgement: connected, allowed to share the doc, not asked before.
func ackTargets(doc string, asked map[string]bool, s *syncState, sess *sessionState, canShare func(string, wire.PeerIdentity) bool) []string {
	var out []string
	s.peers.Range(func(id string, p *syncPeer) bool {
		if !asked[id] && len(sess.peerChannels(id)) > 0 && canShare(doc, p.identity) {
			out = append(out, id)
		}
		return true
	})
	return out
}

// settledViaPeer: the document settled through a peer. With a peer
// connected that means what WaitForSync waits for (the data is here, not
// only the answer: the reference resolved on its readiness latch, and an
// offline-first screen then showed an empty document); with nobody
// connected, that some peer once reconciled with it (the latch).
func settledViaPeer(doc string, parse func(string) (replica.Version, error), current func() replica.Version, s *syncState, sess *sessionState) bool {
	if synced(doc, parse, current, s, sess) {
		return true
	}
	if !s.hasReconciled(doc) {
		return false
	}
	connected := false
	s.peers.Range(func(id string, p *syncPeer) bool {
		if _, ok := p.states.Get(doc); ok && len(sess.peerChannels(id)) > 0 {
			connected = true
		}
		return !connected
	})
	return !connected
}
