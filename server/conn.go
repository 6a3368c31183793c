package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/cork"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/pressure"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Transport-level text frames (spec §4.4).
var (
	textReady = []byte("ready")
	textPong  = []byte("pong")
)

var (
	errIdle         = newError(reasonIdleTimeout, "", nil)
	errWriteTimeout = newError(reasonWriteTimeout, "", nil)
	errRejected     = newError(reasonRejected, "by the exchange", nil)
)

// scratchPool holds the buffers pipeline.WriteFrame joins small frames
// in (a large shared body is never copied per connection).
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, pipeline.CoalesceLimit); return &b }}

var readPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// bigReadPool keeps the buffers of large messages (above 64 KiB) for the
// next large message, instead of leaving up to four times the message
// size of garbage per message (bytes.Buffer grows by doubling). Pooled
// buffers belong to no connection, and the pool drops them after two
// garbage collections, so idle connections hold none.
var bigReadPool sync.Pool

// outItem is one WebSocket message waiting in a send queue.
type outItem struct {
	typ  websocket.MessageType
	head []byte // this connection's frame header for a shared body, or nil
	body []byte // may be shared between connections: never written to
	tail []byte // written after body (a fragment's last fields), or nil
}

func (it *outItem) size() int { return len(it.head) + len(it.body) + len(it.tail) }

// conn is one accepted socket. Its goroutines: the reader (run), and a
// writer started on demand while the send queue is non-empty; both are
// counted in Server.wg. An idle connection therefore costs one parked
// goroutine, its socket buffers and this struct. Replies the exchange
// sends while the reader delivers a message are written by the reader
// (see delivering), so a request/reply exchange needs no writer.
type conn struct {
	s       *Server
	id      connID
	ws      *websocket.Conn
	info    transport.ConnInfo
	ipKey   string // counted against MaxConnectionsPerIP
	prinKey string // counted against MaxConnectionsPerPrincipal ("" for none)
	abortFn func()
	gone    chan struct{} // closed when unregistered

	lastActive atomic.Int64 // clock time (UnixNano) of the last message in
	writeStart atomic.Int64 // clock time (UnixNano) the current socket write began
	inWrite    atomic.Bool  // a socket write is in progress

	// reader goroutine only
	tokens   float64
	tokensAt time.Time
	lastBig  bool // the last binary message needed a large buffer

	// sendMu serializes encode+enqueue so the pipeline's alias state and
	// the sequence numbers follow queue order.
	sendMu sync.Mutex
	pipe   *pipeline.Pipeline
	seq    uint32

	mu     sync.Mutex
	st     connState // the lifecycle (conn_program.go), changed only by stepLocked
	ch     *transport.Channel
	q      []outItem
	spare  []outItem
	qBytes int // queued + being written
	qMsgs  int
	// pressure: the queue's congestion, told to the exchange in order.
	pressure pressure.Gauge
	// refused is the refusal of a socket that was never registered
	// (HandleConn returns it).
	refused   *CloseError
	writing   bool
	stopAbort func() bool
	stopIdle  func() bool
	stopWatch func() bool // the writer's watchdog, armed while it lives
	flushWait chan struct{}
	estIn     bool
	estOut    bool
	writers   sync.WaitGroup

	// The writer goroutine: started by the first message, it stays while
	// messages keep coming and parks on wake between batches; the
	// watchdog retires it after writerLinger without a batch, so an idle
	// connection carries no writer.
	cork    *cork.Writer  // batches socket writes; nil for HandleConn
	wake    chan struct{} // capacity 1: work for the parked writer
	parked  bool          // the writer waits on wake
	retire  bool          // the writer exits once the queue is empty
	busy    bool          // the writer holds a batch
	lastOut int64         // clock time (UnixNano) the last batch ended

	// While the reader hands a message to the exchange, a send that finds
	// no writer running is left queued (deferred) and the reader writes
	// it itself once the exchange returns (inline): a reply then costs no
	// goroutine hand-off, the shape of a plain echo loop. A slow socket
	// holds up only this connection's reader, which is backpressure on
	// the peer that is sending; the watchdog bounds the write as usual.
	delivering bool
	deferred   bool
	inline     bool // the reader holds the writer's role
	// With holdReplies (sockets the server hijacked itself) the reader
	// does not write at once but holds the role until it is about to read
	// from the socket again (readFlushConn): replies to messages that came
	// in together are written as one batch. held is set meanwhile.
	holdReplies bool
	held        atomic.Bool
}

// writerLinger is how long the writer goroutine waits for more messages
// before it exits: long enough that a stream of messages reuses one
// goroutine, short enough that idle connections hold none.
const writerLinger = 500 * time.Millisecond

