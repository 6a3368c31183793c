package exchange

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// storeRetry paces the retries of a failing store write: capped
// exponential backoff with full jitter, forever (the data stays in memory
// until it lands).
var storeRetry = backoff.Policy{Base: 100 * time.Millisecond, Max: 30 * time.Second, MaxAttempts: backoff.Unlimited}

func (ex *Exchange) storeError(doc, op string, err error) {
	ex.counters.storeErrors.Add(1)
	ex.diagnose(Diagnostic{Reason: reasonStoreError, Severity: SeverityError, DocID: doc, Err: err,
		Message: fmt.Sprintf("store %s failed for doc %q", op, doc)})
	if ex.onStore != nil {
		ex.safeCall("OnStoreError", func() { ex.onStore(doc, op, err) })
	}
}

// startHydration hydrates rt, after the delete of an earlier incarnation
// of the doc if one is still running (on the dispatcher).
func (ex *Exchange) startHydration(rt *docRuntime, event DocChangeType) {
	if phase, ok := ex.cs().store.docs.Get(rt.id); ok && (phase.deleting || phase.deleteNext) {
		ex.afterDelete[rt.id] = append(ex.afterDelete[rt.id], func() { ex.hydrate(rt, event) })
		return
	}
	ex.hydrate(rt, event)
}

// hydrate loads rt in the background from the store whose stream reaches
// furthest, then registers it with the sync and store programs on the
// dispatcher. Stored entries are replayed as remote changes (no echo). A
// stream that is corrupt, or whose entries do not lead to the versions
// stored with them, stops the load at the last good entry: the doc is
// served from there, the diagnostic says where, and that store is not
// written again for the doc (its stream needs a deliberate repair).
func (ex *Exchange) hydrate(rt *docRuntime, event DocChangeType) {
	if !ex.startBG() {
		return
	}
	go func() {
		defer ex.endBG()
		var report []func() // diagnostics, delivered on the dispatcher
		heads := make([]headInfo, len(ex.stores))
		for i, s := range ex.stores {
			h, err := s.Head(ex.bgCtx, rt.id)
			if err != nil {
				heads[i].broken = true
				report = append(report, func() { ex.storeError(rt.id, "load", err) })
				continue
			}
			heads[i] = headInfo{exists: h.Exists, version: h.Version}
		}
		found := false
		if best := furthestHead(heads, rt.factory.ParseVersion); best >= 0 {
			recs, err := ex.stores[best].LoadAll(ex.bgCtx, rt.id)
			if err != nil {
				heads[best].broken = true
				report = append(report, func() { ex.storeError(rt.id, "load", err) })
			}
			if len(recs) > 0 {
				found = true
				rt.mu.Lock()
				if d, ok := ex.adoptStoredMeta(rt, recs); ok {
					report = append(report, func() { ex.diagnose(d) })
				}
				err := store.Replay(rt.id, recs, func(rec store.Record) (string, error) {
					if err := ex.replay(rt, rec); err != nil {
						return "", err
					}
					return rt.rep.Version().String(), nil
				})
				if err != nil {
					// The refused entry may have half-applied: rebuild from
					// the good prefix.
					heads[best].broken = true
					rt.reset()
					var ce *store.CorruptError
					errors.As(err, &ce) // Replay's errors are all *CorruptError
					for _, rec := range recs[:ce.Good] {
						_ = ex.replay(rt, rec)
					}
					report = append(report, func() { ex.storeError(rt.id, "load", err) })
				}
				rt.mu.Unlock()
			}
		}
		rt.mu.Lock()
		queued := len(rt.queuedTx)
		for _, err := range rt.finishLoading() {
			report = append(report, func() {
				ex.warn(reasonMergeFailed, rt.id, "", err, "a transaction made while loading was refused after the stored state loaded")
			})
		}
		version := rt.rep.Version().String()
		rt.mu.Unlock()
		if (found || queued > 0) && rt.doc != nil {
			ex.markChanged(rt)
		}
		ex.dispatch(funcMsg(func() {
			for _, r := range report {
				r()
			}
			ex.mu.Lock()
			live := !rt.destroyed && ex.runtimes[rt.id] == rt
			ex.mu.Unlock()
			if !live {
				return
			}
			ex.stepStore(stLoaded{doc: rt.id, version: version, heads: heads})
			ex.announce(rt, event)
			// Local writes made while loading are persisted now.
			ex.persistTrigger(rt.id)
		}))
	}()
}

