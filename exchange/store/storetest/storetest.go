// Package storetest is the conformance suite every [store.Store] backend
// must pass, as net/http/httptest is for handlers:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newBackend(t) })
//	}
//
// Options add the tests that need more than a fresh store: [WithFault]
// (atomicity when one low-level write inside an operation fails),
// [WithDurability] (seeded runs of writes, faults and restarts: every
// confirmed write survives, once) and [WithIsolation] (two namespaces on
// one resource do not see each other). The faults come from the suite: a
// backend only offers a write seam, a function its transactions call
// before each low-level write, whose error aborts the operation.
//
// [Check] runs the cases that need only fresh stores without a
// *testing.T and returns what failed, as testing/fstest.TestFS does.
package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
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

// DurabilityHarness is what a backend supplies for the fault-injected
// durability test: Open opens a store on the harness's data (the same
// data on every call, as a restarted process would); seam, when not nil,
// must run before each low-level write of the store inside its
// transaction. The test closes every store it
// opens before opening the next.
type DurabilityHarness struct {
	Open func(seam func(weight int) error) (store.Store, error)
}

// Option configures [Run].
type Option func(*options)

type options struct {
	fault      func(t *testing.T) FaultHarness
	isolation  func(t *testing.T) (a, b store.Store)
	durability func(t *testing.T) DurabilityHarness
	iterations int
}

// WithDurability opts into the fault-injected durability test, run for
// the given number of seeds (each with fresh data from f).
func WithDurability(iterations int, f func(t *testing.T) DurabilityHarness) Option {
	return func(o *options) { o.durability, o.iterations = f, iterations }
}

// WithFault opts into the fault-injected atomicity test.
func WithFault(f func(t *testing.T) FaultHarness) Option {
	return func(o *options) { o.fault = f }
}

// WithIsolation opts into the storage-domain isolation test: f returns two
// stores sharing one physical resource under different namespaces (table
// names, key prefixes).
func WithIsolation(f func(t *testing.T) (a, b store.Store)) Option {
	return func(o *options) { o.isolation = f }
}

