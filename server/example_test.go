package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
)

// bearer is a toy authenticator: the token names the user. A refusal
// with 401 (kyneta.CodeUnauthenticated) carries "WWW-Authenticate: Bearer";
// kyneta.CodePermissionDenied would answer 403, an *AuthError chooses.
func bearer(r *http.Request) (server.Principal, error) {
	token, ok := server.BearerToken(r)
	if !ok {
		return nil, &kyneta.Error{Code: kyneta.CodeUnauthenticated}
	}
	if token == "mallory" {
		return nil, &server.AuthError{Status: http.StatusForbidden, Message: "banned"}
	}
	return "user:" + token, nil
}

// Mount the server on a ServeMux behind a bearer-token authenticator.
func Example() {
	srv, err := server.New(server.Options{Authenticate: bearer})
	if err != nil {
		panic(err)
	}
	// An exchange normally initializes and starts its transports; here a
	// bare context shows what the server reports.
	ctx := context.Background()
	_ = srv.Initialize(ctx, transport.Context{
		MintChannelID: transport.NewChannelIDMinter(),
		OnChannelAdded: func(ch *transport.Channel) {
			info, _ := transport.InfoOf(ch)
			fmt.Printf("channel %d for peer %s, principal %v\n", ch.ID, info.PeerID, info.Principal)
		},
	})
	_ = srv.Start(ctx)

	mux := http.NewServeMux()
	mux.Handle("/sync", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/sync?peerId=alice"
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	// Without a token the upgrade is refused.
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	fmt.Println("no token:", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), err != nil)

	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: hc,
		HTTPHeader: http.Header{"Authorization": {"Bearer alice"}},
	})
	if err != nil {
		panic(err)
	}
	_, msg, _ := c.Read(ctx)
	fmt.Println("server says:", string(msg))
	_ = c.Write(ctx, websocket.MessageText, []byte("ping"))
	_, msg, _ = c.Read(ctx)
	fmt.Println("server says:", string(msg))

	// Drain: the client is closed with 1001 and the result is exact.
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		_, _, err := c.Read(ctx)
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			fmt.Println("client closed:", ce.Code, ce.Reason)
		}
	}()
	res, _ := srv.Drain(ctx, server.DrainOptions{Window: -1})
	<-clientDone
	fmt.Printf("drained: closed=%d remaining=%d timedOut=%v\n", res.Closed, res.Remaining, res.TimedOut)
	_ = srv.Close(ctx)
	_ = srv.Stop(ctx)
	hc.CloseIdleConnections()
	// Output:
	// no token: 401 Bearer true
	// channel 1 for peer alice, principal user:alice
	// server says: ready
	// server says: pong
	// client closed: StatusGoingAway Server draining
	// drained: closed=1 remaining=0 timedOut=false
}

// Drain on SIGTERM: stop accepting, close connections over the window,
// then shut down. Keep window and deadline below the platform's kill grace
// period.
func ExampleServer_Drain() {
	srv, err := server.New(server.Options{Drain: server.DrainOptions{Window: 10 * time.Second}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// Normally the exchange is the consumer; here a channel reports each
	// registered connection, so the drain below sees both.
	registered := make(chan struct{}, 2)
	_ = srv.Initialize(ctx, transport.Context{
		MintChannelID:  transport.NewChannelIDMinter(),
		OnChannelAdded: func(*transport.Channel) { registered <- struct{}{} },
	})
	_ = srv.Start(ctx)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// Two peers are connected; each reads until the server closes it.
	closed := make(chan string, 2)
	for _, peer := range []string{"alice", "bob"} {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"?peerId="+peer, nil)
		if err != nil {
			panic(err)
		}
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					closed <- fmt.Sprint(websocket.CloseStatus(err))
					return
				}
			}
		}()
	}

	<-registered
	<-registered

	// In a service, wait for the signal here:
	//
	//	sig, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	//	defer stop()
	//	<-sig.Done()
	//
	// The closes are spread over the window at random; this example draws
	// 0 for both, so they happen at once.
	dctx, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	res, err := srv.Drain(dctx, server.DrainOptions{Rand: func() float64 { return 0 }})
	fmt.Printf("drained %d, %d left (timed out: %v) %v\n", res.Closed, res.Remaining, res.TimedOut, err)
	fmt.Println("draining:", srv.IsDraining())
	fmt.Println(<-closed, <-closed)
	// Then: the exchange's shutdown (stops this transport), then:
	_ = srv.Close(dctx)
	_ = srv.Stop(dctx)
	// Output:
	// drained 2, 0 left (timed out: false) <nil>
	// draining: true
	// StatusGoingAway StatusGoingAway
}
