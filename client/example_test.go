package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// server is a minimal stand-in for a Kyneta server: it checks the bearer
// token, then says "ready" and answers pings.
func server(token string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx := context.Background()
		if err := conn.Write(ctx, websocket.MessageText, []byte("ready")); err != nil {
			return
		}
		for {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageText && string(data) == "ping" {
				_ = conn.Write(ctx, websocket.MessageText, []byte("pong"))
			}
		}
	}))
}

// A Go service dials with a bearer token and waits for the server's "ready".
func Example() {
	srv := server("s3cret")
	defer srv.Close()

	c, err := client.New(client.Options{
		URL:    srv.URL,
		Header: http.Header{"Authorization": {"Bearer s3cret"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Normally the exchange does this; on its own the client needs an
	// identity and a channel-id minter.
	_ = c.Initialize(ctx, transport.Context{
		Identity:      wire.PeerIdentity{PeerID: "billing-service", Type: wire.PeerService},
		MintChannelID: transport.NewChannelIDMinter(),
	})
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.WaitForStatus(ctx, client.StatusReady)
	fmt.Println(s.Status, err, len(c.Channels()))

	_ = c.Stop(ctx)
	fmt.Println(c.State())
	// Output:
	// ready <nil> 1
	// disconnected(client: stopped)
}

// A wrong token is not retried: the client stops with a typed reason.
func Example_unauthorized() {
	srv := server("s3cret")
	defer srv.Close()

	c, _ := client.New(client.Options{
		URL:    srv.URL,
		Header: http.Header{"Authorization": {"Bearer wrong"}},
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Initialize(ctx, transport.Context{MintChannelID: transport.NewChannelIDMinter()})
	_ = c.Start(ctx)

	_, err := c.WaitForStatus(ctx, client.StatusReady)
	var reason *client.DisconnectReason
	fmt.Println(errors.Is(err, client.ErrUnauthorized), errors.As(err, &reason) && reason.HTTPStatus == 401)
	// Output:
	// true true
}

// The lifecycle program is pure: feed it messages, read the effects.
func ExampleProgram() {
	p := client.NewProgram(client.Config{
		Reconnect:         backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 3, Jitter: backoff.JitterNone},
		KeepaliveInterval: 30 * time.Second,
	})
	s, _ := p.Init()
	var fx []client.Effect
	for _, m := range []client.Msg{
		client.Start{},
		client.SocketOpened{Socket: 1},
		client.ServerReady{Socket: 1},
		client.SocketClosed{Socket: 1, Code: 1001, Reason: "restart"},
	} {
		s, fx = p.Update(s, m)
		fmt.Println(s, fx)
	}
	// Output:
	// connecting(attempt 1) [dial{socket 1, attempt 1}]
	// connected(attempt 1) [start-keepalive{socket 1, every 30s}]
	// ready [add-channel{socket 1}]
	// reconnecting(attempt 1, 1s) [stop-keepalive{socket 1} remove-channel{socket 1} close-socket{socket 1, 1000 "Client disconnecting"} start-reconnect-timer{timer 2, 1s}]
}

// A service keeps the default reconnect (no attempt limit) in production;
// here an explicit limit of two attempts and a short ready timeout show
// what happens with a server that accepts but never says "ready".
func ExampleOptions_readyTimeout() {
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		for { // answers nothing, says nothing
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
		}
	}))
	defer stuck.Close()

	limited := backoff.Default // full jitter, doubling from 1 s to 30 s…
	limited.Base, limited.Max = 10*time.Millisecond, 10*time.Millisecond
	limited.MaxAttempts = 2 // …but give up after two failed attempts
	c, _ := client.New(client.Options{
		URL:          stuck.URL,
		ReadyTimeout: 50 * time.Millisecond,
		Reconnect:    &limited,
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Initialize(ctx, transport.Context{MintChannelID: transport.NewChannelIDMinter()})
	_ = c.Start(ctx)

	_, err := c.WaitForStatus(ctx, client.StatusReady)
	fmt.Println(errors.Is(err, client.ErrMaxRetries), errors.Is(err, client.ErrReadyTimeout))
	fmt.Println(err)
	// Output:
	// true true
	// client: max-retries-exceeded after 2 attempts: client: ready-timeout
}

// A server that says "ready" and drops the connection at once is retried
// at growing intervals: the backoff only starts over once a connection
// has stayed ready for BackoffResetAfter.
func ExampleConfig_backoffResetAfter() {
	p := client.NewProgram(client.Config{
		Reconnect:         backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: backoff.Unlimited, Jitter: backoff.JitterNone},
		BackoffResetAfter: 30 * time.Second,
	})
	s, _ := p.Init()
	s, fx := p.Update(s, client.Start{})
	for range 4 {
		sock := fx[0].Socket // the dial
		s, _ = p.Update(s, client.SocketOpened{Socket: sock})
		s, _ = p.Update(s, client.ServerReady{Socket: sock})
		s, fx = p.Update(s, client.SocketClosed{Socket: sock, Code: 1011, Reason: "crash"})
		fmt.Println(s)
		s, fx = p.Update(s, client.ReconnectTimerFired{Timer: fx[len(fx)-1].Timer})
	}
	// This time the connection stays up for 30 s.
	sock := fx[0].Socket
	s, _ = p.Update(s, client.SocketOpened{Socket: sock})
	s, fx = p.Update(s, client.ServerReady{Socket: sock})
	fmt.Println(s)
	s, _ = p.Update(s, client.ReadyStable{Timer: fx[len(fx)-1].Timer})
	s, _ = p.Update(s, client.SocketClosed{Socket: sock, Code: 1001, Reason: "restart"})
	fmt.Println(s)
	// Output:
	// reconnecting(attempt 2, 2s)
	// reconnecting(attempt 3, 4s)
	// reconnecting(attempt 4, 8s)
	// reconnecting(attempt 5, 16s)
	// ready(attempt 5)
	// reconnecting(attempt 1, 1s)
}
