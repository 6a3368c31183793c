package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/cork"
	"github.com/kyneta-go/kyneta/internal/outbox"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/pressure"
	"github.com/kyneta-go/kyneta/internal/redact"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// socket is one connection attempt (one generation). Its goroutines — the
// dialer that becomes the reader, the writer, the closer — report to the
// runner by dispatching messages tagged with gen; the socket is finished,
// and leaves the client's table, when it has been released (by the
// program's close-socket effect, or by Stop) and all its goroutines exited.
type socket struct {
	c            *Client
	gen          uint64
	ctx          context.Context // the socket's lifetime; cancelling it tears the connection down
	cancel       context.CancelFunc
	pipe         *pipeline.Pipeline // one per connection: fresh alias state, seq from 1
	ch           atomic.Pointer[transport.Channel]
	awaitingPong atomic.Bool
	readerGID    atomic.Uint64
	sendMu       sync.Mutex // keeps the pipeline's seq order equal to the queue order

	mu       sync.Mutex
	conn     *websocket.Conn // nil until the dial succeeded
	cork     *cork.Writer    // under conn: the writer's batches leave in few system calls
	released bool
	running  int // goroutines alive
	queue    []outFrame
	spare    []outFrame // the writer's last batch, emptied: the next queue's array
	queued   int        // bytes in queue and in the writer's hands
	scratch  []byte     // the writer's, for pipeline.WriteFrame
	// pressure: the queue's congestion, told to the exchange in order.
	pressure pressure.Gauge
	wake     chan struct{} // cap 1: something was queued, or released
	idle     chan struct{} // made by a Flush that waits while queued > 0; closed when the writer is idle
	wdone    chan struct{} // closed when the writer has exited (or will never run)
	done     chan struct{} // closed when the socket is finished
}

// outFrame is one queued frame: Head alone when it is in one piece, or
// Head ‖ Body ‖ Tail when a large value is written from where it is.
type outFrame struct {
	typ websocket.MessageType
	wirecore.FramePart
}

// run dials, then reads until the connection ends.
func (s *socket) run(peerID string) {
	defer s.exit()
	c := s.c
	u, err := c.resolveURL(peerID)
	if err != nil {
		c.runner.Dispatch(msgSocketError{Socket: s.gen, Err: err, Config: true})
		return
	}
	h, err := c.header(s.ctx)
	if err != nil {
		code := kyneta.CodeOf(err)
		m := msgSocketError{Socket: s.gen, Err: err, Config: code == kyneta.CodeInvalidArgument}
		if code == kyneta.CodeUnauthenticated || code == kyneta.CodePermissionDenied {
			m.HTTPStatus = 401
		}
		c.runner.Dispatch(m)
		return
	}
	// The dial timeout runs on the injected clock, so it cancels the dial
	// with a cause: the dial itself only reports "context canceled".
	timeout := &dialTimeoutError{after: c.opts.DialTimeout}
	dctx, dcancel := context.WithCancelCause(s.ctx)
	dctx, slot := withCorkSlot(dctx)
	var stopTimer func() bool
	if c.opts.DialTimeout > 0 {
		stopTimer = c.clk.AfterFunc(c.opts.DialTimeout, func() { dcancel(timeout) })
	}
	conn, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		HTTPClient:           dialClient(c.opts.HTTPClient),
		HTTPHeader:           h,
		Subprotocols:         c.opts.Subprotocols,
		CompressionMode:      c.opts.CompressionMode,
		CompressionThreshold: c.opts.CompressionThreshold,
	})
	if stopTimer != nil {
		stopTimer()
	}
	if err != nil && context.Cause(dctx) == error(timeout) {
		err = timeout
	}
	dcancel(nil)
	if err != nil {
		m := msgSocketError{Socket: s.gen, Err: redactErr(err)}
		if resp != nil {
			m.HTTPStatus = resp.StatusCode
			if resp.StatusCode >= 300 && resp.StatusCode < 400 {
				m.Err = newError(reasonRedirect, fmt.Sprintf("HTTP %d to %s", resp.StatusCode, redact.URL(resp.Header.Get("Location"))), nil)
			}
		}
		err = m.Err
		// The program keeps no cause while it retries, so this log line
		// is where a service sees why each attempt failed.
		if !s.isReleased() { // not abandoned by a stop
			c.log.Info("client: dial failed", "socket", s.gen, "status", m.HTTPStatus, "err", err)
		}
		c.runner.Dispatch(m)
		return
	}
	conn.SetReadLimit(c.opts.ReadLimit)

	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		close(s.wdone)
		_ = conn.CloseNow()
		return
	}
	s.conn = conn
	s.cork = slot.w // nil when the transport's body could not be wrapped
	s.running++     // the writer
	s.mu.Unlock()
	// The socket's end closes the connection, which ends a read or write
	// in progress. Reads and writes themselves take no cancellable
	// context: coder/websocket registers one with context.AfterFunc per
	// call (three allocations and a lock on the socket's context, for
	// every message both ways).
	stopWatch := context.AfterFunc(s.ctx, func() { _ = conn.CloseNow() })
	defer stopWatch()
	go s.write(conn)

	c.runner.Dispatch(msgSocketOpened{Socket: s.gen})
	s.read(conn)
}

