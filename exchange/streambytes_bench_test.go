package exchange

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// countingTransport counts the offer payload bytes a transport delivers to
// its exchange: what crossed the wire towards it.
type countingTransport struct {
	transport.Transport
	offers, bytes *atomic.Uint64
}

func (c countingTransport) Initialize(ctx context.Context, tc transport.Context) error {
	inner := tc.OnChannelReceive
	tc.OnChannelReceive = func(id transport.ChannelID, m wire.ChannelMsg) {
		if o, ok := m.(*wire.Offer); ok {
			c.offers.Add(1)
			c.bytes.Add(uint64(len(o.Payload.Data)))
		}
		inner(id, m)
	}
	return c.Transport.Initialize(ctx, tc)
}

// BenchmarkUnboundedStreamOfferBytes: a writer makes 10,000 updates to one
// doc as fast as it can through a relay to a reader, over loopback
// WebSockets. It reports the offer payload bytes that crossed the wire per
// write (writer→relay plus relay→reader) next to the bytes one write adds
// to the doc's op log (the baseline: what a write must carry).
//
// "direct" writes from the benchmark goroutine; "queued" makes the writes
// while the writer's dispatcher is busy (as when a writer outruns it or
// traffic arrives meanwhile), so their pushes wait in its queue: the case
// where offers used to re-send everything since each queued write.
func BenchmarkUnboundedStreamOfferBytes(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchStreamOfferBytes(b, false) })
	b.Run("queued", func(b *testing.B) { benchStreamOfferBytes(b, true) })
}

func benchStreamOfferBytes(b *testing.B, queued bool) {
	const writes = 10_000
	for range b.N {
		var offers, bytes atomic.Uint64
		srv, err := server.New(server.Options{SendQueueMessages: 1 << 16, SendQueueBytes: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		relay, err := New(Options{PeerID: "relay", Transports: []transport.Transport{countingTransport{srv, &offers, &bytes}}, DocTypes: []DocType{jsonDoc}})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		url := "ws" + strings.TrimPrefix(hs.URL, "http")
		dial := func(peer string, wrap bool) (*Exchange, *Doc) {
			c, err := client.New(client.Options{URL: url})
			if err != nil {
				b.Fatal(err)
			}
			var t transport.Transport = c
			if wrap {
				t = countingTransport{c, &offers, &bytes}
			}
			ex, err := New(Options{PeerID: peer, Transports: []transport.Transport{t}})
			if err != nil {
				b.Fatal(err)
			}
			d, err := ex.Get("stream", jsonDoc)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := d.WaitForSync(ctx); err != nil {
				b.Fatal(err)
			}
			return ex, d
		}
		wex, dw := dial("writer", false)
		rex, dr := dial("reader", true)
		offers.Store(0)
		bytes.Store(0)
		write := func() {
			for i := range writes {
				if err := dw.Update(func(tx *Tx) error { tx.Set(P("n"), i); return nil }); err != nil {
					b.Error(err)
					return
				}
			}
		}
		if queued {
			wrote := make(chan struct{})
			wex.dispatch(funcMsg(func() { write(); close(wrote) }))
			<-wrote
		} else {
			write()
		}
		done := make(chan struct{})
		cancel := dr.Subscribe(func(Change) {
			if dr.Version() == dw.Version() {
				select {
				case <-done:
				default:
					close(done)
				}
			}
		})
		if dr.Version() != dw.Version() {
			select {
			case <-done:
			case <-time.After(600 * time.Second):
				b.Fatal("reader did not catch up")
			}
		}
		cancel()
		// One write's entry in the op log, as the wire carries it.
		perWrite := len(`[[{"path":[{"type":"key","key":"n"}],"change":{"type":"replace","value":9999}}]]`)
		b.ReportMetric(float64(bytes.Load())/writes, "offer-B/write")
		b.ReportMetric(float64(perWrite), "log-B/write")
		b.ReportMetric(float64(offers.Load())/writes, "offers/write")
		ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		_ = wex.Shutdown(ctx)
		_ = rex.Shutdown(ctx)
		_ = relay.Shutdown(ctx)
		stop()
		hs.Close()
	}
}
