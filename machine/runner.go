package machine

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// defaultBudget is the number of messages one drain may process before the
// runner reports a *BudgetExhaustedError (see Options.Budget).
const defaultBudget = 100_000

// defaultHistorySize is how many recent messages a *BudgetExhaustedError
// carries (see Options.HistorySize).
const defaultHistorySize = 32

// executor interprets one effect (see [NewRunner]).
type executor[M, F any] func(effect F, dispatch func(M))

// Transition describes a state change observed by a listener. At is taken
// from Options.Now when the listeners are notified.
type Transition[S any] struct {
	From, To S
	At       time.Time
}

// Options configures a Runner. The zero value is ready to use.
type Options struct {
	// Label names the runner in errors and log records. Default "runner".
	Label string
	// Logger receives a record for every error the runner reports (recovered
	// panics, exhausted budgets). Nil discards them.
	Logger *slog.Logger
	// OnError, if set, is called with every error the runner reports, on the
	// draining goroutine, after it is logged. Errors are *PanicError or
	// *BudgetExhaustedError. It may call Dispatch (the message is queued).
	OnError func(error)
	// Budget is the number of messages one drain may process; the message
	// after that is not processed, the queue is discarded and a
	// *BudgetExhaustedError is reported. 0 means 100,000; a negative
	// value disables the check.
	Budget int
	// BudgetPerCascade makes the budget count the messages of one cascade
	// instead of one drain: a message dispatched from outside the runner's
	// own callbacks starts a cascade, and everything dispatched while the
	// runner runs its executor, listeners or OnError (and every
	// DispatchUrgent) belongs to it. A runner kept busy by many producers
	// is then never mistaken for a feedback loop. When a cascade exhausts
	// the budget only its own messages are dropped; outside inputs stay
	// queued.
	BudgetPerCascade bool
	// InCascade, if set, decides whether a Dispatch belongs to the current
	// cascade (instead of "the runner is inside its executor, a listener
	// or OnError"). A shell whose effects do I/O sets it to "a user
	// callback is running", so inputs from other goroutines that arrive
	// while an effect blocks still start cascades of their own.
	InCascade func() bool
	// HistorySize is how many recent messages the budget error carries.
	// 0 means 32; a negative value keeps none.
	HistorySize int
	// Now stamps transitions. Default time.Now.
	Now func() time.Time
}

// Runner is the imperative shell around a Program: it serialises messages
// from any goroutine, stores the state, notifies transition listeners and
// hands every effect to the executor. See the package documentation for the
// exact rules.
//
// S must be comparable because an unchanged state (next == prev) is how a
// program says "nothing happened"; no transition is emitted for it. A state
// with an interface field holding a non-comparable dynamic type makes that
// comparison panic, which is reported as an "update" *PanicError.
type Runner[M any, S comparable, F any] struct {
	prog     Program[M, S, F]
	exec     executor[M, F]
	dispatch func(M) // r.dispatchFromEffect, bound once so effects get it without allocating
	label    string
	log      *slog.Logger
	onError  func(error)
	budget   int
	cascade  bool
	inCasc   func() bool
	now      func() time.Time
	// inUser counts the runner's own callbacks in progress on the drainer
	// (executor, listeners, OnError): a Dispatch meanwhile is part of the
	// current cascade.
	inUser atomic.Int32

	mu        sync.Mutex
	queue     ring[queued[M]]
	urgent    ring[M] // DispatchUrgent: processed before queue
	draining  bool    // some goroutine is inside drain; everyone else only enqueues
	closed    bool
	finished  bool // Done has been (or is being) called
	state     S    // written only by the drainer, under mu
	listeners []*listener[S]
	idle      chan struct{} // closed when a drain ends; nil while nobody waits
	closedCh  chan struct{} // closed by Close
	stoppedCh chan struct{} // closed after Done ran

	hist history[M] // recent messages; touched only by the drainer
}

type listener[S any] struct {
	fn     func(Transition[S])
	active atomic.Bool
}