func (s *socket) read(conn *websocket.Conn) {
	s.readerGID.Store(outbox.Goid())
	c := s.c
	// One read buffer, reused for every message of the connection: the
	// pipeline keeps no reference to what it is given (fragments are
	// copied, decoded messages never alias their input). conn.Read
	// allocated each message anew, in growing pieces, then copied them.
	var buf bytes.Buffer
	for {
		typ, data, err := readMessage(context.Background(), conn, &buf)
		if err != nil {
			code, reason := int(websocket.CloseStatus(err)), ""
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				reason = ce.Reason
			}
			if code < 0 {
				code = closeAbnormal
			}
			if !s.isReleased() { // not our own close
				c.log.Info("client: connection lost", "socket", s.gen, "code", code, "reason", reason, "err", err)
			}
			c.runner.Dispatch(msgSocketClosed{Socket: s.gen, Code: code, Reason: reason})
			return
		}
		// Any frame proves the connection alive, not only "pong".
		if s.awaitingPong.CompareAndSwap(true, false) {
			c.runner.Dispatch(msgPongReceived{Socket: s.gen})
		}
		switch typ {
		case websocket.MessageText:
			// "ready" is the only text frame that means anything to a
			// client; "pong" is covered above, others are ignored.
			if string(data) == "ready" {
				c.runner.Dispatch(msgServerReady{Socket: s.gen})
			}
		case websocket.MessageBinary:
			msg, err := s.pipe.Receive(data)
			if err != nil || msg == nil {
				continue // errors were reported through the pipeline's OnError
			}
			ch := s.ch.Load()
			if ch == nil {
				c.log.Debug("client: message before the channel exists, dropped", "socket", s.gen, "type", msg.MsgType().String())
				continue
			}
			if err := c.base.Receive(ch.ID, msg); err != nil {
				c.log.Debug("client: receive", "socket", s.gen, "err", err)
			}
		}
	}
}

// maxKeptReadBuf is the largest read buffer kept from one message to the
// next (a fragment at the default threshold fits); a larger one, after a
// message above it, is dropped so a connection does not hold it idle.
const maxKeptReadBuf = 1 << 20

// readMessage reads the next message into buf and returns its bytes,
// valid until the next call.
func readMessage(ctx context.Context, conn *websocket.Conn, buf *bytes.Buffer) (websocket.MessageType, []byte, error) {
	if buf.Cap() > maxKeptReadBuf {
		*buf = bytes.Buffer{}
	}
	buf.Reset()
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return 0, nil, err
	}
	return typ, buf.Bytes(), nil
}

// write sends queued frames in order until the socket is released and its
// queue drained, or the connection fails.
func (s *socket) write(conn *websocket.Conn) {
	defer s.exit()
	defer close(s.wdone)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 {
			s.markIdle()
			if s.released {
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-s.ctx.Done():
				s.dropQueue()
				return
			}
			s.mu.Lock()
		}
		batch := s.queue
		s.queue, s.spare = s.spare, nil
		cw := s.cork
		s.mu.Unlock()
		if cw != nil {
			cw.Cork()
		}
		for i, f := range batch {
			if err := pipeline.WriteFrame(context.Background(), conn, f.typ, f.FramePart, &s.scratch); err != nil {
				// The reader sees the broken connection and reports it.
				s.c.log.Debug("client: write", "socket", s.gen, "err", err)
				if cw != nil {
					_ = cw.Uncork()
				}
				s.dropQueue()
				return
			}
			batch[i] = outFrame{}
			s.mu.Lock()
			s.queued -= f.Len()
			drained := pressure.BelowLowWater(s.queued, s.c.opts.SendQueueLimit) && s.pressure.Congested()
			if drained {
				s.pressure.Set(false)
			}
			s.mu.Unlock()
			if drained {
				s.reportPressure()
			}
		}
		if cw != nil {
			if err := cw.Uncork(); err != nil {
				s.c.log.Debug("client: write", "socket", s.gen, "err", err)
				s.dropQueue()
				return
			}
		}
		if cap(batch) <= maxSpareFrames {
			s.mu.Lock()
			s.spare = batch[:0]
			s.mu.Unlock()
		}
	}
}

