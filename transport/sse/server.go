package sse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
)

// Server is the SSE transport's server side: an http.Handler (events
// stream down, uploads up) and a transport.Transport whose channels are
// the open streams. It accepts streams only while an exchange has started
// it (HTTP 503 otherwise).
//
// ServeHTTP serves both directions on one path: GET opens a stream, POST
// uploads a frame. EventsHandler and UploadHandler serve one direction
// each, for separate routes (the reference router's /events and /sync).
type Server struct {
	cfg  serverConfig
	base *transport.Base
	log  *slog.Logger
	clk  clock.Clock

	mu       sync.Mutex
	streams  map[uint64]*stream
	byPeer   map[string]*stream
	perIP    map[string]int // registered streams per client address
	perPrin  map[string]int // registered streams per principal key
	nextID   uint64
	draining bool
	closed   bool
	wg       sync.WaitGroup // handlers serving a registered stream

	st counters
}

var (
	_ transport.Transport = (*Server)(nil)
	_ http.Handler        = (*Server)(nil)
)

// NewServer returns a Server with opts (zero fields take defaults). It
// fails with the reason "invalid-options" for inconsistent options.
func NewServer(opts ServerOptions) (*Server, error) {
	cfg, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		clk:     cfg.Clock,
		streams: make(map[uint64]*stream),
		byPeer:  make(map[string]*stream),
		perIP:   make(map[string]int),
		perPrin: make(map[string]int),
	}
	s.st.closed = make(map[int]uint64)
	s.st.refused = make(map[string]uint64)
	s.base = transport.NewBase(transport.BaseOptions{
		Type:    serverTransportType,
		ID:      cfg.TransportID,
		OnStop:  s.onStop,
		OnFlush: s.flush,
	})
	return s, nil
}

// Type returns "sse-server".
func (s *Server) Type() string { return s.base.Type() }

// ID returns the transport id.
func (s *Server) ID() string { return s.base.ID() }

// Initialize is called by the exchange.
func (s *Server) Initialize(ctx context.Context, c transport.Context) error {
	return s.base.Initialize(ctx, c)
}

// Start is called by the exchange; from then on streams are accepted.
func (s *Server) Start(ctx context.Context) error { return s.base.Start(ctx) }

// Stop is called by the exchange: every stream is ended with 1001 "Server
// shutting down" (after what was queued), Stop waits (bounded by ctx) until
// they are gone, and a drain in progress ends so that a restarted
// transport accepts again.
func (s *Server) Stop(ctx context.Context) error { return s.base.Stop(ctx) }

// Flush waits until every stream's queue has been written, or ctx ends.
func (s *Server) Flush(ctx context.Context) error { return s.base.Flush(ctx) }

// Close shuts the server down: new requests are refused (HTTP 503), every
// stream is ended with 1001 "Server shutting down", and Close waits until
// their handlers returned. If ctx ends first the streams are cut off
// without their close event, Close still waits for the handlers (which
// then return promptly) and returns ctx's error. Call it before shutting
// down the http.Server: an open stream is an active request.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	all := s.snapshotLocked()
	s.mu.Unlock()
	for _, st := range all {
		st.closeWith(closeGoingAway, closeReasonShuttingDown, true)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	all = s.snapshotLocked()
	s.mu.Unlock()
	for _, st := range all {
		st.abort()
	}
	<-done
	return ctx.Err()
}

func (s *Server) snapshotLocked() []*stream {
	out := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		out = append(out, st)
	}
	return out
}

