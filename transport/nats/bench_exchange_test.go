package nats_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
	natstransport "github.com/kyneta-go/kyneta/transport/nats"
	"github.com/kyneta-go/kyneta/transport/transporttest"
)

// BenchmarkWriteObserve measures a write on one node until another node's
// exchange has applied it (its document subscriber runs), over NATS and,
// as the baseline in the same run, over the in-memory Bridge (full wire
// codec, no network). It reports the p50 and p99 of the per-write latency.
func BenchmarkWriteObserve(b *testing.B) {
	b.Run("bridge", func(b *testing.B) {
		br := transporttest.NewBridge(transporttest.BridgeOptions{})
		defer br.Close()
		writeObserve(b, br.Endpoint("n1"), br.Endpoint("n2"))
	})
	b.Run("nats", func(b *testing.B) {
		prefix := natstransport.NewPrefix()
		tr := func(id string) transport.Transport {
			t, err := natstransport.New(natstransport.Options{URL: natstransport.URL(), NodeID: id, Prefix: prefix})
			if err != nil {
				b.Fatal(err)
			}
			return t
		}
		writeObserve(b, tr("n1"), tr("n2"))
	})
}

func writeObserve(b *testing.B, t1, t2 transport.Transport) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n1, err := exchange.New(exchange.Options{PeerID: "n1", Transports: []transport.Transport{t1}})
	if err != nil {
		b.Fatal(err)
	}
	defer n1.Shutdown(ctx)
	n2, err := exchange.New(exchange.Options{PeerID: "n2", Transports: []transport.Transport{t2}})
	if err != nil {
		b.Fatal(err)
	}
	defer n2.Shutdown(ctx)
	w, _ := n1.Get("bench", exchange.JSONDoc(""))
	r, _ := n2.Get("bench", exchange.JSONDoc(""))
	seen := make(chan struct{}, 1)
	cancelSub := r.Subscribe(func(c exchange.Change) {
		if c.Remote {
			select {
			case seen <- struct{}{}:
			default: // never block the dispatcher
			}
		}
	})
	defer cancelSub()
	// observed waits until the reader holds the writer's version: a
	// subscriber's wake-up alone may be a late one for an earlier write
	// (and WaitForSync may return on n1's announcement, before the first
	// write), which would shift every sample by one write.
	observed := func() {
		want := w.Version()
		for r.Version() != want {
			select {
			case <-seen:
			case <-ctx.Done():
				b.Fatal("write never observed")
			}
		}
	}
	_ = w.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("n"), 0); return nil })
	if err := r.WaitForSync(ctx); err != nil {
		b.Fatal(err)
	}
	observed()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := w.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("n"), i+1); return nil }); err != nil {
			b.Fatal(err)
		}
		observed()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