// maxSpareFrames bounds the batch array the writer keeps for the next
// queue (a burst's larger one is left to the collector).
const maxSpareFrames = 64

// markIdle wakes Flush waiters. s.mu must be held.
func (s *socket) markIdle() {
	if s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

func (s *socket) dropQueue() {
	s.mu.Lock()
	s.queue, s.queued = nil, 0
	s.markIdle()
	s.mu.Unlock()
}

// enqueue queues one message's frames for the writer. It fails when the
// socket is not open or released, or when the frames would overflow a
// non-empty queue.
func (s *socket) enqueue(typ websocket.MessageType, frames ...wirecore.FramePart) error {
	size := 0
	for _, f := range frames {
		size += f.Len()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released || s.conn == nil {
		return newError(reasonNotConnected, "send", nil)
	}
	if s.queued > 0 && s.queued+size > s.c.opts.SendQueueLimit {
		return newError(reasonSendQueueFull, "send", nil)
	}
	for _, f := range frames {
		s.queue = append(s.queue, outFrame{typ: typ, FramePart: f})
	}
	s.queued += size
	if pressure.AboveHighWater(s.queued, s.c.opts.SendQueueLimit) {
		s.pressure.Set(true)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// send is the channel's send: pipeline (alias, encode, fragment), then the
// frames go to the writer as one unit. Fragments are headers and slices of
// the encoded message, not copies.
func (s *socket) send(msg wire.ChannelMsg) error {
	err := s.sendLocked(msg, nil, wire.Pieces{})
	if err == nil {
		// Outside sendMu: the report may run the exchange, which sends.
		s.reportPressure()
	}
	return err
}

// sendOfferPieces is the channel's SendPieces: an offer whose large value
// is queued from where the replica holds it.
func (s *socket) sendOfferPieces(m *wire.Offer, d wire.Pieces) error {
	err := s.sendLocked(nil, m, d)
	if err == nil {
		s.reportPressure()
	}
	return err
}

// sendLocked encodes msg, or the offer m with data d when m is not nil,
// and queues its frames.
func (s *socket) sendLocked(msg wire.ChannelMsg, m *wire.Offer, d wire.Pieces) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.isReleased() {
		return newError(reasonNotConnected, "send", nil)
	}
	var one [1]wirecore.FramePart // a complete frame, the usual case, needs no list
	var parts []wirecore.FramePart
	var err error
	if m == nil {
		parts, err = s.pipe.SendParts(msg, one[:0]) // a nil msg fails here
	} else {
		parts, err = s.pipe.SendOfferPieces(m, d, one[:0])
	}
	if err != nil {
		return err
	}
	return s.enqueue(websocket.MessageBinary, parts...)
}

// reportPressure tells the exchange when the queue's pressure changed
// since the last report (transport.Context.OnChannelPressure), so it holds
// back what it would send instead of overflowing the queue. Called without
// mu: the exchange may send from inside the report.
func (s *socket) reportPressure() {
	s.pressure.Report(func(congested bool) bool {
		ch := s.ch.Load()
		if ch == nil {
			return false
		}
		s.c.base.Pressure(ch.ID, congested)
		return true
	})
}

func (s *socket) flush(ctx context.Context) error {
	s.mu.Lock()
	if s.queued == 0 { // every frame has a header, so nothing is queued or being written
		s.mu.Unlock()
		return nil
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *socket) isReleased() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

// release closes the socket with code and reason and lets its goroutines
// finish: the writer first writes what is queued (within CloseGrace), then
// the close handshake runs, then the lifetime context is cancelled, which
// also aborts a dial in progress. It is idempotent and never blocks.
func (s *socket) release(code int, reason string) {
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return
	}
	s.released = true
	conn := s.conn
	s.running++ // the closer
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	go func() {
		defer s.exit()
		if conn != nil {
			stop := s.c.clk.AfterFunc(s.c.opts.CloseGrace, s.cancel)
			<-s.wdone
			stop()
			_ = conn.Close(websocket.StatusCode(code), reason)
		}
		s.cancel()
	}()
}

// closeConn is the channel's Close: it closes the connection; the reader
// then reports the close and the program decides what follows.
func (s *socket) closeConn(code int, reason string) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return
	}
	s.running++
	s.mu.Unlock()
	go func() {
		defer s.exit()
		_ = conn.Close(websocket.StatusCode(code), reason)
	}()
}

// exit is deferred by every goroutine of the socket.
func (s *socket) exit() {
	s.mu.Lock()
	s.running--
	finished := s.running == 0 && s.released
	s.mu.Unlock()
	if !finished {
		return
	}
	_ = s.pipe.Close()
	c := s.c
	c.mu.Lock()
	if c.socks[s.gen] == s {
		delete(c.socks, s.gen)
	}
	c.mu.Unlock()
	close(s.done)
}
