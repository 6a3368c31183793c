package line

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// A Go server and a Go client over real WebSockets: messages go both ways
// in order, exactly once, also across a dropped connection with sends made
// while it was down.
func TestLineOverWebSocket(t *testing.T) {
	ctx := ctxT(t)
	srv, err := server.New(server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sx, err := exchange.New(exchange.Options{PeerID: "server", PeerType: "service", Transports: []transport.Transport{srv}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() { _ = sx.Shutdown(ctx) }()

	// Reconnect at once, forever: the test drops the connection.
	now := backoff.Policy{MaxAttempts: backoff.Unlimited, Delay: func(int, float64) time.Duration { return 0 }}
	cl, err := client.New(client.Options{URL: "ws" + strings.TrimPrefix(hs.URL, "http"), Reconnect: &now})
	if err != nil {
		t.Fatal(err)
	}
	cx, err := exchange.New(exchange.Options{PeerID: "client", Transports: []transport.Transport{cl}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cx.Shutdown(ctx) }()

	p := mustProto(t, "ws")
	accepted := make(chan *Line[Msg, Msg], 1)
	lis, err := p.Listen(sx, func(l *Line[Msg, Msg]) { accepted <- l })
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	c, err := p.Open(cx, "server")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	sendN(t, c, 0, 20, "c")
	var s *Line[Msg, Msg]
	select {
	case s = <-accepted:
	case <-ctx.Done():
		t.Fatal("no line accepted")
	}
	defer s.Close()
	checkSeq(t, recvN(t, s, 20), 0, "c")
	sendN(t, s, 0, 20, "s")
	checkSeq(t, recvN(t, c, 20), 0, "s")

	// Drop the connection and send from both sides while it is down (or
	// coming back): everything arrives once the client reconnected.
	if n, err := srv.CloseConnections(func(transport.ConnInfo) bool { return true }, websocket.StatusTryAgainLater, "test"); err != nil || n != 1 {
		t.Fatalf("CloseConnections = %d, %v", n, err)
	}
	sendN(t, c, 20, 30, "c")
	sendN(t, s, 20, 30, "s")
	checkSeq(t, recvN(t, s, 30), 20, "c")
	checkSeq(t, recvN(t, c, 30), 20, "s")

	// Nothing more comes: no message was delivered twice.
	for _, ex := range []*exchange.Exchange{cx, sx, cx} {
		if err := ex.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []*Line[Msg, Msg]{c, s} {
		if err := l.waitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		done, cancel := context.WithCancel(ctx)
		cancel()
		if m, err := l.Receive(done); kyneta.ReasonOf(err) != reasonCanceled {
			t.Fatalf("%s: extra message %+v, %v", l.Peer(), m, err)
		}
	}
}