func newConn(s *Server, ws *websocket.Conn, info transport.ConnInfo, abort func()) *conn {
	return &conn{s: s, ws: ws, info: info, abortFn: abort, gone: make(chan struct{}), seq: 1}
}

// refuse closes a socket that was never registered.
func (c *conn) refuse(code websocket.StatusCode, reason string, err error) {
	c.refused = &CloseError{Code: code, Reason: reason, Err: err}
	c.s.countClose(code)
	stop := c.s.clk.AfterFunc(c.s.cfg.CloseTimeout, c.abort)
	_ = c.ws.Close(code, reason)
	stop()
	_ = c.ws.CloseNow()
}

func (c *conn) abort() { c.abortFn() }

// stepLocked applies m to the lifecycle and carries out the effects that
// run under c.mu. It returns those that must run after c.mu is released
// (in order), for after.
func (c *conn) stepLocked(m connMsg) (later []connEffect) {
	next, fx := connProgram{}.Update(c.st, m)
	c.st = next
	for i, f := range fx {
		if f.Kind.unlocked() {
			// Unlocked effects come last in every transition.
			return fx[i:]
		}
		switch f.Kind {
		case fxQueueReady:
			c.queueReadyLocked()
		case fxDropQueue:
			c.dropLocked()
		case fxArmAbort:
			c.stopAbort = c.s.clk.AfterFunc(c.s.cfg.CloseTimeout, c.abort)
		case fxKickWriter:
			c.kickLocked()
		case fxCountClose:
			c.s.countClose(f.Code)
		}
	}
	return nil
}

// queueReadyLocked puts "ready" at the head of the queue, ahead of
// anything the exchange sent while the channel was being announced, and
// wakes the writer.
func (c *conn) queueReadyLocked() {
	ready := outItem{typ: websocket.MessageText, body: textReady}
	c.q = append(c.q, outItem{})
	copy(c.q[1:], c.q)
	c.q[0] = ready
	c.qBytes += ready.size()
	c.qMsgs++
	c.kickLocked()
}

// after carries out the effects stepLocked left for after c.mu.
func (c *conn) after(fx []connEffect) {
	for _, f := range fx {
		switch f.Kind {
		case fxWriteClose:
			// Blocks until the peer answers, the connection fails, or
			// the abort timer tears the socket down.
			_ = c.ws.Close(f.Code, f.Reason)
		case fxAbort:
			c.abort()
		case fxUnregister:
			c.s.unregister(c)
		}
	}
}

// attach binds the channel and opens the connection for data: "ready" goes
// out first, ahead of anything the exchange sent while the channel was
// being announced. It returns false when the connection was unregistered
// in the meantime.
func (c *conn) attach(ch *transport.Channel) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.detached {
		return false
	}
	c.ch = ch
	c.stepLocked(connAttach{}) // queues "ready" unless closing
	return true
}

// detach marks c unregistered and returns its channel, if any.
func (c *conn) detach() *transport.Channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stepLocked(connDetach{})
	ch := c.ch
	c.ch = nil
	return ch
}

func (c *conn) channel() *transport.Channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ch
}

func (c *conn) isEstablished() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.estIn && c.estOut
}

// pipeline returns the connection's wire pipeline, created on first use so
// that an idle connection does not carry one. Callers hold sendMu or are
// the reader; creation is guarded by mu.
func (c *conn) pipeline() *pipeline.Pipeline {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pipe == nil {
		obs := c.s.base.FrameObserver()
		var onFrame func(transport.FrameTrace)
		if obs != nil {
			// Send traces are emitted by the connection itself, with the
			// sequence number it stamped; only receive traces pass.
			onFrame = func(t transport.FrameTrace) {
				if t.Dir == transport.DirReceive {
					obs(t)
				}
			}
		}
		c.pipe = pipeline.New(pipeline.Options{
			Threshold:         c.s.cfg.threshold,
			MaxReassemblySize: c.s.cfg.MaxReassemblySize,
			ReassemblyBudget:  c.s.cfg.budget,
			Alias:             wire.AliasOptions{MaxAliases: c.s.cfg.MaxAliases, MaxPresentDocs: c.s.cfg.MaxPresentDocs},
			Clock:             c.s.clk,
			OnError:           c.onPipelineError,
			OnFrame:           onFrame,
		})
	}
	return c.pipe
}

func (c *conn) onPipelineError(err error, dir transport.Direction) {
	c.s.log.Debug("wire pipeline error", "peer", c.info.PeerID, "dir", string(dir), "err", err)
}

