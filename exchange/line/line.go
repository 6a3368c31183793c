package line

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/wire"
)

// Line is a reliable, ordered, exactly-once message stream with one remote
// peer: it sends Out and receives In. All methods are safe for concurrent
// use; Receive has one consumer at a time.
//
// Each line has one goroutine of its own that reads the inbox when it
// changes, queues new messages, writes acknowledgements and prunes the
// outbox; it ends with Close, Destroy or the exchange's Shutdown.
type Line[Out, In any] struct {
	ex          *exchange.Exchange
	topic, peer string
	outID, inID string
	out, in     *exchange.Doc
	outSchema   side
	onError     func(error)
	key         regKey
	ent         *entry

	ready  chan struct{} // closed once the documents are loaded
	done   chan struct{} // closed when the goroutine ended
	cancel context.CancelFunc
	unsub  func()
	// dispose unregisters the line's policy.
	dispose func() error

	// omu serializes outbox writes: a send inserts at the end of the list
	// the line knows, so no prune or ack may interleave.
	omu     sync.Mutex
	outSeqs []float64 // seqs of the outbox's messages, in order
	nextSeq float64   // the outbox's nextSeq
	outVer  string    // outbox version outSeqs/nextSeq were read at
	hasList bool      // the outbox has a messages list

	mu         sync.Mutex
	rs         recvState
	queue      []item
	notify     chan struct{} // closed and replaced when queue grows or the line closes
	receiving  bool
	closed     bool
	final      bool // closed by Close: write the last ack before leaving
	inboxDirty bool
	wake       chan struct{} // cap 1: work for the goroutine
	badVer     string        // inbox version last reported malformed
	busy       bool          // the goroutine is working (tests wait for it)
	pokes      uint64        // pokes so far
	seen       uint64        // pokes the goroutine has taken up
	idleCh     chan struct{} // closed and replaced when the goroutine goes idle
	torn       sync.Once
}

type item struct {
	lineage string
	seq     float64
	payload []byte
}

// Topic returns the line's topic.
func (l *Line[Out, In]) Topic() string { return l.topic }

// Peer returns the remote peer id.
func (l *Line[Out, In]) Peer() string { return l.peer }