// adoptStoredMeta gives rt the stored stream's metadata when
// storedMetaWins says so (caller holds rt.mu; rt is not registered yet) and
// returns the diagnostic to report.
func (ex *Exchange) adoptStoredMeta(rt *docRuntime, recs []store.Record) (Diagnostic, bool) {
	stored, ok := storedMeta(recs)
	if !ok {
		return Diagnostic{}, false
	}
	meta, adopt := storedMetaWins(rt.by != nil, rt.mode, rt.meta, stored)
	if !adopt {
		return Diagnostic{}, false
	}
	presented := rt.meta
	f := factoryFor(ex.replicas, meta)
	if f != nil {
		rt.factory, rt.rep, rt.meta = f, f.CreateEmpty(), meta
	}
	return storedMetaDiagnostic(rt.id, rt.by.peer, meta, presented, f != nil), true
}

// replay applies one stored entry (caller holds rt.mu). An entirety resets
// the replica to the stored version so op counters line up with peers.
func (ex *Exchange) replay(rt *docRuntime, rec store.Record) error {
	if rec.Kind != store.KindEntry {
		return nil
	}
	_, stamped := rt.rep.(replica.StampedMerger)
	var stored replica.Version
	if rec.Payload.Kind == wire.Entirety && !stamped {
		v, err := rt.factory.ParseVersion(rec.Version)
		if err != nil && rec.Version != rt.rep.Version().String() {
			return err
		}
		stored = v
	}
	switch replayHow(stamped, rec.Payload.Kind == wire.Entirety, rec.Version == rt.rep.Version().String(), stored) {
	case replaySkip:
		return nil
	case replayStamped:
		return rt.rep.(replica.StampedMerger).MergeStamped(rec.Payload, rec.Version, "")
	case replayResetTo:
		return rt.rep.ResetFromEntirety(rec.Payload, stored)
	}
	return rt.rep.Merge(rec.Payload)
}

// compact trims a plain op log once it is long (compactTarget decides),
// to the least version every synced peer holds; a peer behind that point
// later gets an entirety. The stores then rewrite the document as one
// entirety instead of its whole history.
func (ex *Exchange) compact(doc string, force bool) {
	rt := ex.runtimeFor(doc)
	if rt == nil {
		return
	}
	rt.mu.Lock()
	hr, ok := rt.rep.(replica.HistoryReporter)
	due := ok && compactDue(hr.History(), force)
	rt.mu.Unlock()
	if !due {
		return // the common case: nothing to look at
	}
	synced := syncedVersions(ex.cs().sync, doc, rt.factory.ParseVersion)
	rt.mu.Lock()
	target, ok := compactTarget(rt.rep.Version(), rt.rep.BaseVersion(), hr.History(), synced, force)
	var err error
	if ok {
		err = rt.rep.Advance(target)
	}
	rt.mu.Unlock()
	if err != nil {
		ex.warn(reasonExportFailed, doc, "", err, "compaction to %s failed", target)
		return
	}
	if ok && len(ex.stores) > 0 {
		ex.stepStore(stCompact{doc: doc})
	}
}

// Compact trims docID's op log now, whatever its size, to the least
// version every synced peer holds (the reference's compact), and rewrites
// it in the stores as one entirety. Only plain (op-log) documents have a
// history to trim; for others it does nothing. Peers behind the new base
// get the whole state the next time they sync. Do not call it from a
// subscriber callback: it waits for the dispatcher that runs the callback.
func (ex *Exchange) Compact(docID string) error {
	if _, err := ex.lookup(docID); err != nil {
		return err
	}
	done := make(chan struct{})
	ex.dispatch(funcMsg(func() { ex.compact(docID, true); close(done) }))
	select {
	case <-done:
		return nil
	case <-ex.runner.Stopped():
		return newError(reasonClosed, docID, "", nil)
	}
}

// persistTrigger tells the store program the doc's current version; it
// decides which stores to write.
func (ex *Exchange) persistTrigger(doc string) {
	if len(ex.stores) == 0 {
		return
	}
	rt := ex.runtimeFor(doc)
	if rt == nil {
		return
	}
	ex.stepStore(stChanged{doc: doc, version: rt.version()})
}

// storeRecords exports what brings a store from base to the doc's current
// version, as storeAppends decides: the delta entries (an append), or meta
// plus the whole state (a Replace).
func (ex *Exchange) storeRecords(rt *docRuntime, base string, replace bool) ([]store.Record, string, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	cur := rt.rep.Version().String()
	var delta []replica.OfferPart
	deltaOK := false
	if !replace {
		var err error
		if delta, deltaOK, err = exportDelta(rt, base); err != nil {
			return nil, cur, err
		}
	}
	if storeAppends(replace, deltaOK) {
		return partRecords(delta), cur, nil
	}
	var all []replica.OfferPart
	var err error
	if me, ok := rt.rep.(replica.MultiExporter); ok {
		all, err = me.ExportFor("")
	} else {
		var p replica.Payload
		p, err = rt.rep.ExportEntirety()
		all = []replica.OfferPart{{Payload: p, Version: cur}}
	}
	if err != nil {
		return nil, cur, err
	}
	return append([]store.Record{store.MetaRecord(storeMeta(rt.meta))}, partRecords(all)...), cur, nil
}

