package exchange

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// Defect (stream stall): a writer streams updates through the server; the
// reader's connection is closed for a slow consumer (a 16-message send
// queue makes that happen on every run; the test checks it did), it
// reconnects, and it must catch up while everybody is idle.
func TestWebSocketStreamSurvivesSlowConsumerCloses(t *testing.T) {
	srv, err := server.New(server.Options{SendQueueMessages: 16})
	if err != nil {
		t.Fatal(err)
	}
	relay, err := New(Options{PeerID: "relay", Transports: []transport.Transport{srv}, DocTypes: []DocType{jsonDoc}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer relay.Shutdown(context.Background())
	dial := func(peer string) (*Exchange, *client.Client) {
		retry := backoff.Policy{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond, MaxAttempts: backoff.Unlimited}
		c, err := client.New(client.Options{
			URLFunc: func(id string) (string, error) {
				return "ws" + strings.TrimPrefix(hs.URL, "http") + "/?peerId=" + url.QueryEscape(id), nil
			},
			Header:    http.Header{},
			Reconnect: &retry,
		})
		if err != nil {
			t.Fatal(err)
		}
		ex, err := New(Options{PeerID: peer, Transports: []transport.Transport{c}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = ex.Shutdown(ctx)
		})
		return ex, c
	}
	writer, _ := dial("writer")
	reader, _ := dial("reader")
	dw := mustGet(t, writer, "stream", jsonDoc)
	dr := mustGet(t, reader, "stream", jsonDoc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := dw.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dr.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	const writes = 3000
	for i := range writes {
		update(t, dw, func(tx *Tx) { tx.Set(P("n"), i) })
	}
	waitDoc(t, dr, func() bool { return dr.Version() == dw.Version() })
	wantJSON(t, dr, `{"n":2999}`)
	if closed := srv.Stats().Closed[server.StatusSlowConsumer]; closed == 0 {
		t.Fatal("no slow-consumer close happened: the test did not exercise reconnection")
	} else {
		t.Logf("%d slow-consumer closes", closed)
	}
}