// NewRunner starts p: it stores p's initial state, runs the initial effects
// through exec and processes every message they dispatched, all before it
// returns (so nobody can observe those transitions). A nil exec drops every
// effect. A panic in p.Init propagates to the caller.
//
// exec, the executor, interprets one effect. It runs on the goroutine that
// is draining the runner, so it must not block: I/O belongs on goroutines
// the shell owns, which report back by calling dispatch. A dispatch made
// while the executor runs is queued and processed after every effect of
// the current message has run. Messages sent through dispatch belong to
// the current cascade (see Options.BudgetPerCascade); [Runner.Dispatch]
// starts a new one.
func NewRunner[M any, S comparable, F any](p Program[M, S, F], exec func(effect F, dispatch func(M)), opts Options) *Runner[M, S, F] {
	r := &Runner[M, S, F]{
		prog:      p,
		exec:      exec,
		label:     opts.Label,
		log:       opts.Logger,
		onError:   opts.OnError,
		budget:    opts.Budget,
		cascade:   opts.BudgetPerCascade,
		inCasc:    opts.InCascade,
		now:       opts.Now,
		closedCh:  make(chan struct{}),
		stoppedCh: make(chan struct{}),
	}
	r.dispatch = r.dispatchFromEffect
	if r.label == "" {
		r.label = "runner"
	}
	if r.budget == 0 {
		r.budget = defaultBudget
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.budget > 0 {
		size := opts.HistorySize
		if size == 0 {
			size = defaultHistorySize
		}
		r.hist = newHistory[M](size)
	}

	s, fx := p.Init()
	r.state = s
	// Hold the drain while the initial effects run so their dispatches queue
	// up exactly like dispatches made by any other effect.
	r.draining = true
	for _, f := range fx {
		r.runEffect(f)
	}
	var none M
	r.drain(none, false)
	return r
}

// Dispatch queues m. If no goroutine is draining the runner, the caller
// becomes the drainer and processes messages (m and everything queued
// meanwhile, by anyone) until the queue is empty; otherwise Dispatch returns
// at once and the current drainer processes m in FIFO order. Dispatch is safe
// from any goroutine, including from executors and listeners (the message is
// queued, never processed inline). After Close it does nothing.
func (r *Runner[M, S, F]) Dispatch(m M) {
	r.enqueue(m, false)
}

// DispatchUrgent queues m ahead of every message queued with Dispatch:
// for consequences an executor feeds back (the outcome of the effect just
// run), which inputs that arrived meanwhile must already see. Urgent
// messages keep FIFO order among themselves and belong to the current
// cascade. Outside a drain it behaves like Dispatch.
func (r *Runner[M, S, F]) DispatchUrgent(m M) {
	r.enqueue(m, true)
}

// TryDispatchUrgent queues m like DispatchUrgent, but only while a drain
// is running, so the caller never runs the program itself; it reports
// whether m was queued. A callback that must not be held up (a socket
// writer reporting its queue's state) uses it and hands m to a goroutine
// of its own when it returns false.
func (r *Runner[M, S, F]) TryDispatchUrgent(m M) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.draining {
		return false
	}
	r.urgent.push(m)
	return true
}

// dispatchFromEffect is the dispatch an executor receives: FIFO like
// Dispatch, but always part of the current cascade.
func (r *Runner[M, S, F]) dispatchFromEffect(m M) { r.enqueueAs(m, false, true) }

func (r *Runner[M, S, F]) enqueue(m M, urgent bool) { r.enqueueAs(m, urgent, false) }

func (r *Runner[M, S, F]) enqueueAs(m M, urgent, internal bool) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if r.draining || r.queue.len() > 0 || r.urgent.len() > 0 {
		// The queue is non-empty while idle only after an aborted drain
		// (runtime.Goexit in user code); keep FIFO order by queueing behind it.
		if urgent {
			r.urgent.push(m)
		} else {
			r.queue.push(queued[M]{m: m, internal: internal || r.internal()})
		}
		if r.draining {
			r.mu.Unlock()
			return
		}
		r.draining = true
		r.mu.Unlock()
		var none M
		r.drain(none, false)
		return
	}
	r.draining = true
	r.mu.Unlock()
	r.drain(m, true)
}

