package sqlite

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/storetest"
	"github.com/kyneta-go/kyneta/wire"
)

func TestMain(m *testing.M) {
	// A test re-executes this binary as a second process (see child).
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

func openAt(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store {
			return openAt(t, filepath.Join(t.TempDir(), "kyneta.db"), Options{})
		},
		storetest.WithFault(func(t *testing.T) storetest.FaultHarness {
			path := filepath.Join(t.TempDir(), "kyneta.db")
			fault := storekit.NewArmedFault(nil)
			s := openAt(t, path, Options{writeSeam: fault.Tick})
			t.Cleanup(func() { _ = s.Close() })
			return storetest.FaultHarness{
				Store: s,
				Arm:   fault.Arm,
				// The file is locked by s: a fresh view on the same
				// connection sees exactly what was committed.
				Fresh: func() (store.Store, error) { return s.h.view(s.t, Options{}), nil },
			}
		}),
		storetest.WithDurability(200, func(t *testing.T) storetest.DurabilityHarness {
			path := filepath.Join(t.TempDir(), "kyneta.db")
			return storetest.DurabilityHarness{Open: func(seam func(int) error) (store.Store, error) {
				return Open(ctx, path, Options{writeSeam: seam})
			}}
		}),
		storetest.WithIsolation(func(t *testing.T) (store.Store, store.Store) {
			path := filepath.Join(t.TempDir(), "shared.db")
			a := openAt(t, path, Options{})
			b, err := a.Namespace(ctx, Options{Tables: Tables{DocMeta: "b_doc_meta", Records: "b_records", StoreMeta: "b_store_meta"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
			return a, b
		}),
	)
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyneta.db")
	s := openAt(t, path, Options{})
	if err := s.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
		t.Fatal(err)
	}
	bin := storekit.BinaryRecord(wire.Since, "v1", []byte{0, 1, 0xff})
	if err := s.Append(ctx, "doc", bin); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, path, Options{})
	defer s2.Close()
	recs, err := s2.LoadAll(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !storekit.EqualRecords(recs[1], bin) {
		t.Fatalf("after reopen: %+v", recs)
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
		{name: "malformed-not-json", marker: "nope", reason: storeerr.MalformedVersion},
		{name: "malformed-missing-minor", marker: `{"major":1}`, reason: storeerr.MalformedVersion},
		{name: "incompatible-major", marker: `{"major":2,"minor":0}`, reason: storeerr.IncompatibleMajor},
		{name: "newer-minor-accepted", marker: `{"major":1,"minor":7}`},
		{name: "empty-without-marker-stamped", marker: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kyneta.db")
			s := openAt(t, path, Options{})
			if tc.doc {
				if err := s.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
					t.Fatal(err)
				}
			}
			if tc.marker == "" {
				_, err := s.db.Exec(`DELETE FROM kyneta_store_meta WHERE key = 'format'`)
				if err != nil {
					t.Fatal(err)
				}
			} else if _, err := s.db.Exec(`UPDATE kyneta_store_meta SET value = ? WHERE key = 'format'`, tc.marker); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s2, err := Open(ctx, path, Options{})
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("open refused: %v", err)
				}
				var marker string
				if err := s2.db.QueryRow(`SELECT value FROM kyneta_store_meta WHERE key = 'format'`).Scan(&marker); err != nil {
					t.Fatalf("no marker after open: %v", err)
				}
				s2.Close()
				return
			}
			if err == nil {
				s2.Close()
				t.Fatal("open accepted data it must refuse")
			}
			if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: tc.reason, Code: storeerr.Codes[tc.reason]}) || !strings.Contains(err.Error(), "sqlite refuses data") {
				t.Fatalf("err = %v, want a format refusal %s", err, tc.reason)
			}
		})
	}
}

