package sse

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
)

// outbox runs callbacks into user and exchange code one at a time, in
// order, on a goroutine that exists only while there is work, so the
// runner's drainer never runs foreign code that might call back in and
// wait for it.
type outbox struct {
	log *slog.Logger

	mu      sync.Mutex
	q       []func()
	running bool
	idle    chan struct{} // closed when the worker exits
	gid     atomic.Uint64 // the worker's goroutine id while it runs
}

func (o *outbox) post(f func()) {
	o.mu.Lock()
	o.q = append(o.q, f)
	if o.running {
		o.mu.Unlock()
		return
	}
	o.running = true
	o.idle = make(chan struct{})
	o.mu.Unlock()
	go o.work()
}

func (o *outbox) work() {
	o.gid.Store(goid())
	for {
		o.mu.Lock()
		if len(o.q) == 0 {
			o.running = false
			o.gid.Store(0)
			close(o.idle)
			o.mu.Unlock()
			return
		}
		f := o.q[0]
		o.q[0] = nil
		o.q = o.q[1:]
		o.mu.Unlock()
		o.call(f)
	}
}

// call runs f, logging a panic instead of losing every later callback.
func (o *outbox) call(f func()) {
	defer func() {
		if v := recover(); v != nil {
			o.log.Error("sse client: callback panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	f()
}

// onWorker reports whether the caller is inside a callback.
func (o *outbox) onWorker() bool {
	g := o.gid.Load()
	return g != 0 && g == goid()
}

// wait returns once everything posted so far has run (or ctx ends).
func (o *outbox) wait(ctx context.Context) error {
	o.mu.Lock()
	if !o.running {
		o.mu.Unlock()
		return nil
	}
	idle := o.idle
	o.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sync returns once everything posted before it has run; on the worker
// itself at once.
func (o *outbox) sync(ctx context.Context) error {
	if o.onWorker() {
		return nil
	}
	done := make(chan struct{})
	o.post(func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goid returns the current goroutine's id from its stack header. It is
// used on rare paths only (a callback worker or stream reader starting,
// Stop), so that Stop can tell it was called from a goroutine it would
// otherwise wait for.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
