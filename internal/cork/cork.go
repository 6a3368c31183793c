// Package cork batches the small writes a WebSocket library makes into few
// system calls. coder/websocket writes each frame through a 4 KiB buffered
// writer: a batch of small messages is one write per message, and a large
// message written by a client, whose payload is masked through that
// buffer, is one write per 4 KiB (256 for 1 MiB). A [Writer] between the
// library and the connection gathers what is written while it is corked
// and writes it out when uncorked, or whenever FlushAt bytes are pending,
// so a corked 1 MiB message costs 16 writes and a batch of small messages
// one. Large pieces, which an unmasked frame hands down whole, are not
// copied: they go out with what is pending in one vectored write.
package cork

import (
	"io"
	"net"
	"sync"
)

// FlushAt is how many pending bytes a corked Writer holds before it
// writes them out: it bounds the memory a batch takes.
const FlushAt = 64 << 10

// direct: pieces at least this large are written from their own memory,
// not copied into the batch.
const direct = 16 << 10

// keep: batch buffers that grew beyond this are not pooled.
const keep = 256 << 10

var pool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// Writer passes writes to its destination, gathering them while corked.
// It is safe for concurrent use: a library may write control frames from
// another goroutine, which then join the batch in order.
type Writer struct {
	w io.Writer

	mu     sync.Mutex
	corked bool
	buf    *[]byte // pending bytes while corked (pooled)
}

// New returns a Writer that writes to w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Write implements io.Writer. While corked it reports a piece written
// once it is pending; an error of the destination then surfaces from a
// later Write or from Uncork.
func (cw *Writer) Write(p []byte) (int, error) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if !cw.corked {
		return cw.w.Write(p)
	}
	if len(p) >= direct {
		if err := cw.flushLocked(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	*cw.buf = append(*cw.buf, p...)
	if len(*cw.buf) >= FlushAt {
		if err := cw.flushLocked(nil); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flushLocked writes the pending bytes followed by extra (may be nil).
func (cw *Writer) flushLocked(extra []byte) error {
	pending := *cw.buf
	*cw.buf = pending[:0]
	switch {
	case len(pending) == 0 && len(extra) == 0:
		return nil
	case len(pending) == 0:
		_, err := cw.w.Write(extra)
		return err
	case len(extra) == 0:
		_, err := cw.w.Write(pending)
		return err
	}
	bufs := net.Buffers{pending, extra}
	_, err := bufs.WriteTo(cw.w)
	return err
}

// Cork starts a batch.
func (cw *Writer) Cork() {
	cw.mu.Lock()
	cw.corked = true
	if cw.buf == nil {
		cw.buf = pool.Get().(*[]byte)
	}
	cw.mu.Unlock()
}

// Uncork writes what the batch gathered and returns the buffer to the
// pool, so an idle connection holds none.
func (cw *Writer) Uncork() error {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.corked = false
	if cw.buf == nil {
		return nil
	}
	err := cw.flushLocked(nil)
	b := cw.buf
	cw.buf = nil
	if cap(*b) <= keep {
		*b = (*b)[:0]
		pool.Put(b)
	}
	return err
}
