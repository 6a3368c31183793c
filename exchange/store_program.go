package exchange

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/internal/pmap"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
)

// The store program sequences persistence (§7.2) per document and per
// store. Each store has its own confirmed version (the head of its stream),
// so a write that failed in one store is retried there from that store's
// own head and never duplicated in the others. At most one write is in
// flight per document and store; a change made meanwhile is written when
// it completes, as one delta from the confirmed head (bursts coalesce and
// no delta is built on an unconfirmed base).
//
// Failures are classified by the shell:
//   - transient (I/O, disk full): the store keeps its head, the program
//     asks for a retry timer with the attempt number (backoff in the shell)
//     and the doc stays unhealthy until a write lands;
//   - head mismatch: the store's stream ends elsewhere than we thought;
//     adopt its head and write again from there (or register anew);
//   - permanent (validation, closed, corrupt stream): the store is broken
//     for the doc: no more writes there, reported as unhealthy.
//
// When every store has confirmed the same version, it is durable: the
// shell acknowledges it to the peers that wrote it. (Under a steady stream
// with several stores that can lag behind the latest version; it catches
// up as soon as the stores agree.)
//
// Pure: the shell exports records, runs the writes and reports back.

// storeSlot is what the program knows of one store for one doc.
type storeSlot struct {
	known     bool   // the store holds the doc's meta
	confirmed string // the store's head (version of its last entry)
	writing   bool   // a write is in flight
	target    string // version of the write in flight
	attempts  int    // consecutive transient failures
	waiting   bool   // a retry timer is armed
	broken    bool   // permanent failure or corrupt stream
	recompact bool   // compacted while a write was in flight: replace next
}

func (s storeSlot) healthy() bool { return !s.broken && s.attempts == 0 }

type storeDocPhase struct {
	slots   []storeSlot
	version string // the doc's latest version the program was told of
	durable string // version every store confirmed
	// Deleting: a delete is in flight or waits for writes in flight
	// (deleteNext). A registration made meanwhile (the doc was destroyed
	// and got again) waits in reregister until the delete is done.
	deleting   bool
	deleteNext bool
	reregister *stLoaded
}

func (d *storeDocPhase) clone() *storeDocPhase {
	n := *d
	n.slots = append([]storeSlot(nil), d.slots...)
	return &n
}

func (d *storeDocPhase) writing() bool {
	for _, s := range d.slots {
		if s.writing {
			return true
		}
	}
	return false
}

type storeState struct {
	stores int // number of stores (fixed for the exchange's life)
	docs   pmap.Map[*storeDocPhase]
}

// unhealthy counts the (doc, store) pairs whose writes are failing or
// broken.
func (s *storeState) unhealthy() int {
	n := 0
	s.docs.Range(func(_ string, d *storeDocPhase) bool {
		for _, sl := range d.slots {
			if !sl.healthy() {
				n++
			}
		}
		return true
	})
	return n
}

type storeMsg interface{ isStoreMsg() }

// stLoaded registers a doc: heads[i] is what store i holds (Exists false:
// nothing), broken[i] marks a store whose stream could not be loaded.
type stLoaded struct {
	doc     string
	version string // the doc's version after loading
	heads   []headInfo
}

type headInfo struct {
	exists  bool
	version string
	broken  bool
}

// stChanged: the doc is now at version.
type stChanged struct {
	doc     string
	version string
}

// stWritten reports a write to one store.
type stWritten struct {
	doc     string
	store   int
	version string // the version the write carried
	outcome writeOutcome
	head    headInfo // for outcomeHead: where the stream really ends
	err     error
}

type writeOutcome uint8

const (
	outcomeOK writeOutcome = iota
	outcomeHead
	outcomeTransient
	outcomePermanent
)

// stCompact: the doc's history was compacted: every store rewrites it as
// meta plus one entirety (its next write is a replace).
type stCompact struct{ doc string }

// stRetry: the retry timer of a store fired.
type stRetry struct {
	doc   string
	store int
}

// stDestroy: forget the doc and delete it from the stores once no write
// is in flight.
type stDestroy struct{ doc string }

// stDeleteDone: the delete finished (errors are reported separately).
type stDeleteDone struct{ doc string }

