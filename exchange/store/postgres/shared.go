package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// Shared returns s as several exchanges writing the same documents should
// each use it: the nodes of a cluster, or several exchanges of one
// process on one database. bound lists the replica factories and sync
// modes of the documents stored (the exchange's Options.Replicas and the
// types it gets documents with); a write of a document of another type
// fails with reason "invalid-record". Close closes s: give each exchange
// its own Store (several [New] on one pool) so that one exchange's
// Shutdown leaves the others' store open.
//
// The exchange writes a store in two ways: AppendAfter, a delta on the
// head it last confirmed, checked by the store; and Replace, its whole
// state, when it registers a document the store did not have or cannot
// express what it holds as a delta from the head (it adopted a head it
// never saw). Replace is last-writer-wins, which is right for a store one
// exchange owns and wrong for a shared one: an exchange that registers a
// document at the same time as another, or that lags behind the stream,
// would overwrite entries another one stored and acknowledged. If that
// exchange then stops, the write is gone.
//
// So no write through the returned store removes what the stream holds.
// Each document's type decides how:
//   - delta (plain, authoritative): appends pass through (the store checks
//     their base). A Replace creates the stream only if it is absent, and
//     rewrites it only if its version is ahead of the stream's head (or
//     concurrent with it and first in the order by which one of two
//     diverged exchanges adopts the other's state), on condition that the
//     head did not move meanwhile. A Replace at or behind the head writes
//     nothing and succeeds: the stream already holds that state (the
//     exchange catches up from its peers).
//   - latest (LWW, ephemeral): whole-document entireties ordered by their
//     timestamp versions; a newer one is stored after the head, an older
//     or equal one writes nothing.
//   - join (state documents, opaque Loro/Yjs logs): merges are set unions.
//     The stream is replayed, the incoming entries merged in, and only
//     those that change something are appended, each at the version the
//     merge reached, so a stream never holds a payload twice and replays
//     to the versions stored with it.
//
// Every conditional write is retried a few times on a head that moved
// and then fails with reason "write-failed" ([store.Transient]: the
// exchange retries with backoff and reports itself unhealthy meanwhile).
func (s *Store) Shared(bound ...replica.Bound) store.Store {
	return &sharedStore{Store: s, bound: bound, metas: map[string]store.Meta{}, joins: map[string]*joinCache{}}
}

// sharedStore is the store Shared returns.
type sharedStore struct {
	*Store
	bound []replica.Bound

	mu    sync.Mutex
	metas map[string]store.Meta // a doc's replica type and sync mode never change
	joins map[string]*joinCache // replayed join streams, by doc
	order []string              // joins in insertion order, for eviction
}

// joinCache is a join document's stream replayed up to head.
type joinCache struct {
	head string
	rep  replica.Replica
}

// maxJoinCache bounds how many replayed join streams are kept; an evicted
// one is replayed again on its next write.
const maxJoinCache = 1024

// casAttempts bounds the conditional writes of one operation.
const casAttempts = 8

type streamKind uint8

const (
	kindDelta streamKind = iota + 1
	kindLatest
	kindJoin
)

// errStreamMoved is what a write reports when other writers kept moving
// the stream's head through every attempt; the exchange retries later.
func errStreamMoved(docID string) error {
	return storeerr.New(storeerr.WriteFailed, docID, "the shared stream kept moving under concurrent writers", nil)
}

// factory returns the factory and kind of a document's meta.
func (s *sharedStore) factory(m store.Meta) (replica.Factory, streamKind, error) {
	for _, b := range s.bound {
		if b.Mode != m.SyncMode || !replica.Compatible(b.Factory.Type(), m.ReplicaType) {
			continue
		}
		switch {
		case m.SyncMode == wire.Authoritative:
			return b.Factory, kindDelta, nil
		case isJoin(b.Factory.CreateEmpty()):
			return b.Factory, kindJoin, nil
		default:
			return b.Factory, kindLatest, nil
		}
	}
	return nil, 0, storeerr.New(storeerr.InvalidRecord, "", fmt.Sprintf("no replica for %v/%v", m.ReplicaType, m.SyncMode), nil)
}

func isJoin(r replica.Replica) bool {
	su, ok := r.(replica.SetUnion)
	return ok && su.SetUnion()
}

// meta returns the doc's meta: from the batch when it has some, else the
// one cached or stored.
func (s *sharedStore) meta(ctx context.Context, docID string, recs []store.Record) (store.Meta, bool, error) {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Kind == store.KindMeta {
			s.mu.Lock()
			s.metas[docID] = recs[i].Meta
			s.mu.Unlock()
			return recs[i].Meta, true, nil
		}
	}
	s.mu.Lock()
	m, ok := s.metas[docID]
	s.mu.Unlock()
	if ok {
		return m, true, nil
	}
	cur, err := s.Store.CurrentMeta(ctx, docID)
	if err != nil || cur == nil {
		return store.Meta{}, false, err
	}
	s.mu.Lock()
	s.metas[docID] = *cur
	s.mu.Unlock()
	return *cur, true, nil
}