// sendMsg is the channel's send function: encode msg through the
// connection's pipeline and queue its frames.
func (c *conn) sendMsg(msg wire.ChannelMsg) error {
	if msg == nil {
		return newError(reasonNilMessage, "", nil)
	}
	// A complete frame is one part: room for it on the stack.
	var local [1]wirecore.FramePart
	if !c.lockSend() {
		return newError(reasonClosed, "", nil)
	}
	// Fragments come back as headers and slices of the encoded message:
	// the payload is not copied into frames.
	parts, err := c.pipeline().SendParts(msg, local[:0])
	return c.queueLocked(parts, err, msg.MsgType() == wire.TypeEstablish)
}

// sendOfferPieces is the channel's SendPieces: an offer whose large value
// is queued from where the replica holds it.
func (c *conn) sendOfferPieces(m *wire.Offer, d wire.Pieces) error {
	if m == nil {
		return newError(reasonNilMessage, "", nil)
	}
	var local [1]wirecore.FramePart
	if !c.lockSend() {
		return newError(reasonClosed, "", nil)
	}
	parts, err := c.pipeline().SendOfferPieces(m, d, local[:0])
	return c.queueLocked(parts, err, false)
}

// lockSend takes sendMu unless the connection is closing.
func (c *conn) lockSend() bool {
	c.sendMu.Lock()
	if c.isClosing() {
		c.sendMu.Unlock()
		return false
	}
	return true
}

// queueLocked queues the frames of one encoded message (err: its encoding
// failed) and releases sendMu.
func (c *conn) queueLocked(parts []wirecore.FramePart, err error, establish bool) error {
	// One sequence number per send, even a failing one (as the reference).
	// The connection stamps its own numbers so that shared broadcast frames
	// and per-connection frames form one sequence.
	seq := c.seq
	c.seq = seq + 1 // wraps from 2^32-1 to 0
	if err != nil {
		c.sendMu.Unlock()
		return err
	}
	size := 0
	for _, p := range parts {
		putSeq(p.Head, seq)
		size += p.Len()
	}
	c.mu.Lock()
	if err = c.admitLocked(size, len(parts)); err == nil {
		for _, p := range parts {
			if p.Body == nil && p.Tail == nil {
				c.q = append(c.q, outItem{typ: websocket.MessageBinary, body: p.Head})
			} else {
				c.q = append(c.q, outItem{typ: websocket.MessageBinary, head: p.Head, body: p.Body, tail: p.Tail})
			}
		}
		c.queuedLocked(size, len(parts))
	}
	if err == nil && establish {
		c.estOut = true
	}
	c.mu.Unlock()
	c.sendMu.Unlock()
	if err == nil {
		c.traceSendParts(seq, parts)
		c.reportPressure()
	}
	return err
}

// The queue is congested past half of either limit and drained at a
// quarter of both (internal/pressure).
func (c *conn) aboveHighWaterLocked() bool {
	cfg := &c.s.cfg
	return pressure.AboveHighWater(c.qMsgs, cfg.SendQueueMessages) || pressure.AboveHighWater(c.qBytes, cfg.SendQueueBytes)
}

func (c *conn) belowLowWaterLocked() bool {
	cfg := &c.s.cfg
	return pressure.BelowLowWater(c.qMsgs, cfg.SendQueueMessages) && pressure.BelowLowWater(c.qBytes, cfg.SendQueueBytes)
}

// reportPressure tells the exchange when the queue's pressure changed
// since the last report. Called without mu: the exchange may send from
// inside the report (and so come back here).
func (c *conn) reportPressure() {
	c.pressure.Report(func(congested bool) bool {
		c.mu.Lock()
		ch := c.ch
		c.mu.Unlock()
		if ch == nil {
			return false
		}
		c.s.base.Pressure(ch.ID, congested)
		return true
	})
}

func (c *conn) traceSendParts(seq uint32, parts []wirecore.FramePart) {
	obs := c.s.base.FrameObserver()
	if obs == nil {
		return
	}
	if len(parts) == 1 && parts[0].Body == nil {
		obs(transport.FrameTrace{Dir: transport.DirSend, Seq: seq, Kind: wire.KindComplete, Size: len(parts[0].Head)})
		return
	}
	for i, p := range parts {
		obs(transport.FrameTrace{Dir: transport.DirSend, Seq: seq, Kind: wire.KindFragment, Index: i, Total: len(parts), Size: p.Len()})
	}
}

// sendShared queues frames encoded once for many connections: only the
// header is per connection.
func (c *conn) sendShared(frames [][]byte) error {
	err := c.queueShared(frames)
	if err == nil {
		// Outside sendMu: the report may run the exchange, which sends.
		c.reportPressure()
	}
	return err
}

