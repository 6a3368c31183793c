package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// echoServer is a started Server whose "exchange" sends every received
// message straight back on the channel it came from.
func echoServer(b *testing.B, opts Options) (*Server, string) {
	srv, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	_ = srv.Initialize(ctx, transport.Context{
		MintChannelID: transport.NewChannelIDMinter(),
		OnChannelReceive: func(id transport.ChannelID, msg wire.ChannelMsg) {
			if ch, ok := srv.base.Channel(id); ok {
				_ = ch.Send(msg)
			}
		},
	})
	_ = srv.Start(ctx)
	ts := httptest.NewServer(srv)
	b.Cleanup(func() {
		_ = srv.Close(ctx)
		ts.Close()
		_ = srv.Stop(ctx)
	})
	return srv, "ws" + strings.TrimPrefix(ts.URL, "http")
}

// rawEchoServer is a plain coder/websocket echo server: the baseline.
func rawEchoServer(b *testing.B) string {
	var wg sync.WaitGroup
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		c.SetReadLimit(-1)
		ctx := context.Background()
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				_ = c.CloseNow()
				return
			}
			if err := c.Write(ctx, typ, p); err != nil {
				return
			}
		}
	}))
	b.Cleanup(func() { ts.Close(); wg.Wait() })
	return "ws" + strings.TrimPrefix(ts.URL, "http")
}

func benchDial(b *testing.B, url string) *websocket.Conn {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, _, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadLimit(-1)
	b.Cleanup(func() { _ = c.CloseNow(); hc.CloseIdleConnections() })
	return c
}

// BenchmarkEcho measures 1 KiB messages client → server → client on
// loopback: "kyneta" goes through the whole server (wire pipeline both ways,
// transport channel, send queue, writer); "raw" is a coder/websocket echo of
// the same size. roundtrip sends one message and waits for it; pipelined
// keeps up to 64 messages in flight.
func BenchmarkEcho(b *testing.B) {
	for _, mode := range echoModes {
		b.Run("kyneta/"+mode.name, func(b *testing.B) {
			write, read, size := kynetaEcho(b)
			echoRate(b, mode.window, size, write, read)
		})
		b.Run("raw/"+mode.name, func(b *testing.B) {
			write, read, size := rawEcho(b)
			echoRate(b, mode.window, size, write, read)
		})
	}
}

// BenchmarkEchoInterleaved runs the two echoes of [BenchmarkEcho] in turns
// within each iteration, one block of messages each, so both see the same
// machine: on a shared VM the speed drifts by ±10% over seconds, more than
// the difference measured. It reports each one's time per message and
// kyneta's message rate as a fraction of raw's (kyneta/raw).
func BenchmarkEchoInterleaved(b *testing.B) {
	for _, mode := range echoModes {
		b.Run(mode.name, func(b *testing.B) {
			kw, kr, _ := kynetaEcho(b)
			rw, rr, _ := rawEcho(b)
			block := 16
			if mode.window > 1 {
				block = 4 * mode.window
			}
			var kyneta, raw time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if err := runN(block, mode.window, kw, kr); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := runN(block, mode.window, rw, rr); err != nil {
					b.Fatal(err)
				}
				kyneta, raw = kyneta+t1.Sub(t0), raw+time.Since(t1)
			}
			msgs := float64(b.N * block)
			b.ReportMetric(float64(kyneta.Nanoseconds())/msgs, "kyneta-ns/msg")
			b.ReportMetric(float64(raw.Nanoseconds())/msgs, "raw-ns/msg")
			b.ReportMetric(raw.Seconds()/kyneta.Seconds(), "kyneta/raw")
		})
	}
}

var echoModes = []struct {
	name   string
	window int
}{{"roundtrip", 1}, {"pipelined", 64}}

// kynetaEcho connects a client to an echo [Server]: write sends one 1 KiB
// offer through a pipeline, read takes one reply and decodes it.
func kynetaEcho(b *testing.B) (write, read func() error, frameSize int) {
	payload := bytes.Repeat([]byte{0xab}, 1024)
	offer := &wire.Offer{DocID: "doc", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: payload}}
	_, url := echoServer(b, benchOpts)
	c := benchDial(b, url)
	ctx := context.Background()
	if _, m, err := c.Read(ctx); err != nil || string(m) != "ready" {
		b.Fatalf("ready: %q %v", m, err)
	}
	send := pipeline.New(pipeline.Options{Threshold: netdefault.FragmentThreshold})
	recv := pipeline.New(pipeline.Options{})
	b.Cleanup(func() { _ = send.Close(); _ = recv.Close() })
	frames, _ := send.Send(offer)
	write, read = pipelineEcho(c, send, recv, func() wire.ChannelMsg { return offer })
	return write, read, len(frames[0])
}

// pipelineEcho is a client's half of an echo through pipelines: write
// sends the next message as one frame, read takes one reply and decodes it.
func pipelineEcho(c *websocket.Conn, send, recv *pipeline.Pipeline, next func() wire.ChannelMsg) (write, read func() error) {
	ctx := context.Background()
	write = func() error {
		fs, err := send.Send(next())
		if err != nil {
			return err
		}
		return c.Write(ctx, websocket.MessageBinary, fs[0])
	}
	read = func() error {
		_, m, err := c.Read(ctx)
		if err != nil {
			return err
		}
		msg, err := recv.Receive(m)
		if err == nil && msg == nil {
			err = fmt.Errorf("incomplete message")
		}
		return err
	}
	return write, read
}

