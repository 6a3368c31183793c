package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/internal/sqlrow"

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
	// BusyTimeoutMillis is how long Open waits for another holder of the
	// database file to let go of it before refusing with reason "locked"
	// (a restart can overlap the previous process's exit). Default 5000.
	BusyTimeoutMillis int
	// Logger receives a diagnostic for every broken stream LoadAll
	// reports. Nil discards them.
	Logger *slog.Logger
	// writeSeam, when set, runs before every low-level write statement
	// inside a transaction; an error aborts and rolls back. Tests use it to
	// inject faults.
	writeSeam func(weight int) error
}

const backendName = "sqlite"

// handle is one open database file: its single connection, the writer
// lock, and the stores (table namespaces) using it.
type handle struct {
	db   *sql.DB
	path string
	wmu  sync.Mutex // serialises write transactions of every namespace

	mu     sync.Mutex
	tables map[string]bool // records tables of the open stores
}

// Store is a SQLite-backed [store.Store], safe for concurrent use.
type Store struct {
	h      *handle
	db     *sql.DB
	t      Tables
	log    *slog.Logger
	seam   func(int) error
	owned  bool // registered on h (false for a test's view)
	mu     sync.Mutex
	closed bool
}

var _ store.Store = (*Store)(nil)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func withDefaults(t Tables) (Tables, error) {
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
			return t, fmt.Errorf("sqlite store: invalid table name %q", name)
		}
	}
	return t, nil
}

// dsn returns the driver's data source name for the file at path: a
// file: URI whose path is escaped (so '?', '#', '%' and spaces in a file
// name stay part of the name instead of starting a query, a fragment or
// an escape) and whose query carries the connection settings. A relative
// path is made absolute first, because in a URI it would read as a host.
//
// Pragmas: busy_timeout comes first (the driver runs it first); then
// locking_mode=EXCLUSIVE, which must precede the switch to WAL so the
// WAL index lives in process memory instead of a shared-memory file
// (the driver runs the _pragma list before _journal_mode); then WAL with
// synchronous=FULL, so a commit that returned survives a power cut.
func dsn(path string, busyMillis int) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows volume: file:///C:/...
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(busyMillis)+")")
	q.Add("_pragma", "locking_mode(EXCLUSIVE)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String(), nil
}

