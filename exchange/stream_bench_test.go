package exchange

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkWriteObserveWebSocket is the bench runner's stream workload
// with one write in flight, without the runner: one small write on the
// server's exchange, timed until the client's exchange (same process, over
// a loopback WebSocket) has delivered it to a subscriber. Allocations count
// both sides. Baseline in the same run: one 32-byte message over a raw
// coder/websocket connection, written by the server and read by the
// client.
func BenchmarkWriteObserveWebSocket(b *testing.B) {
	b.Run("baseline-raw-websocket", func(b *testing.B) {
		accepted := make(chan *websocket.Conn, 1)
		done := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			accepted <- c
			<-done // a hijacked request's context is never cancelled
		}))
		defer srv.Close()
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cc.CloseNow()
		sc := <-accepted
		defer sc.CloseNow()
		msg := []byte(`{"count":12345,"pad":"xxxxxxxxx"}`)
		b.ReportAllocs()
		for b.Loop() {
			if err := sc.Write(ctx, websocket.MessageBinary, msg); err != nil {
				b.Fatal(err)
			}
			if _, _, err := cc.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write-observe", func(b *testing.B) {
		ctx, ds, dc := syncedPairB(b, "stream")
		got := make(chan float64, 1)
		cancelSub := dc.Subscribe(func(ch Change) {
			for _, op := range ch.Ops {
				if v, ok := op.Change.Object().Get("value"); ok {
					if n, ok := v.(float64); ok {
						got <- n
					}
				}
			}
		})
		defer cancelSub()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := ds.Update(func(tx *Tx) error { tx.Set(P("count"), i); return nil }); err != nil {
				b.Fatal(err)
			}
			select {
			case n := <-got:
				if int(n) != i {
					b.Fatalf("observed %v, want %d", n, i)
				}
			case <-ctx.Done():
				b.Fatal("not observed")
			}
		}
	})
}