// exportDelta exports the entries after base (caller holds rt.mu); ok is
// false when the replica cannot: base is not one of an opaque log's stamps,
// does not parse, or predates the replica's base or lineage.
func exportDelta(rt *docRuntime, base string) ([]replica.OfferPart, bool, error) {
	cur := rt.rep.Version().String()
	if me, ok := rt.rep.(replica.MultiExporter); ok {
		since, err := me.ExportFor(base)
		if err != nil || base == "" {
			return since, err == nil, err
		}
		all, err := me.ExportFor("")
		return since, err == nil && len(since) < len(all), err
	}
	from, err := rt.factory.ParseVersion(base)
	if err != nil {
		return nil, false, nil
	}
	p, ok, err := rt.rep.ExportSince(from)
	if err != nil || !ok {
		return nil, false, err
	}
	return []replica.OfferPart{{Payload: p, Version: cur}}, true, nil
}

func (ex *Exchange) storeEffect(f storeFx) {
	switch f := f.(type) {
	case fxStoreWrite:
		ex.storeWrite(f)
	case fxStoreRetry:
		key := fmt.Sprintf("store:%d:%s", f.store, f.doc)
		if stop, ok := ex.timers[key]; ok {
			stop()
		}
		delay := storeRetry.DelayFor(f.attempt, rand.Float64())
		ex.timers[key] = ex.clock.AfterFunc(delay, func() {
			ex.dispatch(funcMsg(func() {
				delete(ex.timers, key)
				if rt := ex.runtimeFor(f.doc); rt != nil {
					ex.stepStore(stChanged{doc: f.doc, version: rt.version()})
				}
				ex.stepStore(stRetry{doc: f.doc, store: f.store})
			}))
		})
	case fxStoreDelete:
		if !ex.startBG() {
			return
		}
		go func() {
			defer ex.endBG()
			for _, s := range ex.stores {
				if err := s.Delete(ex.bgCtx, f.doc); err != nil {
					ex.dispatch(funcMsg(func() { ex.storeError(f.doc, "delete", err) }))
				}
			}
			ex.dispatch(stDeleteDone(f))
		}()
	case fxStoreError:
		ex.storeError(f.doc, fmt.Sprintf("%s (store %d)", f.op, f.store), f.err)
	case fxDurable:
		ex.stepSync(msgDurable(f))
	case fxDeleted:
		wait := ex.afterDelete[f.doc]
		delete(ex.afterDelete, f.doc)
		for _, run := range wait {
			run() // hydrations of the doc got again meanwhile
		}
	}
}

// storeWrite exports and runs one write in the background and reports its
// outcome, classified, to the store program.
func (ex *Exchange) storeWrite(f fxStoreWrite) {
	report := func(m stWritten) { ex.dispatch(m) }
	rt := ex.runtimeFor(f.doc)
	if rt == nil {
		ex.stepStore(stWritten{doc: f.doc, store: f.store, outcome: outcomePermanent, err: errors.New("doc is gone")})
		return
	}
	recs, version, err := ex.storeRecords(rt, f.base, f.replace)
	if err != nil {
		ex.warn(reasonExportFailed, f.doc, "", err, "cannot export doc for storage")
		ex.stepStore(stWritten{doc: f.doc, store: f.store, version: version, outcome: outcomePermanent, err: err})
		return
	}
	if !ex.startBG() {
		return
	}
	s := ex.stores[f.store]
	go func() {
		defer ex.endBG()
		var err error
		if recs[0].Kind == store.KindMeta {
			err = s.Replace(ex.bgCtx, f.doc, recs)
		} else {
			err = s.AppendAfter(ex.bgCtx, f.doc, f.base, recs)
		}
		m := stWritten{doc: f.doc, store: f.store, version: version, err: err}
		var he *store.HeadError
		switch {
		case err == nil:
			m.outcome = outcomeOK
		case errors.As(err, &he):
			m.outcome, m.head, m.err = outcomeHead, headInfo{exists: he.Head.Exists, version: he.Head.Version}, nil
		case store.Transient(err):
			m.outcome = outcomeTransient
		default:
			m.outcome = outcomePermanent
		}
		report(m)
	}()
}