// Run runs the conformance suite (§7.3 of the exchange spec) as subtests.
// factory returns a fresh, empty store per subtest; Run closes it.
func Run(t *testing.T, factory func(t *testing.T) store.Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	// The core cases see the *testing.T itself behind the tb interface.
	core(t, func(t tb) store.Store { return factory(t.(*testing.T)) })
	if o.durability != nil {
		t.Run("FaultInjectedDurability", func(t *testing.T) {
			var (
				mu    sync.Mutex
				total faultCounts
			)
			// Seeds run in a few parallel groups: a persistent backend
			// spends this test waiting for fsync, not computing.
			const groups = 4
			t.Run("seeds", func(t *testing.T) {
				for g := range uint64(groups) {
					t.Run(strconv.FormatUint(g, 10), func(t *testing.T) {
						t.Parallel()
						for seed := g; seed < uint64(o.iterations); seed += groups {
							c := durabilityRun(t, o.durability(t), seed)
							mu.Lock()
							for i := range c {
								total[i] += c[i]
							}
							mu.Unlock()
						}
					})
				}
			})
			// The run proves something only if every kind of fault hit.
			if !t.Failed() && o.iterations > 0 && (total[0] == 0 || total[1] == 0 || total[2] == 0) {
				t.Fatalf("faults in transactions/before/after calls = %v: each kind must occur", total)
			}
		})
	}

	if o.fault != nil {
		t.Run("FaultInjectedAppendAfterAtomicity", func(t *testing.T) {
			h, want := primedFault(ctx, t, o.fault)
			batch := []store.Record{storekit.MetaRecord("batch"), storekit.EntryRecord(wire.Since, "2"), storekit.EntryRecord(wire.Since, "3")}
			for n := 1; ; n++ {
				must(t, h.Arm(n))
				err := h.Store.AppendAfter(ctx, "doc-1", "1", batch)
				if err == nil {
					break
				}
				fresh, ferr := h.Fresh()
				must(t, ferr)
				got, lerr := fresh.LoadAll(ctx, "doc-1")
				m, merr := fresh.CurrentMeta(ctx, "doc-1")
				_ = fresh.Close()
				must(t, lerr)
				must(t, merr)
				wantRecords(t, got, want...)
				if m == nil || m.SchemaHash != "primer" {
					t.Fatalf("CurrentMeta after a failed batch = %+v", m)
				}
				if n > 100 {
					t.Fatal("AppendAfter never succeeded")
				}
			}
			wantRecords(t, load(t, h.Store, "doc-1"), append(want, batch...)...)
		})

		t.Run("FaultInjectedAtomicity", func(t *testing.T) {
			h := o.fault(t)
			must(t, h.Store.Append(ctx, "doc-1", storekit.MetaRecord("primer")))
			// The 2nd low-level write of a meta append is the record insert
			// (the 1st was the index upsert): failing it after one write has
			// happened is what catches a non-atomic backend.
			must(t, h.Arm(2))
			if err := h.Store.Append(ctx, "doc-1", storekit.MetaRecord("injected")); err == nil {
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
			wantRecords(t, recs, storekit.MetaRecord("primer"))
			// The fault fires once: the same append now succeeds.
			must(t, h.Store.Append(ctx, "doc-1", storekit.MetaRecord("after")))
		})

		t.Run("FaultInjectedReplaceAtomicity", func(t *testing.T) {
			h, want := primedFault(ctx, t, o.fault)
			// Fail each write of the replace in turn; the stream never changes.
			for n := 1; ; n++ {
				must(t, h.Arm(n))
				err := h.Store.Replace(ctx, "doc-1", []store.Record{storekit.MetaRecord("replaced"), storekit.EntryRecord(wire.Entirety, "2")})
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
			a, b := o.isolation(t)
			must(t, a.Append(ctx, "doc-1", storekit.MetaRecord("")))
			must(t, a.Append(ctx, "doc-1", storekit.EntryRecord(wire.Entirety, "from-A")))
			must(t, b.Append(ctx, "doc-1", storekit.MetaRecord("")))
			must(t, b.Append(ctx, "doc-1", storekit.EntryRecord(wire.Entirety, "from-B")))
			wantRecords(t, load(t, a, "doc-1"), storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "from-A"))
			wantRecords(t, load(t, b, "doc-1"), storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "from-B"))
			must(t, a.Append(ctx, "only-a", storekit.MetaRecord("")))
			if ids := list(t, b, ""); !slices.Equal(ids, []string{"doc-1"}) {
				t.Fatalf("B lists %v", ids)
			}
			if ids := list(t, a, ""); !slices.Equal(ids, []string{"doc-1", "only-a"}) {
				t.Fatalf("A lists %v", ids)
			}
		})
	}
}

// durabilityRun is one seed of the fault-injected durability test: a
// writer makes credits and confirms them with the AppendAfter protocol
// while writes fail at random, inside the backend's transactions (the
// seam) and around its calls (storekit.Faulty: refused, or done with the result
// lost); now and then it restarts (closes and reopens the store, and
// starts again from what the store holds) or compacts (Replace). After
// each restart and at the end, the store must open cleanly and replay,
// without a break, to a prefix of the credits made that holds every
// confirmed one; after a last fault-free write, to all of them.
// faultCounts: writes failed inside the backend's transactions, before
// its calls and after them.
type faultCounts [3]int