// AppendAfter implements [store.Store].
func (s *sharedStore) AppendAfter(ctx context.Context, docID, base string, recs []store.Record) error {
	m, ok, err := s.meta(ctx, docID, recs)
	if err != nil {
		return err
	}
	if !ok {
		return &store.HeadError{DocID: docID, Base: base} // absent: the exchange registers it
	}
	f, kind, err := s.factory(m)
	if err != nil {
		return storeerr.WithDoc(err, docID)
	}
	switch kind {
	case kindLatest:
		return s.latest(ctx, docID, f, recs, false)
	case kindJoin:
		return s.join(ctx, docID, f, m, recs)
	}
	return s.Store.AppendAfter(ctx, docID, base, recs)
}

// Replace implements [store.Store] (see [Store.Shared]).
func (s *sharedStore) Replace(ctx context.Context, docID string, recs []store.Record) error {
	m, ok, err := s.meta(ctx, docID, recs)
	if err != nil {
		return err
	}
	if !ok {
		return storeerr.New(storeerr.ReplaceWithoutMeta, docID, "batch must contain at least one meta record", nil)
	}
	f, kind, err := s.factory(m)
	if err != nil {
		return storeerr.WithDoc(err, docID)
	}
	switch kind {
	case kindLatest:
		return s.latest(ctx, docID, f, recs, true)
	case kindJoin:
		return s.join(ctx, docID, f, m, recs)
	}
	return s.rewrite(ctx, docID, f, recs)
}

// Delete implements [store.Store].
func (s *sharedStore) Delete(ctx context.Context, docID string) error {
	s.mu.Lock()
	delete(s.metas, docID)
	delete(s.joins, docID)
	s.mu.Unlock()
	return s.Store.Delete(ctx, docID)
}

func lastVersion(recs []store.Record) (string, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Kind == store.KindEntry {
			return recs[i].Version, true
		}
	}
	return "", false
}

func entries(recs []store.Record) []store.Record {
	out := make([]store.Record, 0, len(recs))
	for _, r := range recs {
		if r.Kind == store.KindEntry {
			out = append(out, r)
		}
	}
	return out
}

// create stores recs as the doc's stream if it has none; false when
// another writer got there first (head then says where its stream ends).
func (s *sharedStore) create(ctx context.Context, docID string, recs []store.Record) (bool, store.Head, error) {
	err := s.Store.ReplaceIf(ctx, docID, store.Head{}, recs)
	var he *store.HeadError
	if errors.As(err, &he) {
		return false, he.Head, nil
	}
	return err == nil, store.Head{}, err
}

// rewrite is a delta doc's Replace: create, or rewrite a stream whose head
// is behind the incoming version, or nothing when the stream is at or past
// it.
func (s *sharedStore) rewrite(ctx context.Context, docID string, f replica.Factory, recs []store.Record) error {
	v, ok := lastVersion(recs)
	if !ok {
		// Meta only: nothing to lose by writing it where nothing is.
		v = ""
	}
	return s.writeIfAhead(ctx, docID, f, v, recs, true, func(head store.Head) error {
		return s.Store.ReplaceIf(ctx, docID, head, recs)
	})
}

// writeIfAhead writes recs, ending at version v, with write when v is
// ahead of the stream's head (versionAhead); at or behind it, it writes
// nothing and succeeds. A stream that does not exist is created with recs
// when create is set, and refused with a *store.HeadError otherwise. A
// write refused because the head moved is retried on the new head.
func (s *sharedStore) writeIfAhead(ctx context.Context, docID string, f replica.Factory, v string, recs []store.Record, create bool, write func(store.Head) error) error {
	head, err := s.Store.Head(ctx, docID)
	if err != nil {
		return err
	}
	for range casAttempts {
		if !head.Exists {
			if !create {
				return &store.HeadError{DocID: docID, Head: head}
			}
			done, h, err := s.create(ctx, docID, recs)
			if err != nil || done {
				return err
			}
			head = h
			continue
		}
		switch ahead, err := versionAhead(f, v, head.Version); {
		case err != nil:
			return err
		case !ahead:
			return nil // the stream holds this state already (or a newer one)
		}
		err := write(head)
		var he *store.HeadError
		if !errors.As(err, &he) {
			return err
		}
		head = he.Head
	}
	return errStreamMoved(docID)
}

// versionAhead reports whether v should replace head: v is ahead of it,
// or concurrent and first in the exchange's total order of plain
// versions (higher counter, then higher lineage), which is also how two
// exchanges on different lineages decide which one adopts the other.
func versionAhead(f replica.Factory, v, head string) (bool, error) {
	if head == "" {
		return v != "", nil
	}
	if v == "" {
		return false, nil
	}
	hv, err := f.ParseVersion(head)
	if err != nil {
		return true, nil // an unreadable head is no state worth keeping over ours
	}
	vv, err := f.ParseVersion(v)
	if err != nil {
		return false, err
	}
	ord, err := vv.Compare(hv)
	if err != nil {
		return false, err
	}
	switch ord {
	case replica.Ahead:
		return true, nil
	case replica.Concurrent:
		// The exchange's own rule, so a store keeps what a node adopts.
		return replica.Dominates(vv, hv), nil
	}
	return false, nil
}