func (stLoaded) isStoreMsg()     {}
func (stChanged) isStoreMsg()    {}
func (stWritten) isStoreMsg()    {}
func (stRetry) isStoreMsg()      {}
func (stCompact) isStoreMsg()    {}
func (stDestroy) isStoreMsg()    {}
func (stDeleteDone) isStoreMsg() {}

type storeFx interface{ isStoreFx() }

// fxStoreWrite asks the shell to write the doc's current version to one
// store: a delta after base, or (replace) meta plus the whole state.
type fxStoreWrite struct {
	doc     string
	store   int
	base    string
	replace bool
}

// fxStoreRetry asks for a retry timer; attempt (1, 2, ...) sizes the
// backoff.
type fxStoreRetry struct {
	doc     string
	store   int
	attempt int
}

type fxStoreDelete struct{ doc string }

type fxStoreError struct {
	doc   string
	store int
	op    string
	err   error
}

// fxDeleted: the doc's delete finished; hydrations of a new incarnation
// that waited for it may start.
type fxDeleted struct{ doc string }

// fxDurable: every store holds version.
type fxDurable struct {
	doc     string
	version string
}

func (fxStoreWrite) isStoreFx()  {}
func (fxStoreRetry) isStoreFx()  {}
func (fxStoreDelete) isStoreFx() {}
func (fxStoreError) isStoreFx()  {}
func (fxDurable) isStoreFx()     {}
func (fxDeleted) isStoreFx()     {}

type storeProgram struct{ stores int }

func (p storeProgram) Init() (*storeState, []storeFx) { return &storeState{stores: p.stores}, nil }

func (p storeProgram) Update(s *storeState, m storeMsg) (*storeState, []storeFx) {
	switch m := m.(type) {
	case stLoaded:
		if d, ok := s.docs.Get(m.doc); ok {
			if !d.deleting && !d.deleteNext {
				return s, nil // already registered
			}
			nd := d.clone()
			r := m
			nd.reregister = &r
			return s.with(m.doc, nd), nil
		}
		return p.load(s, m)

	case stChanged:
		d, ok := s.docs.Get(m.doc)
		if !ok || d.deleting || d.deleteNext {
			return s, nil
		}
		nd := d.clone()
		nd.version = m.version
		fx := nd.writes(m.doc)
		if len(fx) == 0 && nd.version == d.version {
			return s, nil
		}
		return s.with(m.doc, nd), fx

	case stWritten:
		d, ok := s.docs.Get(m.doc)
		if !ok || m.store < 0 || m.store >= len(d.slots) || !d.slots[m.store].writing {
			if m.err != nil {
				return s, []storeFx{fxStoreError{doc: m.doc, store: m.store, op: "append", err: m.err}}
			}
			return s, nil
		}
		nd := d.clone()
		sl := &nd.slots[m.store]
		sl.writing = false
		var fx []storeFx
		switch m.outcome {
		case outcomeOK:
			sl.known, sl.confirmed, sl.attempts, sl.waiting = !sl.recompact, m.version, 0, false
			sl.recompact = false
		case outcomeHead:
			// Someone else's view of the stream was wrong (ours): adopt
			// the real head; the next write is computed from it.
			// The store answered, so it is not failing.
			sl.known, sl.confirmed, sl.attempts, sl.waiting = m.head.exists, m.head.version, 0, false
		case outcomeTransient:
			sl.attempts++
			sl.waiting = true
			fx = append(fx, fxStoreError{doc: m.doc, store: m.store, op: "append", err: m.err},
				fxStoreRetry{doc: m.doc, store: m.store, attempt: sl.attempts})
		case outcomePermanent:
			sl.broken = true
			fx = append(fx, fxStoreError{doc: m.doc, store: m.store, op: "append", err: m.err})
		}
		if nd.deleteNext && !nd.writing() {
			n, more := deleting(s.with(m.doc, nd), m.doc, nd.reregister)
			return n, append(fx, more...)
		}
		if !nd.deleteNext {
			fx = append(fx, nd.writes(m.doc)...)
		}
		if v, ok := nd.allConfirmed(); ok && v != nd.durable {
			nd.durable = v
			fx = append(fx, fxDurable{doc: m.doc, version: v})
		}
		return s.with(m.doc, nd), fx

	case stCompact:
		d, ok := s.docs.Get(m.doc)
		if !ok || d.deleting || d.deleteNext {
			return s, nil
		}
		nd := d.clone()
		for i := range nd.slots {
			switch sl := &nd.slots[i]; {
			case sl.broken:
			case sl.writing:
				sl.recompact = true // after the write in flight
			default:
				sl.known = false // rewritten by a replace
			}
		}
		return s.with(m.doc, nd), nd.writes(m.doc)

	case stRetry:
		d, ok := s.docs.Get(m.doc)
		if !ok || m.store < 0 || m.store >= len(d.slots) || !d.slots[m.store].waiting {
			return s, nil
		}
		nd := d.clone()
		nd.slots[m.store].waiting = false
		return s.with(m.doc, nd), nd.writes(m.doc)

	case stDestroy:
		d, ok := s.docs.Get(m.doc)
		switch {
		case ok && d.deleting:
			if d.reregister == nil {
				return s, nil
			}
			nd := d.clone()
			nd.reregister = nil // destroyed again before it was registered
			return s.with(m.doc, nd), nil
		case ok && d.writing():
			nd := d.clone()
			nd.deleteNext, nd.reregister = true, nil
			return s.with(m.doc, nd), nil
		}
		return deleting(s, m.doc, nil)

	case stDeleteDone:
		d, ok := s.docs.Get(m.doc)
		if !ok || !d.deleting {
			return s, nil
		}
		n := &storeState{stores: s.stores, docs: s.docs.Delete(m.doc)}
		fx := []storeFx{fxDeleted(m)}
		if d.reregister != nil {
			n, more := p.load(n, *d.reregister)
			return n, append(fx, more...)
		}
		return n, fx
	}
	return s, nil
}