// internal reports whether a Dispatch now belongs to the current cascade.
func (r *Runner[M, S, F]) internal() bool {
	if r.inCasc != nil {
		return r.inCasc()
	}
	return r.inUser.Load() > 0
}

// queued is a message in the FIFO queue; internal marks one dispatched by
// the runner's own callbacks (part of the current cascade).
type queued[M any] struct {
	m        M
	internal bool
}

// drain processes messages until the queue is empty. The caller has set
// r.draining; drain clears it on every way out. When has is true, first is
// processed before the queue (the idle fast path skips a queue round trip).
//
// Lock traffic is the main cost of a trivial message, so the loop folds work
// into the critical sections it needs anyway: the final "queue empty" check
// also releases the drain, and the state of a message without effects is
// stored together with the next queue access (see step).
func (r *Runner[M, S, F]) drain(first M, has bool) {
	n := 0 // messages taken in this drain, for the budget
	var c commit[S]
	clean := false
	defer func() {
		if !clean {
			// User code called runtime.Goexit (t.FailNow in a test) or a
			// logger panicked: never leave the runner marked busy, or every
			// later Dispatch would only enqueue.
			r.mu.Lock()
			r.draining = false
			closed := r.closed
			r.mu.Unlock()
			if closed {
				r.finish()
			}
		}
	}()
	for {
		var m M
		if has {
			m, has = first, false
		} else {
			r.mu.Lock()
			if c.pending {
				r.state = c.to
				c.pending = false
				if ls := r.listeners; len(ls) > 0 {
					r.mu.Unlock()
					r.notify(ls, c.from, c.to)
					r.mu.Lock()
				}
			}
			var ok bool
			if r.closed {
				ok = false
			} else if m, ok = r.urgent.pop(); !ok {
				var q queued[M]
				if q, ok = r.queue.pop(); ok {
					m = q.m
					if r.cascade && !q.internal {
						r.hist.forget(n)
						n = 0 // an outside input starts a new cascade
					}
				} else {
					r.queue.trim()
					r.urgent.trim()
				}
			}
			if !ok {
				r.hist.forget(n) // before releasing: the next drainer owns hist
				r.draining = false
				if r.idle != nil {
					close(r.idle)
					r.idle = nil
				}
				closed := r.closed
				r.mu.Unlock()
				clean = true
				if closed {
					// Close found us draining and left Done to us.
					r.finish()
				}
				return
			}
			r.mu.Unlock()
		}
		n++
		if r.budget > 0 {
			r.hist.add(m)
			if n > r.budget {
				r.exhausted(n)
				n = 0 // a fresh budget for whatever arrives during or after the report
				continue
			}
		}
		c = r.step(m)
	}
}

// commit is a state change whose store (and notification) was deferred to
// the drain loop's next critical section.
type commit[S any] struct {
	from, to S
	pending  bool
}

// step processes one message: update, store, notify, run effects. When the
// message changed the state but produced no effects, nothing can observe the
// state before the drain loop takes the lock again, so step returns the change
// for the loop to store there, saving a lock round trip per message.
func (r *Runner[M, S, F]) step(m M) commit[S] {
	prev := r.state // only the drainer writes state, so no lock for reading it here
	next, fx, changed, ok := r.update(prev, m)
	if !ok || !changed && len(fx) == 0 {
		return commit[S]{}
	}
	if len(fx) == 0 {
		return commit[S]{from: prev, to: next, pending: true}
	}
	if changed {
		r.mu.Lock()
		r.state = next
		ls := r.listeners // copy-on-write: this snapshot is never modified
		r.mu.Unlock()
		r.notify(ls, prev, next)
	}
	for _, f := range fx {
		r.runEffect(f)
	}
	return commit[S]{}
}

// notify calls the listeners of one transition, skipping any that were
// unsubscribed since the snapshot was taken.
func (r *Runner[M, S, F]) notify(ls []*listener[S], from, to S) {
	if len(ls) == 0 {
		return
	}
	tr := Transition[S]{From: from, To: to, At: r.now()}
	for _, l := range ls {
		if l.active.Load() {
			r.callListener(l.fn, tr)
		}
	}
}

