package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"

	"github.com/kyneta-go/kyneta/exchange/store/internal/sqlrow"
)

// layoutVersion is the table layout version this release migrates to.
const layoutVersion = 2

// migrations[i] brings the tables from version i to i+1. Append only: a
// released step is never edited.
var migrations = []func(n names) []string{
	// 1: the reference's layout (its schema.sql).
	func(n names) []string {
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + n.docMeta + ` (doc_id TEXT PRIMARY KEY, data JSONB NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS ` + n.records + ` (doc_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT, blob BYTEA, PRIMARY KEY (doc_id, seq))`,
			`CREATE TABLE IF NOT EXISTS ` + n.storeMeta + ` (key TEXT PRIMARY KEY, value JSONB NOT NULL)`,
		}
	},
	// 2: prefix listing scans document ids in byte order whatever the
	// database collation; this index serves it.
	func(n names) []string {
		return []string{`CREATE INDEX IF NOT EXISTS ` + n.docMetaIndex + ` ON ` + n.docMeta + ` (doc_id COLLATE "C")`}
	},
}

const schemaVersionKey = "schema_version"

// expectedColumns is the reference layout, checked on every open so a
// foreign table with the same name is refused with a clear error.
var expectedColumns = []struct {
	table func(names) string
	cols  [][2]string // name, data_type
}{
	{func(n names) string { return n.rawDocMeta }, [][2]string{{"doc_id", "text"}, {"data", "jsonb"}}},
	{func(n names) string { return n.rawRecords }, [][2]string{{"doc_id", "text"}, {"seq", "integer"}, {"kind", "text"}, {"payload", "text"}, {"blob", "bytea"}}},
	{func(n names) string { return n.rawStoreMeta }, [][2]string{{"key", "text"}, {"value", "jsonb"}}},
}

// migrate brings the tables to layoutVersion and checks the format
// marker, in one transaction under an advisory lock so that nodes opening
// the same tables at once take turns.
func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		h := fnv.New64a()
		h.Write([]byte("kyneta-migrate\x00" + s.q.lockSpace))
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
			return fmt.Errorf("postgres store: migration lock: %w", err)
		}
		level, err := s.schemaLevel(ctx, tx)
		if err != nil {
			return err
		}
		for v := level; v < len(migrations); v++ {
			for _, stmt := range migrations[v](s.q) {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("postgres store: migration %d: %w", v+1, err)
				}
			}
		}
		if err := s.checkColumns(ctx, tx); err != nil {
			return err
		}
		if level < layoutVersion {
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.q.storeMeta+` (key, value) VALUES ($1, $2::jsonb)
				ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, schemaVersionKey, strconv.Itoa(layoutVersion)); err != nil {
				return fmt.Errorf("postgres store: record schema version: %w", err)
			}
		}
		return s.checkFormat(ctx, tx)
	})
}

func (s *Store) tableExists(ctx context.Context, tx pgx.Tx, qualified string) (bool, error) {
	var oid *uint32
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1)::oid`, qualified).Scan(&oid); err != nil {
		return false, fmt.Errorf("postgres store: look up %s: %w", qualified, err)
	}
	return oid != nil, nil
}

// schemaLevel returns the recorded schema version: 0 for missing tables,
// 1 for the reference's tables without a recorded version.
func (s *Store) schemaLevel(ctx context.Context, tx pgx.Tx) (int, error) {
	current := strconv.Itoa(layoutVersion)
	ok, err := s.tableExists(ctx, tx, s.q.storeMeta)
	if err != nil || !ok {
		return 0, err
	}
	var raw string
	err = tx.QueryRow(ctx, `SELECT value::text FROM `+s.q.storeMeta+` WHERE key = $1`, schemaVersionKey).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		for _, t := range []string{s.q.docMeta, s.q.records} {
			if ok, err := s.tableExists(ctx, tx, t); err != nil || !ok {
				return 0, err
			}
		}
		return 1, nil // made by the reference's schema.sql
	}
	if err != nil {
		return 0, fmt.Errorf("postgres store: read schema version: %w", err)
	}
	var v int
	if json.Unmarshal([]byte(raw), &v) != nil || v < 1 {
		return 0, storeerr.Format(storeerr.MalformedVersion, backendName, schemaVersionKey+" "+raw, schemaVersionKey+" "+current)
	}
	if v > layoutVersion {
		return 0, storeerr.Format(storeerr.IncompatibleMajor, backendName, schemaVersionKey+" "+raw, schemaVersionKey+" "+current)
	}
	return v, nil
}

func (s *Store) checkColumns(ctx context.Context, tx pgx.Tx) error {
	schemaExpr := "current_schema()"
	args := []any{}
	if s.q.schema != "" {
		schemaExpr = "$2"
		args = append(args, s.q.schema)
	}
	for _, want := range expectedColumns {
		table := want.table(s.q)
		rows, err := tx.Query(ctx, `SELECT column_name::text, data_type::text FROM information_schema.columns
			WHERE table_name = $1 AND table_schema = `+schemaExpr, append([]any{table}, args...)...)
		if err != nil {
			return fmt.Errorf("postgres store: read columns of %s: %w", table, err)
		}
		have := map[string]string{}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				rows.Close()
				return fmt.Errorf("postgres store: read columns of %s: %w", table, err)
			}
			have[name] = typ
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres store: read columns of %s: %w", table, err)
		}
		var problems []string
		for _, c := range want.cols {
			switch typ, ok := have[c[0]]; {
			case !ok:
				problems = append(problems, fmt.Sprintf("missing column %q", c[0]))
			case typ != c[1]:
				problems = append(problems, fmt.Sprintf("column %q is %s, want %s", c[0], typ, c[1]))
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("postgres store: table %q does not have the kyneta layout: %s", table, strings.Join(problems, "; "))
		}
	}
	return nil
}

type formatJSON struct {
	Major *int `json:"major"`
	Minor *int `json:"minor"`
}

// checkFormat is the SQLite store's format gate on the store-meta table.
func (s *Store) checkFormat(ctx context.Context, tx pgx.Tx) error {
	current := fmt.Sprintf("%d.%d", sqlrow.FormatVersion.Major, sqlrow.FormatVersion.Minor)
	var raw string
	err := tx.QueryRow(ctx, `SELECT value::text FROM `+s.q.storeMeta+` WHERE key = 'format'`).Scan(&raw)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM `+s.q.docMeta+` LIMIT 1`).Scan(&one)
		if err == nil {
			return storeerr.Format(storeerr.UnversionedExistingData, backendName, "", current)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("postgres store: read documents: %w", err)
		}
		marker, _ := json.Marshal(map[string]int{"major": sqlrow.FormatVersion.Major, "minor": sqlrow.FormatVersion.Minor})
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.q.storeMeta+` (key, value) VALUES ('format', $1::jsonb)
			ON CONFLICT (key) DO NOTHING`, string(marker)); err != nil {
			return fmt.Errorf("postgres store: write format marker: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("postgres store: read format marker: %w", err)
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
