// Package storetest is the conformance suite every [store.Store] backend
// must pass, plus the fault-injection primitive its atomicity test uses.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newBackend(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// FaultHarness is what a backend supplies for the fault-injected atomicity
// test: a store whose write seam is wrapped by a latent fault, the arming
// function, and a way to open a fresh, non-faulting store on the same
// data. Cleanup is registered by the harness function itself (t.Cleanup).
type FaultHarness struct {
	Store store.Store
	Arm   func(n int) error
	Fresh func() (store.Store, error)
}

// IsolationPair is two stores sharing one physical resource under
// different namespaces (table names, key prefixes).
type IsolationPair struct {
	A, B store.Store
}

// Option configures [Run].
type Option func(*options)

type options struct {
	fault     func(t *testing.T) FaultHarness
	isolation func(t *testing.T) IsolationPair
}

// WithFault opts into the fault-injected atomicity test.
func WithFault(f func(t *testing.T) FaultHarness) Option {
	return func(o *options) { o.fault = f }
}

// WithIsolation opts into the storage-domain isolation test.
func WithIsolation(f func(t *testing.T) IsolationPair) Option {
	return func(o *options) { o.isolation = f }
}

// PlainMeta is the meta record the suite writes.
var PlainMeta = store.Meta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: "00test"}

// MetaRecord returns PlainMeta with the schema hash replaced when hash is
// not "".
func MetaRecord(hash string) store.Record {
	m := PlainMeta
	if hash != "" {
		m.SchemaHash = hash
	}
	return store.MetaRecord(m)
}

// EntryRecord returns a JSON entry whose data names its version.
func EntryRecord(kind replica.PayloadKind, version string) store.Record {
	return store.EntryRecord(replica.Payload{Kind: kind, Encoding: wire.JSON, Data: []byte(`{"v":"` + version + `"}`)}, version)
}

// BinaryRecord returns a binary entry.
func BinaryRecord(kind replica.PayloadKind, version string, data []byte) store.Record {
	return store.EntryRecord(replica.Payload{Kind: kind, Encoding: wire.Binary, Data: data}, version)
}

// EqualRecords reports whether two records are the same, payload bytes
// compared by content.
func EqualRecords(a, b store.Record) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == store.KindMeta {
		return a.Meta == b.Meta
	}
	return a.Version == b.Version && a.Payload.Kind == b.Payload.Kind &&
		a.Payload.Encoding == b.Payload.Encoding && a.Payload.Lineage == b.Payload.Lineage &&
		bytes.Equal(a.Payload.Data, b.Payload.Data)
}

