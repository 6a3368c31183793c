package store

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
)

// MemoryData is the storage behind memory stores. Several stores opened on
// one MemoryData see the same documents, which simulates a restart: close
// one store, open another on the same data, hydrate. The zero value is not
// usable; call NewMemoryData.
type MemoryData struct {
	mu      sync.Mutex
	records map[string][]Record
	meta    map[string]Meta
}

// NewMemoryData returns empty storage.
func NewMemoryData() *MemoryData {
	return &MemoryData{records: map[string][]Record{}, meta: map[string]Meta{}}
}

// MemoryOptions configure a memory store.
type MemoryOptions struct {
	// Data is the storage to use; nil means fresh private storage.
	Data *MemoryData
	// Seam, when set, is called before every low-level write (an index
	// upsert, a record insert, a stream swap, a delete) with the number of
	// writes it stands for. A non-nil error aborts the whole operation
	// with nothing committed, as a failed statement rolls back a SQL
	// transaction. It is the fault-injection seam the conformance suite's
	// atomicity test arms (storetest.WithFault).
	Seam func(weight int) error
}

// Memory is an in-memory [Store], safe for concurrent use.
type Memory struct {
	data   *MemoryData
	seam   func(int) error
	mu     sync.Mutex
	closed bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns a memory store.
func NewMemory(opts MemoryOptions) *Memory {
	d := opts.Data
	if d == nil {
		d = NewMemoryData()
	}
	return &Memory{data: d, seam: opts.Seam}
}

// Data returns the storage, to open another store on it later.
func (m *Memory) Data() *MemoryData { return m.data }

// begin locks the data for one operation, failing when the store is closed
// or ctx is done.
func (m *Memory) begin(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, storeerr.New(storeerr.Closed, "", "memory store is closed", nil)
	}
	m.data.mu.Lock()
	return m.data.mu.Unlock, nil
}

// tx stages low-level writes and commits them only when every seam call
// succeeded.
type tx struct {
	seam   func(int) error
	writes []func()
}

func (t *tx) write(f func()) error {
	if t.seam != nil {
		if err := t.seam(1); err != nil {
			return err
		}
	}
	t.writes = append(t.writes, f)
	return nil
}

func (t *tx) commit() {
	for _, f := range t.writes {
		f()
	}
}

func (m *Memory) existing(docID string) *Meta {
	if mm, ok := m.data.meta[docID]; ok {
		return &mm
	}
	return nil
}

// Append implements [Store].
func (m *Memory) Append(ctx context.Context, docID string, rec Record) error {
	unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	resolved, err := ValidateAppend(docID, rec, m.existing(docID))
	if err != nil {
		return err
	}
	t := tx{seam: m.seam}
	if resolved != nil {
		meta := *resolved
		if err := t.write(func() { m.data.meta[docID] = meta }); err != nil {
			return err
		}
	}
	rc := cloneRecord(rec)
	if err := t.write(func() { m.data.records[docID] = append(m.data.records[docID], rc) }); err != nil {
		return err
	}
	t.commit()
	return nil
}

// AppendAfter implements [Store]. Each record is one low-level write for
// the seam, plus one for the index when the batch holds meta.
func (m *Memory) AppendAfter(ctx context.Context, docID, base string, recs []Record) error {
	unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	existing := m.existing(docID)
	head := Head{}
	if existing != nil {
		head = headOf(m.data.records[docID])
		head.Exists = true
	}
	if !head.Exists || head.Version != base {
		return &HeadError{DocID: docID, Base: base, Head: head}
	}
	resolved, err := ValidateBatch(docID, recs, existing)
	if err != nil {
		return err
	}
	t := tx{seam: m.seam}
	if *resolved != *existing {
		meta := *resolved
		if err := t.write(func() { m.data.meta[docID] = meta }); err != nil {
			return err
		}
	}
	for _, r := range recs {
		rc := cloneRecord(r)
		if err := t.write(func() { m.data.records[docID] = append(m.data.records[docID], rc) }); err != nil {
			return err
		}
	}
	t.commit()
	return nil
}

// Head implements [Store].
func (m *Memory) Head(ctx context.Context, docID string) (Head, error) {
	unlock, err := m.begin(ctx)
	if err != nil {
		return Head{}, err
	}
	defer unlock()
	if m.existing(docID) == nil {
		return Head{}, nil
	}
	h := headOf(m.data.records[docID])
	h.Exists = true
	return h, nil
}

// LoadAll implements [Store]. The records are copies.
func (m *Memory) LoadAll(ctx context.Context, docID string) ([]Record, error) {
	unlock, err := m.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	recs := m.data.records[docID]
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = cloneRecord(r)
	}
	return out, nil
}

// Replace implements [Store].
func (m *Memory) Replace(ctx context.Context, docID string, recs []Record) error {
	unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for _, r := range recs {
		if r.Kind != KindMeta && r.Kind != KindEntry {
			return storeerr.New(storeerr.InvalidRecord, docID, "record kind "+r.Kind.String(), nil)
		}
	}
	resolved, err := ResolveMeta(docID, recs, m.existing(docID))
	if err != nil {
		return err
	}
	stream := make([]Record, len(recs))
	for i, r := range recs {
		stream[i] = cloneRecord(r)
	}
	t := tx{seam: m.seam}
	if err := t.write(func() { m.data.records[docID] = stream }); err != nil {
		return err
	}
	if err := t.write(func() { m.data.meta[docID] = resolved }); err != nil {
		return err
	}
	t.commit()
	return nil
}

// Delete implements [Store].
func (m *Memory) Delete(ctx context.Context, docID string) error {
	unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	t := tx{seam: m.seam}
	if err := t.write(func() { delete(m.data.records, docID) }); err != nil {
		return err
	}
	if err := t.write(func() { delete(m.data.meta, docID) }); err != nil {
		return err
	}
	t.commit()
	return nil
}

// CurrentMeta implements [Store].
func (m *Memory) CurrentMeta(ctx context.Context, docID string) (*Meta, error) {
	unlock, err := m.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return m.existing(docID), nil
}

// ListDocIDs implements [Store]. Ids come sorted.
func (m *Memory) ListDocIDs(ctx context.Context, prefix string) ([]string, error) {
	unlock, err := m.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var ids []string
	for id := range m.data.meta {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Close implements [Store]. The data stays for other stores opened on it.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}