func (c *conn) queueShared(frames [][]byte) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.isClosing() {
		return newError(reasonClosed, "", nil)
	}
	seq := c.seq
	c.seq = seq + 1 // wraps from 2^32-1 to 0
	heads := make([]byte, 0, len(frames)*wirecore.FragmentHeaderSize)
	items := make([]outItem, len(frames))
	for i, f := range frames {
		n := headerLen(f)
		start := len(heads)
		heads = append(heads, f[:n]...)
		h := heads[start:len(heads):len(heads)]
		putSeq(h, seq)
		items[i] = outItem{typ: websocket.MessageBinary, head: h, body: f[n:]}
	}
	c.mu.Lock()
	err := c.enqueueLocked(items)
	c.mu.Unlock()
	if err == nil {
		c.traceSend(seq, frames)
	}
	return err
}

func headerLen(f []byte) int {
	if len(f) > 1 && wire.FrameKind(f[1]) == wire.KindFragment {
		return wirecore.FragmentHeaderSize
	}
	return wirecore.HeaderSize
}

// putSeq overwrites the sequence number of an encoded frame header.
func putSeq(f []byte, seq uint32) {
	f[6], f[7], f[8], f[9] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
}

func (c *conn) traceSend(seq uint32, frames [][]byte) {
	obs := c.s.base.FrameObserver()
	if obs == nil {
		return
	}
	if len(frames) == 1 && headerLen(frames[0]) == wirecore.HeaderSize {
		obs(transport.FrameTrace{Dir: transport.DirSend, Seq: seq, Kind: wire.KindComplete, Size: len(frames[0])})
		return
	}
	for i, f := range frames {
		obs(transport.FrameTrace{Dir: transport.DirSend, Seq: seq, Kind: wire.KindFragment, Index: i, Total: len(frames), Size: len(f)})
	}
}

func (c *conn) sendText(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enqueueLocked([]outItem{{typ: websocket.MessageText, body: b}})
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.closing()
}

// enqueueLocked admits items as a unit or closes the connection as a slow
// consumer. It never blocks.
func (c *conn) enqueueLocked(items []outItem) error {
	size := 0
	for i := range items {
		size += items[i].size()
	}
	if err := c.admitLocked(size, len(items)); err != nil {
		return err
	}
	c.q = append(c.q, items...)
	c.queuedLocked(size, len(items))
	return nil
}

// admitLocked decides whether n messages of size bytes in total fit the
// queue; if not, the connection is closed as a slow consumer.
func (c *conn) admitLocked(size, n int) error {
	if c.st.closing() {
		return newError(reasonClosed, "", nil)
	}
	cfg := &c.s.cfg
	empty := c.qBytes == 0 && c.qMsgs == 0
	if !empty && (c.qBytes+size > cfg.SendQueueBytes || c.qMsgs+n > cfg.SendQueueMessages) {
		c.closeLocked(StatusSlowConsumer, closeReasonSlowConsumer, newError(reasonSlowConsumer, "", nil), false)
		return newError(reasonSlowConsumer, "", nil)
	}
	return nil
}

// queuedLocked accounts for messages just appended and wakes the writer.
func (c *conn) queuedLocked(size, n int) {
	c.qBytes += size
	c.qMsgs += n
	if c.aboveHighWaterLocked() {
		c.pressure.Set(true)
	}
	raiseTo(&c.s.st.hwBytes, int64(c.qBytes))
	raiseTo(&c.s.st.hwMsgs, int64(c.qMsgs))
	if c.st.phase == connOpen {
		c.kickLocked()
	}
}

// kickLocked wakes the writer goroutine, or starts it (with its
// watchdog) if it is not running.
func (c *conn) kickLocked() {
	if c.writing {
		// New work keeps a retiring writer (and its watchdog) alive.
		c.retire = false
		c.armWatchLocked()
		switch {
		case c.inline:
			// The reader is writing and takes this too.
		case c.delivering && c.parked:
			c.deferred = true // endDelivery writes it
		default:
			c.wakeLocked()
		}
		return
	}
	if c.delivering {
		c.deferred = true // endDelivery writes it
		return
	}
	c.writing = true
	c.retire = false
	c.parked = false
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
	}
	c.writers.Add(1)
	c.s.wg.Add(1)
	c.lastOut = c.s.clk.Now().UnixNano()
	c.armWatchLocked()
	go c.writeLoop()
}

// beginDelivery marks the reader as handing a message to the exchange
// (see conn.delivering).
func (c *conn) beginDelivery() {
	c.mu.Lock()
	c.delivering = true
	c.mu.Unlock()
}

