package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"

	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/internal/sqlrow"
)

// row is the reference's row encoding, shared with the SQLite backend.
type row = sqlrow.Row

// Tables names where a store keeps its data. Zero fields take the
// reference's defaults; an empty Schema means the connection's search_path.
// Names are plain identifiers (letters, digits, underscore; at most 48
// bytes, so derived index names fit PostgreSQL's 63).
type Tables struct {
	Schema    string // default "" (search_path)
	DocMeta   string // default "kyneta_doc_meta"
	Records   string // default "kyneta_records"
	StoreMeta string // default "kyneta_store_meta"
}

// Options configure [Open] and [New].
type Options struct {
	// Tables overrides where the data lives (default: the reference's
	// table names on the search_path).
	Tables Tables
	// Logger receives diagnostics about rows that cannot be decoded (they
	// are skipped, never fatal). Nil discards them.
	Logger *slog.Logger
	// writeSeam, when set, runs before every write statement inside a
	// transaction; an error aborts and rolls back. Tests inject faults
	// with it.
	writeSeam func(weight int) error
}

const backendName = "postgres"

// Store is a PostgreSQL-backed [store.Store], safe for concurrent use and
// for sharing its tables with Stores in other processes (see the package
// documentation for how writers are serialized).
type Store struct {
	pool  *pgxpool.Pool
	owned bool // Close closes the pool
	q     names
	log   *slog.Logger
	seam  func(int) error

	// mu is held shared by every operation and exclusively by Close, so
	// Close waits for operations in progress before closing the pool.
	mu     sync.RWMutex
	closed bool

	hmu   sync.Mutex
	heads map[string]string // per document: the head version last seen
}

var _ store.Store = (*Store)(nil)

// names are the quoted, schema-qualified identifiers a store uses.
type names struct {
	docMeta, records, storeMeta string
	docMetaIndex                string
	schema, rawDocMeta          string
	rawRecords, rawStoreMeta    string
	lockSpace                   string // advisory lock namespace
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

func resolveNames(t Tables) (names, error) {
	if t.DocMeta == "" {
		t.DocMeta = "kyneta_doc_meta"
	}
	if t.Records == "" {
		t.Records = "kyneta_records"
	}
	if t.StoreMeta == "" {
		t.StoreMeta = "kyneta_store_meta"
	}
	for _, name := range []string{t.DocMeta, t.Records, t.StoreMeta} {
		if !identRE.MatchString(name) {
			return names{}, fmt.Errorf("postgres store: invalid table name %q", name)
		}
	}
	if t.Schema != "" && !identRE.MatchString(t.Schema) {
		return names{}, fmt.Errorf("postgres store: invalid schema name %q", t.Schema)
	}
	qual := func(table string) string {
		if t.Schema == "" {
			return pgx.Identifier{table}.Sanitize()
		}
		return pgx.Identifier{t.Schema, table}.Sanitize()
	}
	return names{
		docMeta:      qual(t.DocMeta),
		records:      qual(t.Records),
		storeMeta:    qual(t.StoreMeta),
		docMetaIndex: pgx.Identifier{t.DocMeta + "_doc_id_c"}.Sanitize(),
		schema:       t.Schema,
		rawDocMeta:   t.DocMeta,
		rawRecords:   t.Records,
		rawStoreMeta: t.StoreMeta,
		lockSpace:    qual(t.Records),
	}, nil
}

// Open connects a pool to dsn (a PostgreSQL URL or key=value string, see
// pgxpool.ParseConfig), migrates the tables and checks the format marker.
// The store owns the pool: Close closes it.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres store: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: connect: %w", err)
	}
	s, err := newStore(ctx, pool, true, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New is Open on a pool the caller owns (several stores, or the
// application, may share it); Close leaves the pool open.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	return newStore(ctx, pool, false, opts)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, owned bool, opts Options) (*Store, error) {
	q, err := resolveNames(opts.Tables)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, owned: owned, q: q, log: opts.Logger, seam: opts.writeSeam, heads: map[string]string{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// enter admits an operation unless the store is closed; the returned
// function ends it.
func (s *Store) enter() (func(), error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, storeerr.New(storeerr.Closed, "", "", nil)
	}
	return s.mu.RUnlock, nil
}

// lockKey is the advisory lock of one document of this store's tables. A
// collision between two documents only serializes them.
func (s *Store) lockKey(docID string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s.q.lockSpace))
	h.Write([]byte{0})
	h.Write([]byte(docID))
	return int64(h.Sum64())
}

// docState is what a write reads about its document once it holds the lock.
type docState struct {
	meta *store.Meta
	head string // version of the last decodable entry among the last headScan records, "" when none
	next int64  // seq of the next record
}

