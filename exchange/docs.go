package exchange

import (
	"fmt"
	"slices"
	"sync"

	"github.com/kyneta-go/kyneta/exchange/replica"
)

// docRuntime is the shell's record of a document it holds (interpreted or
// headless). The replica is guarded by mu; the other mutable fields by the
// exchange's mu.
type docRuntime struct {
	id      string
	mode    DocMode // ModeInterpret or ModeReplicate
	meta    DocMeta
	factory replica.Factory
	docType DocType // interpret mode
	handle  *Doc
	// by: the present it was classified from (nil: a local Get or
	// Replicate). Its metadata is checked once the doc is registered.
	by *presented

	mu  sync.Mutex
	rep replica.Replica
	// loading: stored state is being replayed. Transactions made meanwhile
	// wait in queuedTx and are applied right after the replay, so the
	// replay of a stored entirety cannot wipe them.
	loading  bool
	queuedTx [][]replica.Op
	doc      replica.Document // nil when headless
	pending  []replica.ChangeSet
	// pushQueued: a localChangeMsg for this doc waits in the queue.
	pushQueued bool

	// guarded by Exchange.mu
	suspended  bool
	destroyed  bool
	registered bool // the sync program knows the doc (hydration finished)
	inChanged  bool
	subs       subscribers[Change]
	syncSubs   subscribers[SyncEvent]
}

// reset replaces the replica with a fresh one (caller holds rt.mu), for a
// load that must start over; change sets of the abandoned replay are
// dropped.
func (rt *docRuntime) reset() {
	rt.pending = nil
	df, ok := rt.factory.(replica.DocumentFactory)
	if rt.mode != ModeInterpret || !ok {
		rt.rep = rt.factory.CreateEmpty()
		return
	}
	doc := df.CreateDocument()
	if rt.docType.Defaults != nil {
		if v, err := defaultsValue(rt.docType.Defaults); err == nil {
			_ = doc.SetDefaults(v)
		}
	}
	doc.SetChangeHook(func(cs replica.ChangeSet) { rt.pending = append(rt.pending, cs) })
	rt.doc, rt.rep = doc, doc
}

// version returns the replica's serialized version.
// finishLoading applies the transactions queued while loading (caller
// holds rt.mu) and returns the errors of those the replica refused.
func (rt *docRuntime) finishLoading() []error {
	if !rt.loading {
		return nil
	}
	rt.loading = false
	var errs []error
	for _, ops := range rt.queuedTx {
		if err := rt.doc.Apply(ops); err != nil {
			errs = append(errs, err)
		}
	}
	rt.queuedTx = nil
	return errs
}

func (rt *docRuntime) version() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.rep.Version().String()
}

func validDocID(id string) error {
	if id == "" || len(id) > maxDocIDBytes {
		return newError(reasonInvalidDocID, id, fmt.Sprintf("doc id must be 1..%d bytes", maxDocIDBytes), nil)
	}
	return nil
}

func (ex *Exchange) newInterpreted(docID string, t DocType) (*docRuntime, error) {
	df, ok := t.Factory.(replica.DocumentFactory)
	if !ok {
		return nil, newError(reasonInvalidDocType, docID, fmt.Sprintf("factory %T cannot create interpreted documents", t.Factory), nil)
	}
	doc := df.CreateDocument()
	if t.Defaults != nil {
		v, err := defaultsValue(t.Defaults)
		if err == nil {
			err = doc.SetDefaults(v)
		}
		if err != nil {
			return nil, newError(reasonInvalidDocType, docID, "defaults", err)
		}
	}
	rt := &docRuntime{id: docID, mode: ModeInterpret, meta: t.meta(), factory: t.Factory, docType: t, rep: doc, doc: doc, loading: len(ex.stores) > 0}
	doc.SetChangeHook(func(cs replica.ChangeSet) { rt.pending = append(rt.pending, cs) })
	rt.handle = &Doc{ex: ex, rt: rt}
	return rt, nil
}

func (ex *Exchange) newHeadless(docID string, f replica.Factory, meta DocMeta) *docRuntime {
	rep := f.CreateEmpty()
	return &docRuntime{id: docID, mode: ModeReplicate, meta: meta, factory: f, rep: rep, loading: len(ex.stores) > 0}
}

