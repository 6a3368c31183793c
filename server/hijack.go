package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/kyneta-go/kyneta/internal/cork"
)

// hijackWriter wraps the ResponseWriter given to ServeHTTP so that the
// server keeps a handle on the raw connection websocket.Accept hijacks, and
// so that the hijacked connection gets small buffers.
//
// The raw handle lets the server tear a connection down at once, on its own
// clock: coder/websocket's Close waits up to 5 s to write the close frame
// and 5 s more for the peer's answer, and CloseNow waits for a Close in
// progress, so without it a peer that stops reading could hold a goroutine
// for ~10 s after a write or close timeout.
//
// net/http hands a hijacker 4 KiB read and write buffers; for thousands of
// mostly idle connections they are the largest part of the per-connection
// memory, so they are replaced with buffers of the configured sizes (bytes
// the server had already read past the handshake are carried over).
type hijackWriter struct {
	http.ResponseWriter
	readSize, writeSize int
	conn                net.Conn
	cork                *cork.Writer
	flush               *readFlushConn
	status              int
}

func (h *hijackWriter) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *hijackWriter) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return nil, nil, newError(reasonNoHijacker, "http.ResponseWriter does not implement http.Hijacker", nil)
		}
		return nil, nil, err
	}
	h.conn = c
	// Flush anything net/http buffered (the 101 response is written by
	// Accept through h before hijacking, so normally nothing is left).
	if err := brw.Writer.Flush(); err != nil {
		return c, brw, nil
	}
	r := brw.Reader
	if n := r.Buffered(); n <= h.readSize {
		pending, _ := r.Peek(n)
		src := io.Reader(c)
		if n > 0 {
			src = io.MultiReader(bytesReader(append([]byte(nil), pending...)), c)
		}
		nr := bufio.NewReaderSize(src, h.readSize)
		if n > 0 {
			// Pull the carried-over bytes into the new buffer so they
			// survive Accept's Reset of the reader onto the raw conn.
			_, _ = nr.Peek(n)
		}
		r = nr
	}
	// The connection's writer batches its socket writes through the cork.
	h.cork = cork.New(c)
	h.flush = &readFlushConn{Conn: c}
	return h.flush, bufio.NewReadWriter(r, bufio.NewWriterSize(h.cork, h.writeSize)), nil
}

// readFlushConn is the hijacked connection as coder/websocket reads it.
// Before each read from the socket (one that may block), the connection's
// reader writes the replies it held back (conn.flushHeld): replies to
// messages that arrived together leave in one batch, and none waits
// while the reader waits for input.
type readFlushConn struct {
	net.Conn
	owner atomic.Pointer[conn]
}

func (f *readFlushConn) Read(p []byte) (int, error) {
	if c := f.owner.Load(); c != nil && c.held.Load() {
		c.flushHeld()
	}
	return f.Conn.Read(p)
}

type sliceReader struct{ b []byte }

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
