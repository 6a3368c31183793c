package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/changes"
	"github.com/kyneta-go/kyneta/exchange/internal/pmap"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

// Path addresses a value inside a document.
type Path = replica.Path

// P builds a Path: a string is an object field, an integer a list index,
// and a replica.Segment is used as is (replica.Entry for record entries).
// Any other value becomes a field named by its fmt.Sprint form.
func P(segments ...any) Path {
	p := make(Path, 0, len(segments))
	for _, s := range segments {
		switch s := s.(type) {
		case string:
			p = append(p, replica.Field(s))
		case int:
			p = append(p, replica.Index(s))
		case int32:
			p = append(p, replica.Index(int(s)))
		case int64:
			p = append(p, replica.Index(int(s)))
		case uint:
			p = append(p, replica.Index(int(s)))
		case replica.Segment:
			p = append(p, s)
		default:
			p = append(p, replica.Field(fmt.Sprint(s)))
		}
	}
	return p
}

// Doc is a handle on an interpreted document. Handles are cheap and safe
// for concurrent use; Get returns the same handle for the same document.
type Doc struct {
	ex *Exchange
	rt *docRuntime
}

// ID returns the document id.
func (d *Doc) ID() string { return d.rt.id }

// Type returns the document's type.
func (d *Doc) Type() DocType { return d.rt.docType }

func (d *Doc) check() error {
	d.ex.mu.Lock()
	defer d.ex.mu.Unlock()
	switch {
	case d.ex.closed:
		return newError(reasonClosed, d.rt.id, "", nil)
	case d.rt.destroyed:
		return newError(reasonDestroyed, d.rt.id, "", nil)
	}
	return nil
}

// Tx collects the changes of one transaction. Its methods record the
// first error; Update returns it and applies nothing.
type Tx struct {
	ops []replica.Op
	err error
}

func (tx *Tx) add(path Path, c replica.Change, err error) {
	if tx.err != nil {
		return
	}
	if err != nil {
		tx.err = err
		return
	}
	tx.ops = append(tx.ops, replica.Op{Path: slices.Clone(path), Change: c})
}

// Set replaces the value at path with v (any JSON-marshalable Go value).
func (tx *Tx) Set(path Path, v any) {
	val, err := toValue(v)
	if err != nil {
		tx.add(path, replica.Change{}, err)
		return
	}
	c, err := changes.Replace(val)
	tx.add(path, c, err)
}

// MapSet sets key in the object (record) at path.
func (tx *Tx) MapSet(path Path, key string, v any) {
	val, err := toValue(v)
	if err != nil {
		tx.add(path, replica.Change{}, err)
		return
	}
	c, err := changes.MapSet(key, val)
	tx.add(path, c, err)
}

// Delete removes keys from the object (record) at path.
func (tx *Tx) Delete(path Path, keys ...string) {
	tx.add(path, changes.MapDelete(keys...), nil)
}

// ListInsert inserts items at index i of the list at path.
func (tx *Tx) ListInsert(path Path, i int, items ...any) {
	vals := make([]any, len(items))
	for k, it := range items {
		v, err := toValue(it)
		if err != nil {
			tx.add(path, replica.Change{}, err)
			return
		}
		vals[k] = v
	}
	c, err := changes.SequenceInsert(i, vals...)
	tx.add(path, c, err)
}

// ListDelete deletes n items from index i of the list at path.
func (tx *Tx) ListDelete(path Path, i, n int) {
	tx.add(path, changes.SequenceDelete(i, n), nil)
}

// TextInsert inserts s at index i (UTF-16 code units, like JS strings) of
// the text at path.
func (tx *Tx) TextInsert(path Path, i int, s string) {
	tx.add(path, changes.TextInsert(i, s), nil)
}

// TextDelete deletes n UTF-16 code units at index i of the text at path.
func (tx *Tx) TextDelete(path Path, i, n int) {
	tx.add(path, changes.TextDelete(i, n), nil)
}

// Increment adds n to the counter at path.
func (tx *Tx) Increment(path Path, n float64) {
	tx.add(path, changes.Increment(n), nil)
}

// Apply adds a raw change (any change of the reference vocabulary).
func (tx *Tx) Apply(path Path, c replica.Change) { tx.add(path, c, nil) }

