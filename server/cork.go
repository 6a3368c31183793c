package server

import (
	"io"
	"net"
	"sync"
)

// corkWriter sits between coder/websocket's buffered writer and the raw
// connection. While the connection's writer works through a batch of
// queued messages it is corked: every WebSocket frame coder/websocket
// flushes is appended to one pooled buffer, and uncork writes the whole
// batch with one system call. Large pieces are not copied: they go out
// together with what is pending in one vectored write.
//
// Frames coder/websocket writes on its own (pong, the close answer) pass
// straight through when not corked, or join the batch when they arrive
// during one; coder/websocket serializes frame writes, and the mutex
// keeps uncork's flush ordered with them.
type corkWriter struct {
	w io.Writer

	mu     sync.Mutex
	corked bool
	buf    *[]byte // pending bytes while corked (pooled)
}

// corkDirect: pieces at least this large are not copied into the batch.
const corkDirect = 16 << 10

// corkKeep: batch buffers that grew beyond this are not pooled.
const corkKeep = 256 << 10

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (cw *corkWriter) Write(p []byte) (int, error) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if !cw.corked {
		return cw.w.Write(p)
	}
	if len(p) >= corkDirect {
		if err := cw.flushLocked(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	*cw.buf = append(*cw.buf, p...)
	return len(p), nil
}

// flushLocked writes the pending bytes followed by extra (may be nil).
func (cw *corkWriter) flushLocked(extra []byte) error {
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

// cork starts a batch.
func (cw *corkWriter) cork() {
	cw.mu.Lock()
	cw.corked = true
	if cw.buf == nil {
		cw.buf = corkPool.Get().(*[]byte)
	}
	cw.mu.Unlock()
}

// uncork writes what the batch gathered and returns the buffer to the
// pool, so an idle connection holds none.
func (cw *corkWriter) uncork() error {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.corked = false
	if cw.buf == nil {
		return nil
	}
	err := cw.flushLocked(nil)
	b := cw.buf
	cw.buf = nil
	if cap(*b) <= corkKeep {
		*b = (*b)[:0]
		corkPool.Put(b)
	}
	return err
}
