package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
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
	fmt.Println(kyneta.ReasonOf(err) == "unauthorized", errors.As(err, &reason) && reason.HTTPStatus == 401)
	// Output:
	// true true
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
	fmt.Println(kyneta.ReasonOf(err) == "max-retries-exceeded", errors.Is(err, &kyneta.Error{Pkg: "client", Reason: "ready-timeout"}))
	fmt.Println(err)
	// Output:
	// true true
	// client: max-retries-exceeded after 2 attempts: client: ready-timeout
}