// Open opens (creating if needed) the database at path and checks its
// format marker. path is a file name; ":memory:" is not supported.
//
// # One process per file
//
// The store holds the database file with SQLite's exclusive locking mode
// for as long as it is open, and Open fails with reason "locked" when
// another process (or another Open in this process) holds it. Two writers
// on one file would both acknowledge writes and store diverging content
// under the same versions. The exclusive locking mode is SQLite's own lock,
// chosen over a lock file because every SQLite client honours it (the
// reference's store and the sqlite3 shell included), the kernel drops it
// when the process dies (a kill -9 leaves nothing stale behind), and no
// shared-memory file is needed. Its costs: the store uses one connection,
// so reads queue behind a write in progress; and, as SQLite's locks are
// POSIX record locks, closing any other descriptor of the database file
// in this process releases them, so the process must not open the file
// by other means while the store is open. To keep several table
// namespaces in one file, open the first with Open and the others with
// [Store.Namespace].
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	t, err := withDefaults(opts.Tables)
	if err != nil {
		return nil, err
	}
	busy := opts.BusyTimeoutMillis
	if busy <= 0 {
		busy = 5000
	}
	name, err := dsn(path, busy)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open %s: %w", path, err)
	}
	// One connection holds the exclusive lock; a second one would be
	// locked out like another process. It never expires, for the same
	// reason.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	h := &handle{db: db, path: path, tables: map[string]bool{}}
	if err := h.lock(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s, err := h.open(ctx, t, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// lock takes the file's exclusive lock now rather than at the first write:
// a write transaction makes SQLite acquire it, and in exclusive locking
// mode it is kept until the connection closes.
func (h *handle) lock(ctx context.Context) error {
	conn, err := h.db.Conn(ctx)
	if err != nil {
		return h.openError(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return h.openError(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return h.openError(err)
	}
	return nil
}

// openError turns SQLite's busy and locked results into reason "locked".
func (h *handle) openError(err error) error {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return storeerr.New(storeerr.Locked, "", fmt.Sprintf("sqlite database %q is in use: another process, or another store of this one, holds its exclusive lock", h.path), err)
		}
	}
	return fmt.Errorf("sqlite store: open %s: %w", h.path, err)
}

// SQLite primary result codes.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// open makes a store for namespace t on h.
func (h *handle) open(ctx context.Context, t Tables, opts Options) (*Store, error) {
	h.mu.Lock()
	if h.tables[t.Records] {
		h.mu.Unlock()
		return nil, storeerr.New(storeerr.Locked, "", fmt.Sprintf("sqlite database %q already has an open store on table %s", h.path, t.Records), nil)
	}
	h.tables[t.Records] = true
	h.mu.Unlock()
	s := h.view(t, opts)
	s.owned = true
	if err := s.init(ctx); err != nil {
		h.release(t)
		return nil, err
	}
	return s, nil
}

// view returns a store on namespace t without registering it (tests use
// it to read what another view committed).
func (h *handle) view(t Tables, opts Options) *Store {
	s := &Store{h: h, db: h.db, t: t, log: opts.Logger, seam: opts.writeSeam}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// release forgets namespace t and closes the file with the last one.
func (h *handle) release(t Tables) (last bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.tables, t.Records)
	return len(h.tables) == 0
}

// Namespace opens another store in the same database file, on other
// tables (opts.Tables must differ from every store open on the file;
// BusyTimeoutMillis is ignored). It shares this store's connection and
// lock; the file is closed when the last of them is.
func (s *Store) Namespace(ctx context.Context, opts Options) (*Store, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	t, err := withDefaults(opts.Tables)
	if err != nil {
		return nil, err
	}
	return s.h.open(ctx, t, opts)
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
	current := fmt.Sprintf("%d.%d", sqlrow.FormatVersion.Major, sqlrow.FormatVersion.Minor)
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM `+s.t.StoreMeta+` WHERE key = 'format'`).Scan(&raw)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var one int
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM `+s.t.DocMeta+` LIMIT 1`).Scan(&one)
		if err == nil {
			return storeerr.Format(storeerr.UnversionedExistingData, backendName, "", current)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite store: read documents: %w", err)
		}
		marker, _ := json.Marshal(map[string]int{"major": sqlrow.FormatVersion.Major, "minor": sqlrow.FormatVersion.Minor})
		if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO `+s.t.StoreMeta+` (key, value) VALUES ('format', ?)`, string(marker)); err != nil {
			return fmt.Errorf("sqlite store: write format marker: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("sqlite store: read format marker: %w", err)
	}
	var f formatJSON
	if json.Unmarshal([]byte(raw), &f) != nil || f.Major == nil || f.Minor == nil || *f.Major < 0 || *f.Minor < 0 {
		return storeerr.Format(storeerr.MalformedVersion, backendName, raw, current)
	}
	if *f.Major != sqlrow.FormatVersion.Major {
		return storeerr.Format(storeerr.IncompatibleMajor, backendName, raw, current)
	}
	return nil
}

// row is the reference's row encoding, shared with the PostgreSQL backend.
type row = sqlrow.Row

// begin starts a write transaction, failing when the store is closed.
func (s *Store) begin(ctx context.Context) (*sql.Tx, func(), error) {
	if err := s.checkOpen(); err != nil {
		return nil, nil, err
	}
	s.h.wmu.Lock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		s.h.wmu.Unlock()
		return nil, nil, writeFailed("begin", err)
	}
	return tx, s.h.wmu.Unlock, nil
}

// exec runs one write statement of a transaction through the fault seam.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	if s.seam != nil {
		if err := s.seam(1); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return writeFailed("write", err)
	}
	return nil
}

// writeFailed types a failed write statement or commit as
// reason "write-failed"; SQLite has rolled the transaction back.
func writeFailed(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return storeerr.New(storeerr.WriteFailed, "", "sqlite "+op, err)
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
		return nil, storeerr.New(storeerr.InvalidRecord, docID, "stored meta does not parse", err)
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
			err = storeerr.WithDoc(err, docID)
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
	r, err := sqlrow.FromRecord(rec)
	if err != nil {
		return storeerr.WithDoc(err, docID)
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
		docID, next, r.Kind, r.Payload, r.Blob); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return writeFailed("commit", err)
	}
	return nil
}

// LoadAll implements [store.Store]. It checks the stream as it reads: the
// sequence numbers must run 0, 1, 2, … without a gap, the first record
// must be meta, and every row must decode. At the first violation it
// stops and returns the records before it together with a
// [*store.CorruptError] (logged as well); nothing after a break is used,
// because a stream of deltas is only meaningful without holes.
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
	last := ""
	corrupt := func(reason string, seq int64, detail string, cause error) ([]store.Record, error) {
		e := &store.CorruptError{DocID: docID, Reason: reason, Index: len(out), Seq: seq,
			Good: len(out), LastVersion: last, Detail: detail, Err: cause}
		s.log.Error("sqlite store: loading stopped at a broken stream", "doc", docID, "err", e)
		return out, e
	}
	for rows.Next() {
		var (
			seq     int64
			r       row
			payload sql.NullString
			isNull  bool
		)
		if err := rows.Scan(&seq, &r.Kind, &payload, &r.Blob, &isNull); err != nil {
			return nil, fmt.Errorf("sqlite store: scan: %w", err)
		}
		if want := int64(len(out)); seq != want {
			return corrupt(storeerr.SequenceGap, seq, fmt.Sprintf("expected seq %d", want), nil)
		}
		r.Payload = payload.String
		if !isNull && r.Blob == nil {
			r.Blob = []byte{} // the driver returns an empty BLOB as nil
		}
		rec, err := r.Record()
		if err != nil {
			return corrupt(storeerr.Undecodable, seq, "", err)
		}
		if len(out) == 0 && rec.Kind != store.KindMeta {
			return corrupt(storeerr.NoLeadingMeta, seq, "the first record is "+rec.Kind.String(), nil)
		}
		if rec.Kind == store.KindEntry {
			last = rec.Version
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: load: %w", err)
	}
	return out, nil
}

// AppendAfter implements [store.Store]: one transaction that checks the
// head, validates the batch and inserts it.
func (s *Store) AppendAfter(ctx context.Context, docID, base string, recs []store.Record) (err error) {
	tx, unlock, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			err = storeerr.WithDoc(err, docID)
		}
	}()
	existing, err := s.readMeta(ctx, tx, docID)
	if err != nil {
		return err
	}
	head := store.Head{Exists: existing != nil}
	var next int64
	if existing != nil {
		if head.Version, err = s.lastVersion(ctx, tx, docID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), -1) + 1 FROM `+s.t.Records+` WHERE doc_id = ?`, docID).Scan(&next); err != nil {
			return fmt.Errorf("sqlite store: next seq: %w", err)
		}
	}
	if !head.Exists || head.Version != base {
		return &store.HeadError{DocID: docID, Base: base, Head: head}
	}
	resolved, err := store.ValidateBatch(docID, recs, existing)
	if err != nil {
		return err
	}
	rows := make([]row, len(recs))
	for i, rec := range recs {
		if rows[i], err = sqlrow.FromRecord(rec); err != nil {
			return storeerr.WithDoc(err, docID)
		}
	}
	if *resolved != *existing {
		b, err := json.Marshal(*resolved)
		if err != nil {
			return err
		}
		if err := s.exec(ctx, tx, `INSERT OR REPLACE INTO `+s.t.DocMeta+` (doc_id, data) VALUES (?, ?)`, docID, string(b)); err != nil {
			return err
		}
	}
	for i, r := range rows {
		if err := s.exec(ctx, tx, `INSERT INTO `+s.t.Records+` (doc_id, seq, kind, payload, blob) VALUES (?, ?, ?, ?, ?)`,
			docID, next+int64(i), r.Kind, r.Payload, r.Blob); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return writeFailed("commit", err)
	}
	return nil
}

