// Package metrics makes a Kyneta deployment observable: a Prometheus
// collector for an exchange, its WebSocket server, its stores and its
// WebSocket clients; a frame trace hook for any transport; a live stats
// feed as Server-Sent Events; and a small dashboard page that draws it.
//
// It lives outside package main so that services embedding the exchange
// get the same metrics as `kyneta serve`.
//
// # Wiring
//
// The exchange takes its hooks at construction, so the collector comes
// first and is told about the exchange afterwards:
//
//	m := metrics.New(metrics.Options{Server: srv})
//	ex, _ := exchange.New(exchange.Options{
//		Transports: []transport.Transport{m.Transport(srv)}, // frame counters
//		Stores:     []store.Store{m.Store(st)},              // store latency and failures
//		OnMessage:  m.OnMessage,                             // messages by type
//		...
//	})
//	m.SetExchange(ex)
//	reg.MustRegister(m)
//	mux.Handle("/stats", m.StatsHandler(time.Second))
//	mux.Handle("/ui", metrics.Dashboard("/stats"))
//
// Counters the server and exchange keep themselves (connections, bytes,
// offers, store health) are read at scrape time, so the hot path keeps no
// second copy of them.
package metrics