// endDelivery ends a delivery: what was sent meanwhile, and found no
// writer, the reader writes itself while the connection is open; while
// closing (or before it opens) the writer goroutine takes over as before.
func (c *conn) endDelivery() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivering = false
	if !c.deferred {
		return
	}
	c.deferred = false
	if c.writing && !c.parked {
		return // the writer goroutine is at work and takes the queue
	}
	if c.st.phase != connOpen || c.st.closing() || c.st.discard {
		c.kickLocked()
		return
	}
	// A parked writer goroutine stays parked (nothing wakes it while the
	// reader holds the role), so parked still tells whether it exists
	// when the role is given back.
	c.writing, c.inline, c.retire = true, true, false
	c.armWatchLocked()
	if c.holdReplies {
		c.held.Store(true) // written before the reader's next socket read
		return
	}
	c.writeInlineLocked()
}

// flushHeld writes what the reader held back and gives up the writer's
// role; the reader calls it before it reads from the socket, and finish
// before the connection ends.
func (c *conn) flushHeld() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held.Load() {
		return
	}
	c.held.Store(false)
	c.writeInlineLocked()
}

// writeInlineLocked writes the queue on the reader's goroutine, which holds
// the writer's role, then gives the role up (to the writer goroutine when
// closing, so that it sends the close frame).
func (c *conn) writeInlineLocked() {
	for len(c.q) > 0 && !c.st.discard && !c.st.closing() {
		c.writeQueuedLocked(true)
	}
	c.busy = false
	c.inline = false
	c.writing = c.parked
	if c.st.closing() || len(c.q) > 0 {
		// Closing meanwhile: the writer goroutine flushes what the close
		// keeps and sends the close frame.
		c.kickLocked()
		return
	}
	if c.flushWait != nil {
		close(c.flushWait)
		c.flushWait = nil
	}
}

// armWatchLocked starts the watchdog unless it is armed.
func (c *conn) armWatchLocked() {
	if c.stopWatch == nil {
		c.stopWatch = c.s.clk.AfterFunc(min(c.s.cfg.WriteTimeout, writerLinger), c.watchdog)
	}
}

// wakeLocked unparks the writer. One token per park: the channel never
// blocks.
func (c *conn) wakeLocked() {
	if c.parked {
		c.parked = false
		c.wake <- struct{}{}
	}
}

// closeWith starts closing the connection with code and reason. With flush
// the queued messages are written first; otherwise they are dropped (the
// peer learns it lost data from the close code). The whole close is bounded
// by CloseTimeout, after which the socket is torn down. Only the first call
// counts; it reports whether it was the first.
func (c *conn) closeWith(code websocket.StatusCode, reason string, cause error, flush bool) bool {
	c.mu.Lock()
	first := c.closeLocked(code, reason, cause, flush)
	c.mu.Unlock()
	return first
}

func (c *conn) closeLocked(code websocket.StatusCode, reason string, cause error, flush bool) bool {
	if c.st.closing() {
		return false
	}
	c.stepLocked(connClose{Code: code, Reason: reason, Flush: flush}) // no unlocked effects
	c.s.log.Debug("closing connection", "peer", c.info.PeerID, "code", int(code), "reason", reason, "err", cause)
	return true
}

// dropLocked discards the queue (the in-flight batch is abandoned by the
// writer when it sees the state's discard).
func (c *conn) dropLocked() {
	for _, it := range c.q {
		c.qBytes -= it.size()
		c.qMsgs--
	}
	clear(c.q)
	c.q = c.q[:0]
}

// reject is the channel's close function (the exchange refused the peer,
// reference T3/T4): the socket is closed, not just forgotten.
func (c *conn) reject() {
	c.closeWith(statusPolicyViolation, closeReasonRejected, errRejected, true)
}

// writeLoop drains the queue into the socket, a batch at a time, and
// parks while the queue is empty. It exits after sending the close frame
// when the connection is closing, or when the watchdog retires it.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer c.writers.Done()
	c.mu.Lock()
	for {
		if len(c.q) == 0 || c.st.discard {
			c.busy = false
			if c.flushWait != nil {
				close(c.flushWait)
				c.flushWait = nil
			}
			// While closing, the first idle writer sends the close frame.
			if later := c.stepLocked(connWriterIdle{}); later != nil {
				c.mu.Unlock()
				c.after(later)
				c.mu.Lock()
			}
			if c.st.closing() || c.retire {
				c.writing = false
				c.parked = false
				if c.stopWatch != nil {
					c.stopWatch()
					c.stopWatch = nil
				}
				// An idle connection keeps no queue storage and no wake
				// channel: the next message's writer makes them again.
				if len(c.q) == 0 {
					c.q, c.spare = nil, nil
				}
				c.wake = nil
				c.mu.Unlock()
				return
			}
			c.parked = true
			c.mu.Unlock()
			<-c.wake
			c.mu.Lock()
			continue
		}
		c.writeQueuedLocked(false)
	}
}

