package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/cork"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// maxPeerIDLen bounds a requested peer id.
const maxPeerIDLen = 256

// Server is the Kyneta WebSocket server. It is an http.Handler (mount it on
// any mux) and a transport.Transport (give it to an exchange): every
// accepted socket becomes one channel of the transport.
//
// A Server accepts connections only while its transport is started (the
// exchange does that); otherwise it answers HTTP 503.
type Server struct {
	cfg  config
	base *transport.Base
	log  *slog.Logger
	clk  clock.Clock

	mu           sync.Mutex
	conns        map[connID]*conn // registered connections
	byPeer       map[string]*conn // the newest connection of each peer id
	perIP        map[string]int   // registered connections per client address
	perPrincipal map[string]int   // registered connections per principal key
	nextID       connID
	draining     bool
	drainRefuse  drainConfig // code/reason used to refuse while draining
	closed       bool
	drain        drainState
	drainTimers  []func() bool
	drainWaiters map[uint64]*drainWaiter
	wg           sync.WaitGroup // every connection goroutine

	st       counters
	closedMu sync.Mutex
	closedBy map[websocket.StatusCode]uint64

	// Test hooks: testHookDone runs when a connection's goroutines are
	// done; testHookRaw sees each hijacked network connection;
	// testHookDrainCall runs (under s.mu) when a Drain call has registered.
	testHookDone      func(info transport.ConnInfo, readErr error)
	testHookRaw       func(net.Conn)
	testHookDrainCall func(joined bool)
	testHookText      func(text string) // after a text message was handled
	testHookWrite     func(size int)    // a socket write is about to start
	testHookBatch     func(inline bool) // a batch is about to be written, by the reader (inline) or the writer goroutine
}

var _ transport.Transport = (*Server)(nil)
var _ http.Handler = (*Server)(nil)

// New returns a Server with opts (zero fields take their defaults). It
// fails with "invalid-options" when opts are inconsistent.
func New(opts Options) (*Server, error) {
	cfg, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger,
		clk:          cfg.Clock,
		conns:        make(map[connID]*conn),
		byPeer:       make(map[string]*conn),
		perIP:        make(map[string]int),
		perPrincipal: make(map[string]int),
		drainWaiters: make(map[uint64]*drainWaiter),
		closedBy:     make(map[websocket.StatusCode]uint64),
	}
	s.drain, _ = drainProgram{}.Init()
	s.base = transport.NewBase(transport.BaseOptions{
		Type:    transportType,
		ID:      cfg.TransportID,
		OnStop:  s.onStop,
		OnFlush: s.flush,
	})
	return s, nil
}

// Type returns "websocket-server".
func (s *Server) Type() string { return s.base.Type() }

// ID returns the transport id.
func (s *Server) ID() string { return s.base.ID() }

// Initialize is called by the exchange to inject its callbacks.
func (s *Server) Initialize(ctx context.Context, c transport.Context) error {
	return s.base.Initialize(ctx, c)
}

// Start is called by the exchange; from then on the server accepts
// connections.
func (s *Server) Start(ctx context.Context) error { return s.base.Start(ctx) }

// Stop is called by the exchange: it closes every connection with 1001
// "Server shutting down", waits (bounded by ctx) until they are gone,
// reports their channels removed, and ends any drain state so that a
// restarted transport accepts again. It does not wait for the connection
// goroutines to exit; Close does.
func (s *Server) Stop(ctx context.Context) error { return s.base.Stop(ctx) }

// Flush waits until every connection's send queue has been handed to its
// socket, or ctx ends.
func (s *Server) Flush(ctx context.Context) error { return s.base.Flush(ctx) }

// Close shuts the server down: it refuses new connections (HTTP 503) from
// now on, closes every connection with 1001 "Server shutting down" and
// waits for all connection goroutines to finish. If ctx ends first, the
// remaining sockets are torn down without a closing handshake, Close still
// waits for the goroutines (which then end promptly) and returns ctx.Err().
// Close does not stop the transport; the exchange does that. Calling Close
// again waits again.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := s.snapshotLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(statusGoingAway, closeReasonShuttingDown, nil, true)
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
	conns = s.snapshotLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.abort()
	}
	<-done
	return ctx.Err()
}