func (r *Runner[M, S, F]) update(prev S, m M) (next S, fx []F, changed, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			r.report(&PanicError{Label: r.label, Op: "update", Value: v, Stack: debug.Stack()})
		}
	}()
	next, fx = r.prog.Update(prev, m)
	return next, fx, next != prev, true
}

func (r *Runner[M, S, F]) callListener(fn func(Transition[S]), tr Transition[S]) {
	r.inUser.Add(1)
	defer func() {
		r.inUser.Add(-1)
		if v := recover(); v != nil {
			r.report(&PanicError{Label: r.label, Op: "listener", Value: v, Stack: debug.Stack()})
		}
	}()
	fn(tr)
}

func (r *Runner[M, S, F]) runEffect(f F) {
	if r.exec == nil {
		return
	}
	r.inUser.Add(1)
	defer func() {
		r.inUser.Add(-1)
		if v := recover(); v != nil {
			r.report(&PanicError{Label: r.label, Op: "executor", Value: v, Stack: debug.Stack()})
		}
	}()
	r.exec(f, r.dispatch)
}

// exhausted reports a blown budget. The drain loop is iterative, so the
// current stack is the stack of whoever started the drain: that is the
// cascade's origin, captured only now that it is needed.
func (r *Runner[M, S, F]) exhausted(n int) {
	var pcs [32]uintptr
	k := runtime.Callers(3, pcs[:]) // skip Callers, exhausted, drain
	err := &BudgetExhaustedError{
		Label:      r.label,
		Budget:     r.budget,
		Iterations: n,
		History:    r.hist.last(),
		origin:     slices.Clone(pcs[:k]),
	}
	r.hist.forget(n)
	r.mu.Lock()
	r.urgent.reset()
	if r.cascade {
		// Drop the cascade's own messages; outside inputs stay queued.
		var keep []queued[M]
		for q, ok := r.queue.pop(); ok; q, ok = r.queue.pop() {
			if !q.internal {
				keep = append(keep, q)
			}
		}
		r.queue.reset()
		for _, q := range keep {
			r.queue.push(q)
		}
	} else {
		r.queue.reset()
	}
	r.mu.Unlock()
	r.report(err)
}

// report logs err and passes it to OnError. It runs on the drainer.
func (r *Runner[M, S, F]) report(err error) {
	if r.log != nil {
		attrs := []any{"label", r.label, "err", err}
		if pe, ok := err.(*PanicError); ok {
			attrs = append(attrs, "stack", string(pe.Stack))
		}
		r.log.Error("machine: runner error", attrs...)
	}
	if r.onError != nil {
		r.callOnError(err)
	}
}

func (r *Runner[M, S, F]) callOnError(err error) {
	r.inUser.Add(1)
	defer func() {
		r.inUser.Add(-1)
		if v := recover(); v != nil && r.log != nil {
			// Not passed back to OnError: that could loop forever.
			r.log.Error("machine: runner error", "label", r.label,
				"err", &PanicError{Label: r.label, Op: "on-error", Value: v}, "stack", string(debug.Stack()))
		}
	}()
	r.onError(err)
}

// State returns the current state. Inside a listener it already equals the
// transition's To.
func (r *Runner[M, S, F]) State() S {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// QueueLen returns the number of messages waiting to be processed (not
// counting the one being processed).
func (r *Runner[M, S, F]) QueueLen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queue.len() + r.urgent.len()
}

// Idle reports whether no message is queued or being processed.
func (r *Runner[M, S, F]) Idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.draining && r.queue.len() == 0 && r.urgent.len() == 0
}

