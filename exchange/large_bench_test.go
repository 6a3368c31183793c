package exchange

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkLargeValueWebSocket writes one 1 MiB string on one exchange and
// times until the other (same process, over a WebSocket) has delivered it
// to a subscriber: server-write is the bench runner's "large" workload
// without the runner, client-write the other direction. Baseline in the
// same run: building the value's bytes (one allocation and copy of 1 MiB).
func BenchmarkLargeValueWebSocket(b *testing.B) {
	const size = 1 << 20
	filler := strings.Repeat("abcdefghijklmnopqrstuvwxyz012345", size/32)
	b.Run("baseline-copy", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			buf := []byte(filler)
			_ = string(buf)
		}
	})
	// server-write: the server's exchange writes, the client's observes
	// (the bench runner's direction); client-write the other way.
	for _, dir := range []string{"server-write", "client-write"} {
		b.Run("write-observe/"+dir, func(b *testing.B) {
			ctx, ds, dc := syncedPairB(b, "large")
			writer, reader := ds, dc
			if dir == "client-write" {
				writer, reader = dc, ds
			}
			got := make(chan int, 1)
			cancelSub := reader.Subscribe(func(ch Change) {
				for _, op := range ch.Ops {
					if v, ok := op.Change.Object().Get("value"); ok {
						if s, ok := v.(string); ok && len(s) == size {
							n, _ := strconv.Atoi(s[1 : strings.IndexByte(s[1:], '#')+1])
							got <- n
						}
					}
				}
			})
			defer cancelSub()
			vals := make([]string, 8)
			for i := range vals {
				vals[i] = "#" + strconv.Itoa(i) + "#" + filler[len(strconv.Itoa(i))+2:]
			}
			b.SetBytes(size)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v := vals[i%len(vals)]
				if err := writer.Update(func(tx *Tx) error { tx.Set(P("body"), v); return nil }); err != nil {
					b.Fatal(err)
				}
				select {
				case n := <-got:
					if n != i%len(vals) {
						b.Fatalf("observed %d, want %d", n, i%len(vals))
					}
				case <-ctx.Done():
					b.Fatal("not observed")
				}
				i++
			}
		})
	}
}

// syncedPairB starts a WebSocket server and a client exchange (same
// process, loopback) that both hold doc synced, for the write → observe
// benchmarks; everything stops when b ends. ctx bounds each wait.
func syncedPairB(b *testing.B, doc string) (ctx context.Context, onServer, onClient *Doc) {
	b.Helper()
	s := startWSServerB(b)
	b.Cleanup(s.close)
	c, _ := startWSClientB(b, s, "alice", "t-alice")
	b.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	b.Cleanup(cancel)
	dc, err := c.Get(doc, jsonDoc)
	if err != nil {
		b.Fatal(err)
	}
	if err := dc.WaitForSync(ctx); err != nil {
		b.Fatal(err)
	}
	ds, err := s.ex.Get(doc, jsonDoc)
	if err != nil {
		b.Fatal(err)
	}
	return ctx, ds, dc
}