// write runs fn in a transaction holding the document's advisory lock,
// with the document's state read under the lock. The lock and the reads
// go in one batch (one round trip); each runs as its own statement, so
// the reads see everything committed before the lock was granted.
func (s *Store) write(ctx context.Context, docID string, fn func(tx pgx.Tx, st docState) error) error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	if err := checkDocID(docID); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		st, err := s.lockAndRead(ctx, tx, docID)
		if err != nil {
			return err
		}
		return fn(tx, st)
	})
}

func (s *Store) lockAndRead(ctx context.Context, tx pgx.Tx, docID string) (st docState, err error) {
	var b pgx.Batch
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, s.lockKey(docID))
	b.Queue(`SELECT data::text FROM `+s.q.docMeta+` WHERE doc_id = $1`, docID)
	// The seq range keeps this an index range scan whatever the planner
	// thinks of a table it has no statistics for yet.
	b.Queue(`SELECT payload, blob IS NOT NULL FROM `+s.q.records+` WHERE doc_id = $1 AND kind = 'entry'
		AND seq > (SELECT MAX(seq) FROM `+s.q.records+` WHERE doc_id = $1) - `+strconv.Itoa(headScan)+`
		ORDER BY seq DESC`, docID)
	b.Queue(`SELECT COALESCE(MAX(seq), -1) + 1 FROM `+s.q.records+` WHERE doc_id = $1`, docID)
	br := tx.SendBatch(ctx, &b)
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("postgres store: read doc: %w", cerr)
		}
	}()
	if _, err := br.Exec(); err != nil {
		return st, fmt.Errorf("postgres store: lock doc: %w", err)
	}
	var data []byte
	switch err := br.QueryRow().Scan(&data); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return st, fmt.Errorf("postgres store: read meta: %w", err)
	default:
		if st.meta, err = parseMeta(docID, data); err != nil {
			return st, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return st, fmt.Errorf("postgres store: read head: %w", err)
	}
	if st.head, err = headOf(rows); err != nil {
		return st, err
	}
	if err := br.QueryRow().Scan(&st.next); err != nil {
		return st, fmt.Errorf("postgres store: next seq: %w", err)
	}
	return st, nil
}

// checkDocID refuses ids PostgreSQL text cannot hold, with a store error
// instead of a driver error.
func checkDocID(docID string) error {
	if !utf8.ValidString(docID) {
		return storeerr.New(storeerr.InvalidRecord, docID, "document id is not valid UTF-8", nil)
	}
	for i := 0; i < len(docID); i++ {
		if docID[i] == 0 {
			return storeerr.New(storeerr.InvalidRecord, docID, "document id contains NUL", nil)
		}
	}
	return nil
}

// exec runs one write statement through the fault seam.
func (s *Store) exec(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	if s.seam != nil {
		if err := s.seam(1); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("postgres store: write: %w", err)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Store) readMeta(ctx context.Context, q querier, docID string) (*store.Meta, error) {
	var data []byte
	err := q.QueryRow(ctx, `SELECT data::text FROM `+s.q.docMeta+` WHERE doc_id = $1`, docID).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres store: read meta: %w", err)
	}
	return parseMeta(docID, data)
}

func parseMeta(docID string, data []byte) (*store.Meta, error) {
	var m store.Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, storeerr.New(storeerr.InvalidRecord, docID, "stored meta does not parse", err)
	}
	return &m, nil
}

// headScan is how many trailing records are looked through for the last
// entry that decodes (corrupt rows are skipped, as LoadAll skips them).
const headScan = 64

// headOf returns the version of the first decodable entry of rows
// (payload, blob IS NOT NULL), newest first.
func headOf(rows pgx.Rows) (string, error) {
	defer rows.Close()
	for rows.Next() {
		var (
			payload *string
			hasBlob bool
		)
		if err := rows.Scan(&payload, &hasBlob); err != nil {
			return "", fmt.Errorf("postgres store: read head: %w", err)
		}
		r := row{Kind: "entry"}
		if payload != nil {
			r.Payload = *payload
		}
		if hasBlob {
			r.Blob = []byte{}
		}
		if rec, err := r.Record(); err == nil {
			return rec.Version, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("postgres store: read head: %w", err)
	}
	return "", nil
}

func (s *Store) knownHead(docID string) string {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.heads[docID]
}

func (s *Store) setHead(docID, version string) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if version == "" {
		delete(s.heads, docID)
		return
	}
	s.heads[docID] = version
}

func (s *Store) upsertMeta(ctx context.Context, tx pgx.Tx, docID string, m store.Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.exec(ctx, tx, `INSERT INTO `+s.q.docMeta+` (doc_id, data) VALUES ($1, $2::jsonb)
		ON CONFLICT (doc_id) DO UPDATE SET data = EXCLUDED.data`, docID, string(b))
}

