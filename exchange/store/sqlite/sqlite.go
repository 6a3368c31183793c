package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Tables names the three tables a store uses. Zero fields take the
// reference's defaults, so several isolated stores can share one database
// by using different names.
type Tables struct {
	DocMeta   string // default "kyneta_doc_meta"
	Records   string // default "kyneta_records"
	StoreMeta string // default "kyneta_store_meta"
}

// Options configure [Open].
type Options struct {
	// Tables overrides table names (default: the reference's names).
	Tables Tables
	// BusyTimeoutMillis is how long a write waits for a lock held by another
	// connection to the same file. Default 5000.
	BusyTimeoutMillis int
	// Logger receives diagnostics about rows that cannot be decoded (they
	// are skipped, never fatal). Nil discards them.
	Logger *slog.Logger
	// writeSeam, when set, runs before every low-level write statement
	// inside a transaction; an error aborts and rolls back. Tests use it to
	// inject faults.
	writeSeam func(weight int) error
}

const backendName = "sqlite"

// Store is a SQLite-backed [store.Store], safe for concurrent use.
type Store struct {
	db     *sql.DB
	t      Tables
	log    *slog.Logger
	seam   func(int) error
	mu     sync.Mutex // serialises writers; SQLite has one writer anyway
	closed bool
}

var _ store.Store = (*Store)(nil)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open opens (creating if needed) the database at path and checks its
// format marker. path is a file name; ":memory:" is not supported because
// every pooled connection would see its own database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	t := opts.Tables
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
			return nil, fmt.Errorf("sqlite store: invalid table name %q", name)
		}
	}
	busy := opts.BusyTimeoutMillis
	if busy <= 0 {
		busy = 5000
	}
	dsn := "file:" + path + "?_pragma=" + "busy_timeout(" + strconv.Itoa(busy) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open %s: %w", path, err)
	}
	s := &Store{db: db, t: t, log: opts.Logger, seam: opts.writeSeam}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + s.t.DocMeta + ` (doc_id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS ` + s.t.Records + ` (doc_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT, blob BLOB, PRIMARY KEY (doc_id, seq)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS ` + s.t.StoreMeta + ` (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite store: create schema: %w", err)
		}
	}
	return s.checkFormat(ctx)
}

type formatJSON struct {
	Major *int `json:"major"`
	Minor *int `json:"minor"`
}

func (s *Store) checkFormat(ctx context.Context) error {
	current := fmt.Sprintf("%d.%d", store.FormatVersion.Major, store.FormatVersion.Minor)
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM `+s.t.StoreMeta+` WHERE key = 'format'`).Scan(&raw)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var one int
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM `+s.t.DocMeta+` LIMIT 1`).Scan(&one)
		if err == nil {
			return &store.FormatError{Reason: store.ReasonUnversionedExistingData, Backend: backendName, Current: current}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite store: read documents: %w", err)
		}
		marker, _ := json.Marshal(map[string]int{"major": store.FormatVersion.Major, "minor": store.FormatVersion.Minor})
		if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO `+s.t.StoreMeta+` (key, value) VALUES ('format', ?)`, string(marker)); err != nil {
			return fmt.Errorf("sqlite store: write format marker: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("sqlite store: read format marker: %w", err)
	}
	var f formatJSON
	if json.Unmarshal([]byte(raw), &f) != nil || f.Major == nil || f.Minor == nil || *f.Major < 0 || *f.Minor < 0 {
		return &store.FormatError{Reason: store.ReasonMalformedVersion, Backend: backendName, Stored: raw, Current: current}
	}
	if *f.Major != store.FormatVersion.Major {
		return &store.FormatError{Reason: store.ReasonIncompatibleMajor, Backend: backendName, Stored: raw, Current: current}
	}
	return nil
}

// entryJSON is the reference's entry row payload. Binary data lives in the
// blob column instead of "data".
type entryJSON struct {
	Kind     string  `json:"kind"`
	Encoding string  `json:"encoding"`
	Version  string  `json:"version"`
	Data     *string `json:"data,omitempty"`
	Lineage  *string `json:"lineage,omitempty"`
}

type row struct {
	kind    string
	payload string
	blob    []byte // nil = NULL
}

