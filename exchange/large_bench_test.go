package exchange

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkLargeValueWebSocket writes one 1 MiB string on the server's
// exchange and times until the client's exchange (same process) has
// delivered it to a subscriber: the bench runner's "large" workload
// without the runner. Baseline in the same run: building the value's
// bytes (one allocation and copy of 1 MiB).
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
	b.Run("write-observe", func(b *testing.B) {
		s := startWSServerB(b)
		defer s.close()
		c, _ := startWSClientB(b, s, "alice", "t-alice")
		defer func() { _ = c.Shutdown(context.Background()) }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dc, err := c.Get("large", jsonDoc)
		if err != nil {
			b.Fatal(err)
		}
		if err := dc.WaitForSync(ctx); err != nil {
			b.Fatal(err)
		}
		da, err := s.ex.Get("large", jsonDoc)
		if err != nil {
			b.Fatal(err)
		}
		got := make(chan int, 1)
		cancelSub := dc.Subscribe(func(ch Change) {
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
			if err := da.Update(func(tx *Tx) error { tx.Set(P("body"), v); return nil }); err != nil {
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