func (s *Server) snapshotLocked() []*conn {
	out := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	return out
}

// onStop is the transport's OnStop hook.
func (s *Server) onStop(ctx context.Context) error {
	s.mu.Lock()
	conns := s.snapshotLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(statusGoingAway, closeReasonShuttingDown, nil, true)
	}
	var err error
	for _, c := range conns {
		select {
		case <-c.gone:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	s.mu.Lock()
	s.draining = false // a restarted transport accepts again
	s.mu.Unlock()
	return err
}

// flush is the transport's OnFlush hook.
func (s *Server) flush(ctx context.Context) error {
	s.mu.Lock()
	conns := s.snapshotLocked()
	s.mu.Unlock()
	for _, c := range conns {
		if err := c.waitFlushed(ctx); err != nil {
			return err
		}
	}
	return nil
}

// IsDraining reports whether a drain has started (and the transport has
// not been stopped since): new connections are refused.
func (s *Server) IsDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// ConnectionCount returns the number of registered connections.
func (s *Server) ConnectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// IsConnected reports whether a connection with this peer id is registered.
func (s *Server) IsConnected(peerID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byPeer[peerID]
	return ok
}

// Connections returns the transport.ConnInfo of every registered connection, in no
// particular order.
func (s *Server) Connections() []transport.ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]transport.ConnInfo, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c.info)
	}
	return out
}

// CloseConnections closes every registered connection whose transport.ConnInfo
// matches with code and reason (queued messages are written first) and
// returns how many it closed: e.g. the connections of a revoked
// credential. match runs under the server's lock and must not call the
// server. It fails with "invalid-options" for a code a server may not send
// or a reason longer than 123 bytes.
func (s *Server) CloseConnections(match func(transport.ConnInfo) bool, code websocket.StatusCode, reason string) (int, error) {
	if !validCloseCode(code) {
		return 0, newError(reasonInvalidOptions, "code: not a close code a server may send", nil)
	}
	if len(reason) > 123 {
		return 0, newError(reasonInvalidOptions, "reason: longer than 123 bytes", nil)
	}
	s.mu.Lock()
	var hit []*conn
	for _, c := range s.conns {
		if match(c.info) {
			hit = append(hit, c)
		}
	}
	s.mu.Unlock()
	n := 0
	for _, c := range hit {
		if c.closeWith(code, reason, nil, true) {
			n++
		}
	}
	return n, nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Open:                   s.ConnectionCount(),
		Accepted:               s.st.accepted.Load(),
		Rejected:               make(map[string]uint64),
		Closed:                 make(map[websocket.StatusCode]uint64),
		BytesIn:                s.st.bytesIn.Load(),
		FramesIn:               s.st.framesIn.Load(),
		BytesOut:               s.st.bytesOut.Load(),
		FramesOut:              s.st.framesOut.Load(),
		QueueHighWaterBytes:    int(s.st.hwBytes.Load()),
		QueueHighWaterMessages: int(s.st.hwMsgs.Load()),
		InvalidFrames:          s.st.invalidFrames.Load(),
		Drains:                 s.st.drains.Load(),
	}
	if b := s.cfg.budget; b != nil {
		st.ReassemblyReserved, st.ReassemblyBudget = b.Used(), b.Limit()
	}
	for i, r := range rejectReasons {
		if n := s.st.rejected[i].Load(); n > 0 {
			st.Rejected[r] = n
		}
	}
	s.closedMu.Lock()
	for k, v := range s.closedBy {
		st.Closed[k] = v
	}
	s.closedMu.Unlock()
	return st
}

func (s *Server) countClose(code websocket.StatusCode) {
	s.closedMu.Lock()
	s.closedBy[code]++
	s.closedMu.Unlock()
}