// latest stores an LWW entirety when it is newer than the stream's head.
func (s *sharedStore) latest(ctx context.Context, docID string, f replica.Factory, recs []store.Record, replace bool) error {
	v, ok := lastVersion(recs)
	if !ok {
		if replace {
			return s.rewrite(ctx, docID, f, recs)
		}
		return nil
	}
	// An entirety stands on its own: it goes after whatever the head is.
	return s.writeIfAhead(ctx, docID, f, v, recs, replace, func(head store.Head) error {
		return s.Store.AppendAfter(ctx, docID, head.Version, recs)
	})
}

// join merges the incoming entries into the stream: the ones that change
// the replayed state are appended, at the version the merge reached.
func (s *sharedStore) join(ctx context.Context, docID string, f replica.Factory, m store.Meta, recs []store.Record) error {
	in := entries(recs)
	for range casAttempts {
		head, err := s.Store.Head(ctx, docID)
		if err != nil {
			return err
		}
		if !head.Exists {
			rep := f.CreateEmpty()
			batch, err := joinBatch(rep, f, in)
			if err != nil {
				return err
			}
			done, _, err := s.create(ctx, docID, append([]store.Record{store.MetaRecord(m)}, batch...))
			if err != nil {
				return err
			}
			if done {
				s.keepJoin(docID, rep, batch)
				return nil
			}
			continue
		}
		rep, err := s.replayed(ctx, docID, f, head)
		if err != nil {
			return err
		}
		batch, err := joinBatch(rep, f, in)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			s.cacheJoin(docID, rep, head.Version)
			return nil // everything is stored already
		}
		err = s.Store.AppendAfter(ctx, docID, head.Version, batch)
		var he *store.HeadError
		switch {
		case err == nil:
			s.keepJoin(docID, rep, batch)
			return nil
		case !errors.As(err, &he):
			return err
		}
		s.mu.Lock()
		delete(s.joins, docID) // rep holds entries that were not stored
		s.mu.Unlock()
	}
	return errStreamMoved(docID)
}

// joinBatch merges in into rep and returns the entries that changed it,
// each at the version rep reached (what replaying them reproduces).
func joinBatch(rep replica.Replica, f replica.Factory, in []store.Record) ([]store.Record, error) {
	var out []store.Record
	for _, rec := range in {
		before, n := rep.Version().String(), payloadCount(rep)
		if err := replayEntry(rep, f, rec); err != nil {
			return nil, err
		}
		if after := rep.Version().String(); after != before || payloadCount(rep) != n {
			out = append(out, store.EntryRecord(rec.Payload, after))
		}
	}
	return out, nil
}

// payloadCount is the number of stored payloads of an opaque replica (a
// payload with a stamp equal to the current one changes no version), -1
// for others.
func payloadCount(rep replica.Replica) int {
	if o, ok := rep.(interface{ Len() int }); ok {
		return o.Len()
	}
	return -1
}

// replayEntry applies a stored entry the way the exchange replays one
// when it hydrates, so the versions stored here are the ones it reaches.
func replayEntry(rep replica.Replica, f replica.Factory, rec store.Record) error {
	if sm, ok := rep.(replica.StampedMerger); ok {
		return sm.MergeStamped(rec.Payload, rec.Version, "")
	}
	if rec.Payload.Kind == wire.Entirety {
		if v, err := f.ParseVersion(rec.Version); err == nil && v.Lineage() != replica.Genesis {
			return rep.ResetFromEntirety(rec.Payload, v)
		}
	}
	return rep.Merge(rec.Payload)
}

// replayed returns the join doc's stream replayed up to head, from the
// cache when it is there.
func (s *sharedStore) replayed(ctx context.Context, docID string, f replica.Factory, head store.Head) (replica.Replica, error) {
	s.mu.Lock()
	c, ok := s.joins[docID]
	s.mu.Unlock()
	if ok && c.head == head.Version {
		return c.rep, nil
	}
	recs, err := s.Store.LoadAll(ctx, docID)
	if err != nil {
		return nil, err
	}
	rep := f.CreateEmpty()
	for _, rec := range entries(recs) {
		if err := replayEntry(rep, f, rec); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func (s *sharedStore) keepJoin(docID string, rep replica.Replica, batch []store.Record) {
	head, ok := lastVersion(batch)
	if !ok {
		s.mu.Lock()
		delete(s.joins, docID)
		s.mu.Unlock()
		return
	}
	s.cacheJoin(docID, rep, head)
}

func (s *sharedStore) cacheJoin(docID string, rep replica.Replica, head string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.joins[docID]; !known {
		if len(s.order) >= maxJoinCache {
			delete(s.joins, s.order[0])
			s.order = s.order[1:]
		}
		s.order = append(s.order, docID)
	}
	s.joins[docID] = &joinCache{head: head, rep: rep}
}
