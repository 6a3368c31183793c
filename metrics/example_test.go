package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/metrics"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
)

// A relay with every hook of the collector wired, its metrics, stats feed
// and dashboard mounted next to the WebSocket endpoint.
func Example() {
	srv, _ := server.New(server.Options{})
	m := metrics.New(metrics.Options{Server: srv})
	ex, _ := exchange.New(exchange.Options{
		PeerID:     "relay",
		Transports: []transport.Transport{m.Transport(srv)},
		Stores:     []store.Store{m.Store(store.NewMemory(store.MemoryOptions{}))},
		OnMessage:  m.OnMessage,
	})
	m.SetExchange(ex)
	defer ex.Shutdown(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/stats", m.StatsHandler(time.Second))
	mux.Handle("/ui", metrics.Dashboard("/stats"))

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "kyneta_connections_open", "kyneta_peers", "kyneta_store_unhealthy":
			fmt.Println(mf.GetName(), mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	// Output:
	// kyneta_connections_open 0
	// kyneta_peers 0
	// kyneta_store_unhealthy 0
}

// TraceFrames connects a frame hook to any transport.
func ExampleTraceFrames() {
	srv, _ := server.New(server.Options{})
	traced := metrics.TraceFrames(srv, func(f transport.FrameTrace) {
		fmt.Println(f.Dir, f.Size)
	})
	ex, _ := exchange.New(exchange.Options{PeerID: "relay", Transports: []transport.Transport{traced}})
	defer ex.Shutdown(context.Background())
	fmt.Println(traced.Type())
	// Output: websocket-server
}
