package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/wire"
)

// countingConn counts the bytes that cross a connection, as the network
// carries them (after compression).
type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// configDoc is a JSON document of the kind `kyneta put` carries (~1.5
// KiB): keys that repeat, values drawn from rng, so successive versions
// share structure but not content.
func configDoc(rng *rand.Rand) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"service":"billing","replicas":%d,"region":"eu-west-%d","features":{`, rng.IntN(9)+1, rng.IntN(3)+1)
	for i := range 24 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"feature-%02d":{"enabled":%t,"rollout":%d,"owner":"team-%d"}`, i, rng.IntN(2) == 0, rng.IntN(101), rng.IntN(10))
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// variants is how many distinct messages a benchmark cycles through: with
// 2 KiB messages that is four times the 32 KiB deflate window, so context
// takeover finds no copy of a whole earlier message.
const variants = 64

// BenchmarkCompression sends an offer client → server → client (the
// server's whole receive and send path, as BenchmarkEcho) with
// permessage-deflate off and in both of coder/websocket's modes, on the
// client and the server alike. wire-B/msg is what crossed the socket per
// message and direction, frame-B/msg the Kyneta frame before compression;
// cpu-ns/msg is the process CPU (client and server) per round trip.
func BenchmarkCompression(b *testing.B) {
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	var docs, blobs []wire.Payload
	for range variants {
		docs = append(docs, wire.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: configDoc(rng)})
		blob := make([]byte, 2048) // stands for an opaque CRDT update: compresses poorly
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		blobs = append(blobs, wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: blob})
	}
	payloads := []struct {
		name string
		p    []wire.Payload
	}{
		{"json-doc", docs},
		{"binary-2KiB", blobs},
	}
	modes := []struct {
		name string
		mode websocket.CompressionMode
	}{
		{"off", websocket.CompressionDisabled},
		{"context-takeover", websocket.CompressionContextTakeover},
		{"no-context-takeover", websocket.CompressionNoContextTakeover},
	}
	for _, pl := range payloads {
		for _, m := range modes {
			b.Run(pl.name+"/"+m.name, func(b *testing.B) {
				opts := benchOpts
				opts.CompressionMode = m.mode
				_, url := echoServer(b, opts)
				var in, out atomic.Int64
				d := &net.Dialer{}
				hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
					DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
						c, err := d.DialContext(ctx, network, addr)
						if err != nil {
							return nil, err
						}
						return countingConn{Conn: c, in: &in, out: &out}, nil
					}}}
				ctx := context.Background()
				c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc, CompressionMode: m.mode})
				if err != nil {
					b.Fatal(err)
				}
				c.SetReadLimit(-1)
				b.Cleanup(func() { _ = c.CloseNow(); hc.CloseIdleConnections() })
				if _, msg, err := c.Read(ctx); err != nil || string(msg) != "ready" {
					b.Fatalf("ready: %q %v", msg, err)
				}
				send := pipeline.New(pipeline.Options{Threshold: netdefault.FragmentThreshold})
				recv := pipeline.New(pipeline.Options{})
				defer send.Close()
				defer recv.Close()
				offers := make([]*wire.Offer, len(pl.p))
				frame := 0
				for i, p := range pl.p {
					offers[i] = &wire.Offer{DocID: "config", Version: fmt.Sprint(i), Payload: p}
					fs, _ := send.Send(offers[i])
					frame += len(fs[0])
				}
				frame /= len(offers)
				b.SetBytes(int64(frame))
				n := 0
				b.ReportAllocs()
				in0, out0 := in.Load(), out.Load()
				b.ResetTimer()
				start, cpu := time.Now(), cpuTime()
				write, read := pipelineEcho(c, send, recv, func() wire.ChannelMsg {
					n++
					return offers[(n-1)%len(offers)]
				})
				if err := runN(b.N, 1, write, read); err != nil {
					b.Fatal(err)
				}
				reportRate(b, start, cpu)
				b.ReportMetric(float64(in.Load()-in0+out.Load()-out0)/float64(2*b.N), "wire-B/msg")
				b.ReportMetric(float64(frame), "frame-B/msg")
			})
		}
	}
}