// onStop is the transport's OnStop hook.
func (s *Server) onStop(ctx context.Context) error {
	s.mu.Lock()
	all := s.snapshotLocked()
	s.mu.Unlock()
	for _, st := range all {
		st.closeWith(closeGoingAway, closeReasonShuttingDown, true)
	}
	var err error
	for _, st := range all {
		select {
		case <-st.gone:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	s.mu.Lock()
	s.draining = false
	s.mu.Unlock()
	return err
}

// flush is the transport's OnFlush hook.
func (s *Server) flush(ctx context.Context) error {
	s.mu.Lock()
	all := s.snapshotLocked()
	s.mu.Unlock()
	for _, st := range all {
		if err := st.waitIdle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ConnectionCount returns the number of open streams.
func (s *Server) ConnectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// IsConnected reports whether peerID has an open stream.
func (s *Server) IsConnected(peerID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byPeer[peerID]
	return ok
}

// IsDraining reports whether a drain has started (and the transport has
// not been stopped since).
func (s *Server) IsDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// Connections returns the transport.ConnInfo of every open stream, in no order.
func (s *Server) Connections() []transport.ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]transport.ConnInfo, 0, len(s.streams))
	for _, st := range s.streams {
		out = append(out, st.info)
	}
	return out
}

// ServeHTTP opens a stream for GET and takes an upload for POST; other
// methods get 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.serveEvents(w, r)
	case http.MethodPost:
		s.serveUpload(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// EventsHandler serves only events requests (GET).
func (s *Server) EventsHandler() http.Handler { return s.only(http.MethodGet, s.serveEvents) }

// UploadHandler serves only uploads (POST).
func (s *Server) UploadHandler() http.Handler { return s.only(http.MethodPost, s.serveUpload) }

func (s *Server) only(method string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	})
}

// Refusal reasons, counted in Stats.Refused.
const (
	refuseClosed       = "closed"
	refuseDraining     = "draining"
	refuseNotStarted   = "not-started"
	refuseAuth         = "auth"
	refuseBadRequest   = "bad-request"
	refuseTooMany      = "max-connections"
	refusePerIP        = "max-connections-per-ip"
	refusePerPrincipal = "max-connections-per-principal"
	refusePeerInUse    = "peer-id-in-use"
	refuseStreaming    = "streaming-unsupported"
)

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, reason string, status int, msg string) {
	s.st.refuse(reason)
	s.log.Info("sse: request refused", "reason", reason, "status", status, "method", r.Method, "remote", r.RemoteAddr)
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// admission says why no new stream can be taken now ("" if one can).
func (s *Server) admission() string {
	s.mu.Lock()
	closed, draining := s.closed, s.draining
	s.mu.Unlock()
	switch {
	case closed:
		return refuseClosed
	case draining:
		return refuseDraining
	case s.base.State() != transport.StateStarted:
		return refuseNotStarted
	}
	return ""
}

// authenticate runs the authenticator; on refusal it answers the request.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (server.Principal, bool) {
	if s.cfg.Authenticate == nil {
		return nil, true
	}
	p, err := s.cfg.Authenticate(r)
	if err != nil {
		status, msg := authStatus(err)
		s.log.Debug("sse: authentication failed", "err", err, "remote", r.RemoteAddr)
		s.refuse(w, r, refuseAuth, status, msg)
		return nil, false
	}
	return p, true
}

// serveEvents opens a stream: checks, registration (the channel exists,
// and uploads find the stream, before the client sees the response), then
// the stream runs on this handler goroutine until it ends.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	if reason := s.admission(); reason != "" {
		s.refuse(w, r, reason, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable))
		return
	}
	principal, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	peerID := s.cfg.PeerID(r)
	switch {
	case peerID == "":
		s.refuse(w, r, refuseBadRequest, http.StatusBadRequest, "peerId is required")
		return
	case len(peerID) > maxPeerIDLen:
		s.refuse(w, r, refuseBadRequest, http.StatusBadRequest, "peer id too long")
		return
	}
	rc := http.NewResponseController(w)
	st := newStream(s, transport.ConnInfo{
		PeerID:     peerID,
		Principal:  principal,
		RemoteAddr: r.RemoteAddr,
		StreamID:   fmt.Sprintf("%016x", rand.Uint64()),
	}, w, rc)
	st.ipKey, st.prinKey = s.cfg.ClientIP(r), s.cfg.PrincipalKey(principal)
	if reason := s.register(st); reason != "" {
		status, msg := http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable)
		switch reason {
		case refuseTooMany:
			msg = "Too many connections"
		case refusePeerInUse:
			status, msg = http.StatusConflict, "peer id in use"
		case refusePerIP, refusePerPrincipal:
			status, msg = http.StatusTooManyRequests, "Too many connections"
		}
		s.refuse(w, r, reason, status, msg)
		return
	}
	defer s.wg.Done()
	s.st.accepted.Add(1)
	st.serve(r.Context())
	s.finish(st)
}

