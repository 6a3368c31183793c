package exchange

import (
	"errors"
	"fmt"
	"sync"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

func storeMeta(m DocMeta) store.Meta {
	return store.Meta{ReplicaType: m.ReplicaType, SyncMode: m.SyncMode, SchemaHash: m.SchemaHash}
}

func (ex *Exchange) storeError(doc, op string, err error) {
	ex.diagnose(Diagnostic{Code: DiagStoreError, Severity: SeverityError, DocID: doc, Err: err,
		Message: fmt.Sprintf("store %s failed for doc %q", op, doc)})
	if ex.onStore != nil {
		ex.safeCall("OnStoreError", func() { ex.onStore(doc, op, err) })
	}
}

// startHydration hydrates rt, after the delete of an earlier incarnation
// of the doc if one is still running (on the dispatcher).
func (ex *Exchange) startHydration(rt *docRuntime, event DocChangeType) {
	if phase, ok := ex.stst.docs.Get(rt.id); ok && (phase.deleting || phase.deleteNext) {
		ex.afterDelete[rt.id] = append(ex.afterDelete[rt.id], func() { ex.hydrate(rt, event) })
		return
	}
	ex.hydrate(rt, event)
}

// hydrate loads rt from the first store that has it (in the background),
// then registers it with the sync and store programs on the dispatcher.
// Stored entries are replayed as remote changes (no echo). A corrupt record
// is reported and skipped.
func (ex *Exchange) hydrate(rt *docRuntime, event DocChangeType) {
	if !ex.startBG() {
		return
	}
	go func() {
		defer ex.endBG()
		found, stored := false, ""
		// Problems are reported from the dispatcher, like every other
		// diagnostic, once loading is done.
		var report []func()
		for _, s := range ex.stores {
			meta, err := s.CurrentMeta(ex.bgCtx, rt.id)
			if err != nil {
				report = append(report, func() { ex.storeError(rt.id, "load", err) })
				continue
			}
			if meta == nil {
				continue
			}
			recs, err := s.LoadAll(ex.bgCtx, rt.id)
			if err != nil {
				report = append(report, func() { ex.storeError(rt.id, "load", err) })
				continue
			}
			rt.mu.Lock()
			for _, rec := range recs {
				if rec.Kind != store.KindEntry {
					continue
				}
				if err := ex.replay(rt, rec); err != nil {
					v := rec.Version
					report = append(report, func() {
						ex.warn(DiagMergeFailed, rt.id, "", err, "stored record at version %q skipped", v)
					})
				}
			}
			stored = rt.rep.Version().String()
			rt.mu.Unlock()
			found = true
			break
		}
		rt.mu.Lock()
		queued := len(rt.queuedTx)
		for _, err := range rt.finishLoading() {
			report = append(report, func() {
				ex.warn(DiagMergeFailed, rt.id, "", err, "a transaction made while loading was refused after the stored state loaded")
			})
		}
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
			if found {
				ex.stepStore(stHydrated{doc: rt.id, version: stored})
			} else {
				ex.registerInStore(rt)
			}
			ex.announce(rt, event)
			// Local writes made while loading are persisted now.
			ex.persistTrigger(rt.id)
		}))
	}()
}

// replay applies one stored entry (caller holds rt.mu). An entirety resets
// the replica to the stored version so op counters line up with peers.
func (ex *Exchange) replay(rt *docRuntime, rec store.Record) error {
	if sm, ok := rt.rep.(replica.StampedMerger); ok {
		return sm.MergeStamped(rec.Payload, rec.Version, "")
	}
	if rec.Payload.Kind == wire.Entirety {
		v, err := rt.factory.ParseVersion(rec.Version)
		if err != nil {
			return err
		}
		if v.Lineage() != replica.Genesis {
			return rt.rep.ResetFromEntirety(rec.Payload, v)
		}
	}
	return rt.rep.Merge(rec.Payload)
}

// registerInStore writes meta + entirety for a doc the stores do not have.
// A replica that exports several payloads (the opaque relay) is stored as
// meta plus one entry per payload, each with the stamp it arrived with, so
// hydration replays the log exactly.
func (ex *Exchange) registerInStore(rt *docRuntime) {
	meta := store.MetaRecord(storeMeta(rt.meta))
	rt.mu.Lock()
	v := rt.rep.Version().String()
	var recs []store.Record
	var err error
	if me, ok := rt.rep.(replica.MultiExporter); ok {
		var parts []replica.OfferPart
		parts, err = me.ExportFor("")
		recs = append([]store.Record{meta}, partRecords(parts)...)
	} else {
		var p replica.Payload
		p, err = rt.rep.ExportEntirety()
		recs = []store.Record{meta, store.EntryRecord(p, v)}
	}
	rt.mu.Unlock()
	if err != nil {
		ex.warn(DiagExportFailed, rt.id, "", err, "cannot export doc for storage")
		return
	}
	ex.stepStore(stRegister{doc: rt.id, version: v, records: recs})
}

