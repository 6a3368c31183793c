package sse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/outbox"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// cstream is one connection attempt of the client: the events request and
// its reader, and (once open) the uploader. Its goroutines report to the
// runner with messages tagged gen. It is finished, and leaves the client's
// table, when released and all its goroutines exited.
type cstream struct {
	c          *Client
	gen        uint64
	ctx        context.Context // cancelling it ends the events request and aborts uploads
	cancel     context.CancelFunc
	pipe       *pipe
	ch         atomic.Pointer[transport.Channel]
	streamID   atomic.Pointer[string] // from the server's eventStream event
	lastActive atomic.Int64           // clock time (UnixNano) of the last bytes read
	readerGID  atomic.Uint64
	sendMu     sync.Mutex // frames queue in the pipeline's seq order

	mu       sync.Mutex
	opened   bool
	released bool
	running  int
	postURL  string
	header   http.Header
	peerID   string
	queue    [][]byte
	queued   int           // bytes queued or being uploaded
	wake     chan struct{} // cap 1
	idle     chan struct{} // closed while nothing is queued or being uploaded
	pdone    chan struct{} // closed when the uploader exited (or never runs)
	done     chan struct{} // closed when the stream is finished
	stopIdle func() bool
}

// open starts stream gen (the program's open-stream effect).
func (c *Client) open(gen uint64) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &cstream{
		c: c, gen: gen, ctx: ctx, cancel: cancel,
		wake:    make(chan struct{}, 1),
		idle:    closedChan,
		pdone:   make(chan struct{}),
		done:    make(chan struct{}),
		running: 1, // the reader, counted before the stream is published
	}
	s.pipe = newPipe(pipeOptions{
		threshold: max(c.opts.FragmentThreshold, 0),
		clock:     c.clk,
		onFrame:   c.base.FrameObserver(),
		onError: func(err error, dir transport.Direction) {
			c.log.Warn("sse client: pipeline", "stream", gen, "dir", string(dir), "err", err)
		},
	})
	peerID := c.base.Identity().PeerID
	c.mu.Lock()
	c.streams[gen] = s
	c.mu.Unlock()
	go s.run(peerID)
}

var errOpenTimeout = newError(reasonOpenTimeout, "events request", nil)

// run sends the events request, then reads the stream until it ends.
func (s *cstream) run(peerID string) {
	defer s.exit()
	c := s.c
	fail := func(m msgStreamError) {
		m.Stream = s.gen
		c.runner.Dispatch(m)
	}
	eu, err := resolveURL(c.opts.EventsURL, c.opts.EventsURLFunc, peerID)
	if err != nil {
		fail(msgStreamError{Err: err, Config: true})
		return
	}
	pu, err := resolveURL(c.opts.PostURL, c.opts.PostURLFunc, peerID)
	if err != nil {
		fail(msgStreamError{Err: err, Config: true})
		return
	}
	h, err := c.header(s.ctx)
	if err != nil {
		code := kyneta.CodeOf(err)
		m := msgStreamError{Err: err, Config: code == kyneta.CodeInvalidArgument}
		if code == kyneta.CodeUnauthenticated || code == kyneta.CodePermissionDenied {
			m.HTTPStatus = http.StatusUnauthorized
		}
		fail(m)
		return
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, eu, nil)
	if err != nil {
		fail(msgStreamError{Err: err, Config: true})
		return
	}
	req.Header = h.Clone()
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")

	var timedOut, responded atomic.Bool
	var stopTimer func() bool
	if c.opts.OpenTimeout > 0 {
		stopTimer = c.clk.AfterFunc(c.opts.OpenTimeout, func() {
			if !responded.Load() {
				timedOut.Store(true)
				s.cancel()
			}
		})
	}
	resp, err := c.opts.HTTPClient.Do(req)
	responded.Store(true)
	if stopTimer != nil {
		stopTimer()
	}
	if err != nil {
		if timedOut.Load() {
			err = errOpenTimeout
		}
		fail(msgStreamError{Err: err})
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		fail(msgStreamError{Err: fmt.Errorf("events request refused with HTTP %d", resp.StatusCode), HTTPStatus: resp.StatusCode})
		return
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		fail(msgStreamError{Err: fmt.Errorf("events response has content type %q", resp.Header.Get("Content-Type"))})
		return
	}

	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return
	}
	s.opened = true
	s.postURL, s.header, s.peerID = pu, h, peerID
	s.running++ // the uploader
	s.mu.Unlock()
	s.touch()
	go s.upload()
	s.armIdle()
	c.runner.Dispatch(msgStreamOpened{Stream: s.gen})
	s.read(resp.Body)
}

func (s *cstream) touch() { s.lastActive.Store(s.c.clk.Now().UnixNano()) }

// activity counts every byte read as a sign of life (heartbeats too).
type activity struct {
	r io.Reader
	s *cstream
}

func (a activity) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.s.touch()
	}
	return n, err
}

