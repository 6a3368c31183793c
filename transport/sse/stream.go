package sse

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/pressure"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// stream is one open events stream on the server. Everything written to
// the response happens on its handler goroutine (serve); other goroutines
// queue events and wake it.
type stream struct {
	s    *Server
	id   uint64
	info transport.ConnInfo
	// ipKey and prinKey are what the stream counts against for the
	// per-address and per-principal caps ("" for none).
	ipKey, prinKey string
	w              http.ResponseWriter
	rc             *http.ResponseController
	pipe           *pipe
	gone           chan struct{} // closed when the handler is done

	sendMu sync.Mutex // encode+enqueue, so frames queue in seq order
	recvMu sync.Mutex // one upload at a time through the pipeline

	// Upload ordering: the reference client sends its uploads
	// concurrently, so they can arrive out of order. Binary uploads are
	// taken in frame-seq order (see awaitTurn).
	ordMu   sync.Mutex
	nextIn  uint32        // seq of the next message expected
	ordWake chan struct{} // closed and replaced when nextIn moves
	waiters int

	mu       sync.Mutex
	ch       *transport.Channel
	detached bool
	q        [][]byte // encoded events
	qBytes   int
	qMsgs    int
	// pressure: the queue's congestion, told to the exchange in order.
	pressure    pressure.Gauge
	wake        chan struct{} // cap 1
	idle        chan struct{} // closed while nothing is queued or being written
	heartbeat   bool          // a heartbeat is due
	closing     bool
	closeCode   int
	closeReason string
	aborted     chan struct{} // closed to end serve without a close event
	stopHB      func() bool
}

func newStream(s *Server, info transport.ConnInfo, w http.ResponseWriter, rc *http.ResponseController) *stream {
	st := &stream{
		s: s, info: info, w: w, rc: rc,
		gone:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		idle:    closedChan,
		aborted: make(chan struct{}),
		nextIn:  1,
		ordWake: make(chan struct{}),
	}
	st.pipe = newPipe(pipeOptions{
		threshold:         s.cfg.threshold,
		maxReassemblySize: s.cfg.MaxReassemblySize,
		budget:            s.cfg.budget,
		alias:             wire.AliasOptions{MaxAliases: s.cfg.MaxAliases, MaxPresentDocs: s.cfg.MaxPresentDocs},
		clock:             s.clk,
		onFrame:           s.base.FrameObserver(),
		onError: func(err error, dir transport.Direction) {
			s.log.Debug("sse: wire pipeline error", "peer", info.PeerID, "dir", string(dir), "err", err)
		},
	})
	return st
}

var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

func (st *stream) attach(ch *transport.Channel) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.detached {
		return false
	}
	st.ch = ch
	return true
}

func (st *stream) detach() *transport.Channel {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.detached = true
	ch := st.ch
	st.ch = nil
	return ch
}

func (st *stream) channel() *transport.Channel {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ch
}

func (st *stream) kick() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// send is the channel's send function: encode msg into text frames and
// queue them as one unit of "data:" events.
func (st *stream) send(msg wire.ChannelMsg) error {
	err := st.queue(msg)
	if err == nil {
		// Outside the locks: the report may run the exchange, which sends.
		st.reportPressure()
	}
	return err
}

// reportPressure tells the exchange when the queue's pressure changed
// since the last report, so it holds back instead of overflowing the queue
// of a client that is still reading.
func (st *stream) reportPressure() {
	st.pressure.Report(func(congested bool) bool {
		ch := st.channel()
		if ch == nil {
			return false
		}
		st.s.base.Pressure(ch.ID, congested)
		return true
	})
}