func durabilityRun(t *testing.T, h DurabilityHarness, seed uint64) (counts faultCounts) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	const rate = 0.2
	var faults []func() // each adds an opened store's faults to counts
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format, append([]any{seed}, a...)...)
	}
	open := func(faulty bool, k uint64) (store.Store, *storekit.Faulty) {
		t.Helper()
		var seam func(int) error
		var rf *storekit.RandomFault
		if faulty {
			rf = storekit.NewRandomFault(seed*1000+k, rate/2)
			seam = rf.Tick
		}
		s, err := h.Open(seam)
		if err != nil {
			fail("open: %v", err)
		}
		if !faulty {
			return s, nil
		}
		f := storekit.NewFaulty(s, seed*1000+k, rate/2)
		faults = append(faults, func() {
			_, before, after := f.Counts()
			counts[0] += rf.Fired()
			counts[1] += before
			counts[2] += after
		})
		return f, f
	}
	var model []int // every credit made, in order
	acked := 0      // how many of them were confirmed
	// check reopens cleanly and verifies the stream; it returns the
	// ledger the store holds.
	check := func() *ledger {
		t.Helper()
		s, _ := open(false, 0)
		defer func() { _ = s.Close() }()
		recs, err := s.LoadAll(ctx, "ledger")
		if err != nil {
			fail("load: %v", err)
		}
		got, err := replayLedger("ledger", recs)
		if err != nil {
			fail("replay: %v", err)
		}
		if len(got.credits) < acked || !slices.Equal(got.credits, model[:len(got.credits)]) {
			fail("the store holds %v; made %v, the first %d confirmed", got.credits, model, acked)
		}
		hd, err := s.Head(ctx, "ledger")
		if err != nil {
			fail("head: %v", err)
		}
		last := ""
		for _, r := range recs {
			if r.Kind == store.KindEntry {
				last = r.Version
			}
		}
		if hd.Exists != (len(recs) > 0) || hd.Version != last {
			fail("head %+v, stream ends at %q", hd, last)
		}
		return got
	}
	l := &ledger{}
	s, _ := open(true, 1)
	confirmed := ""
	for step := range 40 {
		switch r := rng.IntN(20); {
		case r == 0: // restart: what the store holds is all the writer has
			_ = s.Close()
			l = check()
			model = model[:len(l.credits)]
			acked = len(model)
			confirmed = ""
			if len(model) > 0 {
				confirmed = l.version()
			}
			s, _ = open(true, uint64(step)+2)
		case r == 1 && confirmed != "": // compaction
			if err := s.Replace(ctx, "ledger", []store.Record{storekit.MetaRecord(""), l.delta(0)}); err == nil {
				confirmed = l.version()
				acked = len(l.credits)
			}
		}
		c := 1 + rng.IntN(1000)
		l.credits = append(l.credits, c)
		model = append(model, c)
		v, err := confirmWrite(ctx, s, "ledger", l, confirmed, 1+rng.IntN(3))
		confirmed = v
		if err == nil {
			acked = len(l.credits)
		}
	}
	_ = s.Close()
	check()
	s, _ = open(false, 0)
	defer func() { _ = s.Close() }()
	if _, err := confirmWrite(ctx, s, "ledger", l, confirmed, 2); err != nil {
		fail("fault-free write: %v", err)
	}
	got, err := replayLedger("ledger", func() []store.Record {
		recs, err := s.LoadAll(ctx, "ledger")
		if err != nil {
			fail("load: %v", err)
		}
		return recs
	}())
	if err != nil || !slices.Equal(got.credits, model) {
		fail("final replay %v (%v), want %v", got.credits, err, model)
	}
	for _, f := range faults {
		f()
	}
	return counts
}