// refuseHTTP answers a request without upgrading it.
func (s *Server) refuseHTTP(w http.ResponseWriter, r *http.Request, reason string, status int, body string) {
	s.st.reject(reason)
	s.log.Info("connection refused", "reason", string(reason), "status", status, "remote", r.RemoteAddr)
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "5")
	}
	http.Error(w, body, status)
}

// admission reports why a new connection cannot be taken now ("" if it can).
func (s *Server) admission() string {
	s.mu.Lock()
	closed, draining := s.closed, s.draining
	s.mu.Unlock()
	switch {
	case closed:
		return reasonClosed
	case draining:
		return reasonDraining
	case s.base.State() != transport.StateStarted:
		return reasonNotStarted
	}
	return ""
}

// ServeHTTP authenticates the request, upgrades it to a WebSocket and
// serves the connection on a goroutine the server owns.
//
// Refusals before the upgrade: 503 while closed, draining or not started;
// 429 above MaxConnectionsPerIP (checked before and after authentication)
// or MaxConnectionsPerPrincipal; 401 (with a WWW-Authenticate challenge,
// "Bearer" unless the *AuthError names another), 403 or the *AuthError
// status when Authenticate fails; 409 when the requested peer id is live
// under another principal; 400 for a peer id longer than 256 bytes or a
// missing required subprotocol; 403 for a disallowed origin; 426/400 for
// requests that are not WebSocket upgrades. Connections above
// MaxConnections are upgraded and closed with
// 1013.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if reason := s.admission(); reason != "" {
		s.refuseHTTP(w, r, reason, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable))
		return
	}
	ipKey := s.cfg.ClientIP(r)
	peerID := s.cfg.PeerID(r)
	if s.overQuota(ipKey, "", peerID) == reasonPerIP {
		// Checked before authentication too, so a flood from one
		// address does not reach the authenticator.
		s.refuseHTTP(w, r, reasonPerIP, http.StatusTooManyRequests, "too many connections from this address")
		return
	}
	var principal Principal
	if s.cfg.Authenticate != nil {
		p, err := s.cfg.Authenticate(r)
		if err != nil {
			status, body, challenge := authStatus(err)
			s.log.Debug("authentication failed", "err", err, "remote", r.RemoteAddr)
			if challenge != "" {
				w.Header().Set("WWW-Authenticate", challenge)
			}
			s.refuseHTTP(w, r, reasonAuth, status, body)
			return
		}
		principal = p
	}
	if len(peerID) > maxPeerIDLen {
		s.refuseHTTP(w, r, reasonBadRequest, http.StatusBadRequest, "peer id too long")
		return
	}
	if peerID != "" && !s.mayClaim(peerID, principal) {
		s.refuseHTTP(w, r, reasonPeerIDInUse, http.StatusConflict, "peer id in use")
		return
	}
	if s.cfg.RequireSubprotocol && !offersSubprotocol(r, s.cfg.Subprotocols) {
		s.refuseHTTP(w, r, reasonBadRequest, http.StatusBadRequest, "unsupported subprotocol")
		return
	}
	if reason := s.overQuota(ipKey, s.cfg.PrincipalKey(principal), peerID); reason != "" {
		s.refuseHTTP(w, r, reason, http.StatusTooManyRequests, "too many connections")
		return
	}
	hw := &hijackWriter{ResponseWriter: w, readSize: s.cfg.ReadBufferSize, writeSize: s.cfg.WriteBufferSize}
	var active atomic.Pointer[conn]
	ws, err := websocket.Accept(hw, r, s.acceptOptions(&active))
	if err != nil {
		reason := reasonHandshake
		if hw.status == http.StatusForbidden {
			reason = reasonOrigin
		}
		s.st.reject(reason)
		s.log.Info("connection refused", "reason", string(reason), "status", hw.status, "remote", r.RemoteAddr, "err", err)
		if hw.conn != nil {
			_ = hw.conn.Close()
		}
		return
	}
	info := transport.ConnInfo{PeerID: peerID, Principal: principal, RemoteAddr: r.RemoteAddr, Subprotocol: ws.Subprotocol()}
	raw := hw.conn
	if s.testHookRaw != nil {
		s.testHookRaw(raw)
	}
	c, ok := s.admit(ws, info, ipKey, hw.cork, func() { _ = raw.Close() })
	if !ok {
		return
	}
	if hw.flush != nil {
		c.holdReplies = true
		hw.flush.owner.Store(c)
	}
	active.Store(c)
	// The handler goroutine (with net/http's deep, grown stack) ends here;
	// the connection runs on a fresh goroutine that the server owns.
	go c.run()
}