// read decodes the events until the stream ends, then reports how.
func (s *cstream) read(body io.Reader) {
	s.readerGID.Store(outbox.Goid())
	c := s.c
	er := newEventReader(activity{body, s}, c.opts.MaxEventSize)
	code, reason := closeAbnormal, ""
	for {
		ev, err := er.Next()
		if err != nil {
			if errors.Is(err, errEventTooLarge) {
				c.runner.Dispatch(msgStreamError{Stream: s.gen, Err: err})
				return
			}
			if code == closeAbnormal && err != io.EOF {
				reason = err.Error()
			}
			c.runner.Dispatch(msgStreamClosed{Stream: s.gen, Code: code, Reason: reason})
			return
		}
		switch ev.Type {
		case eventMessage:
			if ev.Data == "ready" {
				continue // a handshake word some servers send; not a frame
			}
			msg, err := s.pipe.receiveText(ev.Data)
			if err != nil || msg == nil {
				continue // errors went to the pipeline's onError
			}
			ch := s.ch.Load()
			if ch == nil {
				c.log.Debug("sse client: message before the channel exists, dropped", "stream", s.gen, "type", msg.MsgType().String())
				continue
			}
			if err := c.base.Receive(ch.ID, msg); err != nil {
				c.log.Debug("sse client: receive", "stream", s.gen, "err", err)
			}
		case eventStream:
			id := ev.Data
			s.streamID.Store(&id)
		case eventClose:
			if cc, r := parseCloseEvent(ev.Data); cc != 0 {
				code, reason = cc, r
			}
		}
	}
}

// armIdle starts the idle watchdog (ClientOptions.IdleTimeout).
func (s *cstream) armIdle() {
	t := s.c.opts.IdleTimeout
	if t <= 0 {
		return
	}
	var check func()
	check = func() {
		elapsed := time.Duration(s.c.clk.Now().UnixNano() - s.lastActive.Load())
		s.mu.Lock()
		if s.released {
			s.mu.Unlock()
			return
		}
		if elapsed < t {
			s.stopIdle = s.c.clk.AfterFunc(t-elapsed, check)
			s.mu.Unlock()
			return
		}
		s.stopIdle = nil
		s.mu.Unlock()
		// Outside the lock: the dispatch may run the close-stream effect
		// on this goroutine.
		s.c.runner.Dispatch(msgStreamError{Stream: s.gen, Err: errIdleTimeout})
	}
	s.mu.Lock()
	if !s.released {
		s.stopIdle = s.c.clk.AfterFunc(t, check)
	}
	s.mu.Unlock()
}

// send is the channel's send: encode msg into binary frames and queue them
// for upload as one unit.
func (s *cstream) send(msg wire.ChannelMsg) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	ok := s.opened && !s.released
	s.mu.Unlock()
	if !ok {
		return newError(reasonNotConnected, "send", nil)
	}
	frames, err := s.pipe.sendBinary(msg)
	if err != nil {
		return err
	}
	size := 0
	for _, f := range frames {
		size += len(f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return newError(reasonNotConnected, "send", nil)
	}
	if s.queued > 0 && s.queued+size > s.c.opts.SendQueueLimit {
		return newError(reasonSendQueueFull, "send", nil)
	}
	s.queue = append(s.queue, frames...)
	if s.queued == 0 && s.idle == closedChan {
		s.idle = make(chan struct{})
	}
	s.queued += size
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// upload sends the queued frames one POST at a time, in order, until the
// stream is released and its queue is empty, or an upload fails.
func (s *cstream) upload() {
	defer s.exit()
	defer close(s.pdone)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 {
			s.markIdleLocked()
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
		f := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		status, err := s.post(f)
		s.mu.Lock()
		s.queued -= len(f)
		s.mu.Unlock()
		if err != nil {
			if s.ctx.Err() == nil {
				s.c.runner.Dispatch(msgUploadFailed{Stream: s.gen, HTTPStatus: status, Err: err})
			}
			s.dropQueue()
			return
		}
	}
}

// post uploads one frame. 200 and 202 (a fragment of an incomplete
// message) are success.
func (s *cstream) post(frame []byte) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.postURL, bytes.NewReader(frame))
	if err != nil {
		return 0, err
	}
	req.Header = s.header.Clone()
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(headerPeerID, s.peerID)
	if id := s.streamID.Load(); id != nil {
		req.Header.Set(headerStreamID, *id)
	}
	resp, err := s.c.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return resp.StatusCode, fmt.Errorf("upload refused with HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

func (s *cstream) markIdleLocked() {
	if s.idle != closedChan {
		close(s.idle)
		s.idle = closedChan
	}
}

func (s *cstream) dropQueue() {
	s.mu.Lock()
	clear(s.queue)
	s.queue, s.queued = nil, 0
	s.markIdleLocked()
	s.mu.Unlock()
}

func (s *cstream) flush(ctx context.Context) error {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (s *cstream) isReleased() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

// release ends the stream. Graceful lets the queued uploads finish first
// (bounded by CloseGrace); otherwise they are aborted at once. Idempotent;
// never blocks.
func (s *cstream) release(graceful bool) {
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return
	}
	s.released = true
	opened := s.opened
	if s.stopIdle != nil {
		s.stopIdle()
		s.stopIdle = nil
	}
	s.running++ // the closer
	s.mu.Unlock()
	if !opened {
		close(s.pdone) // no uploader will run
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	go func() {
		defer s.exit()
		if graceful && opened {
			stop := s.c.clk.AfterFunc(s.c.opts.CloseGrace, s.cancel)
			<-s.pdone
			stop()
		}
		s.cancel()
	}()
}

// exit is deferred by every goroutine of the stream.
func (s *cstream) exit() {
	s.mu.Lock()
	s.running--
	finished := s.running == 0 && s.released
	s.mu.Unlock()
	if !finished {
		return
	}
	s.pipe.close()
	c := s.c
	c.mu.Lock()
	if c.streams[s.gen] == s {
		delete(c.streams, s.gen)
	}
	c.mu.Unlock()
	close(s.done)
}