func partRecords(parts []replica.OfferPart) []store.Record {
	recs := make([]store.Record, 0, len(parts))
	for _, part := range parts {
		recs = append(recs, store.EntryRecord(part.Payload, part.Version))
	}
	return recs
}

// multiPartDelta is what a multi-payload replica gained since the stored
// version: the payloads after it, appended; or, when the stored version is
// not one of its stamps, the whole log, replacing the stream.
func multiPartDelta(me replica.MultiExporter, meta store.Record, confirmed string) ([]store.Record, error) {
	all, err := me.ExportFor("")
	if err != nil {
		return nil, err
	}
	since, err := me.ExportFor(confirmed)
	if err != nil {
		return nil, err
	}
	if len(since) == len(all) {
		return append([]store.Record{meta}, partRecords(all)...), nil
	}
	return partRecords(since), nil
}

// persistTrigger writes what doc gained since the stores' confirmed
// version, unless a write is in flight (its completion re-triggers).
func (ex *Exchange) persistTrigger(doc string) {
	if len(ex.stores) == 0 {
		return
	}
	rt := ex.runtimeFor(doc)
	if rt == nil {
		return
	}
	phase, ok := ex.stst.docs.Get(doc)
	if !ok || phase.writing {
		return
	}
	if phase.confirmed == "" {
		ex.registerInStore(rt) // the registration failed earlier: retry
		return
	}
	rt.mu.Lock()
	cur := rt.rep.Version().String()
	if cur == phase.confirmed {
		rt.mu.Unlock()
		return
	}
	var recs []store.Record
	var err error
	if me, ok := rt.rep.(replica.MultiExporter); ok {
		recs, err = multiPartDelta(me, store.MetaRecord(storeMeta(rt.meta)), phase.confirmed)
	} else if base, perr := rt.factory.ParseVersion(phase.confirmed); perr != nil {
		err = perr
	} else {
		var p replica.Payload
		var ok bool
		p, ok, err = rt.rep.ExportSince(base)
		if err == nil && ok {
			recs = []store.Record{store.EntryRecord(p, cur)}
		} else if err == nil {
			// No delta from the stored version (e.g. after a reset to
			// another lineage): store a fresh entirety.
			p, err = rt.rep.ExportEntirety()
			if err == nil {
				recs = []store.Record{store.MetaRecord(storeMeta(rt.meta)), store.EntryRecord(p, cur)}
			}
		}
	}
	rt.mu.Unlock()
	if err != nil {
		ex.warn(DiagExportFailed, doc, "", err, "cannot export delta for storage")
		return
	}
	ex.stepStore(stAdvanced{doc: doc, records: recs, version: cur})
}

func (ex *Exchange) storeEffect(f storeFx) {
	switch f := f.(type) {
	case fxStoreAppend:
		if !ex.startBG() {
			return
		}
		go func() {
			defer ex.endBG()
			err := ex.writeAll(f.doc, f.records)
			if err != nil {
				ex.dispatch(stWriteFailed{doc: f.doc, err: err})
				return
			}
			ex.dispatch(stWriteSucceeded{doc: f.doc, version: f.version})
		}()
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
		ex.storeError(f.doc, f.op, f.err)
	}
}

// writeAll writes records to every store in parallel. A batch that starts
// with meta (registration, or an entirety after a lineage reset) replaces
// the stream atomically, so meta and entry commit together.
func (ex *Exchange) writeAll(doc string, recs []store.Record) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ex.stores))
	for i, s := range ex.stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ex.writeOne(s, doc, recs)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (ex *Exchange) writeOne(s store.Store, doc string, recs []store.Record) error {
	if len(recs) > 0 && recs[0].Kind == store.KindMeta {
		return s.Replace(ex.bgCtx, doc, recs)
	}
	for _, r := range recs {
		if err := s.Append(ex.bgCtx, doc, r); err != nil {
			return err
		}
	}
	return nil
}