// HandleConn serves a WebSocket the caller accepted itself (custom HTTP
// stacks). Authentication is the caller's job: info.Principal is bound to
// the connection as given; an empty info.PeerID gets a generated one.
// HandleConn blocks until the connection is finished and returns nil. When
// the connection is refused it is closed with the matching code and
// HandleConn returns a *CloseError wrapping "closed", "draining",
// "not-started" or "max-connections". Cancelling ctx closes the
// connection with 1001 "Server shutting down".
//
// Without access to the raw network connection the server cannot cut a
// stuck socket short of coder/websocket's own close timeouts (up to ~10 s);
// prefer ServeHTTP where possible.
func (s *Server) HandleConn(ctx context.Context, ws *websocket.Conn, info transport.ConnInfo) error {
	if reason := s.admission(); reason != "" {
		s.st.reject(reason)
		code, why, err := s.refusal(reason)
		_ = ws.Close(code, why)
		return &CloseError{Code: code, Reason: why, Err: err}
	}
	c, ok := s.admit(ws, info, hostOf(info.RemoteAddr), nil, func() { _ = ws.CloseNow() })
	if !ok {
		return c.refused
	}
	stop := context.AfterFunc(ctx, func() { c.closeWith(statusGoingAway, closeReasonShuttingDown, nil, true) })
	defer stop()
	c.run()
	return nil
}

// refusal maps an admission reason to a close code, reason and error.
func (s *Server) refusal(reason string) (websocket.StatusCode, string, error) {
	switch reason {
	case reasonDraining:
		s.mu.Lock()
		cfg := s.drainRefuse
		s.mu.Unlock()
		return cfg.Code, cfg.Reason, newError(reasonDraining, "", nil)
	case reasonNotStarted:
		return statusGoingAway, closeReasonShuttingDown, newError(reasonNotStarted, "", nil)
	case reasonMaxConnections:
		return statusTryAgainLater, closeReasonTooMany, newError(reasonMaxConnections, "", nil)
	case reasonPeerIDInUse:
		return statusPolicyViolation, closeReasonRejected, newError(reasonPeerIDInUse, "", nil)
	case reasonPerIP:
		return statusTryAgainLater, closeReasonTooMany, newError(reasonPerIP, "", nil)
	case reasonPerPrincipal:
		return statusTryAgainLater, closeReasonTooMany, newError(reasonPerPrincipal, "", nil)
	}
	return statusGoingAway, closeReasonShuttingDown, newError(reasonClosed, "", nil)
}

// acceptOptions returns the upgrade options. With an idle timeout, a
// WebSocket ping from the peer counts as activity too; active is set once
// the connection exists.
func (s *Server) acceptOptions(active *atomic.Pointer[conn]) *websocket.AcceptOptions {
	o := &websocket.AcceptOptions{
		Subprotocols:         s.cfg.Subprotocols,
		OriginPatterns:       s.cfg.OriginPatterns,
		InsecureSkipVerify:   s.cfg.InsecureSkipVerify,
		CompressionMode:      s.cfg.CompressionMode,
		CompressionThreshold: s.cfg.CompressionThreshold,
	}
	if s.cfg.IdleTimeout > 0 && active != nil {
		o.OnPingReceived = func(context.Context, []byte) bool {
			if c := active.Load(); c != nil {
				c.touch()
			}
			return true
		}
	}
	return o
}

func offersSubprotocol(r *http.Request, supported []string) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			p = strings.TrimSpace(p)
			for _, s := range supported {
				if strings.EqualFold(p, s) {
					return true
				}
			}
		}
	}
	return false
}

