package client

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// refServer behaves like the reference WebSocket server as far as a client
// can tell: it accepts, sends the text frame "ready", answers "ping" with
// "pong", decodes binary frames with its own pipeline and answers the
// client's establish with its own. Knobs make it misbehave.
type refServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	reject    int                     // answer upgrades with this HTTP status
	silent    bool                    // do not answer pings
	noReady   bool                    // never send "ready"
	closeCode int                     // close right after accepting, with this code
	closeWhy  string                  // … and this reason
	hang      chan struct{}           // hold upgrade requests until closed
	echo      bool                    // send every non-establish message back (and do not record it)
	greet     func(rc *refConn) error // replaces sending "ready" when set
	headers   []http.Header
	conns     []*refConn
	wg        sync.WaitGroup

	accepted    chan *refConn
	establishes chan *refConn // connections on which the client's establish arrived
}

type refConn struct {
	s      *refServer
	conn   *websocket.Conn
	pipe   *pipeline.Pipeline
	pings  chan struct{}
	msgs   chan wire.ChannelMsg
	seqs   chan uint32 // seq of every complete binary frame received
	closed chan struct{}
	err    error // the read error that ended the connection
}

func newRefServer(t *testing.T) *refServer {
	t.Helper()
	s := &refServer{t: t, accepted: make(chan *refConn, 64), establishes: make(chan *refConn, 64)}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.shutdown)
	return s
}

// restartOn starts a fresh server on the same address (after shutdown).
func (s *refServer) restartOn(t *testing.T, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
}

func (s *refServer) url() string { return s.srv.URL }

func (s *refServer) set(f func(s *refServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *refServer) upgrades() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.headers)
}

func (s *refServer) lastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[len(s.headers)-1]
}

// closeAll closes every open connection with code and reason.
func (s *refServer) closeAll(code websocket.StatusCode, reason string) {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.conn.Close(code, reason)
	}
}

// quiesce drops every connection, waits for every handler to return and
// forgets what they reported, so a test can start from a clean slate.
func (s *refServer) quiesce() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.conn.CloseNow()
	}
	s.wg.Wait()
	for len(s.accepted) > 0 {
		<-s.accepted
	}
	for len(s.establishes) > 0 {
		<-s.establishes
	}
}

// shutdown stops the HTTP server and every handler.
func (s *refServer) shutdown() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.conn.CloseNow()
	}
	s.srv.Close()
	s.wg.Wait()
}

func (s *refServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	reject, silent, noReady, closeCode, closeWhy, hang, echo, greet := s.reject, s.silent, s.noReady, s.closeCode, s.closeWhy, s.hang, s.echo, s.greet
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	if reject != 0 {
		http.Error(w, http.StatusText(reject), reject)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(8 << 20)
	rc := &refConn{
		s: s, conn: conn,
		pipe:   pipeline.New(pipeline.Options{Threshold: defaultFragmentThreshold, Clock: clock.NewFake(time.Unix(0, 0))}),
		pings:  make(chan struct{}, 64),
		msgs:   make(chan wire.ChannelMsg, 64),
		seqs:   make(chan uint32, 64),
		closed: make(chan struct{}),
	}
	defer rc.pipe.Close()
	s.mu.Lock()
	s.conns = append(s.conns, rc)
	s.mu.Unlock()
	s.accepted <- rc
	ctx := context.Background() // never r.Context(): it ends with the hijack
	if closeCode != 0 {
		_ = conn.Close(websocket.StatusCode(closeCode), closeWhy)
		rc.err = net.ErrClosed
		close(rc.closed)
		return
	}
	var greetErr error
	switch {
	case greet != nil:
		greetErr = greet(rc)
	case !noReady:
		greetErr = conn.Write(ctx, websocket.MessageText, []byte("ready"))
	}
	if greetErr != nil {
		rc.err = greetErr
		close(rc.closed)
		return
	}
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			rc.err = err
			close(rc.closed)
			return
		}
		switch typ {
		case websocket.MessageText:
			if string(data) == "ping" {
				rc.pings <- struct{}{}
				if !silent {
					_ = conn.Write(ctx, websocket.MessageText, []byte("pong"))
				}
			}
		case websocket.MessageBinary:
			if f, err := wire.DecodeFrame(data); err == nil && f.Kind == wire.KindComplete && !echo {
				rc.seqs <- f.Seq
			}
			msg, err := rc.pipe.Receive(data)
			if err != nil || msg == nil {
				continue
			}
			if _, ok := msg.(*wire.Establish); !ok && echo {
				_ = rc.send(msg)
				continue
			}
			if _, ok := msg.(*wire.Establish); ok {
				// The reference server echoes the client's establish with its own.
				_ = rc.send(&wire.Establish{Identity: wire.PeerIdentity{PeerID: "server", Type: wire.PeerService}, ProtocolVersion: wire.DefaultProtocolVersion})
				s.establishes <- rc
			}
			rc.msgs <- msg
		}
	}
}

func (rc *refConn) send(msg wire.ChannelMsg) error {
	pieces, err := rc.pipe.Send(msg)
	if err != nil {
		return err
	}
	for _, p := range pieces {
		if err := rc.conn.Write(context.Background(), websocket.MessageBinary, p); err != nil {
			return err
		}
	}
	return nil
}

// exchangeRec stands in for the exchange: it records the transport
// callbacks on buffered channels.
type exchangeRec struct {
	added       chan *transport.Channel
	removed     chan *transport.Channel
	established chan *transport.Channel
	received    chan wire.ChannelMsg
	onEstablish func(*transport.Channel) // optional: what the exchange would do (send establish)
	onReceive   func(wire.ChannelMsg)
}

func newExchangeRec() *exchangeRec {
	return &exchangeRec{
		added:       make(chan *transport.Channel, 256),
		removed:     make(chan *transport.Channel, 256),
		established: make(chan *transport.Channel, 256),
		received:    make(chan wire.ChannelMsg, 256),
	}
}

func (e *exchangeRec) context() transport.Context {
	return transport.Context{
		Identity:         wire.PeerIdentity{PeerID: "client-peer", Type: wire.PeerService},
		MintChannelID:    transport.NewChannelIDMinter(),
		OnChannelAdded:   func(ch *transport.Channel) { e.added <- ch },
		OnChannelRemoved: func(ch *transport.Channel) { e.removed <- ch },
		OnChannelEstablish: func(ch *transport.Channel) {
			e.established <- ch
			if e.onEstablish != nil {
				e.onEstablish(ch)
			}
		},
		OnChannelReceive: func(_ transport.ChannelID, m wire.ChannelMsg) {
			if e.onReceive != nil {
				e.onReceive(m)
			}
			e.received <- m
		},
	}
}

// sendEstablish is what the exchange does on OnChannelEstablish.
func sendEstablish(ch *transport.Channel) {
	_ = ch.Send(&wire.Establish{Identity: wire.PeerIdentity{PeerID: "client-peer", Type: wire.PeerService}, ProtocolVersion: wire.DefaultProtocolVersion})
}

// deterministic backoff for shell tests: 1 s, 2 s, 4 s…, no jitter.
func testPolicy(maxAttempts int) *backoff.Policy {
	return &backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: maxAttempts, Jitter: backoff.JitterNone}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