// register adds st to the registry and opens its channel. It returns a
// refusal reason, or "" with s.wg incremented for the stream's handler.
func (s *Server) register(st *stream) string {
	s.mu.Lock()
	old := s.byPeer[st.info.PeerID]
	switch {
	case s.closed:
		s.mu.Unlock()
		return refuseClosed
	case s.draining:
		s.mu.Unlock()
		return refuseDraining
	case old != nil && !transport.SamePrincipal(old.info.Principal, st.info.Principal):
		// Only the same principal may take over a peer id, so nobody can
		// end another principal's stream by naming its peer.
		s.mu.Unlock()
		return refusePeerInUse
	case s.cfg.MaxConnections > 0 && len(s.streams) >= s.cfg.MaxConnections && old == nil:
		s.mu.Unlock()
		return refuseTooMany
	case overCap(s.perIP, st.ipKey, s.cfg.MaxConnectionsPerIP, old != nil && old.ipKey == st.ipKey):
		s.mu.Unlock()
		return refusePerIP
	case overCap(s.perPrin, st.prinKey, s.cfg.MaxConnectionsPerPrincipal, old != nil && old.prinKey == st.prinKey):
		s.mu.Unlock()
		return refusePerPrincipal
	}
	s.nextID++
	st.id = s.nextID
	s.streams[st.id] = st
	s.byPeer[st.info.PeerID] = st
	if st.ipKey != "" {
		s.perIP[st.ipKey]++
	}
	if st.prinKey != "" {
		s.perPrin[st.prinKey]++
	}
	s.wg.Add(1)
	s.mu.Unlock()

	if old != nil {
		// The registry is keyed by stream, so the old stream's late end
		// cannot remove its successor.
		old.closeWith(closeReplaced, closeReasonReplaced, false)
		s.unregister(old)
	}
	ch, err := s.base.AddChannel(transport.Link{Send: st.send, Close: st.reject, Meta: st.info})
	if err != nil {
		s.log.Warn("sse: cannot register stream", "peer", st.info.PeerID, "err", err)
		code, reason := closeInternal, closeReasonInternal
		if errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "invalid-state"}) {
			code, reason = closeGoingAway, closeReasonShuttingDown
		}
		st.closeWith(code, reason, false)
		return "" // serve writes the close event; finish cleans up
	}
	if !st.attach(ch) {
		// Unregistered while the channel was being announced (stop,
		// replacement): the channel is ours to remove.
		_, _ = s.base.RemoveChannel(ch.ID)
	}
	s.log.Debug("sse: stream registered", "peer", st.info.PeerID, "stream", st.info.StreamID, "channel", uint64(ch.ID))
	return ""
}

// overCap says whether one more stream for key would exceed limit; a
// stream that replaces one with the same key (replacing) adds none.
func overCap(counts map[string]int, key string, limit int, replacing bool) bool {
	if limit <= 0 || key == "" || replacing {
		return false
	}
	return counts[key] >= limit
}

func uncount(counts map[string]int, key string) {
	if key == "" {
		return
	}
	if counts[key]--; counts[key] <= 0 {
		delete(counts, key) // keys of departed clients must not pile up
	}
}

