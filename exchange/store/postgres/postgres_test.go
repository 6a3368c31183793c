package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/storetest"
	"github.com/kyneta-go/kyneta/wire"
)

var ctx = context.Background()

func open(t testing.TB, tables Tables, opts Options) *Store {
	t.Helper()
	opts.Tables = tables
	s, err := Open(ctx, testDSN, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store {
			return open(t, Tables{Schema: newSchema(t)}, Options{})
		},
		storetest.WithFault(func(t *testing.T) storetest.FaultHarness {
			tables := Tables{Schema: newSchema(t)}
			fault := storekit.NewArmedFault(nil)
			s := open(t, tables, Options{writeSeam: fault.Tick})
			return storetest.FaultHarness{
				Store: s,
				Arm:   fault.Arm,
				Fresh: func() (store.Store, error) { return Open(ctx, testDSN, Options{Tables: tables}) },
			}
		}),
		storetest.WithIsolation(func(t *testing.T) (store.Store, store.Store) {
			schema := newSchema(t)
			a := open(t, Tables{Schema: schema}, Options{})
			b := open(t, Tables{Schema: schema, DocMeta: "b_doc_meta", Records: "b_records", StoreMeta: "b_store_meta"}, Options{})
			return a, b
		}),
	)
}

// TestSharedPoolIsNotClosed checks New leaves the caller's pool open.
func TestSharedPoolIsNotClosed(t *testing.T) {
	s, err := New(ctx, admin, Options{Tables: Tables{Schema: newSchema(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "d", storekit.MetaRecord("")); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Closed}) {
		t.Fatalf("Ping after close = %v", err)
	}
	if err := s.Append(ctx, "d", storekit.MetaRecord("")); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Closed}) {
		t.Fatalf("append after close = %v", err)
	}
	if err := admin.Ping(ctx); err != nil {
		t.Fatalf("caller's pool closed with the store: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	tables := Tables{Schema: newSchema(t)}
	s := open(t, tables, Options{})
	if err := s.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
		t.Fatal(err)
	}
	bin := storekit.BinaryRecord(wire.Since, "v1", []byte{0, 1, 0xff})
	if err := s.Append(ctx, "doc", bin); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, tables, Options{})
	recs, err := s2.LoadAll(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !storekit.EqualRecords(recs[1], bin) {
		t.Fatalf("after reopen: %+v", recs)
	}
}

func exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := admin.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestFormatGate(t *testing.T) {
	cases := []struct {
		name   string
		marker string // "" = delete the marker
		doc    bool   // a document exists
		reason string
	}{
		{name: "unversioned-existing-data", marker: "", doc: true, reason: storeerr.UnversionedExistingData},
		{name: "malformed-not-an-object", marker: `"nope"`, reason: storeerr.MalformedVersion},
		{name: "malformed-missing-minor", marker: `{"major":1}`, reason: storeerr.MalformedVersion},
		{name: "incompatible-major", marker: `{"major":2,"minor":0}`, reason: storeerr.IncompatibleMajor},
		{name: "newer-minor-accepted", marker: `{"major":1,"minor":7}`},
		{name: "empty-without-marker-stamped", marker: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			schema := newSchema(t)
			s := open(t, Tables{Schema: schema}, Options{})
			if tc.doc {
				if err := s.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
					t.Fatal(err)
				}
			}
			sm := pgx.Identifier{schema, "kyneta_store_meta"}.Sanitize()
			if tc.marker == "" {
				exec(t, `DELETE FROM `+sm+` WHERE key = 'format'`)
			} else {
				exec(t, `UPDATE `+sm+` SET value = $1::jsonb WHERE key = 'format'`, tc.marker)
			}
			s.Close()
			s2, err := Open(ctx, testDSN, Options{Tables: Tables{Schema: schema}})
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("open refused: %v", err)
				}
				defer s2.Close()
				var marker string
				if err := admin.QueryRow(ctx, `SELECT value::text FROM `+sm+` WHERE key = 'format'`).Scan(&marker); err != nil {
					t.Fatalf("no marker after open: %v", err)
				}
				return
			}
			if err == nil {
				s2.Close()
				t.Fatal("open accepted data it must refuse")
			}
			if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: tc.reason, Code: storeerr.Codes[tc.reason]}) || !strings.Contains(err.Error(), "postgres refuses data") {
				t.Fatalf("err = %v, want a format refusal %s", err, tc.reason)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	t.Run("fresh-schema-reaches-current-version", func(t *testing.T) {
		schema := newSchema(t)
		open(t, Tables{Schema: schema}, Options{})
		if v := schemaVersion(t, schema); v != fmt.Sprint(layoutVersion) {
			t.Fatalf("schema_version = %s, want %d", v, layoutVersion)
		}
		var idx string
		if err := admin.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'kyneta_doc_meta_doc_id_c'`, schema).Scan(&idx); err != nil {
			t.Fatalf("migration 2 index missing: %v", err)
		}
		if !strings.Contains(idx, `COLLATE "C"`) {
			t.Fatalf("index = %s", idx)
		}
	})

	t.Run("reference-schema-sql-is-version-1", func(t *testing.T) {
		schema := newSchema(t)
		// The reference's schema.sql, as an operator would have run it,
		// with a document the reference wrote.
		exec(t, `SET search_path TO `+pgx.Identifier{schema}.Sanitize())
		for _, stmt := range []string{
			`CREATE TABLE ` + schema + `.kyneta_doc_meta (doc_id TEXT PRIMARY KEY, data JSONB NOT NULL)`,
			`CREATE TABLE ` + schema + `.kyneta_records (doc_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT, blob BYTEA, PRIMARY KEY (doc_id, seq))`,
			`CREATE TABLE ` + schema + `.kyneta_store_meta (key TEXT PRIMARY KEY, value JSONB NOT NULL)`,
			`INSERT INTO ` + schema + `.kyneta_store_meta VALUES ('format', '{"major":1,"minor":0}')`,
		} {
			exec(t, stmt)
		}
		meta := `{"replicaType":["plain",1,0],"syncMode":{"writerModel":"serialized","delivery":"delta-capable","durability":"persistent"},"schemaHash":"02abc"}`
		exec(t, `INSERT INTO `+schema+`.kyneta_doc_meta VALUES ('d', $1::jsonb)`, meta)
		exec(t, `INSERT INTO `+schema+`.kyneta_records VALUES ('d', 0, 'meta', $1, NULL)`, meta)
		s := open(t, Tables{Schema: schema}, Options{})
		if v := schemaVersion(t, schema); v != fmt.Sprint(layoutVersion) {
			t.Fatalf("schema_version = %s", v)
		}
		if ids, err := s.ListDocIDs(ctx, ""); err != nil || !slices.Equal(ids, []string{"d"}) {
			t.Fatalf("ListDocIDs = %v, %v", ids, err)
		}
	})

	t.Run("foreign-table-refused", func(t *testing.T) {
		schema := newSchema(t)
		exec(t, `CREATE TABLE `+schema+`.kyneta_records (doc_id TEXT, seq TEXT)`)
		_, err := Open(ctx, testDSN, Options{Tables: Tables{Schema: schema}})
		if err == nil || !strings.Contains(err.Error(), `missing column "kind"`) || !strings.Contains(err.Error(), `column "seq" is text`) {
			t.Fatalf("err = %v", err)
		}
	})

	for _, tc := range []struct {
		name, stored string
		reason       string
	}{
		{"newer-schema-refused", fmt.Sprint(layoutVersion + 1), storeerr.IncompatibleMajor},
		{"malformed-schema-version-refused", `"two"`, storeerr.MalformedVersion},
		{"zero-schema-version-refused", `0`, storeerr.MalformedVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := newSchema(t)
			open(t, Tables{Schema: schema}, Options{}).Close()
			exec(t, `UPDATE `+schema+`.kyneta_store_meta SET value = $1::jsonb WHERE key = 'schema_version'`, tc.stored)
			_, err := Open(ctx, testDSN, Options{Tables: Tables{Schema: schema}})
			if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: tc.reason, Code: storeerr.Codes[tc.reason]}) {
				t.Fatalf("err = %v, want %s", err, tc.reason)
			}
		})
	}

	t.Run("concurrent-opens-migrate-once", func(t *testing.T) {
		schema := newSchema(t)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(ctx, testDSN, Options{Tables: Tables{Schema: schema}})
				if err == nil {
					s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent opens: %v", err)
		}
	})
}

func schemaVersion(t *testing.T, schema string) string {
	t.Helper()
	var v string
	if err := admin.QueryRow(ctx, `SELECT value::text FROM `+schema+`.kyneta_store_meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		t.Fatalf("schema_version: %v", err)
	}
	return v
}

// TestReadsReferenceRows loads rows laid out exactly as the reference's
// PostgreSQL store writes them.
func TestReadsReferenceRows(t *testing.T) {
	schema := newSchema(t)
	s := open(t, Tables{Schema: schema}, Options{})
	meta := `{"replicaType":["plain",1,0],"syncMode":{"writerModel":"serialized","delivery":"delta-capable","durability":"persistent"},"schemaHash":"02abc"}`
	exec(t, `INSERT INTO `+schema+`.kyneta_doc_meta (doc_id, data) VALUES ('d', $1::jsonb)`, meta)
	exec(t, `INSERT INTO `+schema+`.kyneta_records VALUES ('d', 0, 'meta', $1, NULL)`, meta)
	exec(t, `INSERT INTO `+schema+`.kyneta_records VALUES ('d', 1, 'entry', $1, NULL)`,
		`{"kind":"entirety","encoding":"json","version":"L:1","data":"{\"a\":1}","lineage":"L"}`)
	exec(t, `INSERT INTO `+schema+`.kyneta_records VALUES ('d', 2, 'entry', $1, '\x00ff10'::bytea)`,
		`{"kind":"since","encoding":"binary","version":"abc"}`)
	recs, err := s.LoadAll(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records", len(recs))
	}
	if recs[0].Kind != store.KindMeta || recs[0].Meta.SchemaHash != "02abc" || recs[0].Meta.SyncMode != wire.Authoritative {
		t.Fatalf("meta = %+v", recs[0])
	}
	want1 := store.EntryRecord(replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"a":1}`), Lineage: "L"}, "L:1")
	want2 := store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{0, 0xff, 0x10}}, "abc")
	if !storekit.EqualRecords(recs[1], want1) || !storekit.EqualRecords(recs[2], want2) {
		t.Fatalf("entries = %+v", recs[1:])
	}
}

// TestWritesReferenceRows checks the row layout the reference expects.
func TestWritesReferenceRows(t *testing.T) {
	schema := newSchema(t)
	s := open(t, Tables{Schema: schema}, Options{})
	if err := s.Append(ctx, "d", storekit.MetaRecord("h1")); err != nil {
		t.Fatal(err)
	}
	p := replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"x":"<&>"}`), Lineage: "L"}
	if err := s.Append(ctx, "d", store.EntryRecord(p, "L:1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "d", storekit.BinaryRecord(wire.Since, "v2", []byte{})); err != nil {
		t.Fatal(err)
	}
	type dbRow struct {
		seq     int
		kind    string
		payload string
		blob    []byte
		null    bool
	}
	rows, err := admin.Query(ctx, `SELECT seq, kind, payload, blob, blob IS NULL FROM `+schema+`.kyneta_records WHERE doc_id = 'd' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dbRow, error) {
		var d dbRow
		err := r.Scan(&d.seq, &d.kind, &d.payload, &d.blob, &d.null)
		return d, err
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("rows = %+v, %v", got, err)
	}
	var meta store.Meta
	if err := meta.UnmarshalJSON([]byte(got[0].payload)); err != nil || got[0].kind != "meta" || !got[0].null || meta.SchemaHash != "h1" {
		t.Fatalf("meta row = %+v (%v)", got[0], err)
	}
	if want := `{"kind":"entirety","encoding":"json","version":"L:1","data":"{\"x\":\"<&>\"}","lineage":"L"}`; got[1].payload != want || !got[1].null {
		t.Fatalf("json entry row = %q, want %q", got[1].payload, want)
	}
	if want := `{"kind":"since","encoding":"binary","version":"v2"}`; got[2].payload != want || got[2].null || len(got[2].blob) != 0 {
		t.Fatalf("binary entry row = %+v", got[2])
	}
	var data string
	if err := admin.QueryRow(ctx, `SELECT data->'replicaType'->>0 FROM `+schema+`.kyneta_doc_meta WHERE doc_id = 'd'`).Scan(&data); err != nil || data != "plain" {
		t.Fatalf("doc meta is not queryable JSONB: %q, %v", data, err)
	}
}

func TestCorruptRowIsSkippedWithDiagnostic(t *testing.T) {
	schema := newSchema(t)
	var logs bytes.Buffer
	s := open(t, Tables{Schema: schema}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := s.Append(ctx, "d", storekit.MetaRecord("")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadAll(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	exec(t, `INSERT INTO `+schema+`.kyneta_records VALUES ('d', 1, 'entry', '{not json', NULL)`)
	exec(t, `INSERT INTO `+schema+`.kyneta_records VALUES ('d', 2, 'mystery', '{}', NULL)`)
	good := storekit.EntryRecord(wire.Since, "v3")
	// The corrupt entry is not a head: the stream still ends where this
	// store last saw it, so the append goes through.
	if err := s.Append(ctx, "d", good); err != nil {
		t.Fatal(err)
	}
	recs, err := s.LoadAll(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !storekit.EqualRecords(recs[1], good) {
		t.Fatalf("records = %+v", recs)
	}
	if n := strings.Count(logs.String(), "skipping corrupt record"); n != 2 {
		t.Fatalf("diagnostics = %d, log:\n%s", n, logs.String())
	}
}

func TestRejectsBadNames(t *testing.T) {
	for _, tables := range []Tables{
		{Records: "x; DROP TABLE y"},
		{Schema: "a.b"},
		{DocMeta: strings.Repeat("x", 49)},
	} {
		_, err := Open(ctx, testDSN, Options{Tables: tables})
		if err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Fatalf("%+v: err = %v", tables, err)
		}
	}
}

func TestRejectsIDsTextCannotHold(t *testing.T) {
	s := open(t, Tables{Schema: newSchema(t)}, Options{})
	for _, id := range []string{"a\x00b", "\xff\xfe"} {
		if err := s.Append(ctx, id, storekit.MetaRecord("")); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.InvalidRecord}) {
			t.Fatalf("Append(%q) = %v", id, err)
		}
		if _, err := s.LoadAll(ctx, id); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.InvalidRecord}) {
			t.Fatalf("LoadAll(%q) = %v", id, err)
		}
	}
	if _, err := s.ListDocIDs(ctx, "\xff"); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.InvalidRecord}) {
		t.Fatalf("ListDocIDs(invalid) = %v", err)
	}
}

func TestPrefixSuccessor(t *testing.T) {
	cases := []struct {
		in, out string
		ok      bool
	}{
		{"a", "b", true},
		{"Users/", "Users0", true},
		{"a\u00e9", "a\u00ea", true},
		{"a\u007f", "a\u0080", true}, // stays valid UTF-8
		{"a\ud7ff", "a\ue000", true}, // skips the surrogates
		{"a\U0010ffff", "b", true},
		{"\U0010ffff\U0010ffff", "", false},
	}
	for _, c := range cases {
		out, ok := prefixSuccessor(c.in)
		if out != c.out || ok != c.ok {
			t.Errorf("prefixSuccessor(%q) = %q, %v; want %q, %v", c.in, out, ok, c.out, c.ok)
		}
	}
}

// TestPrefixListingIgnoresCollation lists by byte order even in a column
// whose collation sorts otherwise.
func TestPrefixListingIgnoresCollation(t *testing.T) {
	var coll string
	err := admin.QueryRow(ctx, `SELECT collname FROM pg_collation WHERE collname IN ('en_US.utf8', 'en-US-x-icu', 'und-x-icu') ORDER BY collname LIMIT 1`).Scan(&coll)
	if err != nil {
		t.Fatalf("this PostgreSQL has no linguistic collation to test with: %v", err)
	}
	schema := newSchema(t)
	exec(t, `CREATE TABLE `+schema+`.kyneta_doc_meta (doc_id TEXT COLLATE `+pgx.Identifier{coll}.Sanitize()+` PRIMARY KEY, data JSONB NOT NULL)`)
	s := open(t, Tables{Schema: schema}, Options{})
	for _, id := range []string{"users/a", "Users/b", "users-c", "usersz"} {
		if err := s.Append(ctx, id, storekit.MetaRecord("")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListDocIDs(ctx, "users/")
	if err != nil || !slices.Equal(got, []string{"users/a"}) {
		t.Fatalf("ListDocIDs(users/) = %v, %v", got, err)
	}
	all, err := s.ListDocIDs(ctx, "")
	if err != nil || !slices.Equal(all, []string{"Users/b", "users-c", "users/a", "usersz"}) {
		t.Fatalf("ListDocIDs() = %v, %v (want byte order)", all, err)
	}
}