func (st *stream) queue(msg wire.ChannelMsg) error {
	if msg == nil {
		return newError(reasonNilMessage, "", nil)
	}
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	st.mu.Lock()
	closing := st.closing
	st.mu.Unlock()
	if closing {
		return errStreamClosed()
	}
	frames, err := st.pipe.sendText(msg)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range frames {
		n += len(f) + 8
	}
	b := make([]byte, 0, n)
	for _, f := range frames {
		b = appendEvent(b, "", f)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closing {
		return errStreamClosed()
	}
	cfg := &st.s.cfg
	empty := st.qMsgs == 0
	if !empty && (st.qBytes+len(b) > cfg.SendQueueBytes || st.qMsgs+len(frames) > cfg.SendQueueMessages) {
		st.closeLocked(closeSlowConsumer, closeReasonSlowConsumer, false)
		return newError(reasonSlowConsumer, "", nil)
	}
	if empty && st.idle == closedChan {
		st.idle = make(chan struct{})
	}
	st.q = append(st.q, b)
	st.qBytes += len(b)
	st.qMsgs += len(frames)
	if pressure.AboveHighWater(st.qMsgs, cfg.SendQueueMessages) || pressure.AboveHighWater(st.qBytes, cfg.SendQueueBytes) {
		st.pressure.Set(true)
	}
	st.kick()
	return nil
}

// closeWith ends the stream: after the queue (flush) or dropping it, the
// close event is written and the response ends. Only the first call
// counts.
func (st *stream) closeWith(code int, reason string, flush bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closeLocked(code, reason, flush)
}

func (st *stream) closeLocked(code int, reason string, flush bool) {
	if st.closing {
		return
	}
	st.closing = true
	st.closeCode, st.closeReason = code, reason
	if !flush {
		st.dropLocked()
	}
	st.s.st.close(code)
	st.s.log.Debug("sse: closing stream", "peer", st.info.PeerID, "code", code, "reason", reason)
	st.kick()
}

func (st *stream) dropLocked() {
	clear(st.q)
	st.q = st.q[:0]
	st.qBytes, st.qMsgs = 0, 0
}

// reject is the channel's close function: the exchange refused the peer.
func (st *stream) reject() { st.closeWith(closePolicyViolation, closeReasonRejected, true) }

// abort ends the stream at once, without its close event: a write in
// progress fails at its deadline.
func (st *stream) abort() {
	st.mu.Lock()
	select {
	case <-st.aborted:
	default:
		close(st.aborted)
	}
	st.mu.Unlock()
	_ = st.rc.SetWriteDeadline(time.Unix(1, 0))
}

// stalled runs when one write section outlasted WriteTimeout.
func (st *stream) stalled() {
	st.closeWith(closeSlowConsumer, closeReasonSlowConsumer, false)
	st.abort()
}

// waitIdle waits until the queue is written.
func (st *stream) waitIdle(ctx context.Context) error {
	st.mu.Lock()
	idle := st.idle
	st.mu.Unlock()
	select {
	case <-idle:
	case <-st.gone:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (st *stream) armHeartbeat() {
	d := st.s.cfg.HeartbeatInterval
	if d <= 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closing {
		return
	}
	st.stopHB = st.s.clk.AfterFunc(d, func() {
		st.mu.Lock()
		st.heartbeat = true
		st.mu.Unlock()
		st.kick()
	})
}

var (
	hello          = []byte(": ok\n\n")
	heartbeatBytes = []byte(": heartbeat\n\n")
)

// serve writes the stream until it ends: the client went away (ctx), the
// server closed it (close event, then the response ends), or it was
// aborted.
func (st *stream) serve(ctx context.Context) {
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	st.w.WriteHeader(http.StatusOK)
	first := append(append([]byte(nil), hello...), appendEvent(nil, eventStream, st.info.StreamID)...)
	if !st.write(first) {
		return
	}
	st.armHeartbeat()
	for {
		select {
		case <-st.wake:
		case <-ctx.Done():
			return
		case <-st.aborted:
			return
		}
		st.mu.Lock()
		batch := st.q
		st.q = nil
		n := st.qMsgs
		hb := st.heartbeat
		st.heartbeat = false
		closing := st.closing
		st.mu.Unlock()

		var out []byte
		for _, b := range batch {
			out = append(out, b...)
		}
		queued := len(out)
		if hb && !closing {
			out = append(out, heartbeatBytes...)
		}
		if closing {
			st.mu.Lock()
			code, reason := st.closeCode, st.closeReason
			st.mu.Unlock()
			out = appendCloseEvent(out, code, reason)
		}
		st.s.st.eventsOut.Add(uint64(n))
		ok := len(out) == 0 || st.write(out)
		st.mu.Lock()
		st.qBytes -= queued
		st.qMsgs -= n
		if st.qMsgs <= 0 {
			st.qBytes, st.qMsgs = 0, 0
			if st.idle != closedChan {
				close(st.idle)
				st.idle = closedChan
			}
		}
		cfg := &st.s.cfg
		drained := pressure.BelowLowWater(st.qMsgs, cfg.SendQueueMessages) && pressure.BelowLowWater(st.qBytes, cfg.SendQueueBytes) && st.pressure.Congested()
		if drained {
			st.pressure.Set(false)
		}
		st.mu.Unlock()
		if drained {
			st.reportPressure()
		}
		if !ok || closing {
			return
		}
		if hb {
			st.armHeartbeat()
		}
	}
}

// write writes and flushes b under the write watchdog.
func (st *stream) write(b []byte) bool {
	stop := st.s.clk.AfterFunc(st.s.cfg.WriteTimeout, st.stalled)
	_, err := st.w.Write(b)
	if err == nil {
		err = st.rc.Flush()
	}
	stop()
	if err != nil {
		st.s.log.Debug("sse: write failed", "peer", st.info.PeerID, "err", err)
		return false
	}
	return true
}

// release stops the stream's timers and pipeline (handler done).
func (st *stream) release() {
	st.mu.Lock()
	st.closing = true
	if st.stopHB != nil {
		st.stopHB()
		st.stopHB = nil
	}
	st.dropLocked()
	if st.idle != closedChan {
		close(st.idle)
		st.idle = closedChan
	}
	st.mu.Unlock()
	st.pipe.close()
}

// Bounds of the reordering wait: how far ahead of the expected seq an
// upload may be to wait for its turn, and how many uploads may wait at
// once per stream. Beyond either, uploads are taken as they come.
const (
	maxReorderAhead   = 64
	maxReorderWaiters = 256
)

// awaitTurn holds a binary upload with frame seq seq until the messages
// before it were taken (or rejected), for at most ReorderWait; then the
// gap is skipped (a client may have lost a seq to a failed send). Fragments
// of one message share its seq and pass together. Late uploads (seq already
// passed) are taken at once. It returns false when ctx ended or the stream
// is gone.
func (st *stream) awaitTurn(ctx context.Context, seq uint32) bool {
	st.ordMu.Lock()
	if ahead := int32(seq - st.nextIn); ahead <= 0 || ahead > maxReorderAhead || st.waiters >= maxReorderWaiters {
		st.ordMu.Unlock()
		return true
	}
	st.waiters++
	expired := make(chan struct{})
	stop := st.s.clk.AfterFunc(st.s.cfg.ReorderWait, func() { close(expired) })
	defer stop()
	ok := true
	for ok && int32(seq-st.nextIn) > 0 {
		wake := st.ordWake
		st.ordMu.Unlock()
		select {
		case <-wake:
		case <-expired:
			st.ordMu.Lock()
			if int32(seq-st.nextIn) > 0 {
				st.s.log.Debug("sse: upload gap skipped", "peer", st.info.PeerID, "from", st.nextIn, "to", seq)
				st.moveLocked(seq)
			}
			st.ordMu.Unlock()
		case <-ctx.Done():
			ok = false
		case <-st.gone:
			ok = false
		}
		st.ordMu.Lock()
	}
	st.waiters--
	st.ordMu.Unlock()
	return ok
}

// advance records that the message with seq seq was taken or rejected.
func (st *stream) advance(seq uint32) {
	st.ordMu.Lock()
	if int32(seq-st.nextIn) >= 0 {
		st.moveLocked(seq + 1)
	}
	st.ordMu.Unlock()
}

func (st *stream) moveLocked(next uint32) {
	st.nextIn = next
	close(st.ordWake)
	st.ordWake = make(chan struct{})
}

// upload takes one upload: in seq order for binary frames, then through
// the pipeline and into the exchange. It returns the HTTP answer.
func (st *stream) upload(ctx context.Context, body []byte) (int, any) {
	ordered := st.s.cfg.ReorderWait > 0 && !isTextFrame(body) && len(body) >= wirecore.HeaderSize
	var seq uint32
	if ordered {
		seq = binary.BigEndian.Uint32(body[6:10])
		if !st.awaitTurn(ctx, seq) {
			return http.StatusServiceUnavailable, map[string]string{"error": "Stream gone"}
		}
	}
	status, resp := st.receive(body)
	if ordered && status != http.StatusAccepted {
		st.advance(seq)
	}
	return status, resp
}

// receive runs one upload through the pipeline and, for a complete
// message, into the exchange. It returns the HTTP answer.
func (st *stream) receive(body []byte) (int, any) {
	st.recvMu.Lock()
	defer st.recvMu.Unlock()
	var (
		msg wire.ChannelMsg
		err error
	)
	if isTextFrame(body) {
		msg, err = st.pipe.receiveText(string(body))
	} else {
		msg, err = st.pipe.receiveBinary(body)
	}
	if err != nil {
		if errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
			return http.StatusNotFound, map[string]string{"error": "Peer not connected"}
		}
		st.s.st.invalid.Add(1)
		code := "decode-failed" // the pipeline's reason for a payload that does not decode
		var pe *pipeline.Error
		if errors.As(err, &pe) {
			code = pe.Reason
		}
		var ae *wirecore.AliasError
		if errors.As(err, &ae) && ae.IsLimit() {
			// A resource cap, not a bad frame: the peer's alias state is
			// now incomplete, so the stream ends (as on the WebSocket
			// server).
			st.closeWith(closePolicyViolation, fmt.Sprintf(closeReasonLimitFmt, ae.Reason), true)
			return http.StatusBadRequest, map[string]string{"error": code}
		}
		// Otherwise the stream stays open (as in the reference): an
		// upload from a client's previous stream can arrive after its
		// successor opened, and must not end it.
		return http.StatusBadRequest, map[string]string{"error": code}
	}
	if msg == nil {
		return http.StatusAccepted, map[string]bool{"pending": true}
	}
	ch := st.channel()
	if ch == nil {
		return http.StatusNotFound, map[string]string{"error": "Peer not connected"}
	}
	if err := st.s.base.Receive(ch.ID, msg); err != nil {
		st.s.log.Debug("sse: message not delivered", "peer", st.info.PeerID, "err", err)
	}
	return http.StatusOK, map[string]bool{"ok": true}
}