func (s *storeState) with(doc string, d *storeDocPhase) *storeState {
	return &storeState{stores: s.stores, docs: s.docs.Set(doc, d)}
}

func (p storeProgram) load(s *storeState, m stLoaded) (*storeState, []storeFx) {
	d := &storeDocPhase{slots: make([]storeSlot, s.stores), version: m.version}
	for i := range d.slots {
		if i < len(m.heads) {
			h := m.heads[i]
			d.slots[i] = storeSlot{known: h.exists, confirmed: h.version, broken: h.broken}
		}
	}
	if v, ok := d.allConfirmed(); ok {
		d.durable = v
	}
	return s.with(m.doc, d), d.writes(m.doc)
}

// writes starts a write on every store that lacks the doc's version and
// can take one now (d is a fresh clone owned by the caller).
func (d *storeDocPhase) writes(doc string) []storeFx {
	if d.deleting || d.deleteNext {
		return nil
	}
	var fx []storeFx
	for i := range d.slots {
		sl := &d.slots[i]
		if sl.writing || sl.waiting || sl.broken || (sl.known && sl.confirmed == d.version) {
			continue
		}
		sl.writing, sl.target = true, d.version
		fx = append(fx, fxStoreWrite{doc: doc, store: i, base: sl.confirmed, replace: !sl.known})
	}
	return fx
}

// allConfirmed returns the version every store holds, if they agree.
func (d *storeDocPhase) allConfirmed() (string, bool) {
	if len(d.slots) == 0 {
		return "", false
	}
	v := d.slots[0].confirmed
	for _, sl := range d.slots {
		if !sl.known || sl.broken || sl.confirmed != v {
			return "", false
		}
	}
	return v, true
}

// deleting starts the delete of doc (it stays known until stDeleteDone);
// rereg is a registration that waits for it.
func deleting(s *storeState, doc string, rereg *stLoaded) (*storeState, []storeFx) {
	d := &storeDocPhase{deleting: true, reregister: rereg}
	return s.with(doc, d), []storeFx{fxStoreDelete{doc: doc}}
}

// furthestHead picks the store to load a doc from: the one whose head is
// the greatest version (the first on ties, concurrency or unparseable
// heads); -1 when no store holds the doc.
func furthestHead(heads []headInfo, parse func(string) (replica.Version, error)) int {
	best := -1
	var bestV replica.Version
	for i, h := range heads {
		if !h.exists || h.broken {
			continue
		}
		if best < 0 {
			best = i
			bestV, _ = parse(h.version)
			continue
		}
		v, err := parse(h.version)
		if err != nil || bestV == nil {
			continue
		}
		if ord, err := v.Compare(bestV); err == nil && ord == replica.Ahead {
			best, bestV = i, v
		}
	}
	return best
}

