package sse_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/sse"
)

// Example syncs a document from a Go client to a Go server over SSE. The
// server handler takes GET (the events stream) and POST (uploads) on one
// path; mount EventsHandler and UploadHandler to split them.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	srv, _ := sse.NewServer(sse.ServerOptions{
		Authenticate: func(r *http.Request) (server.Principal, error) {
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				return nil, &kyneta.Error{Code: kyneta.CodeUnauthenticated}
			}
			return "worker", nil
		},
	})
	server, _ := exchange.New(exchange.Options{PeerID: "server", Transports: []transport.Transport{srv}})
	mux := http.NewServeMux()
	mux.Handle("/sse", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Close(ctx)
	defer server.Shutdown(ctx)

	cl, _ := sse.NewClient(sse.ClientOptions{
		EventsURLFunc: func(peerID string) (string, error) {
			return hs.URL + "/sse?peerId=" + url.QueryEscape(peerID), nil
		},
		PostURL: hs.URL + "/sse",
		Header:  http.Header{"Authorization": {"Bearer s3cret"}},
	})
	worker, _ := exchange.New(exchange.Options{PeerID: "worker", Transports: []transport.Transport{cl}})
	defer worker.Shutdown(ctx)

	doc, _ := worker.Get("settings", exchange.JSONDoc(""))
	_ = doc.Update(func(tx *exchange.Tx) error {
		tx.Set(exchange.P("theme"), "dark")
		return nil
	})
	if err := doc.WaitForSync(ctx); err != nil {
		fmt.Println(err)
		return
	}
	copyOnServer, _ := server.Get("settings", exchange.JSONDoc(""))
	for copyOnServer.Version() != doc.Version() {
		wait := make(chan struct{}, 1)
		stop := copyOnServer.Subscribe(func(exchange.Change) {
			select {
			case wait <- struct{}{}:
			default:
			}
		})
		if copyOnServer.Version() != doc.Version() {
			<-wait
		}
		stop()
	}
	b, _ := copyOnServer.JSON()
	fmt.Println(string(b))
	fmt.Println(srv.Connections()[0].Principal)
	// Output:
	// {"theme":"dark"}
	// worker
}