// Closed reports whether the line was closed (by Close, Destroy or the
// exchange's Shutdown).
func (l *Line[Out, In]) Closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func open[Out, In any](ex *exchange.Exchange, topic, peer string, out, in side, onError func(error)) (*Line[Out, In], error) {
	if ex == nil {
		return nil, newError(reasonExchange, topic, peer, "nil exchange", nil)
	}
	if err := validPeer(topic, ex.PeerID(), peer); err != nil {
		return nil, err
	}
	key := regKey{ex: ex, topic: topic, peer: peer}
	for {
		e, created := registry.claim(key)
		if !created {
			<-e.ready
			if e.line == nil {
				continue // the other Open failed; try ourselves
			}
			l, ok := e.line.(*Line[Out, In])
			if !ok {
				registry.release(key, e)
				return nil, newError(reasonTypeConflict, topic, peer, "the line is open with other message types", nil)
			}
			return l, nil
		}
		l, err := build[Out, In](ex, topic, peer, out, in, onError, key, e)
		registry.fill(key, e, l, err)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
}

func build[Out, In any](ex *exchange.Exchange, topic, peer string, out, in side, onError func(error), key regKey, e *entry) (*Line[Out, In], error) {
	me := ex.PeerID()
	ctx, cancel := context.WithCancel(context.Background())
	l := &Line[Out, In]{
		ex: ex, topic: topic, peer: peer, cancel: cancel,
		outID: DocID(topic, me, peer), inID: DocID(topic, peer, me),
		outSchema: out, onError: onError, key: key, ent: e,
		ready: make(chan struct{}), done: make(chan struct{}),
		notify: make(chan struct{}), wake: make(chan struct{}, 1),
		idleCh: make(chan struct{}), busy: true,
		// The first step reads whatever the inbox already holds.
		inboxDirty: true, pokes: 1,
	}
	var err error
	if l.out, err = ex.Get(l.outID, out.doc); err != nil {
		cancel()
		return nil, l.exErr(err)
	}
	if l.in, err = ex.Get(l.inID, in.doc); err != nil {
		cancel()
		return nil, l.exErr(err)
	}
	l.dispose = ex.Register(exchange.Policy{
		Name: "line:" + topic + ":" + peer,
		CanAccept: func(doc string, p wire.PeerIdentity) exchange.Verdict {
			switch doc {
			case l.outID:
				// Only this peer writes its outbox; a peer's copy of it
				// is never imported back.
				return exchange.Deny
			case l.inID:
				// Abstain for others (a relay forwards the remote's
				// writes) so that other policies decide.
				if p.PeerID == peer {
					return exchange.Allow
				}
			}
			return exchange.Abstain
		},
		CanReset: func(doc string, _ wire.PeerIdentity) exchange.Verdict {
			if doc == l.outID {
				return exchange.Deny
			}
			return exchange.Abstain
		},
		// The exchange's Shutdown disposes every policy: that closes the
		// line.
		Dispose: func() error { l.kill(); return nil },
	})
	l.unsub = l.in.Subscribe(func(exchange.Change) {
		l.mu.Lock()
		l.inboxDirty = true
		l.mu.Unlock()
		l.poke()
	})
	go l.run(ctx)
	return l, nil
}

func (l *Line[Out, In]) poke() {
	l.mu.Lock()
	l.pokes++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run is the line's goroutine.
func (l *Line[Out, In]) run(ctx context.Context) {
	defer close(l.done)
	defer l.unsub()
	// Until stored state is loaded, reads show an empty document and a
	// send would number its message from 1 again.
	if err := l.ex.Flush(ctx); err != nil {
		if ctx.Err() == nil {
			l.report(l.exErr(err))
			l.kill()
		}
		return
	}
	if err := l.load(); err != nil {
		l.report(err)
		l.kill()
		return
	}
	close(l.ready)
	l.mu.Lock()
	l.seen = 1
	l.mu.Unlock()
	for {
		l.step()
		l.mu.Lock()
		l.busy = false
		close(l.idleCh)
		l.idleCh = make(chan struct{})
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			l.mu.Lock()
			final := l.final
			l.mu.Unlock()
			if final {
				l.ack(evTick{Final: true})
			}
			return
		case <-l.wake:
			l.mu.Lock()
			l.busy, l.seen = true, l.pokes
			l.mu.Unlock()
		}
	}
}

// idle reports whether the line's goroutine has nothing to do (tests use it
// to wait for quiescence without sleeping).
func (l *Line[Out, In]) idle() bool {
	select {
	case <-l.done:
		return true
	default:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.busy && !l.inboxDirty && l.seen == l.pokes
}

// waitIdle waits until idle (or ctx ends).
func (l *Line[Out, In]) waitIdle(ctx context.Context) error {
	for {
		l.mu.Lock()
		ch := l.idleCh
		l.mu.Unlock()
		if l.idle() {
			return nil
		}
		select {
		case <-ch:
		case <-l.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// load reads the outbox and resumes the receive cursor from its ack fields.
func (l *Line[Out, In]) load() error {
	l.omu.Lock()
	b, err := l.readOut()
	l.omu.Unlock()
	if err != nil {
		return err
	}
	inVer := l.in.Version()
	l.mu.Lock()
	l.rs = resumeRecv(b.AckSeq, b.AckLineage, lineageOf(inVer))
	l.mu.Unlock()
	return nil
}

// readOut refreshes what the line knows about its outbox (caller holds omu).
func (l *Line[Out, In]) readOut() (box, error) {
	ver := l.out.Version()
	raw, err := l.out.JSON()
	if err != nil {
		return box{}, l.exErr(err)
	}
	b, err := decodeBox(raw)
	if err != nil {
		return box{}, l.wrap(err)
	}
	l.outSeqs = l.outSeqs[:0]
	for _, m := range b.Messages {
		l.outSeqs = append(l.outSeqs, m.Seq)
	}
	l.nextSeq, l.outVer, l.hasList = b.NextSeq, ver, b.HasList
	return b, nil
}

// step handles everything that may have changed: new inbox messages, a
// due ack, acked outbox messages.
func (l *Line[Out, In]) step() {
	l.mu.Lock()
	dirty := l.inboxDirty
	l.inboxDirty = false
	l.mu.Unlock()
	if dirty {
		l.scanInbox()
	}
	l.ack(evTick{})
}

func (l *Line[Out, In]) scanInbox() {
	// The lineage must be the one of the content read: retry if the inbox
	// changed in between (its subscriber pokes us again anyway).
	var raw []byte
	var ver string
	for {
		ver = l.in.Version()
		var err error
		raw, err = l.in.JSON()
		if err != nil {
			l.report(l.exErr(err))
			return
		}
		if l.in.Version() == ver {
			break
		}
	}
	b, err := decodeBox(raw)
	if err != nil || b.Malformed > 0 {
		l.mu.Lock()
		fresh := l.badVer != ver
		l.badVer = ver
		l.mu.Unlock()
		if fresh {
			if err == nil {
				err = newError(reasonMalformed, "", "", seqString(float64(b.Malformed))+" inbox messages without a usable seq were skipped", nil)
			}
			l.report(l.wrap(err))
		}
		if len(b.Messages) == 0 && err != nil {
			return
		}
	}
	seqs := make([]float64, len(b.Messages))
	for i, m := range b.Messages {
		seqs[i] = m.Seq
	}
	lineage := lineageOf(ver)
	l.mu.Lock()
	var effs []recvEffect
	l.rs, effs = stepRecv(l.rs, evInbox{Lineage: lineage, Seqs: seqs})
	for _, eff := range effs {
		if d, ok := eff.(effDeliver); ok && !l.closed {
			for _, i := range d.Index {
				m := b.Messages[i]
				l.queue = append(l.queue, item{lineage: lineage, seq: m.Seq, payload: bytes.Clone(m.Payload)})
			}
			l.broadcast()
		}
	}
	l.mu.Unlock()
	l.prune(b)
}

// ack writes the ack the cursor asks for, if any.
func (l *Line[Out, In]) ack(tick evTick) {
	l.mu.Lock()
	tick.Pending = len(l.queue)
	var effs []recvEffect
	l.rs, effs = stepRecv(l.rs, tick)
	l.mu.Unlock()
	for _, eff := range effs {
		a, ok := eff.(effAck)
		if !ok {
			continue
		}
		l.omu.Lock()
		err := l.out.Update(func(tx *exchange.Tx) error {
			tx.Set(exchange.P("ackSeq"), a.Seq)
			tx.Set(exchange.P("ackLineage"), a.Lineage)
			return nil
		})
		if err == nil {
			l.outVer = l.out.Version()
		}
		l.omu.Unlock()
		if err != nil {
			l.report(l.exErr(err))
		}
	}
}

// prune drops the outbox messages the remote acknowledged.
func (l *Line[Out, In]) prune(in box) {
	l.omu.Lock()
	if l.out.Version() != l.outVer {
		if _, err := l.readOut(); err != nil {
			l.omu.Unlock()
			l.report(err)
			return
		}
	}
	n := pruneCount(lineageOf(l.outVer), in.AckLineage, in.AckSeq, l.outSeqs)
	var err error
	if n > 0 {
		err = l.out.Update(func(tx *exchange.Tx) error {
			tx.ListDelete(exchange.P("messages"), 0, n)
			return nil
		})
		if err == nil {
			l.outSeqs = append(l.outSeqs[:0], l.outSeqs[n:]...)
			l.outVer = l.out.Version()
		}
	}
	remaining := len(l.outSeqs)
	l.omu.Unlock()
	if err != nil {
		l.report(l.exErr(err))
		return
	}
	if compactDue(n, remaining) {
		if err := l.ex.Compact(l.outID); err != nil {
			l.report(l.exErr(err))
		}
	}
}

// broadcast wakes every waiting Receive (caller holds mu).
func (l *Line[Out, In]) broadcast() {
	close(l.notify)
	l.notify = make(chan struct{})
}

func (l *Line[Out, In]) waitReady(ctx context.Context) error {
	select {
	case <-l.ready:
		return nil
	default:
	}
	select {
	case <-l.ready:
		return nil
	case <-l.done:
		return l.closedErr()
	case <-ctx.Done():
		return newError(reasonCanceled, l.topic, l.peer, "", ctx.Err())
	}
}

// Send appends msg to the outbox, numbered after the last message sent, in
// one transaction with the new nextSeq; the exchange pushes it to the peer
// whenever it is connected. It waits (ctx) only until the line's documents
// are loaded. A message that does not fit the schema fails with
// reason "payload" and is not sent.
func (l *Line[Out, In]) Send(ctx context.Context, msg Out) error {
	if err := l.waitReady(ctx); err != nil {
		return err
	}
	v, err := l.outSchema.payload.Complete(msg)
	if err != nil {
		return newError(reasonPayload, l.topic, l.peer, "", err)
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return newError(reasonPayload, l.topic, l.peer, "", err)
	}
	l.omu.Lock()
	defer l.omu.Unlock()
	if l.Closed() {
		return l.closedErr()
	}
	if l.out.Version() != l.outVer {
		if _, err := l.readOut(); err != nil {
			return err
		}
	}
	seq := seqFor(l.nextSeq)
	err = l.out.Update(func(tx *exchange.Tx) error {
		msg := envelope{Seq: seq, Payload: payload}
		if l.hasList {
			tx.ListInsert(exchange.P("messages"), len(l.outSeqs), msg)
		} else {
			tx.Set(exchange.P("messages"), []envelope{msg})
		}
		tx.Set(exchange.P("nextSeq"), seq+1)
		return nil
	})
	if err != nil {
		if exchangeReason(err) == "invalid-change" {
			return newError(reasonPayload, l.topic, l.peer, "", err)
		}
		return l.exErr(err)
	}
	l.outSeqs = append(l.outSeqs, seq)
	l.nextSeq, l.hasList = seq+1, true
	l.outVer = l.out.Version()
	return nil
}

// envelope is one outbox message, in the reference's key order.
type envelope struct {
	Seq     float64         `json:"seq"`
	Payload json.RawMessage `json:"payload"`
}

// Receive returns the next message from the peer, waiting for one until
// ctx ends. Messages come in the order they were sent, each once: a message
// is acknowledged to the sender only after Receive returned it (the ack is
// written when the queue runs dry, every 64 messages, and on Close), so one
// that was queued but not received when the line closed comes again when it
// is reopened. A payload that does not decode into In is returned as a
// "payload" error and counts as received. A second Receive while one is
// waiting fails with reason "receiver-busy"; after Close with "closed".
func (l *Line[Out, In]) Receive(ctx context.Context) (In, error) {
	var zero In
	l.mu.Lock()
	if l.receiving {
		l.mu.Unlock()
		return zero, newError(reasonReceiverBusy, l.topic, l.peer, "", nil)
	}
	l.receiving = true
	for len(l.queue) == 0 && !l.closed {
		ch := l.notify
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			l.mu.Lock()
			l.receiving = false
			l.mu.Unlock()
			return zero, newError(reasonCanceled, l.topic, l.peer, "", ctx.Err())
		}
		l.mu.Lock()
	}
	l.receiving = false
	if l.closed {
		l.mu.Unlock()
		return zero, l.closedErr()
	}
	it := l.queue[0]
	l.queue[0] = item{}
	l.queue = l.queue[1:]
	l.rs, _ = stepRecv(l.rs, evConsumed{Lineage: it.lineage, Seq: it.seq})
	l.mu.Unlock()
	l.poke() // an ack may be due
	var v In
	if err := json.Unmarshal(it.payload, &v); err != nil {
		return zero, newError(reasonPayload, l.topic, l.peer, "message "+seqString(it.seq), err)
	}
	return v, nil
}

// Close releases one reference (see Open). The last one stops the line:
// it writes the ack for what was received, stops its goroutine and
// unregisters its policy, and keeps both documents, so reopening the line
// resumes where it stopped. Idempotent.
func (l *Line[Out, In]) Close() error {
	switch registry.drop(l.key, l.ent, false) {
	case stillReferenced:
		return nil
	case removed:
		l.teardown(true)
	}
	// removed now, or before (by Destroy, the exchange's Shutdown, or an
	// earlier Close): wait for the goroutine either way.
	l.wait()
	return l.unregister()
}

// Destroy stops the line whatever its references and deletes both of its
// documents (and their stored records); opening it again starts from
// sequence 1.
func (l *Line[Out, In]) Destroy() error {
	registry.drop(l.key, l.ent, true)
	l.teardown(false)
	l.wait()
	errs := []error{l.unregister()}
	for _, id := range []string{l.outID, l.inID} {
		if err := l.ex.Destroy(id); err != nil && exchangeReason(err) != "unknown-doc" && exchangeReason(err) != "closed" {
			errs = append(errs, l.exErr(err))
		}
	}
	return errors.Join(errs...)
}

// kill stops the line without waiting (the exchange disposed its policy,
// or it could not start).
func (l *Line[Out, In]) kill() {
	registry.drop(l.key, l.ent, true)
	l.teardown(false)
}

func (l *Line[Out, In]) teardown(final bool) {
	l.torn.Do(func() {
		l.mu.Lock()
		l.closed, l.final = true, final
		l.queue = nil
		l.broadcast()
		l.mu.Unlock()
		l.cancel()
	})
}

func (l *Line[Out, In]) wait() { <-l.done }

func (l *Line[Out, In]) unregister() error {
	if err := l.dispose(); err != nil && exchangeReason(err) != "closed" {
		return l.exErr(err)
	}
	return nil
}

func (l *Line[Out, In]) report(err error) {
	if l.onError != nil && err != nil {
		l.onError(err)
	}
}

func (l *Line[Out, In]) closedErr() error {
	return newError(reasonClosed, l.topic, l.peer, "", nil)
}

// exErr wraps an exchange error; a closed exchange or destroyed document
// means the line is closed.
func (l *Line[Out, In]) exErr(err error) error {
	switch exchangeReason(err) {
	case "closed", "destroyed":
		return newError(reasonClosed, l.topic, l.peer, "", err)
	}
	return newError(reasonExchange, l.topic, l.peer, "", err)
}

// wrap fills in the line's topic and peer on a line error.
func (l *Line[Out, In]) wrap(err error) error {
	return withLine(err, l.topic, l.peer)
}

// The per-exchange registry of open lines: one *Line per (exchange, topic,
// peer), shared by every Open.
type regKey struct {
	ex    *exchange.Exchange
	topic string
	peer  string
}

type entry struct {
	ready chan struct{} // closed once line is set (nil: Open failed)
	line  any
	refs  int
}

var registry = &lineRegistry{m: map[regKey]*entry{}}

type lineRegistry struct {
	mu sync.Mutex
	m  map[regKey]*entry
}

// claim returns the key's entry with one more reference, or a new entry the
// caller must fill (created). Exchange calls never run under mu: they may
// dispatch, and a documents subscriber (Listen) consults the registry.
func (r *lineRegistry) claim(key regKey) (e *entry, created bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.m[key]; e != nil {
		e.refs++
		return e, false
	}
	e = &entry{ready: make(chan struct{}), refs: 1}
	r.m[key] = e
	return e, true
}

func (r *lineRegistry) fill(key regKey, e *entry, l any, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.m[key] == e {
			delete(r.m, key)
		}
	} else {
		e.line = l
	}
	close(e.ready)
}

// release takes back a reference claim handed out for nothing (type
// conflict).
func (r *lineRegistry) release(key regKey, e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.refs--
}

type dropResult int

const (
	gone            dropResult = iota // the line was removed before
	stillReferenced                   // other Opens still hold it
	removed                           // this call removed it
)

// drop releases one reference (all of them with force).
func (r *lineRegistry) drop(key regKey, e *entry, force bool) dropResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[key] != e {
		return gone
	}
	e.refs--
	if force || e.refs <= 0 {
		delete(r.m, key)
		return removed
	}
	return stillReferenced
}

func (r *lineRegistry) has(key regKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[key] != nil
}