// WaitIdle waits until no message is queued or being processed, or until
// ctx ends (then it returns ctx.Err()). Messages dispatched later make the
// runner busy again; WaitIdle says only that it was idle at some point
// after the call. Do not call it from the runner's own callbacks.
func (r *Runner[M, S, F]) WaitIdle(ctx context.Context) error {
	for {
		r.mu.Lock()
		if !r.draining && r.queue.len() == 0 && r.urgent.len() == 0 {
			r.mu.Unlock()
			return nil
		}
		if r.idle == nil {
			r.idle = make(chan struct{})
		}
		ch := r.idle
		r.mu.Unlock()
		select {
		case <-ch:
		case <-r.closedCh:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Subscribe registers fn to be called, on the draining goroutine, after every
// message that changed the state (prev != next), before that message's
// effects run. Listeners are called in subscription order; a panic in one is
// recovered and reported, and the others still run. fn may call any Runner
// method; a Dispatch from fn is queued. Unsubscribing is idempotent and takes
// effect at once, also for a notification already in progress.
func (r *Runner[M, S, F]) Subscribe(fn func(Transition[S])) (unsubscribe func()) {
	l := &listener[S]{fn: fn}
	l.active.Store(true)
	r.mu.Lock()
	if !r.finished {
		// Clip forces append to copy, so a drainer's snapshot stays intact.
		r.listeners = append(slices.Clip(r.listeners), l)
	}
	r.mu.Unlock()
	return func() {
		if !l.active.Swap(false) {
			return
		}
		r.mu.Lock()
		r.listeners = slices.DeleteFunc(slices.Clone(r.listeners), func(x *listener[S]) bool { return x == l })
		r.mu.Unlock()
	}
}

// WaitFor returns the first state satisfying pred: the current state if it
// matches (even after Close), else the To of the first transition that
// matches. It returns ctx.Err() if ctx ends first and ErrClosed if the runner
// is closed first; on error the returned state is the current one. pred may be
// called on the calling goroutine and on the draining goroutine, so it must be
// safe for concurrent use (a pure function of its argument is).
// Unchanged-state messages emit no transition and therefore wake nobody.
// Do not wait from the runner's own executor or listeners for a state not yet
// reached: the drain that would reach it is the one waiting.
func (r *Runner[M, S, F]) WaitFor(ctx context.Context, pred func(S) bool) (S, error) {
	// Subscribe before looking at the state: a transition stored after the
	// subscription is delivered to us, one stored before is visible in State.
	found := make(chan S, 1)
	unsubscribe := r.Subscribe(func(tr Transition[S]) {
		if pred(tr.To) {
			select {
			case found <- tr.To:
			default: // an earlier match is already waiting
			}
		}
	})
	defer unsubscribe()
	if s := r.State(); pred(s) {
		return s, nil
	}
	select {
	case s := <-found:
		return s, nil
	case <-ctx.Done():
		select {
		case s := <-found: // a match that raced with the cancellation wins
			return s, nil
		default:
			return r.State(), ctx.Err()
		}
	case <-r.closedCh:
		select {
		case s := <-found:
			return s, nil
		default:
			return r.State(), ErrClosed
		}
	}
}

// Close stops the runner. It is idempotent and safe from any goroutine,
// including from executors and listeners. Queued messages are discarded,
// later Dispatch calls do nothing, pending and later WaitFor calls return
// ErrClosed (unless the current state matches), and the program's Done (if it
// has a Done method, see [Program]) is called exactly once with the final state.
//
// A message already being processed when Close is called finishes first: its
// listeners and effects still run, and Done runs on the draining goroutine
// right after. Close therefore does not wait; use Stopped to wait until the
// runner will never call user code again.
func (r *Runner[M, S, F]) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.queue.reset()
	r.urgent.reset()
	close(r.closedCh)
	idle := !r.draining
	r.mu.Unlock()
	if idle {
		r.finish()
	}
}

// Stopped returns a channel that is closed once the runner has been closed
// and has finished its last message and Done. Do not wait on it from inside
// an executor or listener of the same runner: the drain that would close it is
// the one waiting.
func (r *Runner[M, S, F]) Stopped() <-chan struct{} { return r.stoppedCh }

// finish calls Done once and marks the runner stopped.
func (r *Runner[M, S, F]) finish() {
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return
	}
	r.finished = true
	s := r.state
	r.listeners = nil
	r.mu.Unlock()
	defer close(r.stoppedCh)
	if d, ok := r.prog.(doner[S]); ok {
		r.callDone(d, s)
	}
}

func (r *Runner[M, S, F]) callDone(d doner[S], s S) {
	defer func() {
		if v := recover(); v != nil {
			r.report(&PanicError{Label: r.label, Op: "done", Value: v, Stack: debug.Stack()})
		}
	}()
	d.Done(s)
}