// Run runs the conformance suite (§7.3 of the exchange spec) as subtests.
// factory returns a fresh, empty store per subtest; Run closes it.
func Run(t *testing.T, factory func(t *testing.T) store.Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	newStore := func(t *testing.T) store.Store {
		t.Helper()
		s := factory(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	load := func(t *testing.T, s store.Store, doc string) []store.Record {
		t.Helper()
		recs, err := s.LoadAll(ctx, doc)
		must(t, err)
		return recs
	}
	list := func(t *testing.T, s store.Store, prefix string) []string {
		t.Helper()
		ids, err := s.ListDocIDs(ctx, prefix)
		must(t, err)
		slices.Sort(ids)
		return ids
	}
	wantRecords := func(t *testing.T, got []store.Record, want ...store.Record) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("got %d records, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			if !EqualRecords(got[i], want[i]) {
				t.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	}

	t.Run("CurrentMetaOfUnknownDocIsNil", func(t *testing.T) {
		s := newStore(t)
		m, err := s.CurrentMeta(ctx, "nonexistent")
		must(t, err)
		if m != nil {
			t.Fatalf("CurrentMeta = %+v, want nil", m)
		}
	})

	t.Run("EntryBeforeMetaFails", func(t *testing.T) {
		s := newStore(t)
		err := s.Append(ctx, "doc-1", EntryRecord(wire.Entirety, "1"))
		if !errors.Is(err, store.ErrEntryBeforeMeta) {
			t.Fatalf("Append(entry) = %v, want ErrEntryBeforeMeta", err)
		}
		if ids := list(t, s, ""); len(ids) != 0 {
			t.Fatalf("listed %v after a failed append", ids)
		}
		if recs := load(t, s, "doc-1"); len(recs) != 0 {
			t.Fatalf("stored %v after a failed append", recs)
		}
	})

	t.Run("MetaAppendIndexesAndLists", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || *m != PlainMeta {
			t.Fatalf("CurrentMeta = %+v, want %+v", m, PlainMeta)
		}
		if ids := list(t, s, ""); !slices.Contains(ids, "doc-1") {
			t.Fatalf("ListDocIDs = %v, want doc-1", ids)
		}
	})

	t.Run("SchemaHashIsLastWriterWins", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", MetaRecord("00updated")))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		want := PlainMeta
		want.SchemaHash = "00updated"
		if m == nil || *m != want {
			t.Fatalf("CurrentMeta = %+v, want %+v", m, want)
		}
	})

	t.Run("MetaWithOtherReplicaTypeFails", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		bad := PlainMeta
		bad.ReplicaType = replica.ReplicaType{Name: "loro", Major: 1}
		err := s.Append(ctx, "doc-1", store.MetaRecord(bad))
		if !errors.Is(err, store.ErrReplicaTypeMismatch) || !strings.Contains(err.Error(), "replicaType") {
			t.Fatalf("Append = %v, want a replicaType mismatch", err)
		}
		// A compatible minor version is accepted.
		minor := PlainMeta
		minor.ReplicaType.Minor = 7
		must(t, s.Append(ctx, "doc-1", store.MetaRecord(minor)))
		bumped := PlainMeta
		bumped.ReplicaType.Major = 2
		if err := s.Append(ctx, "doc-1", store.MetaRecord(bumped)); !errors.Is(err, store.ErrReplicaTypeMismatch) {
			t.Fatalf("Append(major 2) = %v, want a replicaType mismatch", err)
		}
	})

	t.Run("MetaWithOtherSyncModeFails", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		bad := PlainMeta
		bad.SyncMode = wire.Collaborative
		err := s.Append(ctx, "doc-1", store.MetaRecord(bad))
		if !errors.Is(err, store.ErrSyncModeMismatch) || !strings.Contains(err.Error(), "syncMode") {
			t.Fatalf("Append = %v, want a syncMode mismatch", err)
		}
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || *m != PlainMeta {
			t.Fatalf("CurrentMeta after rejected meta = %+v", m)
		}
		wantRecords(t, load(t, s, "doc-1"), MetaRecord(""))
	})

	t.Run("AppendLoadAllRoundTrip", func(t *testing.T) {
		s := newStore(t)
		recs := []store.Record{MetaRecord(""), EntryRecord(wire.Entirety, "1"), EntryRecord(wire.Since, "2"), EntryRecord(wire.Since, "3")}
		for _, r := range recs {
			must(t, s.Append(ctx, "doc-1", r))
		}
		wantRecords(t, load(t, s, "doc-1"), recs...)
		if got := load(t, s, "nonexistent"); len(got) != 0 {
			t.Fatalf("LoadAll(unknown) = %v", got)
		}
	})

	t.Run("LineageAndKindsRoundTrip", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		e := store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[[]]`), Lineage: "0123456789abcdef"}, "0123456789abcdef:3")
		must(t, s.Append(ctx, "doc-1", e))
		wantRecords(t, load(t, s, "doc-1"), MetaRecord(""), e)
	})

	t.Run("ReplaceSwapsStream", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		for _, v := range []string{"1", "2", "3"} {
			must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Since, v)))
		}
		if n := len(load(t, s, "doc-1")); n != 4 {
			t.Fatalf("before replace: %d records", n)
		}
		repl := []store.Record{MetaRecord(""), EntryRecord(wire.Entirety, "4")}
		must(t, s.Replace(ctx, "doc-1", repl))
		wantRecords(t, load(t, s, "doc-1"), repl...)
	})

	t.Run("ReplaceWithoutMetaFails", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Since, "1")))
		err := s.Replace(ctx, "doc-1", []store.Record{EntryRecord(wire.Entirety, "1")})
		if !errors.Is(err, store.ErrReplaceWithoutMeta) {
			t.Fatalf("Replace = %v, want ErrReplaceWithoutMeta", err)
		}
		wantRecords(t, load(t, s, "doc-1"), MetaRecord(""), EntryRecord(wire.Since, "1"))
	})

	t.Run("ReplaceValidatesMeta", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		bad := PlainMeta
		bad.SyncMode = wire.Ephemeral
		err := s.Replace(ctx, "doc-1", []store.Record{store.MetaRecord(bad), EntryRecord(wire.Entirety, "1")})
		if !errors.Is(err, store.ErrSyncModeMismatch) {
			t.Fatalf("Replace = %v, want ErrSyncModeMismatch", err)
		}
		wantRecords(t, load(t, s, "doc-1"), MetaRecord(""))
	})

	t.Run("ReplaceIndexFromLastMeta", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		must(t, s.Replace(ctx, "doc-1", []store.Record{MetaRecord("hash-a"), EntryRecord(wire.Entirety, "1"), MetaRecord("hash-b")}))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || m.SchemaHash != "hash-b" {
			t.Fatalf("CurrentMeta = %+v, want hash-b", m)
		}
	})

	t.Run("ReplaceCreatesDoc", func(t *testing.T) {
		s := newStore(t)
		repl := []store.Record{MetaRecord(""), EntryRecord(wire.Entirety, "1")}
		must(t, s.Replace(ctx, "fresh", repl))
		wantRecords(t, load(t, s, "fresh"), repl...)
		if ids := list(t, s, ""); !slices.Equal(ids, []string{"fresh"}) {
			t.Fatalf("ListDocIDs = %v", ids)
		}
	})

	t.Run("DeleteRemovesStreamIndexListing", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Entirety, "1")))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Since, "2")))
		must(t, s.Append(ctx, "doc-2", MetaRecord("")))
		must(t, s.Delete(ctx, "doc-1"))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m != nil {
			t.Fatalf("CurrentMeta after delete = %+v", m)
		}
		if recs := load(t, s, "doc-1"); len(recs) != 0 {
			t.Fatalf("LoadAll after delete = %v", recs)
		}
		if ids := list(t, s, ""); !slices.Equal(ids, []string{"doc-2"}) {
			t.Fatalf("ListDocIDs after delete = %v", ids)
		}
		must(t, s.Delete(ctx, "never-existed"))
		// A deleted doc starts over: an entry needs a meta again.
		if err := s.Append(ctx, "doc-1", EntryRecord(wire.Since, "3")); !errors.Is(err, store.ErrEntryBeforeMeta) {
			t.Fatalf("Append after delete = %v, want ErrEntryBeforeMeta", err)
		}
	})

	t.Run("PrefixListing", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"users/alice", "users/bob", "posts/first", "Users/carol", "users"} {
			must(t, s.Append(ctx, id, MetaRecord("")))
		}
		if got := list(t, s, "users/"); !slices.Equal(got, []string{"users/alice", "users/bob"}) {
			t.Fatalf("ListDocIDs(users/) = %v", got)
		}
		if got := list(t, s, "posts/"); !slices.Equal(got, []string{"posts/first"}) {
			t.Fatalf("ListDocIDs(posts/) = %v", got)
		}
		if got := list(t, s, ""); !slices.Equal(got, []string{"Users/carol", "posts/first", "users", "users/alice", "users/bob"}) {
			t.Fatalf("ListDocIDs() = %v", got)
		}
		if got := list(t, s, "nothing/"); len(got) != 0 {
			t.Fatalf("ListDocIDs(nothing/) = %v", got)
		}
	})

	t.Run("PrefixListingIsLiteral", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"a%b", "axb", "a_c", "abc", "a\u00e9", "a\u00e9z"} {
			must(t, s.Append(ctx, id, MetaRecord("")))
		}
		for prefix, want := range map[string][]string{
			"a%":      {"a%b"},
			"a_":      {"a_c"},
			"a\u00e9": {"a\u00e9", "a\u00e9z"},
		} {
			if got := list(t, s, prefix); !slices.Equal(got, want) {
				t.Fatalf("ListDocIDs(%q) = %v, want %v", prefix, got, want)
			}
		}
	})

	t.Run("AppendAfterReplaceOrdersAfter", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Since, "1")))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Since, "2")))
		must(t, s.Replace(ctx, "doc-1", []store.Record{MetaRecord(""), EntryRecord(wire.Entirety, "3")}))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Since, "4")))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Since, "5")))
		wantRecords(t, load(t, s, "doc-1"), MetaRecord(""), EntryRecord(wire.Entirety, "3"),
			EntryRecord(wire.Since, "4"), EntryRecord(wire.Since, "5"))
	})

	t.Run("OverlappingDocIDsAreIsolated", func(t *testing.T) {
		s := newStore(t)
		ids := map[string]string{"doc": "a", "doc-extra": "b", "doc2": "c", "do": "d"}
		for id := range ids {
			must(t, s.Append(ctx, id, MetaRecord("")))
		}
		for id, v := range ids {
			must(t, s.Append(ctx, id, EntryRecord(wire.Entirety, v)))
		}
		for id, v := range ids {
			wantRecords(t, load(t, s, id), MetaRecord(""), EntryRecord(wire.Entirety, v))
		}
		must(t, s.Delete(ctx, "doc"))
		wantRecords(t, load(t, s, "doc-extra"), MetaRecord(""), EntryRecord(wire.Entirety, "b"))
	})

	t.Run("BinaryRoundTrip", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		data := []byte{0x00, 0x01, 0x02, 0xff, 0xfe, 0xfd}
		e := BinaryRecord(wire.Entirety, "bin-1", data)
		must(t, s.Append(ctx, "doc-1", e))
		data[0] = 0x55 // the store must have kept its own copy
		recs := load(t, s, "doc-1")
		wantRecords(t, recs, MetaRecord(""), BinaryRecord(wire.Entirety, "bin-1", []byte{0x00, 0x01, 0x02, 0xff, 0xfe, 0xfd}))
	})

	t.Run("MixedJSONAndBinary", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		j := EntryRecord(wire.Entirety, "v1")
		b := BinaryRecord(wire.Since, "v2", []byte{10, 20, 30})
		e := BinaryRecord(wire.Since, "v3", []byte{})
		must(t, s.Append(ctx, "doc-1", j))
		must(t, s.Append(ctx, "doc-1", b))
		must(t, s.Append(ctx, "doc-1", e))
		recs := load(t, s, "doc-1")
		wantRecords(t, recs, MetaRecord(""), j, b, e)
		if recs[1].Payload.Encoding != wire.JSON || recs[2].Payload.Encoding != wire.Binary {
			t.Fatalf("encodings = %s, %s", recs[1].Payload.Encoding, recs[2].Payload.Encoding)
		}
	})

	t.Run("MetaAndEntryCommitTogether", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", EntryRecord(wire.Entirety, "v1")))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || *m != PlainMeta {
			t.Fatalf("CurrentMeta = %+v", m)
		}
		wantRecords(t, load(t, s, "doc-1"), MetaRecord(""), EntryRecord(wire.Entirety, "v1"))
	})

	t.Run("LoadedRecordsAreCopies", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", BinaryRecord(wire.Since, "1", []byte{1, 2, 3})))
		recs := load(t, s, "doc-1")
		recs[1].Payload.Data[0] = 9
		wantRecords(t, load(t, s, "doc-1"), MetaRecord(""), BinaryRecord(wire.Since, "1", []byte{1, 2, 3}))
	})

	t.Run("ClosedStoreFails", func(t *testing.T) {
		s := factory(t)
		must(t, s.Close())
		if err := s.Append(ctx, "doc-1", MetaRecord("")); err == nil {
			t.Fatal("Append after Close succeeded")
		}
		if _, err := s.LoadAll(ctx, "doc-1"); err == nil {
			t.Fatal("LoadAll after Close succeeded")
		}
	})

	if o.fault != nil {
		t.Run("FaultInjectedAtomicity", func(t *testing.T) {
			h := o.fault(t)
			must(t, h.Store.Append(ctx, "doc-1", MetaRecord("primer")))
			// The 2nd low-level write of a meta append is the record insert
			// (the 1st was the index upsert): failing it after one write has
			// happened is what catches a non-atomic backend.
			must(t, h.Arm(2))
			if err := h.Store.Append(ctx, "doc-1", MetaRecord("injected")); err == nil {
				t.Fatal("armed Append succeeded")
			}
			fresh, err := h.Fresh()
			must(t, err)
			defer func() { _ = fresh.Close() }()
			m, err := fresh.CurrentMeta(ctx, "doc-1")
			must(t, err)
			if m == nil || m.SchemaHash != "primer" {
				t.Fatalf("CurrentMeta after the fault = %+v, want hash primer", m)
			}
			recs, err := fresh.LoadAll(ctx, "doc-1")
			must(t, err)
			wantRecords(t, recs, MetaRecord("primer"))
			// The fault fires once: the same append now succeeds.
			must(t, h.Store.Append(ctx, "doc-1", MetaRecord("after")))
		})

		t.Run("FaultInjectedReplaceAtomicity", func(t *testing.T) {
			h := o.fault(t)
			must(t, h.Store.Append(ctx, "doc-1", MetaRecord("primer")))
			must(t, h.Store.Append(ctx, "doc-1", EntryRecord(wire.Since, "1")))
			want, err := h.Store.LoadAll(ctx, "doc-1")
			must(t, err)
			// Fail each write of the replace in turn; the stream never changes.
			for n := 1; ; n++ {
				must(t, h.Arm(n))
				err := h.Store.Replace(ctx, "doc-1", []store.Record{MetaRecord("replaced"), EntryRecord(wire.Entirety, "2")})
				if err == nil {
					break
				}
				fresh, ferr := h.Fresh()
				must(t, ferr)
				got, lerr := fresh.LoadAll(ctx, "doc-1")
				_ = fresh.Close()
				must(t, lerr)
				wantRecords(t, got, want...)
				if n > 100 {
					t.Fatal("Replace never succeeded")
				}
			}
			m, err := h.Store.CurrentMeta(ctx, "doc-1")
			must(t, err)
			if m == nil || m.SchemaHash != "replaced" {
				t.Fatalf("CurrentMeta = %+v, want hash replaced", m)
			}
		})
	}

	if o.isolation != nil {
		t.Run("StorageDomainIsolation", func(t *testing.T) {
			p := o.isolation(t)
			must(t, p.A.Append(ctx, "doc-1", MetaRecord("")))
			must(t, p.A.Append(ctx, "doc-1", EntryRecord(wire.Entirety, "from-A")))
			must(t, p.B.Append(ctx, "doc-1", MetaRecord("")))
			must(t, p.B.Append(ctx, "doc-1", EntryRecord(wire.Entirety, "from-B")))
			wantRecords(t, load(t, p.A, "doc-1"), MetaRecord(""), EntryRecord(wire.Entirety, "from-A"))
			wantRecords(t, load(t, p.B, "doc-1"), MetaRecord(""), EntryRecord(wire.Entirety, "from-B"))
			must(t, p.A.Append(ctx, "only-a", MetaRecord("")))
			if ids := list(t, p.B, ""); !slices.Equal(ids, []string{"doc-1"}) {
				t.Fatalf("B lists %v", ids)
			}
			if ids := list(t, p.A, ""); !slices.Equal(ids, []string{"doc-1", "only-a"}) {
				t.Fatalf("A lists %v", ids)
			}
		})
	}
}