// toValue converts a Go value into the replica value model.
func toValue(v any) (any, error) {
	if val, err := replica.ValueOf(v); err == nil {
		return val, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return replica.ParseValue(b)
}

// Update runs fn and commits its changes as one transaction (one version
// step), then pushes them to peers. If fn returns an error, or a change is
// invalid, nothing is applied. While the document is still being loaded
// from a store, the transaction is queued and applied right after the
// stored state (reads show it from then on); if the replica then refuses
// it, a merge-failed diagnostic reports it.
func (d *Doc) Update(fn func(*Tx) error) error {
	if err := d.check(); err != nil {
		return err
	}
	tx := &Tx{}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.err != nil {
		return newError(reasonInvalidChange, d.rt.id, "", tx.err)
	}
	if len(tx.ops) == 0 {
		return nil
	}
	if b := d.rt.docType.Schema; b != nil {
		if err := validateOps(b, tx.ops); err != nil {
			return newError(reasonInvalidChange, d.rt.id, "", err)
		}
	}
	rt := d.rt
	rt.mu.Lock()
	if rt.loading {
		// Applied once the stored state is loaded (see finishLoading);
		// the registration then announces the resulting version.
		rt.queuedTx = append(rt.queuedTx, tx.ops)
		rt.mu.Unlock()
		return nil
	}
	err := rt.doc.Apply(tx.ops)
	// One push waits in the queue per doc at a time: it reads the version
	// when it runs, so a burst of writes goes out as one delta.
	queue := err == nil && !rt.pushQueued
	if queue {
		rt.pushQueued = true
	}
	rt.mu.Unlock()
	if err != nil {
		return newError(reasonInvalidChange, rt.id, "", err)
	}
	d.ex.markChanged(rt)
	if queue {
		d.ex.dispatch(localChangeMsg{rt: rt})
	}
	return nil
}

// JSON returns the document's state as JSON text.
func (d *Doc) JSON() ([]byte, error) {
	d.rt.mu.Lock()
	defer d.rt.mu.Unlock()
	return d.rt.doc.JSON()
}

// Decode unmarshals the document's state into v (encoding/json rules).
func (d *Doc) Decode(v any) error {
	b, err := d.JSON()
	if err != nil {
		return newError(reasonDecode, d.rt.id, "", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return newError(reasonDecode, d.rt.id, "", err)
	}
	return nil
}

// Version returns the document's current serialized version.
func (d *Doc) Version() string { return d.rt.version() }

// Change is a document change delivered to subscribers. Remote changes
// came from peers (or store hydration) and are never pushed back.
type Change struct {
	DocID  string
	Ops    []replica.Op
	Remote bool
}

// Subscribe calls fn for every change of the document, at the end of the
// dispatch burst that applied it, outside every lock (fn may call the
// exchange, but must not block waiting on it). It returns a function that
// cancels the subscription.
func (d *Doc) Subscribe(fn func(Change)) (cancel func()) {
	d.ex.mu.Lock()
	defer d.ex.mu.Unlock()
	return d.rt.subs.add(&d.ex.mu, fn)
}

// SyncEvent reports a change in the per-peer sync states of a document.
type SyncEvent struct {
	DocID  string
	States map[string]PeerDocState
	Ready  bool
}

// OnPeerSyncChange calls fn whenever a peer's sync state for the document
// changes (same delivery rules as Subscribe).
func (d *Doc) OnPeerSyncChange(fn func(SyncEvent)) (cancel func()) {
	d.ex.mu.Lock()
	defer d.ex.mu.Unlock()
	return d.rt.syncSubs.add(&d.ex.mu, fn)
}

// PeerStates returns every peer's current sync state for the document.
// States are volatile (a reconnecting peer may go back to pending).
func (d *Doc) PeerStates() map[string]PeerDocState {
	d.ex.mu.Lock()
	s := d.ex.cs().sync
	d.ex.mu.Unlock()
	return peerStates(s, d.rt.id)
}

// Ready reports the monotonic readiness latch: some peer was once synced
// with, or answered vacant for, the document. It survives disconnects and
// suspend/resume, and is cleared only by Destroy and Shutdown.
func (d *Doc) Ready() bool {
	d.ex.mu.Lock()
	s := d.ex.cs().sync
	d.ex.mu.Unlock()
	return s.hasReconciled(d.rt.id)
}

// WaitForSync waits until a peer with a live channel is synced with, or
// answered vacant for, the document, or until ctx is done (then the error
// has reason "sync-timeout" and unwraps to ctx.Err()).
//
// "Synced" also means our copy is not behind the version the peer last
// reported, so the data is there when WaitForSync returns. (The reference
// resolved on the peer's interest alone; its single-threaded scheduler
// happened to deliver the offer first.)
//
// A peer's report is as of when it was sent. A peer that announced the
// document (on its own Get) and then wrote to it may have its announcement
// arrive after our Get: WaitForSync then counts the announced version, and
// the write follows as a push. The protocol has no acknowledgement that
// could tell an announcement from an answer to our request, so a reader
// that must see a particular write waits for it (Subscribe, or Version).
//
// Do not call it from a subscriber callback: the dispatcher that would
// resolve it is the one running the callback.
func (d *Doc) WaitForSync(ctx context.Context) error {
	if err := d.check(); err != nil {
		return err
	}
	rt := d.rt
	return d.wait(ctx, func(s *syncState, sess *sessionState) (bool, error) {
		if synced(rt.id, rt.factory.ParseVersion, rt.currentVersion, s, sess) {
			return true, nil
		}
		return mismatchOnly(rt.id, s, sess)
	}, newError(reasonSyncTimeout, d.rt.id, "waiting for a synced peer", nil))
}

// WaitAcknowledged waits until a connected peer acknowledged holding the
// document durably at (or after) the version it has now: a peer with
// stores acknowledges a write it merged once every one of its stores holds
// it; a peer without stores never acknowledges. Use it after Update where a write must not be lost with this
// process (a CLI that exits, a service about to stop). On ctx's end the
// error has reason "not-acknowledged" and unwraps to ctx.Err(). Only plain
// (JSONDoc) documents are acknowledged; for others it waits for ctx.
func (d *Doc) WaitAcknowledged(ctx context.Context) error {
	if err := d.check(); err != nil {
		return err
	}
	rt := d.rt
	target := rt.currentVersion()
	return d.waitAck(ctx, target.String(), func(s *syncState, sess *sessionState) (bool, error) {
		return acknowledged(rt.id, rt.factory.ParseVersion, target, s, sess), nil
	},
		newError(reasonNotAcknowledged, d.rt.id, "no peer acknowledged version "+target.String(), nil))
}

// wait blocks until until holds (checked now and at every tick) or ctx
// ends (then timeout, wrapping ctx.Err(), is returned).
func (d *Doc) wait(ctx context.Context, until func(*syncState, *sessionState) (bool, error), timeout *kyneta.Error) error {
	return d.waitAck(ctx, "", until, timeout)
}

// waitAck is wait; with ackAt set, the waiter also asks connected peers
// for an acknowledgement of that version.
func (d *Doc) waitAck(ctx context.Context, ackAt string, until func(*syncState, *sessionState) (bool, error), timeout *kyneta.Error) error {
	w := &syncWaiter{doc: d.rt.id, rt: d.rt, until: until, done: make(chan struct{}), ackAt: ackAt, asked: map[string]bool{}}
	if ackAt != "" {
		d.ex.dispatch(funcMsg(func() { d.ex.askAcks(w) }))
	}
	d.ex.mu.Lock()
	d.ex.waiters[w] = struct{}{}
	d.ex.mu.Unlock()
	{
		st := d.ex.cs()
		if done, err := until(st.sync, st.sess); done {
			d.ex.resolveWaiter(w, err)
		}
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		d.ex.mu.Lock()
		delete(d.ex.waiters, w)
		d.ex.mu.Unlock()
		timeout.Err = ctx.Err()
		return timeout
	}
}

type syncWaiter struct {
	doc   string
	rt    *docRuntime
	until func(*syncState, *sessionState) (bool, error)
	done  chan struct{}
	err   error
	// ackAt, for WaitAcknowledged: the version to have acknowledged; the
	// waiter asks every peer it sees once (asked), so a peer that got the
	// write another way (a failover) still answers.
	ackAt string
	asked map[string]bool
}

// resolveWaiter completes w once.
func (ex *Exchange) resolveWaiter(w *syncWaiter, err error) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if _, ok := ex.waiters[w]; !ok {
		return
	}
	delete(ex.waiters, w)
	w.err = err
	close(w.done)
}

// currentVersion returns the replica's version under its lock.
func (rt *docRuntime) currentVersion() replica.Version {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.rep.Version()
}

// checkWaiters resolves sync waiters whose condition holds (each tick).
func (ex *Exchange) checkWaiters() {
	ex.mu.Lock()
	if len(ex.waiters) == 0 {
		ex.mu.Unlock()
		return
	}
	ws := make([]*syncWaiter, 0, len(ex.waiters))
	for w := range ex.waiters {
		ws = append(ws, w)
	}
	cur := ex.cs()
	ss, sess := cur.sync, cur.sess
	live := make([]bool, len(ws))
	for i, w := range ws {
		live[i] = !w.rt.destroyed && ex.runtimes[w.doc] == w.rt
	}
	ex.mu.Unlock()
	for i, w := range ws {
		switch {
		case !live[i]:
			ex.resolveWaiter(w, newError(reasonDestroyed, w.doc, "", nil))
		default:
			if done, err := w.until(ss, sess); done {
				ex.resolveWaiter(w, err)
			} else if w.ackAt != "" {
				ex.askAcks(w)
			}
		}
	}
}

// askAcks asks each connected peer that shares the doc, once per waiter,
// to acknowledge w.ackAt: an empty delta offer that asks for an answer. A
// peer with stores that holds the version durably answers with its
// acknowledgement; others ignore it (a TS peer answers with an interest).
// Runs on the dispatcher.
func (ex *Exchange) askAcks(w *syncWaiter) {
	cur := ex.cs()
	for _, id := range ackTargets(w.doc, w.asked, cur.sync, cur.sess, ex.canShare) {
		w.asked[id] = true
		ex.sendTo(cur.sess.peerChannels(id), &wire.Offer{DocID: w.doc, Version: w.ackAt, Reciprocate: ptr(true),
			Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte("[]")}})
	}
}

