package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// ledger is a minimal op-log document, like the plain replica: its state
// is a list of credits, its version "L:<number of credits>", a delta since
// version k is the credits after the k-th (a JSON array) stored at the
// version it leads to. Replaying a delta twice shows twice in the state,
// which is the defect the suite's several-stores test is about.
type ledger struct{ credits []int }

func ledgerVersion(n int) string { return "L:" + strconv.Itoa(n) }

func (l *ledger) version() string { return ledgerVersion(len(l.credits)) }

// delta returns the entry holding credits[from:], stored at the current
// version (the one it leads to).
func (l *ledger) delta(from int) store.Record {
	b, _ := json.Marshal(l.credits[from:])
	if len(l.credits) == from {
		b = []byte("[]")
	}
	return store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: b}, l.version())
}

// replayLedger rebuilds a ledger from a stream with [store.Replay].
func replayLedger(docID string, recs []store.Record) (*ledger, error) {
	l := &ledger{}
	err := store.Replay(docID, recs, func(r store.Record) (string, error) {
		var credits []int
		if err := json.Unmarshal(r.Payload.Data, &credits); err != nil {
			return "", err
		}
		l.credits = append(l.credits, credits...)
		return l.version(), nil
	})
	return l, err
}

// confirmWrite runs the write protocol a caller of [store.Store.AppendAfter]
// follows for one store, until the store holds the caller's current
// version or attempts run out: append the delta since the store's
// confirmed version; on success the store is at the delta's version; on a
// [store.HeadError] the store is where the error says (a write whose
// outcome was unknown landed, or it was never there: register it with
// Replace); on any other error nothing is known, so try again from the same
// confirmed version. It returns the store's new confirmed version ("" =
// not registered).
func confirmWrite(ctx context.Context, s store.Store, doc string, l *ledger, confirmed string, attempts int) (string, error) {
	var last error
	for range attempts {
		if confirmed == l.version() {
			return confirmed, nil
		}
		var err error
		if confirmed == "" {
			err = s.Replace(ctx, doc, []store.Record{storekit.MetaRecord(""), l.delta(0)})
		} else {
			n, _ := strconv.Atoi(strings.TrimPrefix(confirmed, "L:"))
			err = s.AppendAfter(ctx, doc, confirmed, []store.Record{l.delta(n)})
		}
		var he *store.HeadError
		switch {
		case err == nil:
			confirmed = l.version()
		case errors.As(err, &he):
			confirmed = ""
			if he.Head.Exists {
				confirmed = he.Head.Version
			}
		default:
			last = err
		}
	}
	if confirmed == l.version() {
		return confirmed, nil
	}
	return confirmed, fmt.Errorf("store still at %q after %d attempts: %w", confirmed, attempts, last)
}