// Get returns the interpreted document docID of type t, creating it on
// first use. It returns at once; with stores the document hydrates in the
// background and is announced to peers once loaded. A second Get with the
// same type returns the same *Doc; with a different type it fails with
// an error with reason "doc-type-conflict".
func (ex *Exchange) Get(docID string, t DocType) (*Doc, error) {
	if err := validDocID(docID); err != nil {
		return nil, err
	}
	if err := normalizeDocType(&t, ex.builtin); err != nil {
		return nil, err
	}
	ex.mu.Lock()
	if ex.closed || ex.closing {
		ex.mu.Unlock()
		return nil, newError(reasonClosed, docID, "", nil)
	}
	if rt := ex.runtimes[docID]; rt != nil {
		ex.mu.Unlock()
		switch {
		case rt.mode == ModeReplicate:
			return nil, newError(reasonReplicated, docID, "the doc is held headless (Replicate); it has no interpreted handle", nil)
		case rt.suspended:
			return nil, newError(reasonSuspended, docID, "call Resume first", nil)
		case !sameDocType(rt.docType, t):
			return nil, newError(reasonDocTypeConflict, docID, fmt.Sprintf("already held as %q, asked for %q", rt.docType.Name, t.Name), nil)
		}
		return rt.handle, nil
	}
	rt, err := ex.newInterpreted(docID, t)
	if err != nil {
		ex.mu.Unlock()
		return nil, err
	}
	ex.runtimes[docID] = rt
	ex.mu.Unlock()
	// A deferred doc is promoted by the core, which checks what each
	// presenter said against the type given here.
	ex.register(rt, DocCreated, false)
	return rt.handle, nil
}

// deferredMeta reports whether the core holds docID deferred (announced by
// peers, no data held), with what its first presenter said.
func (ex *Exchange) deferredMeta(docID string) (DocMeta, bool) {
	d, ok := ex.cs().sync.docs.Get(docID)
	if !ok || d.mode != ModeDeferred {
		return DocMeta{}, false
	}
	return d.meta, true
}

// Has reports whether the exchange holds docID (interpreted, headless or
// deferred).
func (ex *Exchange) Has(docID string) bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	_, ok := ex.runtimes[docID]
	_, d := ex.deferredMeta(docID)
	return ok || d
}

// Replicate holds docID headless: stored and relayed, not interpreted (the
// building block of hubs and relays). With t nil, a deferred doc (one a
// peer announced) is promoted using the replica factory registered for its
// announced type and mode. With t set, the doc is registered with t's
// factory, mode and schema hash.
func (ex *Exchange) Replicate(docID string, t *DocType) error {
	if err := validDocID(docID); err != nil {
		return err
	}
	var tt DocType
	if t != nil {
		tt = *t
		if err := normalizeDocType(&tt, ex.builtin); err != nil {
			return err
		}
	}
	ex.mu.Lock()
	if ex.closed || ex.closing {
		ex.mu.Unlock()
		return newError(reasonClosed, docID, "", nil)
	}
	if ex.runtimes[docID] != nil {
		ex.mu.Unlock()
		return newError(reasonAlreadyRegistered, docID, "", nil)
	}
	var f replica.Factory
	var meta DocMeta
	announced, deferred := ex.deferredMeta(docID)
	switch {
	case t != nil:
		f, meta = tt.Factory, tt.meta()
	case !deferred:
		ex.mu.Unlock()
		return newError(reasonNoMetadata, docID, "not announced by any peer; pass a DocType", nil)
	default:
		f, meta = factoryFor(ex.replicas, announced), announced
		if f == nil {
			ex.mu.Unlock()
			return newError(reasonNoFactory, docID, fmt.Sprintf("no replica factory for %s/%d with mode %s", announced.ReplicaType.Name, announced.ReplicaType.Major, modeString(announced.SyncMode)), nil)
		}
	}
	rt := ex.newHeadless(docID, f, meta)
	ex.runtimes[docID] = rt
	ex.mu.Unlock()
	ex.register(rt, DocCreated, false) // the core promotes a deferred doc
	return nil
}

// RegisterDocType adds t to the types interpreted automatically when
// announced, and promotes every deferred doc that matches it.
func (ex *Exchange) RegisterDocType(t DocType) error {
	if err := normalizeDocType(&t, ex.builtin); err != nil {
		return err
	}
	ex.mu.Lock()
	ex.docTypes = append(ex.docTypes, t)
	ex.mu.Unlock()
	if err := ex.promoteDeferred(t); err != nil {
		return err
	}
	// A doc being deferred right now (its classification ran before t was
	// added, its record is not yet in the core) is promoted by the same
	// scan on the dispatcher, behind the deferral.
	ex.dispatch(funcMsg(func() {
		if err := ex.promoteDeferred(t); err != nil {
			ex.diagnose(Diagnostic{Reason: reasonNoFactory, Severity: SeverityWarning, Err: err,
				Message: fmt.Sprintf("cannot promote a deferred doc to doc type %q", t.Name)})
		}
	}))
	return nil
}

