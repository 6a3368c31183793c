package store

import (
	"maps"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/machine"
)

// The store program coordinates persistence per document as a pure Mealy
// machine: the exchange feeds it registrations, hydrations, state advances
// and write outcomes, and executes the persist effects it returns. At most
// one write is in flight per document; later inputs queue and run in
// order; a failed write keeps the last confirmed version so the next delta
// is recomputed from the last good point.

// Phase is one document's persistence state: idle at the confirmed
// Version, or Writing with one write in flight (PendingVersion) and inputs
// queued behind it.
type Phase struct {
	Writing        bool
	Version        string // confirmed version ("" before the first write lands)
	PendingVersion string // version the in-flight write brings (Writing only)
	Queued         []Queued
}

// QueuedKind tells what a queued input does.
type QueuedKind uint8

// Queued input kinds.
const (
	QueuedAppend  QueuedKind = iota + 1 // a state-advanced delta
	QueuedReplace                       // a compaction
)

// Queued is an input waiting for the in-flight write of its document.
type Queued struct {
	Kind       QueuedKind
	Payload    replica.Payload // delta (append) or entirety (replace)
	Meta       Meta            // replace only
	NewVersion string
}

// Model is the program state: one phase per known document. Transitions
// never mutate a Model; they return a new one.
type Model struct {
	Docs map[string]Phase
}

// Msg is an input of the store program: one of [Register], [Hydrated],
// [StateAdvanced], [Compact], [Destroy], [WriteSucceeded], [WriteFailed].
type Msg interface{ isStoreMsg() }

// Register announces a new document with nothing stored yet: its meta and
// entirety are written as the first records.
type Register struct {
	DocID    string
	Meta     Meta
	Entirety replica.Payload
	Version  string
}

// Hydrated announces a document loaded from a store at Version.
type Hydrated struct {
	DocID   string
	Version string
}

// StateAdvanced asks to persist Delta, which brings the document to
// NewVersion.
type StateAdvanced struct {
	DocID      string
	Delta      replica.Payload
	NewVersion string
}

// Compact asks to replace the stored stream with meta + entirety.
type Compact struct {
	DocID      string
	Meta       Meta
	Entirety   replica.Payload
	NewVersion string
}

// Destroy forgets the document and deletes it from the stores.
type Destroy struct {
	DocID string
}

// WriteSucceeded reports that the in-flight write landed at Version.
type WriteSucceeded struct {
	DocID   string
	Version string
}

// WriteFailed reports that the in-flight write failed.
type WriteFailed struct {
	DocID string
	Err   error
}

func (Register) isStoreMsg()       {}
func (Hydrated) isStoreMsg()       {}
func (StateAdvanced) isStoreMsg()  {}
func (Compact) isStoreMsg()        {}
func (Destroy) isStoreMsg()        {}
func (WriteSucceeded) isStoreMsg() {}
func (WriteFailed) isStoreMsg()    {}

// Effect is an output of the store program: one of [PersistAppend],
// [PersistReplace], [PersistDelete], [StoreError].
type Effect interface{ isStoreEffect() }

// PersistAppend appends Records to the document on every store, in order.
// The shell answers with WriteSucceeded (Version = the last entry's
// version) or WriteFailed.
type PersistAppend struct {
	DocID   string
	Records []Record
}

// PersistReplace replaces the document's stream on every store; answered
// like PersistAppend.
type PersistReplace struct {
	DocID   string
	Records []Record
}

// PersistDelete deletes the document from every store (failures are only
// reported; no answer is expected).
type PersistDelete struct {
	DocID string
}

// StoreError reports a failed write to the exchange's store-error hook.
type StoreError struct {
	DocID string
	Op    string
	Err   error
}

func (PersistAppend) isStoreEffect()  {}
func (PersistReplace) isStoreEffect() {}
func (PersistDelete) isStoreEffect()  {}
func (StoreError) isStoreEffect()     {}

// Program is the store program. Its zero value is ready to use.
type Program struct{}

var _ machine.Program[Msg, Model, Effect] = Program{}

// Init returns an empty model.
func (Program) Init() (Model, []Effect) { return Model{Docs: map[string]Phase{}}, nil }

func (m Model) with(docID string, ph *Phase) Model {
	docs := maps.Clone(m.Docs)
	if docs == nil {
		docs = map[string]Phase{}
	}
	if ph == nil {
		delete(docs, docID)
	} else {
		docs[docID] = *ph
	}
	return Model{Docs: docs}
}

// appendQueued returns q + item in a new slice (never sharing the input's
// backing array).
func appendQueued(q []Queued, item Queued) []Queued {
	out := make([]Queued, len(q), len(q)+1)
	copy(out, q)
	return append(out, item)
}

