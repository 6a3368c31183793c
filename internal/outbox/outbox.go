// Package outbox runs callbacks into user and exchange code one at a time,
// in the order they were posted, on a goroutine that exists only while
// there is work. The WebSocket and SSE clients share it: their runner's
// drainer then never runs foreign code, so whatever a callback does (Stop,
// Start, Send, WaitForStatus) cannot block the lifecycle it is observing.
package outbox

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

// Outbox is a serial callback queue. The zero value is ready to use.
type Outbox struct {
	// Log receives callback panics; nil discards them.
	Log *slog.Logger
	// Name prefixes the panic log message, e.g. "client".
	Name string

	mu      sync.Mutex
	q       []func()
	running bool
	idle    chan struct{} // closed when the worker exits
	gid     atomic.Uint64 // goroutine id of the worker while it runs
}

// Post queues f and starts the worker if none runs.
func (o *Outbox) Post(f func()) {
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

func (o *Outbox) work() {
	o.gid.Store(Goid())
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

// call runs f, logging a panic instead of losing the worker (and with it
// every later callback).
func (o *Outbox) call(f func()) {
	defer func() {
		if v := recover(); v != nil && o.Log != nil {
			o.Log.Error(o.Name+": callback panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	f()
}

// OnWorker reports whether the caller is the worker goroutine, i.e. is
// inside a callback.
func (o *Outbox) OnWorker() bool {
	g := o.gid.Load()
	return g != 0 && g == Goid()
}

// Wait returns once the worker is idle (or ctx ends). Called on the worker
// it would wait for itself; callers check OnWorker first.
func (o *Outbox) Wait(ctx context.Context) error {
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

// Sync returns once everything posted before it has run (or ctx ends). On
// the worker itself it returns at once: that work is the caller's own past.
func (o *Outbox) Sync(ctx context.Context) error {
	if o.OnWorker() {
		return nil
	}
	done := make(chan struct{})
	o.Post(func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Goid returns the current goroutine's id, parsed from its stack header
// ("goroutine 42 [running]:"), as net/http's HTTP/2 code does for its lock
// checks. Callers use it only on rare paths (a callback worker or a reader
// starting, Stop) to recognise that Stop was called from a goroutine it
// would otherwise wait for.
func Goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