// core runs the cases that need nothing but fresh stores, under a
// *testing.T (Run) or a checkT (Check).
func core(t tb, factory func(t tb) store.Store) {
	ctx := context.Background()
	newStore := func(t tb) store.Store {
		t.Helper()
		s := factory(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}

	sub(t, "CurrentMetaOfUnknownDocIsNil", func(t tb) {
		s := newStore(t)
		m, err := s.CurrentMeta(ctx, "nonexistent")
		must(t, err)
		if m != nil {
			t.Fatalf("CurrentMeta = %+v, want nil", m)
		}
	})

	sub(t, "EntryBeforeMetaFails", func(t tb) {
		s := newStore(t)
		err := s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Entirety, "1"))
		if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.EntryBeforeMeta}) {
			t.Fatalf("Append(entry) = %v, want ErrEntryBeforeMeta", err)
		}
		if ids := list(t, s, ""); len(ids) != 0 {
			t.Fatalf("listed %v after a failed append", ids)
		}
		if recs := load(t, s, "doc-1"); len(recs) != 0 {
			t.Fatalf("stored %v after a failed append", recs)
		}
	})

	sub(t, "MetaAppendIndexesAndLists", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || *m != storekit.PlainMeta {
			t.Fatalf("CurrentMeta = %+v, want %+v", m, storekit.PlainMeta)
		}
		if ids := list(t, s, ""); !slices.Contains(ids, "doc-1") {
			t.Fatalf("ListDocIDs = %v, want doc-1", ids)
		}
	})

	sub(t, "SchemaHashIsLastWriterWins", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("00updated")))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		want := storekit.PlainMeta
		want.SchemaHash = "00updated"
		if m == nil || *m != want {
			t.Fatalf("CurrentMeta = %+v, want %+v", m, want)
		}
	})

	sub(t, "MetaWithOtherReplicaTypeFails", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		bad := storekit.PlainMeta
		bad.ReplicaType = wire.ReplicaType{Name: "loro", Major: 1}
		err := s.Append(ctx, "doc-1", store.MetaRecord(bad))
		if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.ReplicaTypeMismatch}) || !strings.Contains(err.Error(), "replicaType") {
			t.Fatalf("Append = %v, want a replicaType mismatch", err)
		}
		// A compatible minor version is accepted.
		minor := storekit.PlainMeta
		minor.ReplicaType.Minor = 7
		must(t, s.Append(ctx, "doc-1", store.MetaRecord(minor)))
		bumped := storekit.PlainMeta
		bumped.ReplicaType.Major = 2
		if err := s.Append(ctx, "doc-1", store.MetaRecord(bumped)); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.ReplicaTypeMismatch}) {
			t.Fatalf("Append(major 2) = %v, want a replicaType mismatch", err)
		}
	})

	sub(t, "MetaWithOtherSyncModeFails", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		bad := storekit.PlainMeta
		bad.SyncMode = wire.Collaborative
		err := s.Append(ctx, "doc-1", store.MetaRecord(bad))
		if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.SyncModeMismatch}) || !strings.Contains(err.Error(), "syncMode") {
			t.Fatalf("Append = %v, want a syncMode mismatch", err)
		}
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || *m != storekit.PlainMeta {
			t.Fatalf("CurrentMeta after rejected meta = %+v", m)
		}
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""))
	})

	sub(t, "AppendLoadAllRoundTrip", func(t tb) {
		s := newStore(t)
		recs := []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "1"), storekit.EntryRecord(wire.Since, "2"), storekit.EntryRecord(wire.Since, "3")}
		for _, r := range recs {
			must(t, s.Append(ctx, "doc-1", r))
		}
		wantRecords(t, load(t, s, "doc-1"), recs...)
		if got := load(t, s, "nonexistent"); len(got) != 0 {
			t.Fatalf("LoadAll(unknown) = %v", got)
		}
	})

	sub(t, "LineageAndKindsRoundTrip", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		e := store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[[]]`), Lineage: "0123456789abcdef"}, "0123456789abcdef:3")
		must(t, s.Append(ctx, "doc-1", e))
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""), e)
	})

	sub(t, "ReplaceSwapsStream", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		for _, v := range []string{"1", "2", "3"} {
			must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, v)))
		}
		if n := len(load(t, s, "doc-1")); n != 4 {
			t.Fatalf("before replace: %d records", n)
		}
		repl := []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "4")}
		must(t, s.Replace(ctx, "doc-1", repl))
		wantRecords(t, load(t, s, "doc-1"), repl...)
	})

	sub(t, "ReplaceWithoutMetaFails", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "1")))
		err := s.Replace(ctx, "doc-1", []store.Record{storekit.EntryRecord(wire.Entirety, "1")})
		if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.ReplaceWithoutMeta}) {
			t.Fatalf("Replace = %v, want ErrReplaceWithoutMeta", err)
		}
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""), storekit.EntryRecord(wire.Since, "1"))
	})

	sub(t, "ReplaceValidatesMeta", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		bad := storekit.PlainMeta
		bad.SyncMode = wire.Ephemeral
		err := s.Replace(ctx, "doc-1", []store.Record{store.MetaRecord(bad), storekit.EntryRecord(wire.Entirety, "1")})
		if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.SyncModeMismatch}) {
			t.Fatalf("Replace = %v, want ErrSyncModeMismatch", err)
		}
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""))
	})

	sub(t, "ReplaceIndexFromLastMeta", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		must(t, s.Replace(ctx, "doc-1", []store.Record{storekit.MetaRecord("hash-a"), storekit.EntryRecord(wire.Entirety, "1"), storekit.MetaRecord("hash-b")}))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || m.SchemaHash != "hash-b" {
			t.Fatalf("CurrentMeta = %+v, want hash-b", m)
		}
	})

	sub(t, "ReplaceCreatesDoc", func(t tb) {
		s := newStore(t)
		repl := []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "1")}
		must(t, s.Replace(ctx, "fresh", repl))
		wantRecords(t, load(t, s, "fresh"), repl...)
		if ids := list(t, s, ""); !slices.Equal(ids, []string{"fresh"}) {
			t.Fatalf("ListDocIDs = %v", ids)
		}
	})

	sub(t, "DeleteRemovesStreamIndexListing", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Entirety, "1")))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "2")))
		must(t, s.Append(ctx, "doc-2", storekit.MetaRecord("")))
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
		if err := s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "3")); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.EntryBeforeMeta}) {
			t.Fatalf("Append after delete = %v, want ErrEntryBeforeMeta", err)
		}
	})

	sub(t, "PrefixListing", func(t tb) {
		s := newStore(t)
		for _, id := range []string{"users/alice", "users/bob", "posts/first", "Users/carol", "users"} {
			must(t, s.Append(ctx, id, storekit.MetaRecord("")))
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

	sub(t, "PrefixListingIsLiteral", func(t tb) {
		s := newStore(t)
		for _, id := range []string{"a%b", "axb", "a_c", "abc", "a\u00e9", "a\u00e9z"} {
			must(t, s.Append(ctx, id, storekit.MetaRecord("")))
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

	sub(t, "AppendAfterReplaceOrdersAfter", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "1")))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "2")))
		must(t, s.Replace(ctx, "doc-1", []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "3")}))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "4")))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "5")))
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "3"),
			storekit.EntryRecord(wire.Since, "4"), storekit.EntryRecord(wire.Since, "5"))
	})

	sub(t, "OverlappingDocIDsAreIsolated", func(t tb) {
		s := newStore(t)
		ids := map[string]string{"doc": "a", "doc-extra": "b", "doc2": "c", "do": "d"}
		for id := range ids {
			must(t, s.Append(ctx, id, storekit.MetaRecord("")))
		}
		for id, v := range ids {
			must(t, s.Append(ctx, id, storekit.EntryRecord(wire.Entirety, v)))
		}
		for id, v := range ids {
			wantRecords(t, load(t, s, id), storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, v))
		}
		must(t, s.Delete(ctx, "doc"))
		wantRecords(t, load(t, s, "doc-extra"), storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "b"))
	})

	sub(t, "BinaryRoundTrip", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		data := []byte{0x00, 0x01, 0x02, 0xff, 0xfe, 0xfd}
		e := storekit.BinaryRecord(wire.Entirety, "bin-1", data)
		must(t, s.Append(ctx, "doc-1", e))
		data[0] = 0x55 // the store must have kept its own copy
		recs := load(t, s, "doc-1")
		wantRecords(t, recs, storekit.MetaRecord(""), storekit.BinaryRecord(wire.Entirety, "bin-1", []byte{0x00, 0x01, 0x02, 0xff, 0xfe, 0xfd}))
	})

	sub(t, "MixedJSONAndBinary", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		j := storekit.EntryRecord(wire.Entirety, "v1")
		b := storekit.BinaryRecord(wire.Since, "v2", []byte{10, 20, 30})
		e := storekit.BinaryRecord(wire.Since, "v3", []byte{})
		must(t, s.Append(ctx, "doc-1", j))
		must(t, s.Append(ctx, "doc-1", b))
		must(t, s.Append(ctx, "doc-1", e))
		recs := load(t, s, "doc-1")
		wantRecords(t, recs, storekit.MetaRecord(""), j, b, e)
		if recs[1].Payload.Encoding != wire.JSON || recs[2].Payload.Encoding != wire.Binary {
			t.Fatalf("encodings = %s, %s", recs[1].Payload.Encoding, recs[2].Payload.Encoding)
		}
	})

	sub(t, "MetaAndEntryCommitTogether", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Entirety, "v1")))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || *m != storekit.PlainMeta {
			t.Fatalf("CurrentMeta = %+v", m)
		}
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "v1"))
	})

	sub(t, "LoadedRecordsAreCopies", func(t tb) {
		s := newStore(t)
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		must(t, s.Append(ctx, "doc-1", storekit.BinaryRecord(wire.Since, "1", []byte{1, 2, 3})))
		recs := load(t, s, "doc-1")
		recs[1].Payload.Data[0] = 9
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""), storekit.BinaryRecord(wire.Since, "1", []byte{1, 2, 3}))
	})

	sub(t, "ClosedStoreFails", func(t tb) {
		s := factory(t)
		must(t, s.Close())
		if err := s.Append(ctx, "doc-1", storekit.MetaRecord("")); err == nil {
			t.Fatal("Append after Close succeeded")
		}
		if _, err := s.LoadAll(ctx, "doc-1"); err == nil {
			t.Fatal("LoadAll after Close succeeded")
		}
	})

	sub(t, "AppendAfterChecksHead", func(t tb) {
		s := newStore(t)
		var he *store.HeadError
		err := s.AppendAfter(ctx, "doc-1", "", []store.Record{storekit.EntryRecord(wire.Since, "1")})
		if !errors.As(err, &he) || he.Head.Exists || !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.HeadMismatch}) {
			t.Fatalf("AppendAfter on a missing doc = %v, want a HeadError without the doc", err)
		}
		must(t, s.Replace(ctx, "doc-1", []store.Record{storekit.MetaRecord("")}))
		batch := []store.Record{storekit.EntryRecord(wire.Since, "1"), storekit.EntryRecord(wire.Since, "2")}
		must(t, s.AppendAfter(ctx, "doc-1", "", batch))
		// The same batch again (a retry of a write that landed) is refused
		// and says where the stream ends.
		err = s.AppendAfter(ctx, "doc-1", "", batch)
		if !errors.As(err, &he) || !he.Head.Exists || he.Head.Version != "2" || he.Base != "" {
			t.Fatalf("repeated AppendAfter = %v, want a HeadError at 2", err)
		}
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""), batch[0], batch[1])
		// A batch with meta updates the index; meta does not move the head.
		must(t, s.AppendAfter(ctx, "doc-1", "2", []store.Record{storekit.MetaRecord("00next"), storekit.EntryRecord(wire.Since, "3")}))
		must(t, s.AppendAfter(ctx, "doc-1", "3", []store.Record{storekit.MetaRecord("00last")}))
		m, err := s.CurrentMeta(ctx, "doc-1")
		must(t, err)
		if m == nil || m.SchemaHash != "00last" {
			t.Fatalf("CurrentMeta = %+v, want 00last", m)
		}
		// A batch failing validation halfway writes nothing.
		bad := storekit.PlainMeta
		bad.SyncMode = wire.Ephemeral
		err = s.AppendAfter(ctx, "doc-1", "3", []store.Record{storekit.EntryRecord(wire.Since, "4"), store.MetaRecord(bad)})
		if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.SyncModeMismatch}) {
			t.Fatalf("AppendAfter(bad meta) = %v, want ErrSyncModeMismatch", err)
		}
		wantRecords(t, load(t, s, "doc-1"), storekit.MetaRecord(""), batch[0], batch[1], storekit.MetaRecord("00next"),
			storekit.EntryRecord(wire.Since, "3"), storekit.MetaRecord("00last"))
	})

	sub(t, "HeadTracksStream", func(t tb) {
		s := newStore(t)
		head := func() store.Head {
			t.Helper()
			h, err := s.Head(ctx, "doc-1")
			must(t, err)
			return h
		}
		if h := head(); h != (store.Head{}) {
			t.Fatalf("Head of a missing doc = %+v", h)
		}
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("")))
		if h := head(); h != (store.Head{Exists: true}) {
			t.Fatalf("Head after meta = %+v", h)
		}
		must(t, s.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "1")))
		must(t, s.Append(ctx, "doc-1", storekit.MetaRecord("00x")))
		if h := head(); h != (store.Head{Exists: true, Version: "1"}) {
			t.Fatalf("Head after entry and meta = %+v", h)
		}
		must(t, s.Replace(ctx, "doc-1", []store.Record{storekit.MetaRecord(""), storekit.EntryRecord(wire.Entirety, "9")}))
		if h := head(); h != (store.Head{Exists: true, Version: "9"}) {
			t.Fatalf("Head after replace = %+v", h)
		}
		must(t, s.Delete(ctx, "doc-1"))
		if h := head(); h != (store.Head{}) {
			t.Fatalf("Head after delete = %+v", h)
		}
	})

	// Defect: with one confirmed version for several stores, a write that
	// lands in one store and fails in another is written again to both,
	// and the first store replays the delta twice ("credit 100" twice).
	// With a confirmed version per store, kept by AppendAfter and Head,
	// every store replays to exactly the credits made.
	sub(t, "SeveralStoresOneFailing", func(t tb) {
		const seed = 7
		credits := []int{100, 50, 25, 10, 5, 1, 2, 3, 4, 6, 7, 8}

		// The old protocol, as a control: it must be caught.
		a, b := newStore(t), storekit.NewFaulty(newStore(t), seed, 0.5)
		stores := []store.Store{a, b}
		l := &ledger{}
		confirmed := ""
		for _, c := range credits {
			l.credits = append(l.credits, c)
			var recs []store.Record
			if confirmed == "" {
				recs = []store.Record{storekit.MetaRecord(""), l.delta(0)}
			} else {
				n, _ := strconv.Atoi(strings.TrimPrefix(confirmed, "L:"))
				recs = []store.Record{l.delta(n)}
			}
			var errs []error
			for _, s := range stores {
				if recs[0].Kind == store.KindMeta {
					errs = append(errs, s.Replace(ctx, "ledger", recs))
					continue
				}
				errs = append(errs, s.Append(ctx, "ledger", recs[0]))
			}
			if errors.Join(errs...) == nil {
				confirmed = l.version()
			}
		}
		if _, err := replayLedger("ledger", load(t, a, "ledger")); !errors.Is(err, &kyneta.Error{Pkg: "store", Code: kyneta.CodeDataLoss}) {
			t.Fatalf("control: one shared confirmed version replayed without a break (%v); the test cannot see the defect", err)
		}

		// Per-store confirmed versions.
		a, b = newStore(t), storekit.NewFaulty(newStore(t), seed, 0.5)
		stores = []store.Store{a, b}
		l = &ledger{}
		perStore := make([]string, len(stores))
		for _, c := range credits {
			l.credits = append(l.credits, c)
			for i, s := range stores {
				// One attempt per change: a failing store stays behind
				// and catches up with a later delta.
				perStore[i], _ = confirmWrite(ctx, s, "ledger", l, perStore[i], 1)
			}
		}
		if _, before, after := b.Counts(); before == 0 || after == 0 {
			t.Fatalf("faults before/after = %d/%d: the seed must inject both", before, after)
		}
		b.Disable(true)
		for i, s := range stores {
			v, err := confirmWrite(ctx, s, "ledger", l, perStore[i], 3)
			must(t, err)
			got, err := replayLedger("ledger", load(t, s, "ledger"))
			if err != nil {
				t.Fatalf("store %d: %v", i, err)
			}
			if !slices.Equal(got.credits, credits) || v != l.version() {
				t.Fatalf("store %d replays %v at %s, want %v", i, got.credits, v, credits)
			}
		}
	})
}

// tb is the part of *testing.T the core cases use; [Check] runs them with
// its own implementation.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(f func())
}

// sub runs f as a subtest of t.
func sub(t tb, name string, f func(t tb)) {
	switch t := t.(type) {
	case *testing.T:
		t.Run(name, func(t *testing.T) { f(t) })
	case *checkT:
		t.run(name, f)
	default:
		panic("storetest: unknown tb")
	}
}

// primedFault opens a fault harness whose doc-1 holds a meta and one
// entry, and returns it with that stream as loaded.
func primedFault(ctx context.Context, t *testing.T, fault func(*testing.T) FaultHarness) (FaultHarness, []store.Record) {
	t.Helper()
	h := fault(t)
	must(t, h.Store.Append(ctx, "doc-1", storekit.MetaRecord("primer")))
	must(t, h.Store.Append(ctx, "doc-1", storekit.EntryRecord(wire.Since, "1")))
	want, err := h.Store.LoadAll(ctx, "doc-1")
	must(t, err)
	return h, want
}

func must(t tb, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func load(t tb, s store.Store, doc string) []store.Record {
	t.Helper()
	recs, err := s.LoadAll(context.Background(), doc)
	must(t, err)
	return recs
}

func list(t tb, s store.Store, prefix string) []string {
	t.Helper()
	ids, err := s.ListDocIDs(context.Background(), prefix)
	must(t, err)
	slices.Sort(ids)
	return ids
}

func wantRecords(t tb, got []store.Record, want ...store.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !storekit.EqualRecords(got[i], want[i]) {
			t.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
