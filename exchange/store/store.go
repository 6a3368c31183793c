package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/wire"
)

// Meta is the per-document metadata a store keeps (the reference's
// StoreMeta): replica type and sync mode are fixed for a document's life,
// the schema hash is last-writer-wins.
type Meta struct {
	ReplicaType wire.ReplicaType
	SyncMode    wire.SyncMode
	SchemaHash  string
}

// metaJSON is the reference's JSON layout of StoreMeta, used by SQL
// backends: {"replicaType":["plain",1,0],"syncMode":{...},"schemaHash":"..."}.
type metaJSON struct {
	ReplicaType [3]any       `json:"replicaType"`
	SyncMode    syncModeJSON `json:"syncMode"`
	SchemaHash  string       `json:"schemaHash"`
}

type syncModeJSON struct {
	WriterModel string `json:"writerModel"`
	Delivery    string `json:"delivery"`
	Durability  string `json:"durability"`
}

// MarshalJSON encodes the reference's StoreMeta JSON.
func (m Meta) MarshalJSON() ([]byte, error) {
	return json.Marshal(metaJSON{
		ReplicaType: [3]any{m.ReplicaType.Name, m.ReplicaType.Major, m.ReplicaType.Minor},
		SyncMode: syncModeJSON{
			WriterModel: string(m.SyncMode.WriterModel),
			Delivery:    string(m.SyncMode.Delivery),
			Durability:  string(m.SyncMode.Durability),
		},
		SchemaHash: m.SchemaHash,
	})
}