// unregister takes st out of the registry and removes its channel; it is
// idempotent and safe in any transport state.
func (s *Server) unregister(st *stream) {
	s.mu.Lock()
	if s.streams[st.id] == st {
		delete(s.streams, st.id)
		uncount(s.perIP, st.ipKey)
		uncount(s.perPrin, st.prinKey)
	}
	if s.byPeer[st.info.PeerID] == st {
		delete(s.byPeer, st.info.PeerID)
	}
	s.mu.Unlock()
	if ch := st.detach(); ch != nil {
		_, _ = s.base.RemoveChannel(ch.ID)
	}
}

// finish runs when a stream's handler is done.
func (s *Server) finish(st *stream) {
	s.unregister(st)
	st.release()
	close(st.gone)
}

// serveUpload takes one frame from a client and hands the message, once
// complete, to the exchange before answering. Answers as the reference's:
// 200 {"ok":true}, 202 {"pending":true} for a fragment of an incomplete
// message, 400 {"error":...} for a frame the pipeline rejects, 404 when
// the peer has no stream.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.refuse(w, r, refuseClosed, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable))
		return
	}
	principal, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	peerID := s.cfg.UploadPeerID(r)
	if peerID == "" {
		s.refuse(w, r, refuseBadRequest, http.StatusBadRequest, "Missing peer ID")
		return
	}
	s.mu.Lock()
	st := s.byPeer[peerID]
	s.mu.Unlock()
	switch {
	case st == nil:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Peer not connected"})
		return
	case !transport.SamePrincipal(st.info.Principal, principal):
		s.refuse(w, r, refuseAuth, http.StatusForbidden, http.StatusText(http.StatusForbidden))
		return
	}
	if id := r.Header.Get(headerStreamID); id != "" && id != st.info.StreamID {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "Stale stream"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodySize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "Body too large"})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "read_failed"})
		return
	}
	s.st.uploads.Add(1)
	status, resp := st.upload(r.Context(), body)
	writeJSON(w, status, resp)
}

// isTextFrame tells a text frame ("2c"/"2f" JSON array) from a binary
// frame (first byte: wire version 3).
func isTextFrame(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '['
	}
	return false
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	// Open is the number of open streams.
	Open int
	// Accepted counts streams opened since NewServer.
	Accepted uint64
	// Refused counts refused requests by reason: "closed", "draining",
	// "not-started", "auth", "bad-request", "max-connections",
	// "max-connections-per-ip", "max-connections-per-principal",
	// "peer-id-in-use", "streaming-unsupported".
	Refused map[string]uint64
	// Closed counts server-initiated stream ends by close code.
	Closed map[int]uint64
	// Uploads counts uploads that reached a stream; InvalidUploads those
	// the pipeline rejected.
	Uploads, InvalidUploads uint64
	// EventsOut counts message events (frames, not heartbeats) handed to
	// the network.
	EventsOut uint64
}

type counters struct {
	accepted, uploads, invalid, eventsOut atomic.Uint64
	mu                                    sync.Mutex
	refused                               map[string]uint64
	closed                                map[int]uint64
}

func (c *counters) refuse(reason string) {
	c.mu.Lock()
	c.refused[reason]++
	c.mu.Unlock()
}

func (c *counters) close(code int) {
	c.mu.Lock()
	c.closed[code]++
	c.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Open:           s.ConnectionCount(),
		Accepted:       s.st.accepted.Load(),
		Uploads:        s.st.uploads.Load(),
		InvalidUploads: s.st.invalid.Load(),
		EventsOut:      s.st.eventsOut.Load(),
		Refused:        map[string]uint64{},
		Closed:         map[int]uint64{},
	}
	s.st.mu.Lock()
	for k, v := range s.st.refused {
		st.Refused[k] = v
	}
	for k, v := range s.st.closed {
		st.Closed[k] = v
	}
	s.st.mu.Unlock()
	return st
}