// TestReadsReferenceRows writes rows exactly as the reference's SQL stores
// lay them out and checks they load, so files are portable both ways.
func TestReadsReferenceRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyneta.db")
	s := openAt(t, path, Options{})
	defer s.Close()
	meta := `{"replicaType":["plain",1,0],"syncMode":{"writerModel":"serialized","delivery":"delta-capable","durability":"persistent"},"schemaHash":"02abc"}`
	mustExec(t, s, `INSERT INTO kyneta_doc_meta (doc_id, data) VALUES ('d', ?)`, meta)
	mustExec(t, s, `INSERT INTO kyneta_records VALUES ('d', 0, 'meta', ?, NULL)`, meta)
	mustExec(t, s, `INSERT INTO kyneta_records VALUES ('d', 1, 'entry', ?, NULL)`,
		`{"kind":"entirety","encoding":"json","version":"L:1","data":"{\"a\":1}","lineage":"L"}`)
	mustExec(t, s, `INSERT INTO kyneta_records VALUES ('d', 2, 'entry', ?, X'00ff10')`,
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
	path := filepath.Join(t.TempDir(), "kyneta.db")
	s := openAt(t, path, Options{})
	defer s.Close()
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
	rows, err := s.db.Query(`SELECT seq, kind, payload, blob, blob IS NULL FROM kyneta_records WHERE doc_id = 'd' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var got []dbRow
	for rows.Next() {
		var r dbRow
		if err := rows.Scan(&r.seq, &r.kind, &r.payload, &r.blob, &r.null); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	rows.Close()
	if len(got) != 3 {
		t.Fatalf("rows = %+v", got)
	}
	wantMeta := `{"replicaType":["plain",1,0],"syncMode":{"writerModel":"serialized","delivery":"delta-capable","durability":"persistent"},"schemaHash":"h1"}`
	if got[0].kind != "meta" || got[0].payload != wantMeta || !got[0].null {
		t.Fatalf("meta row = %+v", got[0])
	}
	if want := `{"kind":"entirety","encoding":"json","version":"L:1","data":"{\"x\":\"<&>\"}","lineage":"L"}`; got[1].payload != want || !got[1].null {
		t.Fatalf("json entry row = %q, want %q", got[1].payload, want)
	}
	if want := `{"kind":"since","encoding":"binary","version":"v2"}`; got[2].payload != want || got[2].null || len(got[2].blob) != 0 {
		t.Fatalf("binary entry row = %+v", got[2])
	}
}

// A broken stream stops loading at the break, with a typed error and a
// diagnostic, instead of skipping the bad row and replaying the rest (the
// document's version went back one step and its content diverged).
func TestCorruptStreamStopsLoading(t *testing.T) {
	cases := []struct {
		name   string
		setup  []string // statements run after meta, v1, v2, v3 were appended
		reason string
		seq    int64
		good   int
		last   string
	}{
		{name: "undecodable-middle-row", setup: []string{`UPDATE kyneta_records SET payload = '{not json' WHERE seq = 2`},
			reason: storeerr.Undecodable, seq: 2, good: 2, last: "v1"},
		{name: "unknown-kind", setup: []string{`UPDATE kyneta_records SET kind = 'mystery' WHERE seq = 3`},
			reason: storeerr.Undecodable, seq: 3, good: 3, last: "v2"},
		{name: "missing-middle-row", setup: []string{`DELETE FROM kyneta_records WHERE seq = 2`},
			reason: storeerr.SequenceGap, seq: 3, good: 2, last: "v1"},
		{name: "missing-first-row", setup: []string{`DELETE FROM kyneta_records WHERE seq = 0`},
			reason: storeerr.SequenceGap, seq: 1, good: 0, last: ""},
		{name: "entry-first", setup: []string{`DELETE FROM kyneta_records WHERE seq = 0`, `UPDATE kyneta_records SET seq = seq - 1`},
			reason: storeerr.NoLeadingMeta, seq: 0, good: 0, last: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := openAt(t, filepath.Join(t.TempDir(), "kyneta.db"), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			defer s.Close()
			recs := []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Since, "v1"),
				storekit.EntryRecord(wire.Since, "v2"), storekit.EntryRecord(wire.Since, "v3")}
			for _, r := range recs {
				if err := s.Append(ctx, "d", r); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range tc.setup {
				mustExec(t, s, q)
			}
			got, err := s.LoadAll(ctx, "d")
			var ce *store.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, &kyneta.Error{Pkg: "store", Code: kyneta.CodeDataLoss}) {
				t.Fatalf("LoadAll = %d records, %v; want a CorruptError", len(got), err)
			}
			if ce.Reason != tc.reason || ce.Seq != tc.seq || ce.Good != tc.good || ce.Index != tc.good ||
				ce.LastVersion != tc.last || ce.DocID != "d" {
				t.Fatalf("error = %+v", ce)
			}
			if len(got) != tc.good {
				t.Fatalf("returned %d records, want the %d before the break", len(got), tc.good)
			}
			for i := range got {
				if !storekit.EqualRecords(got[i], recs[i]) {
					t.Fatalf("record %d = %+v", i, got[i])
				}
			}
			if n := strings.Count(logs.String(), "loading stopped"); n != 1 || !strings.Contains(logs.String(), string(tc.reason)) {
				t.Fatalf("diagnostics = %d, log:\n%s", n, logs.String())
			}
		})
	}
}

func TestHeadOfCorruptLastEntry(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "kyneta.db"), Options{})
	defer s.Close()
	for _, r := range []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Since, "v1")} {
		if err := s.Append(ctx, "d", r); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, s, `UPDATE kyneta_records SET payload = 'nope' WHERE seq = 1`)
	if _, err := s.Head(ctx, "d"); !errors.Is(err, &kyneta.Error{Pkg: "store", Code: kyneta.CodeDataLoss}) {
		t.Fatalf("Head = %v, want ErrCorrupt", err)
	}
	err := s.AppendAfter(ctx, "d", "v1", []store.Record{storekit.EntryRecord(wire.Since, "v2")})
	if !errors.Is(err, &kyneta.Error{Pkg: "store", Code: kyneta.CodeDataLoss}) {
		t.Fatalf("AppendAfter = %v, want ErrCorrupt", err)
	}
}

func TestRejectsBadTableName(t *testing.T) {
	_, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), Options{Tables: Tables{Records: "x; DROP TABLE y"}})
	if err == nil || !strings.Contains(err.Error(), "invalid table name") {
		t.Fatalf("err = %v", err)
	}
}

func TestPrefixSuccessor(t *testing.T) {
	cases := []struct {
		in, out string
		ok      bool
	}{
		{"a", "b", true},
		{"Users/", "Users0", true},
		{"a\xff", "b", true},
		{"\xff\xff", "", false},
	}
	for _, c := range cases {
		out, ok := prefixSuccessor(c.in)
		if out != c.out || ok != c.ok {
			t.Errorf("prefixSuccessor(%q) = %q, %v; want %q, %v", c.in, out, ok, c.out, c.ok)
		}
	}
}

func mustExec(t *testing.T, s *Store, q string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
