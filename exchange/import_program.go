package exchange

import (
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta/exchange/internal/batches"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

// How an accepted offer is absorbed (§2.8) is decided here, from values
// only: the two versions, what the payload is, what we know of the peer.
// The shell parses, asks the policy, and carries the decision out.

// Plausibility limits for versions offered by remote peers. A peer that
// may write could otherwise push a counter to 2^53-1 (no later write can
// be encoded: the doc freezes) or a timestamp years ahead (no later local
// write wins).
const (
	// maxVersionJump is how far an offered op counter may lead ours. A
	// delta must start at our version anyway; this bounds entireties and
	// lineage changes. 2^32 transactions is beyond any real backlog.
	maxVersionJump = 1 << 32
	// maxClockSkew is how far in the future an offered timestamp (LWW and
	// state docs) may be.
	maxClockSkew = time.Hour
	// maxSafeCounter leaves room for writes after any accepted counter.
	maxSafeCounter = 1<<53 - 1 - maxVersionJump
)

// importAction is what to do with an accepted offer.
type importAction uint8

const (
	// importSynced: we already hold what the offer carries.
	importSynced importAction = iota + 1
	// importMerge: merge the payload (stamped when the replica wants it).
	importMerge
	// importAdopt: a fresh replica adopts the sender's lineage (reset to
	// the entirety so op counters line up).
	importAdopt
	// importReset: replace our diverged state with the entirety; asks
	// CanReset first.
	importReset
	// importKeepOurs: lineages diverged and ours wins; send ours back.
	importKeepOurs
	// importAskEntirety: lineages diverged and theirs wins, but a delta
	// cannot rebuild us: ask for the entirety (CanReset first).
	importAskEntirety
	// importAskGap: a delta that does not start at our version (a lost or
	// duplicated push): ask for exactly what we lack.
	importAskGap
	// importRefuse: an implausible version; nothing changes.
	importRefuse
)

// importInput is everything the import decision depends on.
type importInput struct {
	ours, incoming replica.Version
	payload        replica.Payload
	// wasSynced: the peer was synced with us before this offer, so an
	// entirety from it means it compacted past us.
	wasSynced bool
	transient bool // the doc's durability is transient
	setUnion  bool // the replica merges by set union (opaque relays)
	now       time.Time
}

// planImport decides how to absorb an offer; reason explains importRefuse
// and importAskGap.
func planImport(in importInput) (act importAction, reason string) {
	if why := implausible(in.ours, in.incoming, in.now); why != "" {
		return importRefuse, why
	}
	ord, err := in.incoming.Compare(in.ours)
	if err != nil {
		return importRefuse, err.Error()
	}
	if in.setUnion {
		// A join (state trees, opaque logs): merging what we hold changes
		// nothing, and versions do not prove containment.
		return importMerge, ""
	}
	if ord == replica.Behind || ord == replica.Equal {
		return importSynced, ""
	}
	entirety := in.payload.Kind == wire.Entirety
	il, ol := in.incoming.Lineage(), in.ours.Lineage()
	boundary := il != replica.Genesis && ol != replica.Genesis && il != ol
	compacted := entirety && in.wasSynced && !in.transient
	switch {
	case boundary && !replica.Dominates(in.incoming, in.ours):
		// Two writers on different lineages (a writer that restarted
		// without a store). Both sides apply the same total order, so
		// exactly one adopts the other's state.
		return importKeepOurs, ""
	case (boundary || compacted) && !entirety:
		return importAskEntirety, ""
	case boundary || compacted:
		return importReset, ""
	case entirety && ol == replica.Genesis && il != replica.Genesis:
		return importAdopt, ""
	case !entirety && !plainContiguous(in.ours, in.incoming, in.payload):
		return importAskGap, fmt.Sprintf("delta to %s does not start at our version %s", in.incoming, in.ours)
	}
	return importMerge, ""
}

// implausible explains why an offered version cannot be accepted ("" when
// it can).
func implausible(ours, incoming replica.Version, now time.Time) string {
	switch in := incoming.(type) {
	case replica.PlainVersion:
		var base uint64
		if o, ok := ours.(replica.PlainVersion); ok {
			base = o.Counter()
		}
		if in.Counter() > maxSafeCounter || in.Counter() > base+maxVersionJump {
			return fmt.Sprintf("version %s jumps implausibly far ahead of %s", in, ours)
		}
	case replica.TimestampVersion:
		if in.Millis() > float64(now.Add(maxClockSkew).UnixMilli()) {
			return fmt.Sprintf("timestamp %s is more than %s in the future", in, maxClockSkew)
		}
	case replica.StateVersion:
		if in.Millis() > float64(now.Add(maxClockSkew).UnixMilli()) {
			return fmt.Sprintf("timestamp %s is more than %s in the future", in, maxClockSkew)
		}
	}
	return ""
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

// countBatches counts the non-empty batches of a plain delta without
// decoding it (batches.Count: strings skipped eight bytes at a time).
func countBatches(data []byte) (int, bool) { return batches.Count(data) }

// absorbKind is how the replica takes in an offer planImport accepted.
type absorbKind uint8

const (
	absorbMerge   absorbKind = iota + 1 // merge the payload
	absorbStamped                       // merge, keeping the offer's version as the stamp (LWW, state)
	absorbResetTo                       // reset to the entirety at the offered version (op counters line up)
	absorbReplace                       // a fresh replica built from the entirety
)

// absorbHow decides how to apply an accepted offer: an adoption or a reset
// of an interpreted doc resets to the sender's version; a reset of a
// headless doc rebuilds the replica from the entirety, except a state doc,
// whose merge is a join that already converges; everything else merges,
// stamped when the replica keeps writers' stamps.
func absorbHow(act importAction, headless, joinState, stamped bool) absorbKind {
	switch {
	case act == importReset && headless && !joinState:
		return absorbReplace
	case act == importReset && headless:
		return absorbMerge
	case act == importReset || act == importAdopt:
		return absorbResetTo
	case stamped:
		return absorbStamped
	}
	return absorbMerge
}

// isAck recognizes an acknowledgement: a plain delta with no batches.
func isAck(p replica.Payload) bool {
	if p.Kind != wire.Since || p.Encoding != wire.JSON {
		return false
	}
	return noSteps(p.Data)
}

// noSteps reports whether a since payload makes no version step (no
// non-empty batch), as countBatches would, but decides a payload whose
// first batch is not empty (every real change) from its first bytes instead
// of scanning a 1 MiB value.
func noSteps(b []byte) bool {
	skip := func(i int) int {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
		return i
	}
	if i := skip(0); i < len(b) && b[i] == '[' {
		if j := skip(i + 1); j < len(b) && b[j] == '[' {
			if k := skip(j + 1); k < len(b) && b[k] != ']' {
				return false // a non-empty first batch: a step, or not a payload at all
			}
		}
	}
	n, ok := countBatches(b)
	return ok && n == 0
}

// owesAck decides whether an offer we already hold is owed an
// acknowledgement like a write we merged: a write we had, or a request
// for an acknowledgement (an empty offer that asks for an answer).
func owesAck(p replica.Payload, reciprocate bool) bool {
	return p.Kind == wire.Since && (!isAck(p) || reciprocate)
}

// Compaction thresholds: a plain op log is compacted once it holds more
// than this much history.
const (
	compactBatches = 1000
	compactBytes   = 1 << 20
)

// compactTarget decides whether to compact an op log and to which
// version: the least version every synced peer has confirmed (the
// reference's least common version), never before the current base. ok is
// false when the history is small or no version after the base qualifies.
func compactTarget(ours, base replica.Version, hist replica.History, synced []replica.Version, force bool) (replica.Version, bool) {
	if !compactDue(hist, force) {
		return nil, false
	}
	target := ours
	for _, v := range synced {
		m, err := target.Meet(v)
		if err != nil {
			return nil, false
		}
		target = m
	}
	if ord, err := target.Compare(base); err != nil || ord != replica.Ahead {
		return nil, false
	}
	return target, true
}

// compactDue: an op log is worth compacting (always when forced).
func compactDue(hist replica.History, force bool) bool {
	return force || hist.Batches > compactBatches || hist.Bytes > compactBytes
}

// syncedVersions lists the versions of doc that synced peers confirmed
// (the inputs of the least common version); unparseable ones are skipped.
func syncedVersions(s *syncState, doc string, parse func(string) (replica.Version, error)) []replica.Version {
	var out []replica.Version
	s.peers.Range(func(_ string, p *syncPeer) bool {
		if st, ok := p.states.Get(doc); ok && st.Kind == PeerSynced && st.LastKnownVersion != "" {
			if v, err := parse(st.LastKnownVersion); err == nil {
				out = append(out, v)
			}
		}
		return true
	})
	return out
}
