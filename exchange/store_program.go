package exchange

import (
	"github.com/kyneta-go/kyneta/exchange/internal/pmap"
	"github.com/kyneta-go/kyneta/exchange/store"
)

// The store program sequences persistence per document (§7.2): at most one
// write in flight per doc; a failed write keeps the last confirmed version,
// so the next delta is recomputed from the last good point (self-healing).
// Pure: the shell runs the writes and reports back.
//
// Unlike the reference it does not queue deltas behind a write in flight:
// when a write completes the shell re-runs the trigger, which writes one
// delta from the confirmed version to the current one. That coalesces
// bursts into one append and never builds a delta on an unconfirmed base.

type storeDocPhase struct {
	writing   bool
	confirmed string // version the stores are known to hold ("" = none yet)
	pending   string // version of the write in flight
	// Deleting: a delete is in flight (writing is true) or waits for the
	// write in flight (deleteNext). A registration of the doc made
	// meanwhile (it was destroyed and got again) runs after the delete.
	deleting   bool
	deleteNext bool
	reregister *stRegister
}

type storeState struct {
	docs pmap.Map[*storeDocPhase]
}

type storeMsg interface{ isStoreMsg() }

// stRegister: a new doc with no stored data; write meta + entirety.
type stRegister struct {
	doc     string
	records []store.Record // meta + entirety entry
	version string
}

// stHydrated: the doc was loaded from a store at version.
type stHydrated struct {
	doc     string
	version string
}

// stAdvanced: the doc moved to version; records hold the delta entry from
// the confirmed version.
type stAdvanced struct {
	doc     string
	records []store.Record
	version string
}

// stDestroy: forget the doc and delete it from the stores. The delete
// waits for a write in flight, so it cannot be overtaken by it.
type stDestroy struct{ doc string }

// stDeleteDone: the delete finished (errors are reported separately).
type stDeleteDone struct{ doc string }

type stWriteSucceeded struct {
	doc     string
	version string
}

type stWriteFailed struct {
	doc string
	err error
}

func (stRegister) isStoreMsg()       {}
func (stHydrated) isStoreMsg()       {}
func (stAdvanced) isStoreMsg()       {}
func (stDestroy) isStoreMsg()        {}
func (stDeleteDone) isStoreMsg()     {}
func (stWriteSucceeded) isStoreMsg() {}
func (stWriteFailed) isStoreMsg()    {}

type storeFx interface{ isStoreFx() }

// fxStoreAppend appends records to every store; success confirms version.
type fxStoreAppend struct {
	doc     string
	records []store.Record
	version string
}
type fxStoreDelete struct{ doc string }
type fxStoreError struct {
	doc string
	op  string
	err error
}

func (fxStoreAppend) isStoreFx() {}
func (fxStoreDelete) isStoreFx() {}
func (fxStoreError) isStoreFx()  {}

type storeProgram struct{}

func (storeProgram) Init() (*storeState, []storeFx) { return &storeState{}, nil }

func (storeProgram) Update(s *storeState, m storeMsg) (*storeState, []storeFx) {
	switch m := m.(type) {
	case stRegister:
		d, ok := s.docs.Get(m.doc)
		if ok && (d.deleting || d.deleteNext) {
			nd := *d
			r := m
			nd.reregister = &r
			return &storeState{docs: s.docs.Set(m.doc, &nd)}, nil
		}
		// Also re-runs after a failed registration (confirmed still "").
		if ok && (d.writing || d.confirmed != "") {
			return s, nil
		}
		return register(s, m)

	case stHydrated:
		if s.docs.Has(m.doc) {
			return s, nil
		}
		return &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{confirmed: m.version})}, nil

	case stAdvanced:
		d, ok := s.docs.Get(m.doc)
		if !ok || d.writing || d.deleting || d.confirmed == "" || d.confirmed == m.version {
			return s, nil
		}
		nd := &storeDocPhase{writing: true, confirmed: d.confirmed, pending: m.version}
		return &storeState{docs: s.docs.Set(m.doc, nd)}, []storeFx{fxStoreAppend(m)}

	case stDestroy:
		d, ok := s.docs.Get(m.doc)
		switch {
		case ok && d.deleting:
			if d.reregister == nil {
				return s, nil
			}
			nd := *d
			nd.reregister = nil // destroyed again before it was registered
			return &storeState{docs: s.docs.Set(m.doc, &nd)}, nil
		case ok && d.writing:
			nd := *d
			nd.deleteNext, nd.reregister = true, nil
			return &storeState{docs: s.docs.Set(m.doc, &nd)}, nil
		}
		return deleting(s, m.doc, nil)

	case stDeleteDone:
		d, ok := s.docs.Get(m.doc)
		if !ok || !d.deleting {
			return s, nil
		}
		if d.reregister != nil {
			return register(&storeState{docs: s.docs.Delete(m.doc)}, *d.reregister)
		}
		return &storeState{docs: s.docs.Delete(m.doc)}, nil

	case stWriteSucceeded:
		d, ok := s.docs.Get(m.doc)
		if !ok || !d.writing || d.deleting {
			return s, nil
		}
		if d.deleteNext {
			return deleting(s, m.doc, d.reregister)
		}
		return &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{confirmed: m.version})}, nil

	case stWriteFailed:
		errFx := fxStoreError{doc: m.doc, op: "append", err: m.err}
		d, ok := s.docs.Get(m.doc)
		if !ok || !d.writing || d.deleting {
			return s, []storeFx{errFx}
		}
		if d.deleteNext {
			n, fx := deleting(s, m.doc, d.reregister)
			return n, append([]storeFx{errFx}, fx...)
		}
		return &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{confirmed: d.confirmed})}, []storeFx{errFx}
	}
	return s, nil
}

func register(s *storeState, m stRegister) (*storeState, []storeFx) {
	n := &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{writing: true, pending: m.version})}
	return n, []storeFx{fxStoreAppend(m)}
}

// deleting starts the delete of doc (it stays known until stDeleteDone);
// rereg is a registration that waits for it.
func deleting(s *storeState, doc string, rereg *stRegister) (*storeState, []storeFx) {
	n := &storeState{docs: s.docs.Set(doc, &storeDocPhase{writing: true, deleting: true, reregister: rereg})}
	return n, []storeFx{fxStoreDelete{doc: doc}}
}