// writeQueuedLocked takes the queue as one batch and writes it with c.mu
// released, by the writer goroutine or by the reader (inline). busy stays
// set: the caller clears it once the queue is empty.
func (c *conn) writeQueuedLocked(inline bool) {
	batch := c.q
	c.q = c.spare[:0]
	c.spare = nil
	c.busy = true
	c.mu.Unlock()

	if h := c.s.testHookBatch; h != nil {
		h(inline)
	}
	c.writeBatch(batch)

	c.mu.Lock()
	c.lastOut = c.s.clk.Now().UnixNano()
	if c.spare == nil && cap(batch) <= 64 {
		c.spare = batch[:0]
	}
}

// writeBatch writes the messages of one batch through the cork, so that
// they leave in one system call (large pieces without a copy). The
// watchdog bounds the whole batch by WriteTimeout.
func (c *conn) writeBatch(batch []outItem) {
	c.writeStart.Store(c.s.clk.Now().UnixNano())
	c.inWrite.Store(true)
	defer c.inWrite.Store(false)
	cw := c.cork
	if cw != nil {
		cw.Cork()
	}
	failed := false
	done := 0 // messages handed to the socket (or the cork)
	size := 0
	for i := range batch {
		it := &batch[i]
		if err := c.write(it); err != nil {
			failed = true
			if cw != nil {
				_ = cw.Uncork()
			}
			c.writeFailed(err)
			break
		}
		done++
		size += it.size()
		c.mu.Lock()
		stop := c.st.discard
		c.mu.Unlock()
		if stop {
			break
		}
	}
	if cw != nil && !failed {
		if err := cw.Uncork(); err != nil {
			c.writeFailed(err)
		}
	}
	c.s.st.framesOut.Add(uint64(done))
	c.s.st.bytesOut.Add(uint64(size))
	n, total := len(batch), 0
	for i := range batch {
		total += batch[i].size()
		batch[i] = outItem{}
	}
	c.mu.Lock()
	c.qBytes -= total
	c.qMsgs -= n
	drained := c.belowLowWaterLocked() && c.pressure.Congested()
	if drained {
		c.pressure.Set(false)
	}
	c.mu.Unlock()
	if drained {
		c.reportPressure()
	}
}

func (c *conn) write(it *outItem) error {
	if h := c.s.testHookWrite; h != nil {
		h(it.size())
	}
	bp := scratchPool.Get().(*[]byte)
	err := pipeline.WriteFrame(context.Background(), c.ws, it.typ, wirecore.FramePart{Head: it.head, Body: it.body, Tail: it.tail}, bp)
	scratchPool.Put(bp)
	return err
}

// writeFailed: the socket refused a write; the connection is finished.
func (c *conn) writeFailed(err error) {
	c.mu.Lock()
	later := c.stepLocked(connWriteFailed{})
	c.mu.Unlock()
	c.s.log.Debug("write failed", "peer", c.info.PeerID, "err", err)
	c.after(later) // abort
}

// watchdog runs while the writer goroutine lives, re-armed at most once
// per WriteTimeout or writerLinger (never per message). It enforces
// WriteTimeout on the batch being written: one that has not gone out
// after WriteTimeout marks a slow consumer and tears the socket down (a
// close frame could not get through a stuck socket anyway). It retires
// the writer after writerLinger without a batch.
func (c *conn) watchdog() {
	c.mu.Lock()
	c.stopWatch = nil
	if !c.writing {
		c.mu.Unlock()
		return
	}
	now := c.s.clk.Now().UnixNano()
	timeout := c.s.cfg.WriteTimeout
	wait := min(timeout, writerLinger)
	switch {
	case c.inWrite.Load():
		elapsed := time.Duration(now - c.writeStart.Load())
		if elapsed >= timeout {
			if !c.st.closing() {
				c.s.log.Debug("closing connection", "peer", c.info.PeerID, "code", int(StatusSlowConsumer), "reason", closeReasonSlowConsumer, "err", errWriteTimeout)
			}
			later := c.stepLocked(connWriteTimeout{})
			c.mu.Unlock()
			c.after(later) // abort
			return
		}
		wait = timeout - elapsed
	case c.parked && !c.inline && !c.st.closing():
		idle := time.Duration(now - c.lastOut)
		if idle >= writerLinger {
			c.retire = true
			c.wakeLocked()
			c.mu.Unlock()
			return
		}
		wait = writerLinger - idle
	}
	c.stopWatch = c.s.clk.AfterFunc(wait, c.watchdog)
	c.mu.Unlock()
}

