package metrics

import (
	"context"

	"github.com/kyneta-go/kyneta/exchange/store"
)

// Store returns st with every operation timed
// (kyneta_store_operation_seconds) and every failure counted
// (kyneta_store_operation_failures_total), by operation: append,
// append_after, replace, load, head, delete, meta, list and close. Give
// the result to the exchange in place of st.
func (c *Collector) Store(st store.Store) store.Store { return &timedStore{s: st, c: c} }

type timedStore struct {
	s store.Store
	c *Collector
}

func (t *timedStore) observe(op string, f func() error) error {
	start := t.c.clk.Now()
	err := f()
	t.c.storeLat.WithLabelValues(op).Observe(t.c.since(start))
	if err != nil {
		t.c.storeFail.WithLabelValues(op).Inc()
	}
	return err
}

func (t *timedStore) Append(ctx context.Context, docID string, rec store.Record) error {
	return t.observe("append", func() error { return t.s.Append(ctx, docID, rec) })
}

func (t *timedStore) LoadAll(ctx context.Context, docID string) (recs []store.Record, err error) {
	err = t.observe("load", func() error { recs, err = t.s.LoadAll(ctx, docID); return err })
	return recs, err
}

func (t *timedStore) Replace(ctx context.Context, docID string, recs []store.Record) error {
	return t.observe("replace", func() error { return t.s.Replace(ctx, docID, recs) })
}

func (t *timedStore) AppendAfter(ctx context.Context, docID, base string, recs []store.Record) error {
	return t.observe("append_after", func() error { return t.s.AppendAfter(ctx, docID, base, recs) })
}

func (t *timedStore) Head(ctx context.Context, docID string) (h store.Head, err error) {
	err = t.observe("head", func() error { h, err = t.s.Head(ctx, docID); return err })
	return h, err
}

func (t *timedStore) Delete(ctx context.Context, docID string) error {
	return t.observe("delete", func() error { return t.s.Delete(ctx, docID) })
}

func (t *timedStore) CurrentMeta(ctx context.Context, docID string) (m *store.Meta, err error) {
	err = t.observe("meta", func() error { m, err = t.s.CurrentMeta(ctx, docID); return err })
	return m, err
}

func (t *timedStore) ListDocIDs(ctx context.Context, prefix string) (ids []string, err error) {
	err = t.observe("list", func() error { ids, err = t.s.ListDocIDs(ctx, prefix); return err })
	return ids, err
}

func (t *timedStore) Close() error { return t.observe("close", t.s.Close) }

// Unwrap returns the timed store.
func (t *timedStore) Unwrap() store.Store { return t.s }