// storeAppends decides how a store write brings the store from its head to
// the doc's version: append the delta when the program asked for no
// rewrite and a delta from the head exists; otherwise rewrite the stream
// as meta plus the whole state (a first write, a reset to another lineage,
// a head the replica no longer knows, a compaction).
func storeAppends(replace, deltaOK bool) bool { return !replace && deltaOK }

// replayKind is how one stored entry is applied while a document loads.
type replayKind uint8

const (
	replayMerge   replayKind = iota + 1 // merge it like a change from a peer
	replayStamped                       // merge keeping its stamp (LWW, state)
	replayResetTo                       // reset to the entirety at its stored version
	replaySkip                          // nothing to apply
)

// replayHow decides how a stored entry is replayed: stamped replicas keep
// the entry's stamp; an entirety stored at the version the replica has
// already (a registration before any write) holds only what the replica
// starts with, schema defaults included, and would count as a change; an
// entirety of a minted lineage resets the replica to its version so op
// counters line up with peers; anything else merges.
func replayHow(stamped, entirety, atCurrent bool, stored replica.Version) replayKind {
	switch {
	case stamped:
		return replayStamped
	case entirety && atCurrent:
		return replaySkip
	case entirety && stored != nil && stored.Lineage() != replica.Genesis:
		return replayResetTo
	}
	return replayMerge
}

func storeMeta(m DocMeta) store.Meta {
	return store.Meta{ReplicaType: m.ReplicaType, SyncMode: m.SyncMode, SchemaHash: m.SchemaHash}
}

func partRecords(parts []replica.OfferPart) []store.Record {
	recs := make([]store.Record, 0, len(parts))
	for _, part := range parts {
		recs = append(recs, store.EntryRecord(part.Payload, part.Version))
	}
	return recs
}

// storedMetaWins decides the metadata of a document a peer's present made
// us hold headless, once its stored stream is read: the store's record of
// the document wins over what the present claimed, so the first peer to
// present a document after a restart cannot change its type or schema
// for everyone (its present is then checked against the stored metadata
// and refused). A document the application named (Get, Replicate with a
// DocType) keeps the application's type.
func storedMetaWins(classified bool, mode DocMode, held DocMeta, stored store.Meta) (DocMeta, bool) {
	if !classified || mode != ModeReplicate {
		return held, false
	}
	same := held.ReplicaType.Name == stored.ReplicaType.Name && held.ReplicaType.Major == stored.ReplicaType.Major &&
		held.SyncMode == stored.SyncMode && held.SchemaHash == stored.SchemaHash
	if same {
		return held, false
	}
	return DocMeta{ReplicaType: stored.ReplicaType, SyncMode: stored.SyncMode, SchemaHash: stored.SchemaHash}, true
}

// storedMetaDiagnostic reports a presented document held with its stored
// metadata instead (adopted), or loaded as presented because no factory
// holds the stored type.
func storedMetaDiagnostic(doc, peer string, stored, presented DocMeta, adopted bool) Diagnostic {
	describe := func(m DocMeta) string {
		return fmt.Sprintf("%s/%d %s %s", m.ReplicaType.Name, m.ReplicaType.Major, modeString(m.SyncMode), m.SchemaHash)
	}
	d := Diagnostic{Reason: reasonSchemaHashMismatch, Severity: SeverityWarning, DocID: doc, PeerID: peer, Local: describe(stored), Remote: describe(presented)}
	if stored.ReplicaType.Name != presented.ReplicaType.Name || stored.ReplicaType.Major != presented.ReplicaType.Major {
		d.Reason = reasonReplicaTypeMismatch
	}
	if adopted {
		d.Message = fmt.Sprintf("doc %q was presented as %s but is stored as %s; it is served as stored", doc, d.Remote, d.Local)
	} else {
		d.Message = fmt.Sprintf("doc %q is stored as %s but was presented as %s, and no factory holds the stored type; loading it as presented", doc, d.Local, d.Remote)
	}
	return d
}

// storedMeta returns the meta record of a loaded stream.
func storedMeta(recs []store.Record) (store.Meta, bool) {
	for _, r := range recs {
		if r.Kind == store.KindMeta {
			return r.Meta, true
		}
	}
	return store.Meta{}, false
}