// UnmarshalJSON decodes the reference's StoreMeta JSON.
func (m *Meta) UnmarshalJSON(b []byte) error {
	var raw struct {
		ReplicaType []json.RawMessage `json:"replicaType"`
		SyncMode    syncModeJSON      `json:"syncMode"`
		SchemaHash  string            `json:"schemaHash"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw.ReplicaType) != 3 {
		return fmt.Errorf("store: replicaType must be [name, major, minor]")
	}
	var rt wire.ReplicaType
	if err := json.Unmarshal(raw.ReplicaType[0], &rt.Name); err != nil {
		return fmt.Errorf("store: replicaType name: %w", err)
	}
	if err := json.Unmarshal(raw.ReplicaType[1], &rt.Major); err != nil {
		return fmt.Errorf("store: replicaType major: %w", err)
	}
	if err := json.Unmarshal(raw.ReplicaType[2], &rt.Minor); err != nil {
		return fmt.Errorf("store: replicaType minor: %w", err)
	}
	*m = Meta{
		ReplicaType: rt,
		SyncMode: wire.SyncMode{
			WriterModel: wirecore.WriterModel(raw.SyncMode.WriterModel),
			Delivery:    wirecore.Delivery(raw.SyncMode.Delivery),
			Durability:  wirecore.Durability(raw.SyncMode.Durability),
		},
		SchemaHash: raw.SchemaHash,
	}
	return nil
}

// RecordKind tells a meta record from an entry record.
type RecordKind uint8

// Record kinds.
const (
	KindMeta RecordKind = iota + 1
	KindEntry
)

// String returns "meta" or "entry".
func (k RecordKind) String() string {
	switch k {
	case KindMeta:
		return "meta"
	case KindEntry:
		return "entry"
	}
	return "unknown"
}

// Record is one element of a document's stream: metadata (Kind ==
// KindMeta, Meta set) or a payload entry (Kind == KindEntry, Payload and
// Version set).
type Record struct {
	Kind    RecordKind
	Meta    Meta
	Payload replica.Payload
	Version string
}

// MetaRecord returns a meta record.
func MetaRecord(m Meta) Record { return Record{Kind: KindMeta, Meta: m} }

// EntryRecord returns an entry record.
func EntryRecord(p replica.Payload, version string) Record {
	return Record{Kind: KindEntry, Payload: p, Version: version}
}

// Store persists document record streams. Implementations know nothing of
// the protocol or of replicas: they keep records faithfully (JSON text stays
// text, binary stays bytes, lineage is kept).
//
// The exchange calls a store sequentially per document (never two calls for
// one document at once) but may call it for different documents
// concurrently, so implementations must be safe for concurrent use.
type Store interface {
	// Append adds a record to a document's stream. The first record of a
	// document must be a meta record (else reason "entry-before-meta"). A meta
	// record is validated against the existing meta: a different replica
	// type name or major fails with reason "replica-type-mismatch", a different
	// sync mode with reason "sync-mode-mismatch"; the schema hash is
	// last-writer-wins. Record insert and index update are atomic.
	// Append is unconditional: retrying one whose result was lost can
	// store the record twice, so deltas go through AppendAfter.
	Append(ctx context.Context, docID string, rec Record) error
	// LoadAll returns every record of the document in insertion order;
	// an unknown document has none (no error).
	LoadAll(ctx context.Context, docID string) ([]Record, error)
	// Replace atomically swaps the document's whole stream. The batch must
	// hold at least one meta record (reason "replace-without-meta") and is
	// validated like Append; the index takes the batch's last meta.
	// Readers never see an intermediate state, and later appends order
	// after the replacement.
	Replace(ctx context.Context, docID string, recs []Record) error
	// AppendAfter atomically appends recs (all or none) to an existing
	// stream, provided the stream ends at base: the version of its last
	// entry record ("" for a stream holding only meta). Otherwise nothing
	// is written and the error is a [*HeadError] saying where the stream
	// does end (or that the document is not stored: create it with
	// Replace). Records are validated in order as by Append.
	//
	// It is the write a caller retries: a batch whose outcome is unknown
	// (the call failed, but the commit may have landed) is sent again with
	// the same base, and either lands once or reports a head equal to the
	// batch's last version, meaning the first attempt landed. A delta is
	// never stored twice, and never stored on a base it was not computed
	// from.
	AppendAfter(ctx context.Context, docID, base string, recs []Record) error
	// Head reports where the document's stream ends (see [Head]). A caller
	// writing to several stores tracks each store's head as its own
	// confirmed version.
	Head(ctx context.Context, docID string) (Head, error)
	// Delete removes the document's records and meta.
	Delete(ctx context.Context, docID string) error
	// CurrentMeta returns the document's meta from the index, or nil.
	CurrentMeta(ctx context.Context, docID string) (*Meta, error)
	// ListDocIDs returns the ids of documents that have meta, optionally
	// only those starting with prefix (exact, case-sensitive byte prefix;
	// "" lists all).
	ListDocIDs(ctx context.Context, prefix string) ([]string, error)
	// Close releases resources. Calls after Close fail with reason "closed".
	Close() error
}

// Head is where a document's stream ends in one store: Exists is false
// when the store has no meta for it; Version is the version of the last
// entry record, "" when there is none. It is the base for the next
// [Store.AppendAfter].
type Head struct {
	Exists  bool
	Version string
}

// headOf returns the head of a stream held in memory.
func headOf(recs []Record) Head {
	h := Head{Exists: len(recs) > 0}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Kind == KindEntry {
			h.Version = recs[i].Version
			break
		}
	}
	return h
}

// ValidateBatch checks recs in order against the existing meta, as
// successive Appends would, and returns the index meta after the batch
// (existing when the batch holds no meta record).
func ValidateBatch(docID string, recs []Record, existing *Meta) (*Meta, error) {
	cur := existing
	for _, r := range recs {
		m, err := ValidateAppend(docID, r, cur)
		if err != nil {
			return nil, err
		}
		if m != nil {
			cur = m
		}
	}
	return cur, nil
}

// ResolveMeta validates a batch of records against the existing meta (nil
// for a new document) and returns the meta the index should hold: the last
// meta record of the batch. It is the shared validation every backend
// uses for Replace (and, with one record, for a meta Append).
func ResolveMeta(docID string, recs []Record, existing *Meta) (Meta, error) {
	var resolved *Meta
	for i := range recs {
		if recs[i].Kind != KindMeta {
			continue
		}
		in := recs[i].Meta
		for _, against := range []*Meta{existing, resolved} {
			if against == nil {
				continue
			}
			if !replica.Compatible(in.ReplicaType, against.ReplicaType) {
				return Meta{}, storeerr.New(storeerr.ReplicaTypeMismatch, docID, fmt.Sprintf("replicaType mismatch: existing [%s %d %d] vs incoming [%s %d %d]",
					against.ReplicaType.Name, against.ReplicaType.Major, against.ReplicaType.Minor,
					in.ReplicaType.Name, in.ReplicaType.Major, in.ReplicaType.Minor), nil)
			}
			if in.SyncMode != against.SyncMode {
				return Meta{}, storeerr.New(storeerr.SyncModeMismatch, docID, fmt.Sprintf("syncMode mismatch: existing %v vs incoming %v", against.SyncMode, in.SyncMode), nil)
			}
		}
		m := in
		resolved = &m
	}
	if resolved == nil {
		return Meta{}, storeerr.New(storeerr.ReplaceWithoutMeta, docID, "batch must contain at least one meta record", nil)
	}
	return *resolved, nil
}

// ValidateAppend checks one record against the existing meta. It returns
// the new index meta for a meta record, nil for an entry.
func ValidateAppend(docID string, rec Record, existing *Meta) (*Meta, error) {
	switch rec.Kind {
	case KindEntry:
		if existing == nil {
			return nil, storeerr.New(storeerr.EntryBeforeMeta, docID, "first record must be meta, got entry", nil)
		}
		return nil, nil
	case KindMeta:
		m, err := ResolveMeta(docID, []Record{rec}, existing)
		if err != nil {
			return nil, err
		}
		return &m, nil
	}
	return nil, storeerr.New(storeerr.InvalidRecord, docID, fmt.Sprintf("record kind %d", rec.Kind), nil)
}

// cloneRecord returns a copy of r whose payload bytes do not alias r's.
func cloneRecord(r Record) Record {
	r.Payload = r.Payload.Clone()
	return r
}