// waitFlushed waits until the queue is empty and the writer idle.
func (c *conn) waitFlushed(ctx context.Context) error {
	c.mu.Lock()
	if !c.writing || c.st.closing() || (len(c.q) == 0 && !c.busy) {
		c.mu.Unlock()
		return nil
	}
	if c.flushWait == nil {
		c.flushWait = make(chan struct{})
	}
	ch := c.flushWait
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-c.gone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the connection's main goroutine: read until the socket ends, then
// clean up.
func (c *conn) run() {
	defer c.s.wg.Done()
	c.startIdle()
	err := c.readLoop()
	c.finish(err)
}

func (c *conn) touch() { c.lastActive.Store(c.s.clk.Now().UnixNano()) }

func (c *conn) startIdle() {
	t := c.s.cfg.IdleTimeout
	if t <= 0 {
		return
	}
	c.touch()
	c.mu.Lock()
	if !c.st.closing() {
		c.stopIdle = c.s.clk.AfterFunc(t, c.idleCheck)
	}
	c.mu.Unlock()
}

func (c *conn) idleCheck() {
	t := c.s.cfg.IdleTimeout
	elapsed := time.Duration(c.s.clk.Now().UnixNano() - c.lastActive.Load())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.closing() {
		return
	}
	if elapsed >= t {
		c.closeLocked(statusGoingAway, closeReasonIdle, errIdle, false)
		return
	}
	c.stopIdle = c.s.clk.AfterFunc(t-elapsed, c.idleCheck)
}

// allow applies the message rate limit (token bucket).
func (c *conn) allow(now time.Time) bool {
	rate := c.s.cfg.MessageRate
	if rate <= 0 {
		return true
	}
	burst := float64(c.s.cfg.MessageBurst)
	if c.tokensAt.IsZero() {
		c.tokens = burst
	} else if dt := now.Sub(c.tokensAt); dt > 0 {
		c.tokens = min(burst, c.tokens+dt.Seconds()*rate)
	}
	c.tokensAt = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// readLoop reads messages until the socket fails or the connection starts
// closing. It returns the read error, or nil when it stopped by itself.
func (c *conn) readLoop() error {
	// A background context: cancelling a read context makes
	// coder/websocket close the connection, and the connection's lifetime
	// is driven by closeWith/abort instead.
	ctx := context.Background()
	for {
		typ, r, err := c.ws.Reader(ctx)
		if err != nil {
			return err
		}
		now := c.s.clk.Now()
		c.lastActive.Store(now.UnixNano())
		if !c.allow(now) {
			c.closeWith(statusPolicyViolation, closeReasonRateLimited, newError(reasonRateLimited, "", nil), false)
			return nil
		}
		cont, err := c.deliver(typ, r)
		if err != nil || !cont {
			return err
		}
		if c.isClosing() {
			return nil
		}
	}
}

// deliver reads one message and hands it to the exchange. It reports
// false when the connection is closing because of the message.
func (c *conn) deliver(typ websocket.MessageType, r io.Reader) (bool, error) {
	switch typ {
	case websocket.MessageText:
		var buf [8]byte
		n, err := io.ReadFull(r, buf[:])
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil
		} else if err == nil {
			var m int64
			m, err = io.Copy(io.Discard, r)
			n += int(m)
		}
		if err != nil {
			return false, err
		}
		c.s.st.framesIn.Add(1)
		c.s.st.bytesIn.Add(uint64(n))
		// Only "ping" means something; other text is ignored, as in
		// the reference.
		if n == 4 && string(buf[:4]) == "ping" {
			c.beginDelivery()
			_ = c.sendText(textPong)
			c.endDelivery()
		}
		if h := c.s.testHookText; h != nil {
			h(string(buf[:min(n, len(buf))]))
		}
	default:
		buf := c.readBuf()
		_, err := buf.ReadFrom(r)
		c.lastBig = buf.Cap() > 64<<10
		if err != nil {
			putReadBuf(buf)
			return false, err
		}
		c.s.st.framesIn.Add(1)
		c.s.st.bytesIn.Add(uint64(buf.Len()))
		c.beginDelivery()
		ok := c.receive(buf.Bytes())
		c.endDelivery()
		putReadBuf(buf)
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// readBuf takes a read buffer: a large one (if pooled) after a large
// message, since large messages tend to follow each other.
func (c *conn) readBuf() *bytes.Buffer {
	if c.lastBig {
		if b, _ := bigReadPool.Get().(*bytes.Buffer); b != nil {
			b.Reset()
			return b
		}
	}
	b := readPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// putReadBuf returns a read buffer to the pool for its size. The pipeline
// keeps no reference to it (fragments are copied, decoded messages never
// alias their input).
func putReadBuf(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		readPool.Put(buf)
		return
	}
	bigReadPool.Put(buf)
}

// receive runs one binary message through the pipeline into the exchange.
// It returns false when the message was invalid and the connection is
// closing.
func (c *conn) receive(piece []byte) bool {
	msg, err := c.pipeline().Receive(piece)
	if err != nil {
		if code, reason, cause, ok := limitClose(err); ok {
			c.closeWith(code, reason, fmt.Errorf("%w: %w", cause, err), false)
			return false
		}
		c.s.st.invalidFrames.Add(1)
		c.closeWith(statusInvalidData, invalidFrameReason(err), err, false)
		return false
	}
	if msg == nil {
		return true // fragment of an incomplete message
	}
	ch := c.channel()
	if msg.MsgType() == wire.TypeEstablish {
		c.mu.Lock()
		c.estIn = true
		c.mu.Unlock()
	}
	if ch == nil {
		c.s.log.Debug("message before the channel exists", "peer", c.info.PeerID, "type", msg.MsgType().String())
		return true
	}
	if err := c.s.base.Receive(ch.ID, msg); err != nil {
		c.s.log.Debug("message not delivered", "peer", c.info.PeerID, "err", err)
	}
	return true
}

// limitClose maps a pipeline error caused by a resource limit (rather than
// a malformed frame) to its close code, reason and cause.
func limitClose(err error) (websocket.StatusCode, string, error, bool) {
	var re *wire.ReassemblyError
	var ae *wirecore.AliasError
	switch {
	case errors.As(err, &re) && re.Reason == "over_budget":
		return statusTryAgainLater, closeReasonBusy, newError(reasonReassemblyBudget, "", nil), true
	case errors.As(err, &re) && re.Reason == "evicted":
		// Its own message did not fit the per-connection limit.
		return statusMessageTooBig, closeReasonTooBig, newError(reasonLimit, "", nil), true
	case errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: "limit"}):
		return statusMessageTooBig, closeReasonTooBig, newError(reasonLimit, "", nil), true
	case errors.As(err, &ae) && ae.Reason == "too-many-docs":
		return statusMessageTooBig, closeReasonTooBig, newError(reasonLimit, "", nil), true
	case errors.As(err, &ae) && ae.IsLimit():
		return statusPolicyViolation, fmt.Sprintf(closeReasonLimitFmt, ae.Reason), newError(reasonLimit, "", nil), true
	}
	return 0, "", nil, false
}

// finish runs after the reader stopped: the connection leaves the registry
// at once, the socket is closed (S5: a failed socket is never left open),
// and the writer is waited for.
func (c *conn) finish(readErr error) {
	c.flushHeld() // or hand it to the writer goroutine, when closing
	how := readGone
	switch {
	case socketGone(readErr):
	case errors.Is(readErr, websocket.ErrMessageTooBig):
		how = readTooBig
	default:
		how = readProtocol
	}
	c.mu.Lock()
	wasClosing := c.st.closing()
	later := c.stepLocked(connReadEnded{How: how})
	code, reason := c.st.code, c.st.reason
	c.mu.Unlock()
	switch {
	case wasClosing:
	case how != readGone:
		c.s.log.Debug("closing connection", "peer", c.info.PeerID, "code", int(code), "reason", reason, "err", readErr)
	case websocket.CloseStatus(readErr) != -1:
		c.s.log.Debug("closed by peer", "peer", c.info.PeerID, "code", int(websocket.CloseStatus(readErr)))
	default:
		c.s.log.Debug("connection ended", "peer", c.info.PeerID, "err", readErr)
	}
	c.after(later) // unregister; abort a socket that was not closing
	c.mu.Lock()
	c.retire = true
	c.wakeLocked() // a parked writer has nothing left to do
	c.mu.Unlock()
	c.writers.Wait()
	_ = c.ws.CloseNow()
	c.mu.Lock()
	for _, stop := range []func() bool{c.stopAbort, c.stopIdle, c.stopWatch} {
		if stop != nil {
			stop()
		}
	}
	c.stopAbort, c.stopIdle, c.stopWatch = nil, nil, nil
	pipe := c.pipe
	c.mu.Unlock()
	if pipe != nil {
		_ = pipe.Close()
	}
	if h := c.s.testHookDone; h != nil {
		h(c.info, readErr)
	}
}

// socketGone reports whether a read error means the connection itself is
// finished (closed by the peer, reset, or closed by us), as opposed to a
// protocol violation on a still-working socket.
func socketGone(err error) bool {
	if err == nil || websocket.CloseStatus(err) != -1 {
		return true
	}
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &op)
}