// promoteDeferred gets every deferred doc whose announced metadata t
// matches (a doc already held is left as it is).
func (ex *Exchange) promoteDeferred(t DocType) error {
	ex.mu.Lock()
	var promote []string
	ex.cs().sync.docs.Range(func(id string, d *syncDoc) bool {
		if tt, ok := matchDocType(ex.docTypes, d.meta); d.mode == ModeDeferred && ok && sameDocType(tt, t) && ex.runtimes[id] == nil {
			promote = append(promote, id)
		}
		return true
	})
	ex.mu.Unlock()
	slices.Sort(promote)
	for _, id := range promote {
		if _, err := ex.Get(id, t); err != nil {
			return err
		}
	}
	return nil
}

// register announces a new runtime: directly, or after hydration when
// there are stores. urgent puts the messages ahead of the queue (used from
// classification, inside the dispatcher).
func (ex *Exchange) register(rt *docRuntime, event DocChangeType, urgent bool) {
	enqueue := func(m any) {
		if urgent {
			ex.consequence(m)
			return
		}
		ex.dispatch(m)
	}
	if len(ex.stores) > 0 {
		enqueue(msgDocLoading{doc: rt.id, by: rt.by})
		enqueue(funcMsg(func() { ex.startHydration(rt, event) }))
		return
	}
	enqueue(funcMsg(func() { ex.announce(rt, event) }))
}

// announce tells the sync program about a loaded runtime (on the
// dispatcher).
func (ex *Exchange) announce(rt *docRuntime, event DocChangeType) {
	ex.mu.Lock()
	if rt.destroyed || ex.runtimes[rt.id] != rt {
		ex.mu.Unlock()
		return
	}
	rt.registered = true
	ex.mu.Unlock()
	ex.stepSync(msgDocEnsure{doc: rt.id, by: rt.by, mode: rt.mode, version: rt.version(), meta: rt.meta, event: &DocChange{Type: event, DocID: rt.id}})
}

func (ex *Exchange) lookup(docID string) (*docRuntime, error) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.closed || ex.closing {
		return nil, newError(reasonClosed, docID, "", nil)
	}
	rt := ex.runtimes[docID]
	if rt == nil {
		if _, ok := ex.deferredMeta(docID); ok {
			return nil, newError(reasonDeferred, docID, "the doc is deferred (announced, no data held)", nil)
		}
		return nil, newError(reasonUnknownDoc, docID, "", nil)
	}
	return rt, nil
}

// Destroy drops docID: the local copy, its stored records, and its place in
// the sync graph (peers get dismiss). A later Get starts from scratch.
// Destroying a deferred doc forgets it.
func (ex *Exchange) Destroy(docID string) error {
	ex.mu.Lock()
	if ex.closed || ex.closing {
		ex.mu.Unlock()
		return newError(reasonClosed, docID, "", nil)
	}
	rt := ex.runtimes[docID]
	_, deferred := ex.deferredMeta(docID)
	if rt == nil && !deferred {
		ex.mu.Unlock()
		return newError(reasonUnknownDoc, docID, "", nil)
	}
	delete(ex.runtimes, docID)
	if rt != nil {
		rt.destroyed = true
	}
	ex.mu.Unlock()
	ex.dispatch(funcMsg(func() {
		ex.stepSync(msgDocDismiss{doc: docID, event: &DocChange{Type: DocRemoved, DocID: docID}})
		if len(ex.stores) > 0 {
			ex.stepStore(stDestroy{doc: docID})
		}
	}))
	return nil
}

// Suspend takes docID out of the sync graph (peers get dismiss) while
// keeping the local copy and its stored data; Resume re-announces it and
// normal delta sync reconciles what changed meanwhile. Idempotent.
func (ex *Exchange) Suspend(docID string) error {
	rt, err := ex.lookup(docID)
	if err != nil {
		return err
	}
	ex.mu.Lock()
	if rt.suspended {
		ex.mu.Unlock()
		return nil
	}
	rt.suspended = true
	ex.mu.Unlock()
	ex.dispatch(funcMsg(func() {
		ex.stepSync(msgDocDismiss{doc: docID, event: &DocChange{Type: DocSuspended, DocID: docID}})
	}))
	return nil
}