// Head implements [store.Store].
func (s *Store) Head(ctx context.Context, docID string) (store.Head, error) {
	if err := s.checkOpen(); err != nil {
		return store.Head{}, err
	}
	m, err := s.readMeta(ctx, s.db, docID)
	if err != nil || m == nil {
		return store.Head{}, err
	}
	v, err := s.lastVersion(ctx, s.db, docID)
	return store.Head{Exists: true, Version: v}, err
}

// lastVersion reads the version of the document's last entry row.
func (s *Store) lastVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, docID string) (string, error) {
	var (
		seq     int64
		payload sql.NullString
	)
	err := q.QueryRowContext(ctx, `SELECT seq, payload FROM `+s.t.Records+` WHERE doc_id = ? AND kind = 'entry' ORDER BY seq DESC LIMIT 1`, docID).Scan(&seq, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite store: read head: %w", err)
	}
	v, err := sqlrow.EntryVersion(payload.String)
	if err != nil {
		return "", &store.CorruptError{DocID: docID, Reason: storeerr.Undecodable, Index: -1, Seq: seq,
			Detail: "the last entry does not decode", Err: err}
	}
	return v, nil
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
			err = storeerr.WithDoc(err, docID)
		}
	}()
	existing, err := s.readMeta(ctx, tx, docID)
	if err != nil {
		return err
	}
	rows := make([]row, len(recs))
	for i, rec := range recs {
		if rows[i], err = sqlrow.FromRecord(rec); err != nil {
			return storeerr.WithDoc(err, docID)
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
			docID, i, r.Kind, r.Payload, r.Blob); err != nil {
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
		return writeFailed("commit", err)
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
			err = storeerr.WithDoc(err, docID)
		}
	}()
	if err := s.exec(ctx, tx, `DELETE FROM `+s.t.Records+` WHERE doc_id = ?`, docID); err != nil {
		return err
	}
	if err := s.exec(ctx, tx, `DELETE FROM `+s.t.DocMeta+` WHERE doc_id = ?`, docID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return writeFailed("commit", err)
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
		return storeerr.New(storeerr.Closed, "", "", nil)
	}
	return nil
}

// Close implements [store.Store]. It is idempotent. The database file
// (and its lock) is released when the last store on it closes.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.owned && s.h.release(s.t) {
		return s.db.Close()
	}
	return nil
}
