package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/changes"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// plainStream builds a plain document's stream the way the exchange
// writes it (meta, an entirety at registration, then one delta per
// persisted step, each stored at the version it leads to) and returns
// it with the document and its final JSON.
func plainStream(t *testing.T, credits ...int) (replica.DocumentFactory, []store.Record, replica.Document, string) {
	t.Helper()
	f := replica.NewPlainFactory(replica.PlainOptions{})
	doc := f.CreateDocument()
	mustApply := func(ops ...replica.Op) {
		t.Helper()
		if err := doc.Apply(ops); err != nil {
			t.Fatal(err)
		}
	}
	items, err := changes.Replace([]any{})
	if err != nil {
		t.Fatal(err)
	}
	mustApply(replica.Op{Path: replica.Path{replica.Field("ledger")}, Change: items})
	ent, err := doc.ExportEntirety()
	if err != nil {
		t.Fatal(err)
	}
	recs := []store.Record{store.MetaRecord(pmeta), store.EntryRecord(ent, doc.Version().String())}
	for i, c := range credits {
		base := doc.Version()
		ins, err := changes.SequenceInsert(i, c)
		if err != nil {
			t.Fatal(err)
		}
		mustApply(replica.Op{Path: replica.Path{replica.Field("ledger")}, Change: ins})
		p, ok, err := doc.ExportSince(base)
		if err != nil || !ok {
			t.Fatalf("ExportSince: %v, %v", ok, err)
		}
		recs = append(recs, store.EntryRecord(p, doc.Version().String()))
	}
	js, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return f, recs, doc, string(js)
}

// replayPlain replays recs into a fresh plain replica as the exchange's
// hydration does (an entirety of a minted lineage resets to its version).
func replayPlain(t *testing.T, f replica.DocumentFactory, recs []store.Record) (replica.Document, error) {
	t.Helper()
	doc := f.CreateDocument()
	err := store.Replay("d", recs, func(r store.Record) (string, error) {
		if r.Payload.Kind == wire.Entirety {
			v, err := f.ParseVersion(r.Version)
			if err != nil {
				return "", err
			}
			if v.Lineage() != replica.Genesis {
				err = doc.ResetFromEntirety(r.Payload, v)
				return doc.Version().String(), err
			}
		}
		err := doc.Merge(r.Payload)
		return doc.Version().String(), err
	})
	return doc, err
}

func TestReplayPlainStreamIsContinuous(t *testing.T) {
	f, recs, _, want := plainStream(t, 100, 50, 25)
	doc, err := replayPlain(t, f, recs)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := doc.JSON()
	if string(js) != want || doc.Version().String() != recs[len(recs)-1].Version {
		t.Fatalf("replayed %s at %s, want %s", js, doc.Version(), want)
	}
}

// Defect 3: one store took a write that another failed; the retry, one
// delta from the old confirmed version, went to both, so the first holds
// [credit 100] and then [credit 100, credit 50], and replay applied credit
// 100 twice. Replay now stops at the retried delta, at the version the
// first delta reached.
func TestReplayStopsAtDuplicatedDelta(t *testing.T) {
	f, recs, doc, _ := plainStream(t, 100, 50)
	base, err := f.ParseVersion(recs[1].Version) // the registration
	if err != nil {
		t.Fatal(err)
	}
	retry, ok, err := doc.ExportSince(base)
	if err != nil || !ok {
		t.Fatalf("ExportSince: %v, %v", ok, err)
	}
	dup := append(append([]store.Record{}, recs[:3]...), store.EntryRecord(retry, doc.Version().String()))
	_, err = replayPlain(t, f, dup)
	var ce *store.CorruptError
	if !errors.As(err, &ce) || ce.Reason != storeerr.VersionGap || ce.Index != 3 || ce.LastVersion != recs[2].Version || ce.Good != 3 {
		t.Fatalf("Replay = %v; want a version gap at record 3 after %s", err, recs[2].Version)
	}
}

func TestReplayStopsAtMissingDelta(t *testing.T) {
	f, recs, _, _ := plainStream(t, 100, 50, 25)
	holed := append(append([]store.Record{}, recs[:3]...), recs[4])
	_, err := replayPlain(t, f, holed)
	var ce *store.CorruptError
	if !errors.As(err, &ce) || ce.Reason != storeerr.VersionGap || ce.Index != 3 || ce.LastVersion != recs[2].Version {
		t.Fatalf("Replay = %v; want a version gap at record 3", err)
	}
}

func TestReplayStopsAtRejectedEntry(t *testing.T) {
	f, recs, _, _ := plainStream(t, 100)
	bad := append([]store.Record{}, recs...)
	bad = append(bad, store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`{`)}, "x:9"))
	_, err := replayPlain(t, f, bad)
	var ce *store.CorruptError
	if !errors.As(err, &ce) || ce.Reason != storeerr.Rejected || ce.Err == nil || ce.Good != len(recs) || !errors.Is(err, &kyneta.Error{Pkg: "store", Code: kyneta.CodeDataLoss}) {
		t.Fatalf("Replay = %v; want a rejected record after %d good", err, len(recs))
	}
}

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("disk I/O error"), true},
		{storeerr.New(storeerr.WriteFailed, "d", "", errors.New("EFBIG")), true},
		{&kyneta.Error{Pkg: "store", Reason: storeerr.Injected}, true},
		{&kyneta.Error{Pkg: "store", Reason: storeerr.SyncModeMismatch}, false},
		{&kyneta.Error{Pkg: "store", Reason: storeerr.Closed}, false},
		{&store.HeadError{DocID: "d"}, false},
		{&store.CorruptError{DocID: "d"}, false},
		{storeerr.Format(storeerr.IncompatibleMajor, "sqlite", "2.0", "1.0"), false},
		{storeerr.New(storeerr.Locked, "", "", nil), false},
		{context.Canceled, false},
		{errors.Join(errors.New("x"), context.DeadlineExceeded), false},
	} {
		if got := store.Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