func (s *Store) insertRow(ctx context.Context, tx pgx.Tx, docID string, seq int64, r row) error {
	return s.exec(ctx, tx, `INSERT INTO `+s.q.records+` (doc_id, seq, kind, payload, blob) VALUES ($1, $2, $3, $4, $5)`,
		docID, seq, r.Kind, r.Payload, r.Blob)
}

// Append implements [store.Store]. An entry goes through the head check
// described in the package documentation.
func (s *Store) Append(ctx context.Context, docID string, rec store.Record) error {
	head := ""
	err := s.write(ctx, docID, func(tx pgx.Tx, st docState) error {
		resolved, err := store.ValidateAppend(docID, rec, st.meta)
		if err != nil {
			return err
		}
		r, err := sqlrow.FromRecord(rec)
		if err != nil {
			return storeerr.WithDoc(err, docID)
		}
		if rec.Kind == store.KindEntry {
			if st.head != "" && st.head == rec.Version {
				head = st.head // another writer stored this version already
				return nil
			}
			if known := s.knownHead(docID); st.head != known {
				return storeerr.New(storeerr.VersionConflict, docID, fmt.Sprintf("stream head is %q but this writer last saw %q; entry %q not appended", st.head, known, rec.Version), nil)
			}
			head = rec.Version
		}
		if resolved != nil {
			if err := s.upsertMeta(ctx, tx, docID, *resolved); err != nil {
				return err
			}
		}
		return s.insertRow(ctx, tx, docID, st.next, r)
	})
	if err != nil {
		return err
	}
	if rec.Kind == store.KindEntry {
		s.setHead(docID, head) // only after the commit: a rollback keeps the old head
	}
	return nil
}