// Resume brings a suspended doc back into the sync graph.
func (ex *Exchange) Resume(docID string) error {
	rt, err := ex.lookup(docID)
	if err != nil {
		return err
	}
	ex.mu.Lock()
	if !rt.suspended {
		ex.mu.Unlock()
		return newError(reasonNotSuspended, docID, "", nil)
	}
	rt.suspended = false
	ex.mu.Unlock()
	ex.dispatch(funcMsg(func() {
		ex.stepSync(msgDocEnsure{doc: docID, mode: rt.mode, version: rt.version(), meta: rt.meta, event: &DocChange{Type: DocResumed, DocID: docID}})
		ex.persistTrigger(docID) // writes made while suspended
	}))
	return nil
}

// --- classification (§6.3) ---

// classify decides what to do with a doc a peer announced that we do not
// hold (runs on the dispatcher; results go ahead of the queue).
func (ex *Exchange) classify(f fxEnsureDoc) {
	ex.mu.Lock()
	known := ex.runtimes[f.doc] != nil || ex.cs().sync.docs.Has(f.doc)
	types := ex.docTypes // append-only: the snapshot's elements never change
	ex.mu.Unlock()
	if known {
		return
	}
	var res *Resolution
	if _, ok := matchDocType(types, f.meta); !ok {
		res = new(Resolution)
		ex.safeCall("Resolve", func() { *res = ex.pol.resolve(ResolveRequest{DocID: f.doc, Peer: f.peer, Meta: f.meta}) })
	}
	c := classifyAnnounced(f.meta, types, ex.replicas, ex.builtin, res)
	if c.why != "" {
		ex.diagnose(Diagnostic{Reason: reasonNoFactory, Severity: SeverityWarning, DocID: f.doc, PeerID: f.peer.PeerID, Err: c.typeErr,
			Message: fmt.Sprintf("%s (%s/%d %s); answering vacant", c.why, f.meta.ReplicaType.Name, f.meta.ReplicaType.Major, modeString(f.meta.SyncMode))})
	}
	switch c.act {
	case classInterpret:
		ex.interpretAnnounced(f, c.docType)
	case classReplicate:
		ex.installAnnounced(f, ex.newHeadless(f.doc, c.factory, f.meta))
	case classDefer:
		ex.deferUrgent(f)
	default:
		ex.vacantUrgent(f)
	}
}

func (ex *Exchange) interpretAnnounced(f fxEnsureDoc, t DocType) {
	rt, err := ex.newInterpreted(f.doc, t)
	if err != nil {
		ex.diagnose(Diagnostic{Reason: reasonNoFactory, Severity: SeverityWarning, DocID: f.doc, PeerID: f.peer.PeerID, Err: err,
			Message: "cannot interpret announced doc; answering vacant"})
		ex.vacantUrgent(f)
		return
	}
	ex.installAnnounced(f, rt)
}

// installAnnounced registers the runtime a classification made, unless a
// Get or Replicate made while Resolve ran got there first: the handle that
// call returned must stay the doc's, and its own registration presents the
// doc and asks the peer for it.
func (ex *Exchange) installAnnounced(f fxEnsureDoc, rt *docRuntime) {
	rt.by = &presented{peer: f.peer.PeerID, meta: f.meta}
	ex.mu.Lock()
	if ex.runtimes[f.doc] != nil {
		ex.mu.Unlock()
		return
	}
	ex.runtimes[f.doc] = rt
	ex.mu.Unlock()
	ex.register(rt, DocCreated, true)
}

func (ex *Exchange) deferUrgent(f fxEnsureDoc) {
	ex.consequence(msgDocDefer{doc: f.doc, meta: f.meta, from: f.peer.PeerID, event: &DocChange{Type: DocDeferred, DocID: f.doc}})
}

func (ex *Exchange) vacantUrgent(f fxEnsureDoc) {
	ex.mu.Lock()
	created := ex.runtimes[f.doc] != nil // by a Get or Replicate while Resolve ran
	ex.mu.Unlock()
	if created {
		return
	}
	ex.consequence(msgDeclareVacant{doc: f.doc, to: f.peer.PeerID})
}

// Deferred returns the ids of deferred docs (announced by peers, no data
// held), sorted.
func (ex *Exchange) Deferred() []string {
	var out []string
	ex.cs().sync.docs.Range(func(id string, d *syncDoc) bool {
		if d.mode == ModeDeferred {
			out = append(out, id)
		}
		return true
	})
	slices.Sort(out)
	return out
}
