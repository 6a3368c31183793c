package machine

// ring is a growable FIFO ring buffer. It is not safe for concurrent use; the
// runner guards its queue with its mutex. Reusing one buffer keeps Dispatch
// free of per-message allocations once the buffer has grown to the peak
// queue length.
type ring[T any] struct {
	buf  []T // len(buf) is zero or a power of two
	head int
	n    int
}

// keepCap is the largest buffer kept after the queue empties; a burst that
// grew the buffer beyond it releases the memory once drained.
const keepCap = 1024

func (q *ring[T]) len() int { return q.n }

func (q *ring[T]) push(v T) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = v
	q.n++
}

func (q *ring[T]) pop() (T, bool) {
	var zero T
	if q.n == 0 {
		return zero, false
	}
	v := q.buf[q.head]
	q.buf[q.head] = zero // drop the reference so the GC can reclaim it
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return v, true
}

// reset empties the queue, zeroing every slot so queued values are not kept
// alive, and drops an oversized buffer.
func (q *ring[T]) reset() {
	clear(q.buf)
	q.head, q.n = 0, 0
	q.trim()
}

// trim releases a buffer that a burst grew beyond keepCap; only valid when
// the queue is empty.
func (q *ring[T]) trim() {
	if q.n == 0 && len(q.buf) > keepCap {
		q.buf, q.head = nil, 0
	}
}

func (q *ring[T]) grow() {
	size := 2 * len(q.buf)
	if size == 0 {
		size = 16
	}
	buf := make([]T, size)
	// Unroll the ring so the oldest element lands at index 0.
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf, q.head = buf, 0
}

// history keeps the last cap values written; it never grows.
type history[T any] struct {
	buf  []T
	next int
	full bool
}

func newHistory[T any](capacity int) history[T] {
	if capacity <= 0 {
		return history[T]{}
	}
	return history[T]{buf: make([]T, capacity)}
}

func (h *history[T]) add(v T) {
	if len(h.buf) == 0 {
		return
	}
	h.buf[h.next] = v
	h.next++
	if h.next == len(h.buf) {
		h.next, h.full = 0, true
	}
}

// last returns the values recorded since the last forget, oldest first, at
// most the capacity; boxed so an error type that is not generic can carry
// them.
func (h *history[T]) last() []any {
	var out []any
	if h.full {
		for _, v := range h.buf[h.next:] {
			out = append(out, v)
		}
	}
	for _, v := range h.buf[:h.next] {
		out = append(out, v)
	}
	return out
}

// forget drops the n values recorded since the last forget, zeroing only the
// slots they used, so a drain of one message costs one slot clear rather
// than a full one.
func (h *history[T]) forget(n int) {
	if h.full || n >= len(h.buf) {
		clear(h.buf)
	} else {
		clear(h.buf[:n])
	}
	h.next, h.full = 0, false
}
