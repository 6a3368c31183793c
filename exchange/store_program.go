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

// stDestroy: forget the doc and delete it from the stores.
type stDestroy struct{ doc string }

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
		// Also re-runs after a failed registration (confirmed still "").
		if d, ok := s.docs.Get(m.doc); ok && (d.writing || d.confirmed != "") {
			return s, nil
		}
		n := &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{writing: true, pending: m.version})}
		return n, []storeFx{fxStoreAppend(m)}

	case stHydrated:
		if s.docs.Has(m.doc) {
			return s, nil
		}
		return &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{confirmed: m.version})}, nil

	case stAdvanced:
		d, ok := s.docs.Get(m.doc)
		if !ok || d.writing || d.confirmed == "" || d.confirmed == m.version {
			return s, nil
		}
		nd := &storeDocPhase{writing: true, confirmed: d.confirmed, pending: m.version}
		return &storeState{docs: s.docs.Set(m.doc, nd)}, []storeFx{fxStoreAppend(m)}

	case stDestroy:
		return &storeState{docs: s.docs.Delete(m.doc)}, []storeFx{fxStoreDelete(m)}

	case stWriteSucceeded:
		d, ok := s.docs.Get(m.doc)
		if !ok || !d.writing {
			return s, nil
		}
		return &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{confirmed: m.version})}, nil

	case stWriteFailed:
		d, ok := s.docs.Get(m.doc)
		if !ok || !d.writing {
			return s, []storeFx{fxStoreError{doc: m.doc, op: "append", err: m.err}}
		}
		return &storeState{docs: s.docs.Set(m.doc, &storeDocPhase{confirmed: d.confirmed})},
			[]storeFx{fxStoreError{doc: m.doc, op: "append", err: m.err}}
	}
	return s, nil
}