// mayClaim reports whether a connection authenticated as principal may
// take peerID: a live connection with that id can only be replaced by one
// of the same principal, so nobody can close another principal's
// connection by asking for its id.
func (s *Server) mayClaim(peerID string, principal Principal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mayClaimLocked(peerID, principal)
}

func (s *Server) mayClaimLocked(peerID string, principal Principal) bool {
	old := s.byPeer[peerID]
	return old == nil || transport.SamePrincipal(old.info.Principal, principal)
}

// hostOf returns the host part of addr (addr itself if it has none).
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// overQuota reports which per-address or per-principal cap a new
// connection would exceed ("" if none). A connection that will replace one
// of the same peer id, address and principal does not count twice.
func (s *Server) overQuota(ipKey, prinKey, peerID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overQuotaLocked(ipKey, prinKey, peerID)
}

func (s *Server) overQuotaLocked(ipKey, prinKey, peerID string) string {
	var old *conn
	if peerID != "" {
		old = s.byPeer[peerID]
	}
	if limit := s.cfg.MaxConnectionsPerIP; limit > 0 && ipKey != "" {
		n := s.perIP[ipKey]
		if old != nil && old.ipKey == ipKey {
			n--
		}
		if n >= limit {
			return reasonPerIP
		}
	}
	if limit := s.cfg.MaxConnectionsPerPrincipal; limit > 0 && prinKey != "" {
		n := s.perPrincipal[prinKey]
		if old != nil && old.prinKey == prinKey {
			n--
		}
		if n >= limit {
			return reasonPerPrincipal
		}
	}
	return ""
}

// admit registers an upgraded socket. On refusal it closes the socket
// (with the drain code while draining, 1013 above MaxConnections or a
// per-address or per-principal cap) and returns false. On success the
// caller must run c.run.
func (s *Server) admit(ws *websocket.Conn, info transport.ConnInfo, ipKey string, cw *cork.Writer, abort func()) (*conn, bool) {
	if info.PeerID == "" {
		info.PeerID = fmt.Sprintf("ws-%016x", rand.Uint64())
	}
	ws.SetReadLimit(s.cfg.MaxMessageSize)
	c := newConn(s, ws, info, abort)
	c.cork = cw
	c.ipKey, c.prinKey = ipKey, s.cfg.PrincipalKey(info.Principal)

	s.mu.Lock()
	var reason string
	switch {
	case s.closed:
		reason = reasonClosed
	case s.draining:
		reason = reasonDraining
	case s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections:
		reason = reasonMaxConnections
	case !s.mayClaimLocked(info.PeerID, info.Principal):
		reason = reasonPeerIDInUse
	default:
		reason = s.overQuotaLocked(c.ipKey, c.prinKey, info.PeerID)
	}
	if reason != "" {
		if reason != reasonClosed {
			s.wg.Add(1) // Close waits for the refusal's close handshake too
		}
		s.mu.Unlock()
		s.st.reject(reason)
		code, why, err := s.refusal(reason)
		s.log.Info("connection refused", "reason", string(reason), "peer", info.PeerID, "remote", info.RemoteAddr)
		if reason == reasonClosed {
			c.refused = &CloseError{Code: code, Reason: why, Err: err}
			c.abort()
			_ = ws.CloseNow()
			return c, false
		}
		c.refuse(code, why, err)
		s.wg.Done()
		return c, false
	}
	s.nextID++
	c.id = s.nextID
	s.conns[c.id] = c
	if c.ipKey != "" {
		s.perIP[c.ipKey]++
	}
	if c.prinKey != "" {
		s.perPrincipal[c.prinKey]++
	}
	old := s.byPeer[info.PeerID]
	s.byPeer[info.PeerID] = c
	s.wg.Add(1)
	s.mu.Unlock()
	s.st.accepted.Add(1)

	if old != nil {
		// The old socket's own close arrives later; because the registry
		// is keyed by connection, not by peer id, it cannot remove c
		// (reference S1).
		old.closeWith(statusReplaced, closeReasonReplaced, nil, false)
		s.unregister(old)
	}

	ch, err := s.base.AddChannel(transport.Link{Send: c.sendMsg, SendPieces: c.sendOfferPieces, Close: c.reject, Meta: info})
	if err != nil {
		code, why := statusInternalError, closeReasonInternal
		if errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "invalid-state"}) {
			code, why = statusGoingAway, closeReasonShuttingDown
		}
		c.closeWith(code, why, err, false)
		s.log.Warn("cannot register connection", "peer", info.PeerID, "err", err)
		return c, true // run still owns the cleanup
	}
	if !c.attach(ch) {
		// Unregistered while the channel was being added (stop, drain
		// or replacement): the channel is ours to remove.
		_, _ = s.base.RemoveChannel(ch.ID)
	}
	s.log.Debug("connection registered", "peer", info.PeerID, "conn", uint64(c.id), "channel", uint64(ch.ID))
	return c, true
}