// rawEcho connects a coder/websocket client to a coder/websocket echo of
// 1 KiB messages: the baseline.
func rawEcho(b *testing.B) (write, read func() error, size int) {
	payload := bytes.Repeat([]byte{0xab}, 1024)
	c := benchDial(b, rawEchoServer(b))
	ctx := context.Background()
	write = func() error { return c.Write(ctx, websocket.MessageBinary, payload) }
	read = func() error {
		_, _, err := c.Read(ctx)
		return err
	}
	return write, read, len(payload)
}

func echoRate(b *testing.B, window, size int, write, read func() error) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	if err := runN(b.N, window, write, read); err != nil {
		b.Fatal(err)
	}
	reportRate(b, start, cpu)
}

// reportRate reports messages per second of wall time and the process CPU
// time (user + system, client and server together) per message; the
// latter is the steadier figure on a shared machine.
func reportRate(b *testing.B, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/msg")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runN sends n messages with at most window unanswered, reading the
// answers on a second goroutine.
func runN(n, window int, write, read func() error) error {
	if window <= 1 {
		for range n {
			if err := write(); err != nil {
				return err
			}
			if err := read(); err != nil {
				return err
			}
		}
		return nil
	}
	credits := make(chan struct{}, window)
	for range window {
		credits <- struct{}{}
	}
	errc := make(chan error, 1)
	go func() {
		for range n {
			if err := read(); err != nil {
				errc <- err
				return
			}
			credits <- struct{}{}
		}
		errc <- nil
	}()
	for range n {
		<-credits
		if err := write(); err != nil {
			// The reader waits for replies that will not come; the
			// benchmark fails and its cleanup closes the connection.
			return err
		}
	}
	return <-errc
}

// BenchmarkBroadcast fans a 64 KiB offer out to 200 established
// connections. The per-operation allocation shows that the payload is
// encoded once, not once per connection.
func BenchmarkBroadcast(b *testing.B) {
	s, err := New(Options{SendQueueBytes: 1 << 30, SendQueueMessages: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	var conns []*conn
	for i := range 200 {
		c := newConn(s, nil, transport.ConnInfo{PeerID: strconv.Itoa(i)}, func() {})
		c.id = connID(i + 1)
		c.estIn, c.estOut = true, true
		conns = append(conns, c)
		s.conns[c.id] = c
	}
	offer := &wire.Offer{DocID: "doc", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 64<<10)}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if n := s.Broadcast(offer); n != len(conns) {
			b.Fatalf("reached %d", n)
		}
		// The connections are not open, so nothing is written: empty the
		// queues by hand to keep memory flat.
		b.StopTimer()
		for _, c := range conns {
			c.mu.Lock()
			c.q, c.qBytes, c.qMsgs = c.q[:0], 0, 0
			c.mu.Unlock()
		}
		b.StartTimer()
	}
}

// BenchmarkIdleConnMemory opens KYNETA_BENCH_CONNS (default 2000) idle
// connections and reports the server's heap + stack growth per connection.
// The clients are bare TCP sockets that did a WebSocket handshake by hand
// and read "ready": they have no goroutines or buffers of their own, so the
// figure is the server's cost plus the kernel-socket bookkeeping of the
// client fds (a few hundred bytes), i.e. an upper bound.
//
// Run with -benchtime=1x; it does its work once per call.
func BenchmarkIdleConnMemory(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("KYNETA_BENCH_CONNS")); err == nil && v > 0 {
		n = v
	}
	raiseFileLimit(b, uint64(2*n+256))
	// Every client dials from loopback: lift the per-address cap.
	srv, url := echoServer(b, Options{MaxConnectionsPerIP: -1})
	addr := strings.TrimPrefix(url, "ws://")

	runtime.GC()
	debug.FreeOSMemory()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	clients := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	buf := make([]byte, 1024)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatalf("dial after %d: %v", len(clients), err)
		}
		clients = append(clients, c)
		if _, err := c.Write([]byte(req)); err != nil {
			b.Fatal(err)
		}
		// 101 response, then the 7-byte text frame "ready".
		got := 0
		for {
			m, err := c.Read(buf[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += m
			if i := bytes.Index(buf[:got], []byte("\r\n\r\n")); i >= 0 && got >= i+4+7 {
				if !bytes.HasSuffix(buf[:got], []byte("\x81\x05ready")) {
					b.Fatalf("unexpected handshake answer %q", buf[:got])
				}
				break
			}
		}
	}
	if got := srv.ConnectionCount(); got != n {
		b.Fatalf("%d connections registered, want %d", got, n)
	}
	// Let every writer goroutine (which sent "ready") exit.
	for srv.writersRunning() > 0 {
		runtime.Gosched()
	}
	// Stacks of exited goroutines go back to the heap over two cycles;
	// they are not held by any connection.
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&after)
	if path := os.Getenv("KYNETA_BENCH_HEAPPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	heap := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	stack := float64(int64(after.StackInuse) - int64(before.StackInuse))
	b.ReportMetric(heap/float64(n), "heap-B/conn")
	b.ReportMetric(stack/float64(n), "stack-B/conn")
	b.ReportMetric((heap+stack)/float64(n), "B/conn")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
}

// writersRunning counts connections whose writer goroutine is active.
func (s *Server) writersRunning() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		c.mu.Lock()
		if c.writing {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

func raiseFileLimit(b *testing.B, want uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("getrlimit: %v", err)
	}
	if lim.Cur >= want {
		return
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < want {
		b.Skipf("need %d file descriptors, limit is %d (%v)", want, lim.Cur, err)
	}
}

// benchOpts are the server defaults without the per-connection message
// rate limit: BenchmarkEcho's last run sends about 2 s of messages on one
// connection, and above 60,000 messages a second that passes the default
// burst (100,000) plus refill and the server closes the connection (1008).
var benchOpts = Options{MessageRate: -1}
