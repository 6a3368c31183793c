package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// schemaHash is the reference harness's default schema (title, count,
// body, data), so a Go peer could also sync with a TS peer.
const schemaHash = "0280abfab43523f087d591c1208a15e5a7"

var jsonDoc = exchange.JSONDoc(schemaHash)

// peerA is the server side: an exchange behind the WebSocket server on a
// loopback port.
type peerA struct {
	ex  *exchange.Exchange
	srv *server.Server
	hs  *http.Server
	ln  net.Listener
	url string
}

func startA(cfg *config, id string) (*peerA, error) {
	thr := 0
	switch {
	case cfg.frag == 0:
		thr = -1
	case cfg.frag > 0:
		thr = cfg.frag
	}
	opts := server.Options{
		FragmentThreshold:   thr,
		MaxConnectionsPerIP: -1, // every benchmark client dials from loopback
		// The reference harness has no rate limit; the converge workload
		// sends more than the default burst.
		MessageRate: -1,
		// The reference buffers without bound; the comparison runs do too
		// unless --default-queue asks for the server's defaults.
		SendQueueMessages: 1 << 20,
		SendQueueBytes:    1 << 30,
	}
	if cfg.defaultQueue {
		opts.SendQueueMessages, opts.SendQueueBytes = 0, 0
	}
	srv, err := server.New(opts)
	if err != nil {
		return nil, err
	}
	ex, err := exchange.New(exchange.Options{PeerID: id, Transports: []transport.Transport{srv}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = ex.Shutdown(context.Background())
		return nil, err
	}
	a := &peerA{ex: ex, srv: srv, ln: ln, hs: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}}
	a.url = "ws://" + ln.Addr().String() + "/ws"
	go func() { _ = a.hs.Serve(ln) }()
	return a, nil
}

func (a *peerA) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = a.ex.Shutdown(ctx)
	_ = a.hs.Close()
}

// wire is what one side wrote: binary and text WebSocket messages.
type wireCount struct {
	Frames uint64 `json:"frames"`
	Bytes  uint64 `json:"bytes"`
}

// wireOut and wireIn read the server's counters: what A wrote, and what
// its peers wrote to it.
func (a *peerA) wireOut() wireCount {
	st := a.srv.Stats()
	return wireCount{Frames: st.FramesOut, Bytes: st.BytesOut}
}

func (a *peerA) wireIn() wireCount {
	st := a.srv.Stats()
	return wireCount{Frames: st.FramesIn, Bytes: st.BytesIn}
}

// peerB is the client side: an exchange behind the WebSocket client. Docs
// announced with the harness schema are interpreted as they arrive.
type peerB struct {
	ex          *exchange.Exchange
	client      *client.Client
	established chan int64 // receives the time of the first peer-established
}

// noPeer is the error of a command whose peer never established: with
// the client's state, which says whether it connected at all and why not.
func (b *peerB) noPeer(cmd string) error {
	st := b.client.State()
	return fmt.Errorf("%s: no peer (client %v, attempt %d): %w", cmd, st, st.Attempt, errTimeout)
}

func startB(cfg *config, url, id string) (*peerB, error) {
	none := backoff.Policy{MaxAttempts: 0}
	thr := 0
	switch {
	case cfg.frag == 0:
		thr = -1
	case cfg.frag > 0:
		thr = cfg.frag
	}
	c, err := client.New(client.Options{URL: url, Reconnect: &none, FragmentThreshold: thr})
	if err != nil {
		return nil, err
	}
	// The transport is added last: a peer established (or a document
	// announced) before the doc type and the subscription are in place
	// would be missed, and the run would wait for it until its timeout.
	ex, err := exchange.New(exchange.Options{PeerID: id})
	if err != nil {
		return nil, err
	}
	if err := ex.RegisterDocType(jsonDoc); err != nil {
		_ = ex.Shutdown(context.Background())
		return nil, err
	}
	b := &peerB{ex: ex, client: c, established: make(chan int64, 1)}
	// Only the first establish is recorded (the channel holds one).
	ex.SubscribePeers(func(ev exchange.PeerEvent) {
		for _, ch := range ev.Changes {
			if ch.Type == exchange.PeerEstablished {
				select {
				case b.established <- now():
				default:
				}
				return
			}
		}
	})
	if err := ex.AddTransport(context.Background(), c); err != nil {
		_ = ex.Shutdown(context.Background())
		return nil, err
	}
	return b, nil
}

func (b *peerB) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.ex.Shutdown(ctx)
}

// whenDoc returns the doc once it exists on ex (announced by the peer).
func whenDoc(ctx context.Context, ex *exchange.Exchange, id string) (*exchange.Doc, error) {
	got := make(chan struct{}, 1)
	cancel := ex.SubscribeDocuments(func(ev exchange.DocEvent) {
		if ex.Has(id) {
			select {
			case got <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()
	for !ex.Has(id) {
		select {
		case <-got:
		case <-ctx.Done():
			return nil, fmt.Errorf("doc %s never arrived: %w", id, ctx.Err())
		}
	}
	return ex.Get(id, jsonDoc)
}

// now is wall-clock nanoseconds: comparable between the two processes
// (both read CLOCK_REALTIME; intervals here are far shorter than any
// clock adjustment).
func now() int64 { return time.Now().UnixNano() }

func msSince(t0, t1 int64) float64 { return float64(t1-t0) / 1e6 }

// memStats is the process memory report (mem_a, mem_b).
type memStats struct {
	RSSMB       float64 `json:"rss_mb"`
	HeapUsedMB  float64 `json:"heap_used_mb"`
	HeapTotalMB float64 `json:"heap_total_mb"`
	StackMB     float64 `json:"stack_mb"`
	MaxRSSMB    float64 `json:"max_rss_mb"`
	Goroutines  int     `json:"goroutines"`
}

// collect runs the garbage collector and returns freed memory to the OS,
// as the reference harness calls gc() before it reads memory.
func collect() {
	runtime.GC()
	debug.FreeOSMemory()
}

func mem() *memStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const mb = 1 << 20
	m := &memStats{
		RSSMB:       round(float64(rss())/mb, 1),
		HeapUsedMB:  round(float64(ms.HeapAlloc)/mb, 1),
		HeapTotalMB: round(float64(ms.HeapSys)/mb, 1),
		StackMB:     round(float64(ms.StackInuse)/mb, 1),
		Goroutines:  runtime.NumGoroutine(),
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.MaxRSSMB = round(float64(ru.Maxrss)/1024, 1) // kilobytes on Linux
	}
	return m
}

// rss reads the resident set size from /proc (Linux); 0 elsewhere.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

func round(x float64, d int) float64 {
	p := 1.0
	for range d {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}

var errTimeout = errors.New("timeout")