// unregister takes c out of the registry (once) and removes its channel.
// It is safe in any transport state and in any order relative to Stop and
// to other sockets closing (reference S7, S8).
func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	if s.conns[c.id] != c {
		s.mu.Unlock()
		return
	}
	delete(s.conns, c.id)
	if s.byPeer[c.info.PeerID] == c {
		delete(s.byPeer, c.info.PeerID)
	}
	if c.ipKey != "" {
		decrement(s.perIP, c.ipKey)
	}
	if c.prinKey != "" {
		decrement(s.perPrincipal, c.prinKey)
	}
	s.dispatchDrainLocked(drainRemovedMsg{ID: c.id})
	s.mu.Unlock()
	if ch := c.detach(); ch != nil {
		// Errors mean the transport already dropped the channel (it was
		// stopped); there is nothing left to undo.
		_, _ = s.base.RemoveChannel(ch.ID)
	}
	close(c.gone)
}

// decrement lowers m[k], deleting it at zero so the map does not keep
// every address ever seen.
func decrement(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

// Broadcast sends msg to every registered connection and returns how many
// accepted it.
//
// Sync messages (present, interest, offer, dismiss, vacant) go only to
// connections whose establish handshake has completed in both directions;
// the reference sent them to every socket (reference S9). Interest, offer,
// dismiss, vacant and depart are encoded once and the encoded payload is
// shared by every connection's queue (only the 10- or 18-byte frame header,
// which carries each connection's own sequence number, is per connection);
// such messages name their document in full rather than by alias, which
// every Kyneta peer accepts. Establish and present change per-connection
// alias state and are encoded per connection.
func (s *Server) Broadcast(msg wire.ChannelMsg) int {
	if msg == nil {
		return 0
	}
	s.mu.Lock()
	conns := s.snapshotLocked()
	s.mu.Unlock()
	sync := !msg.MsgType().IsLifecycle()
	var shared [][]byte
	if sharable(msg) {
		var err error
		shared, err = s.encodeShared(msg)
		if err != nil {
			s.log.Debug("broadcast encode failed", "type", msg.MsgType().String(), "err", err)
			return 0
		}
	}
	n := 0
	for _, c := range conns {
		if sync && !c.isEstablished() {
			continue
		}
		var err error
		if shared != nil {
			err = c.sendShared(shared)
		} else {
			err = c.sendMsg(msg)
		}
		if err == nil {
			n++
		}
	}
	return n
}

func sharable(msg wire.ChannelMsg) bool {
	switch msg.MsgType() {
	case wire.TypeInterest, wire.TypeOffer, wire.TypeDismiss, wire.TypeVacant, wire.TypeDepart:
		return true
	}
	return false
}

// encodeShared encodes msg with a fresh pipeline (no aliases), fragmenting
// at the server's threshold.
func (s *Server) encodeShared(msg wire.ChannelMsg) ([][]byte, error) {
	p := pipeline.New(pipeline.Options{Threshold: s.cfg.threshold, Clock: s.clk, ReassemblyTimeout: -1})
	defer p.Close()
	return p.Send(msg)
}