func toRow(rec store.Record) (row, error) {
	switch rec.Kind {
	case store.KindMeta:
		b, err := json.Marshal(rec.Meta)
		if err != nil {
			return row{}, err
		}
		return row{kind: "meta", payload: string(b)}, nil
	case store.KindEntry:
		p := rec.Payload
		e := entryJSON{Kind: string(p.Kind), Encoding: string(p.Encoding), Version: rec.Version}
		if p.Lineage != "" {
			l := p.Lineage
			e.Lineage = &l
		}
		var blob []byte
		if p.Encoding == wire.Binary {
			blob = p.Data
			if blob == nil {
				blob = []byte{} // an empty binary payload is X'', not NULL
			}
		} else {
			if !utf8.Valid(p.Data) {
				return row{}, &store.Error{Code: store.CodeInvalidRecord, Msg: "JSON payload is not valid UTF-8"}
			}
			d := string(p.Data)
			e.Data = &d
		}
		b, err := marshalNoEscape(e)
		if err != nil {
			return row{}, err
		}
		return row{kind: "entry", payload: b, blob: blob}, nil
	}
	return row{}, &store.Error{Code: store.CodeInvalidRecord, Msg: "record kind " + rec.Kind.String()}
}

// marshalNoEscape is json.Marshal without HTML escaping, closer to what
// JSON.stringify writes (both parse back to the same value either way).
func marshalNoEscape(v any) (string, error) {
	var buf jsonBuffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	out := buf.b
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return string(out), nil
}

type jsonBuffer struct{ b []byte }

func (j *jsonBuffer) Write(p []byte) (int, error) { j.b = append(j.b, p...); return len(p), nil }

func fromRow(r row) (store.Record, error) {
	switch r.kind {
	case "meta":
		var m store.Meta
		if err := json.Unmarshal([]byte(r.payload), &m); err != nil {
			return store.Record{}, err
		}
		return store.MetaRecord(m), nil
	case "entry":
		var e entryJSON
		if err := json.Unmarshal([]byte(r.payload), &e); err != nil {
			return store.Record{}, err
		}
		p := replica.Payload{Kind: wire.PayloadKind(e.Kind), Encoding: wire.PayloadEncoding(e.Encoding)}
		if p.Kind != wire.Entirety && p.Kind != wire.Since {
			return store.Record{}, fmt.Errorf("unknown payload kind %q", e.Kind)
		}
		if p.Encoding != wire.JSON && p.Encoding != wire.Binary {
			return store.Record{}, fmt.Errorf("unknown payload encoding %q", e.Encoding)
		}
		switch {
		case r.blob != nil:
			p.Data = r.blob
		case e.Data != nil:
			p.Data = []byte(*e.Data)
		default:
			return store.Record{}, errors.New("entry has neither data nor blob")
		}
		if e.Lineage != nil {
			p.Lineage = *e.Lineage
		}
		return store.EntryRecord(p, e.Version), nil
	}
	return store.Record{}, fmt.Errorf("unknown row kind %q", r.kind)
}

// begin starts a write transaction, failing when the store is closed.
func (s *Store) begin(ctx context.Context) (*sql.Tx, func(), error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, store.ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("sqlite store: begin: %w", err)
	}
	return tx, s.mu.Unlock, nil
}

// exec runs one write statement of a transaction through the fault seam.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	if s.seam != nil {
		if err := s.seam(1); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

func (s *Store) readMeta(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, docID string) (*store.Meta, error) {
	var data string
	err := q.QueryRowContext(ctx, `SELECT data FROM `+s.t.DocMeta+` WHERE doc_id = ?`, docID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite store: read meta: %w", err)
	}
	var m store.Meta
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return nil, &store.Error{Code: store.CodeInvalidRecord, DocID: docID, Msg: "stored meta does not parse", Err: err}
	}
	return &m, nil
}