// start begins the write for item at confirmed version, keeping rest
// queued.
func start(docID, confirmed string, item Queued, rest []Queued) (Phase, Effect) {
	ph := Phase{Writing: true, Version: confirmed, PendingVersion: item.NewVersion}
	if len(rest) > 0 {
		ph.Queued = append([]Queued(nil), rest...)
	}
	if item.Kind == QueuedReplace {
		return ph, PersistReplace{DocID: docID, Records: []Record{MetaRecord(item.Meta), EntryRecord(item.Payload, item.NewVersion)}}
	}
	return ph, PersistAppend{DocID: docID, Records: []Record{EntryRecord(item.Payload, item.NewVersion)}}
}

// Update implements the transitions of §7.2.
func (Program) Update(m Model, msg Msg) (Model, []Effect) {
	switch msg := msg.(type) {
	case Register:
		ph := Phase{Writing: true, PendingVersion: msg.Version}
		return m.with(msg.DocID, &ph), []Effect{PersistAppend{DocID: msg.DocID,
			Records: []Record{MetaRecord(msg.Meta), EntryRecord(msg.Entirety, msg.Version)}}}

	case Hydrated:
		ph := Phase{Version: msg.Version}
		return m.with(msg.DocID, &ph), nil

	case StateAdvanced:
		return enqueue(m, msg.DocID, Queued{Kind: QueuedAppend, Payload: msg.Delta, NewVersion: msg.NewVersion})

	case Compact:
		return enqueue(m, msg.DocID, Queued{Kind: QueuedReplace, Payload: msg.Entirety, Meta: msg.Meta, NewVersion: msg.NewVersion})

	case Destroy:
		return m.with(msg.DocID, nil), []Effect{PersistDelete(msg)}

	case WriteSucceeded:
		cur, ok := m.Docs[msg.DocID]
		if !ok || !cur.Writing {
			return m, nil
		}
		return settle(m, msg.DocID, msg.Version, cur.Queued, nil)

	case WriteFailed:
		cur, ok := m.Docs[msg.DocID]
		if !ok || !cur.Writing {
			return m, nil
		}
		// Keep the old confirmed version: the next delta is computed from
		// the last point that is known to be stored.
		return settle(m, msg.DocID, cur.Version, cur.Queued,
			[]Effect{StoreError{DocID: msg.DocID, Op: "write", Err: msg.Err}})
	}
	return m, nil
}

func enqueue(m Model, docID string, item Queued) (Model, []Effect) {
	cur, ok := m.Docs[docID]
	if !ok {
		return m, nil
	}
	if !cur.Writing {
		ph, eff := start(docID, cur.Version, item, nil)
		return m.with(docID, &ph), []Effect{eff}
	}
	ph := cur
	ph.Queued = appendQueued(cur.Queued, item)
	return m.with(docID, &ph), nil
}

// settle ends the in-flight write at confirmed and starts the first queued
// input, if any.
func settle(m Model, docID, confirmed string, queued []Queued, effs []Effect) (Model, []Effect) {
	if len(queued) == 0 {
		ph := Phase{Version: confirmed}
		return m.with(docID, &ph), effs
	}
	ph, eff := start(docID, confirmed, queued[0], queued[1:])
	return m.with(docID, &ph), append(effs, eff)
}

// AllIdle reports whether no document has a write in flight.
func AllIdle(m Model) bool {
	for _, ph := range m.Docs {
		if ph.Writing {
			return false
		}
	}
	return true
}

// Baseline returns the version the next delta for docID should be computed
// from: the newest version already stored or on its way (the last queued
// input, else the in-flight write, else the confirmed version). ok=false
// when the document is unknown or nothing is stored or pending yet.
//
// Using it instead of the confirmed version fixes the reference's gap where
// a write made while the registration write is in flight (confirmed
// version still "") was not persisted until the next change: the delta is
// computed from the registration's version and queued behind it.
func Baseline(m Model, docID string) (string, bool) {
	ph, ok := m.Docs[docID]
	if !ok {
		return "", false
	}
	v := ph.Version
	if ph.Writing {
		v = ph.PendingVersion
		if n := len(ph.Queued); n > 0 {
			v = ph.Queued[n-1].NewVersion
		}
	}
	return v, v != ""
}

// Pending reports whether version is already in flight or queued for
// docID, so the shell can skip a duplicate state advance.
func Pending(m Model, docID, version string) bool {
	ph, ok := m.Docs[docID]
	if !ok || !ph.Writing {
		return false
	}
	if ph.PendingVersion == version {
		return true
	}
	for _, q := range ph.Queued {
		if q.NewVersion == version {
			return true
		}
	}
	return false
}