// markChanged schedules delivery of rt's pending change sets.
func (ex *Exchange) markChanged(rt *docRuntime) {
	ex.mu.Lock()
	if !rt.inChanged {
		rt.inChanged = true
		ex.changed = append(ex.changed, rt)
	}
	ex.mu.Unlock()
}

func (ex *Exchange) deliverChanges() {
	ex.mu.Lock()
	list := ex.changed
	ex.changed = nil
	for _, rt := range list {
		rt.inChanged = false
	}
	ex.mu.Unlock()
	for _, rt := range list {
		rt.mu.Lock()
		sets := rt.pending
		rt.pending = nil
		rt.mu.Unlock()
		ex.mu.Lock()
		subs := rt.subs.snapshot()
		ex.mu.Unlock()
		for _, cs := range sets {
			ch := Change{DocID: rt.id, Ops: cs.Ops, Remote: cs.Remote}
			if ex.obs.on() {
				ex.publish(ObsEvent{Layer: ObsDoc, Kind: "changeset", DocID: rt.id, Replay: cs.Remote, Ops: obsOps(ch)})
			}
			for _, s := range subs {
				ex.safeCall("Subscribe callback", func() { s.call(ch) })
			}
		}
	}
}

func (ex *Exchange) emitReady(docs pmap.Set) {
	if ex.obs.on() {
		ex.observeSyncStates(docs.Slice())
	}
	ex.mu.Lock()
	s := ex.cs().sync
	type job struct {
		subs []*subscriber[SyncEvent]
		ev   SyncEvent
	}
	var jobs []job
	for doc := range docs.All() {
		rt := ex.runtimes[doc]
		if rt == nil || rt.syncSubs.len() == 0 {
			continue
		}
		jobs = append(jobs, job{subs: rt.syncSubs.snapshot(), ev: SyncEvent{DocID: doc, States: peerStates(s, doc), Ready: s.hasReconciled(doc)}})
	}
	ex.mu.Unlock()
	for _, j := range jobs {
		for _, sub := range j.subs {
			ex.safeCall("OnPeerSyncChange callback", func() { sub.call(j.ev) })
		}
	}
}

// subscribers is a list of callbacks guarded by the exchange's mutex.
type subscribers[T any] struct {
	list []*subscriber[T]
}

type subscriber[T any] struct {
	fn  func(T)
	off bool // guarded by the exchange's mutex
	mu  *sync.Mutex
}

func (s *subscriber[T]) call(v T) {
	s.mu.Lock()
	off := s.off
	s.mu.Unlock()
	if !off {
		s.fn(v)
	}
}

// add registers fn; the caller holds mu.
func (s *subscribers[T]) add(mu *sync.Mutex, fn func(T)) func() {
	sub := &subscriber[T]{fn: fn, mu: mu}
	s.list = append(s.list, sub)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if sub.off {
			return
		}
		sub.off = true
		i := slices.Index(s.list, sub)
		if i >= 0 {
			s.list = slices.Delete(slices.Clone(s.list), i, i+1)
		}
	}
}

func (s *subscribers[T]) snapshot() []*subscriber[T] { return s.list }
func (s *subscribers[T]) len() int                   { return len(s.list) }