// Append implements [store.Store].
func (s *Store) Append(ctx context.Context, docID string, rec store.Record) (err error) {
	tx, unlock, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	existing, err := s.readMeta(ctx, tx, docID)
	if err != nil {
		return err
	}
	resolved, err := store.ValidateAppend(docID, rec, existing)
	if err != nil {
		return err
	}
	r, err := toRow(rec)
	if err != nil {
		return withDoc(err, docID)
	}
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), -1) + 1 FROM `+s.t.Records+` WHERE doc_id = ?`, docID).Scan(&next); err != nil {
		return fmt.Errorf("sqlite store: next seq: %w", err)
	}
	if resolved != nil {
		b, err := json.Marshal(*resolved)
		if err != nil {
			return err
		}
		if err := s.exec(ctx, tx, `INSERT OR REPLACE INTO `+s.t.DocMeta+` (doc_id, data) VALUES (?, ?)`, docID, string(b)); err != nil {
			return err
		}
	}
	if err := s.exec(ctx, tx, `INSERT INTO `+s.t.Records+` (doc_id, seq, kind, payload, blob) VALUES (?, ?, ?, ?, ?)`,
		docID, next, r.kind, r.payload, r.blob); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	return nil
}

func withDoc(err error, docID string) error {
	var se *store.Error
	if errors.As(err, &se) && se.DocID == "" {
		c := *se
		c.DocID = docID
		return &c
	}
	return err
}

// LoadAll implements [store.Store]. A row that cannot be decoded is skipped
// with a diagnostic: one corrupt row must not make a document unreadable.
func (s *Store) LoadAll(ctx context.Context, docID string) ([]store.Record, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, kind, payload, blob, blob IS NULL FROM `+s.t.Records+` WHERE doc_id = ? ORDER BY seq`, docID)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: load: %w", err)
	}
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		var (
			seq     int64
			r       row
			payload sql.NullString
			isNull  bool
		)
		if err := rows.Scan(&seq, &r.kind, &payload, &r.blob, &isNull); err != nil {
			return nil, fmt.Errorf("sqlite store: scan: %w", err)
		}
		r.payload = payload.String
		if !isNull && r.blob == nil {
			r.blob = []byte{} // the driver returns an empty BLOB as nil
		}
		rec, err := fromRow(r)
		if err != nil {
			s.log.Warn("sqlite store: skipping corrupt record", "doc", docID, "seq", seq, "err", err)
			continue
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: load: %w", err)
	}
	return out, nil
}

// Replace implements [store.Store].
func (s *Store) Replace(ctx context.Context, docID string, recs []store.Record) (err error) {
	tx, unlock, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	existing, err := s.readMeta(ctx, tx, docID)
	if err != nil {
		return err
	}
	rows := make([]row, len(recs))
	for i, rec := range recs {
		if rows[i], err = toRow(rec); err != nil {
			return withDoc(err, docID)
		}
	}
	resolved, err := store.ResolveMeta(docID, recs, existing)
	if err != nil {
		return err
	}
	if err := s.exec(ctx, tx, `DELETE FROM `+s.t.Records+` WHERE doc_id = ?`, docID); err != nil {
		return err
	}
	for i, r := range rows {
		if err := s.exec(ctx, tx, `INSERT INTO `+s.t.Records+` (doc_id, seq, kind, payload, blob) VALUES (?, ?, ?, ?, ?)`,
			docID, i, r.kind, r.payload, r.blob); err != nil {
			return err
		}
	}
	b, err := json.Marshal(resolved)
	if err != nil {
		return err
	}
	if err := s.exec(ctx, tx, `INSERT OR REPLACE INTO `+s.t.DocMeta+` (doc_id, data) VALUES (?, ?)`, docID, string(b)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	return nil
}

// Delete implements [store.Store].
func (s *Store) Delete(ctx context.Context, docID string) (err error) {
	tx, unlock, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := s.exec(ctx, tx, `DELETE FROM `+s.t.Records+` WHERE doc_id = ?`, docID); err != nil {
		return err
	}
	if err := s.exec(ctx, tx, `DELETE FROM `+s.t.DocMeta+` WHERE doc_id = ?`, docID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	return nil
}

// CurrentMeta implements [store.Store].
func (s *Store) CurrentMeta(ctx context.Context, docID string) (*store.Meta, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return s.readMeta(ctx, s.db, docID)
}

// ListDocIDs implements [store.Store]. The prefix is a byte-range scan, not
// LIKE, because SQLite's LIKE ignores ASCII case (the reference's older
// releases listed "users/x" for the prefix "Users/").
func (s *Store) ListDocIDs(ctx context.Context, prefix string) ([]string, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	q := `SELECT doc_id FROM ` + s.t.DocMeta
	var args []any
	if prefix != "" {
		if upper, ok := prefixSuccessor(prefix); ok {
			q += ` WHERE doc_id >= ? AND doc_id < ?`
			args = append(args, prefix, upper)
		} else {
			q += ` WHERE doc_id >= ?`
			args = append(args, prefix)
		}
	}
	q += ` ORDER BY doc_id`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: list: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite store: list: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// prefixSuccessor returns the smallest string greater than every string
// that starts with prefix, in SQLite's BINARY (byte) order.
func prefixSuccessor(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func (s *Store) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// Close implements [store.Store]. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}