// LoadAll implements [store.Store]. A row that cannot be decoded is skipped
// with a diagnostic: one corrupt row must not make a document unreadable.
func (s *Store) LoadAll(ctx context.Context, docID string) ([]store.Record, error) {
	leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := checkDocID(docID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, kind, payload, blob FROM `+s.q.records+` WHERE doc_id = $1 ORDER BY seq`, docID)
	if err != nil {
		return nil, fmt.Errorf("postgres store: load: %w", err)
	}
	defer rows.Close()
	var (
		out  []store.Record
		head string
	)
	for rows.Next() {
		var (
			seq     int64
			r       row
			payload *string
		)
		if err := rows.Scan(&seq, &r.Kind, &payload, &r.Blob); err != nil {
			return nil, fmt.Errorf("postgres store: scan: %w", err)
		}
		if payload != nil {
			r.Payload = *payload
		}
		rec, err := r.Record()
		if err != nil {
			s.log.Warn("postgres store: skipping corrupt record", "doc", docID, "seq", seq, "err", err)
			continue
		}
		if rec.Kind == store.KindEntry {
			head = rec.Version
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres store: load: %w", err)
	}
	s.setHead(docID, head)
	return out, nil
}

// Replace implements [store.Store]. It is last-writer-wins among writers
// sharing the tables.
func (s *Store) Replace(ctx context.Context, docID string, recs []store.Record) error {
	return s.replace(ctx, docID, nil, recs)
}

// ReplaceIf is Replace on condition: under the document's lock it checks
// that the stream ends at expect (expect.Exists false: the document is
// absent) and otherwise writes nothing and returns a *store.HeadError
// saying where it does end. Writers sharing the tables use it so that a
// registration or a rewrite never overwrites what another writer stored
// since they last looked.
func (s *Store) ReplaceIf(ctx context.Context, docID string, expect store.Head, recs []store.Record) error {
	return s.replace(ctx, docID, &expect, recs)
}

func (s *Store) replace(ctx context.Context, docID string, expect *store.Head, recs []store.Record) error {
	rows := make([]row, len(recs))
	head := ""
	for i, rec := range recs {
		r, err := sqlrow.FromRecord(rec)
		if err != nil {
			return storeerr.WithDoc(err, docID)
		}
		rows[i] = r
		if rec.Kind == store.KindEntry {
			head = rec.Version
		}
	}
	err := s.write(ctx, docID, func(tx pgx.Tx, st docState) error {
		if expect != nil {
			head := store.Head{Exists: st.meta != nil, Version: st.head}
			if head.Exists != expect.Exists || (head.Exists && head.Version != expect.Version) {
				return &store.HeadError{DocID: docID, Base: expect.Version, Head: head}
			}
		}
		resolved, err := store.ResolveMeta(docID, recs, st.meta)
		if err != nil {
			return err
		}
		if err := s.exec(ctx, tx, `DELETE FROM `+s.q.records+` WHERE doc_id = $1`, docID); err != nil {
			return err
		}
		for i, r := range rows {
			if err := s.insertRow(ctx, tx, docID, int64(i), r); err != nil {
				return err
			}
		}
		return s.upsertMeta(ctx, tx, docID, resolved)
	})
	if err != nil {
		return err
	}
	s.setHead(docID, head)
	return nil
}

// Delete implements [store.Store].
func (s *Store) Delete(ctx context.Context, docID string) error {
	err := s.write(ctx, docID, func(tx pgx.Tx, _ docState) error {
		if err := s.exec(ctx, tx, `DELETE FROM `+s.q.records+` WHERE doc_id = $1`, docID); err != nil {
			return err
		}
		return s.exec(ctx, tx, `DELETE FROM `+s.q.docMeta+` WHERE doc_id = $1`, docID)
	})
	if err != nil {
		return err
	}
	s.setHead(docID, "")
	return nil
}

// CurrentMeta implements [store.Store].
func (s *Store) CurrentMeta(ctx context.Context, docID string) (*store.Meta, error) {
	leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := checkDocID(docID); err != nil {
		return nil, err
	}
	return s.readMeta(ctx, s.pool, docID)
}

// ListDocIDs implements [store.Store]. The prefix is a range scan in byte
// order (the "C" collation), not LIKE, so '%' and '_' are literal and the
// database's collation does not matter.
func (s *Store) ListDocIDs(ctx context.Context, prefix string) ([]string, error) {
	leave, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := checkDocID(prefix); err != nil {
		return nil, err
	}
	q := `SELECT doc_id FROM ` + s.q.docMeta
	var args []any
	if prefix != "" {
		if upper, ok := prefixSuccessor(prefix); ok {
			q += ` WHERE doc_id COLLATE "C" >= $1 AND doc_id COLLATE "C" < $2`
			args = append(args, prefix, upper)
		} else {
			q += ` WHERE doc_id COLLATE "C" >= $1`
			args = append(args, prefix)
		}
	}
	q += ` ORDER BY doc_id COLLATE "C"`
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres store: list: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres store: list: %w", err)
	}
	return ids, nil
}

// prefixSuccessor returns the smallest valid UTF-8 string greater, in byte
// order, than every string that starts with prefix: the prefix with its
// last code point incremented (surrogates skipped), dropping trailing
// U+10FFFF. PostgreSQL text must be valid UTF-8, so bytes cannot simply be
// incremented.
func prefixSuccessor(prefix string) (string, bool) {
	runes := []rune(prefix)
	for i := len(runes) - 1; i >= 0; i-- {
		r := runes[i]
		if r >= utf8.MaxRune {
			continue
		}
		r++
		if r >= 0xD800 && r <= 0xDFFF {
			r = 0xE000
		}
		return string(runes[:i]) + string(r), true
	}
	return "", false
}

// Ping checks that the database answers (for readiness checks).
func (s *Store) Ping(ctx context.Context) error {
	leave, err := s.enter()
	if err != nil {
		return err
	}
	defer leave()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres store: ping: %w", err)
	}
	return nil
}

// Close implements [store.Store]: it waits for operations in progress and
// closes the pool if the store opened it. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// AppendAfter implements [store.Store]: under the document's advisory
// lock, one transaction checks that the stream ends at base, validates the
// batch and inserts it. Writers on several nodes are serialized by the
// lock; one whose base is stale gets a *store.HeadError and recomputes.
func (s *Store) AppendAfter(ctx context.Context, docID, base string, recs []store.Record) error {
	last := ""
	err := s.write(ctx, docID, func(tx pgx.Tx, st docState) error {
		head := store.Head{Exists: st.meta != nil, Version: st.head}
		if !head.Exists || head.Version != base {
			return &store.HeadError{DocID: docID, Base: base, Head: head}
		}
		resolved, err := store.ValidateBatch(docID, recs, st.meta)
		if err != nil {
			return err
		}
		if *resolved != *st.meta {
			if err := s.upsertMeta(ctx, tx, docID, *resolved); err != nil {
				return err
			}
		}
		for i, rec := range recs {
			r, err := sqlrow.FromRecord(rec)
			if err != nil {
				return storeerr.WithDoc(err, docID)
			}
			if err := s.insertRow(ctx, tx, docID, st.next+int64(i), r); err != nil {
				return err
			}
			if rec.Kind == store.KindEntry {
				last = rec.Version
			}
		}
		return nil
	})
	if err == nil && last != "" {
		s.setHead(docID, last)
	}
	return err
}

// Head implements [store.Store]; it reads under the document's lock, so it
// never sees half of another node's batch.
func (s *Store) Head(ctx context.Context, docID string) (store.Head, error) {
	var h store.Head
	err := s.write(ctx, docID, func(_ pgx.Tx, st docState) error {
		h = store.Head{Exists: st.meta != nil, Version: st.head}
		return nil
	})
	return h, err
}
