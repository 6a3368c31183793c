package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/wire"
)

// The hostile-load benchmarks run the server on loopback against peers
// that are protocol-valid but expensive, each next to a baseline in the
// same run. Run them with:
//
//	go test -run '^$' -bench 'Hostile' -benchtime 1x ./server
//
// (BenchmarkHostilePresent takes -benchtime Nx for N timed round trips.)

// benchPeer is a client connection with its own wire pipelines.
type benchPeer struct {
	ws         *websocket.Conn
	send, recv *pipeline.Pipeline
}

func newBenchPeer(b *testing.B, url string) *benchPeer {
	c := benchDial(b, url+"?peerId="+strconv.Itoa(int(time.Now().UnixNano())))
	if _, m, err := c.Read(context.Background()); err != nil || string(m) != "ready" {
		b.Fatalf("ready: %q %v", m, err)
	}
	p := &benchPeer{ws: c,
		send: pipeline.New(pipeline.Options{Threshold: netdefault.FragmentThreshold, ReassemblyTimeout: -1}),
		recv: pipeline.New(pipeline.Options{ReassemblyTimeout: -1, Alias: wire.AliasOptions{MaxAliases: -1, MaxPresentDocs: -1}})}
	b.Cleanup(func() { _ = p.send.Close(); _ = p.recv.Close() })
	return p
}

func (p *benchPeer) write(msg wire.ChannelMsg) error {
	frames, err := p.send.Send(msg)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := p.ws.Write(context.Background(), websocket.MessageBinary, f); err != nil {
			return err
		}
	}
	return nil
}

// readMsg reads until one whole message arrived.
func (p *benchPeer) readMsg() (wire.ChannelMsg, error) {
	for {
		typ, m, err := p.ws.Read(context.Background())
		if err != nil {
			return nil, err
		}
		if typ != websocket.MessageBinary {
			continue
		}
		msg, err := p.recv.Receive(m)
		if err != nil || msg != nil {
			return msg, err
		}
	}
}

// BenchmarkHostilePresent: one peer announces 20,000 new documents, one
// present per document (what an exchange does as documents appear), as
// fast as the socket takes them, while another peer does interest round
// trips; the stand-in exchange echoes every message back, so the server
// decodes, de-aliases, re-aliases and encodes each present, and both of
// the connection's alias tables grow to 20,000 entries. The round trips
// run until every document was announced (at least b.N of them).
// Reported: the syncing peer's round trip p50 and p99 (goal p99 < 50 ms),
// the round trips made and how long the 20,000 presents took. "quiet" is
// the baseline: the same round trips with no other peer.
func BenchmarkHostilePresent(b *testing.B) {
	const docs = 20_000
	presents := make([]*wire.Present, docs)
	for i := range presents {
		presents[i] = &wire.Present{Docs: []wire.DocPresence{{DocID: fmt.Sprintf("doc-%05d", i),
			ReplicaType: wire.ReplicaType{Name: "plain", Major: 1}, SyncMode: wire.Authoritative, SchemaHash: "schema-1"}}}
	}
	for _, hostile := range []bool{false, true} {
		name := "quiet"
		if hostile {
			name = "present-20000-docs"
		}
		b.Run(name, func(b *testing.B) {
			// No rate limit and a send queue the echoes cannot overflow:
			// the flood runs at full speed.
			srv, url := echoServer(b, Options{MessageRate: -1, SendQueueMessages: 1 << 20, SendQueueBytes: 1 << 30})
			s := newBenchPeer(b, url)
			var flood sync.WaitGroup
			var echoed atomic.Int64
			start := time.Now()
			if hostile {
				h := newBenchPeer(b, url)
				flood.Add(2)
				go func() { // drain the echoes
					defer flood.Done()
					for echoed.Load() < docs {
						if _, err := h.readMsg(); err != nil {
							return
						}
						echoed.Add(1)
					}
				}()
				go func() {
					defer flood.Done()
					for _, p := range presents {
						if err := h.write(p); err != nil {
							return
						}
					}
				}()
				b.Cleanup(func() { _ = h.ws.CloseNow(); flood.Wait() })
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N || (hostile && echoed.Load() < docs); i++ {
				t0 := time.Now()
				if err := s.write(&wire.Interest{DocID: "sync-" + strconv.Itoa(i)}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.readMsg(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			_ = s.ws.CloseNow()
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat)), "round-trips")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
			if hostile {
				b.ReportMetric(time.Since(start).Seconds(), "flood-s")
				if st := srv.Stats(); len(st.Closed) != 0 {
					b.Fatalf("connections closed: %v", st.Closed)
				}
			}
		})
	}
}

// rssBytes is the process's resident set size (Linux).
func rssBytes(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Skip("no VmRSS")
	return 0
}

// pingPong waits until the server has read everything c sent before.
func pingPong(c *websocket.Conn) error {
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		return err
	}
	for {
		typ, m, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageText && string(m) == "pong" {
			return nil
		}
	}
}

// BenchmarkHostileFragments: 4 connections each push first fragments of
// messages that claim 4 GiB, with 1 MiB chunks (the largest WebSocket
// message the server reads), until their own limit (MaxReassemblySize,
// default 50 MiB) is full, then keep going. Reported: the RSS the process
// gained (client side included) and the reserved bytes; the goal is at
// most the reassembly budget + 64 MiB. "idle" is the baseline: 4
// connections that send one ping each. The "filled" runs send 16
// fragments into each message instead of one, so every buffer the server
// reserves is written in full before it is evicted; the "varied" runs
// declare a different exact size (8 to 15 MiB) for every message and send
// 8 fragments of it, so the server's buffers all differ in size.
func BenchmarkHostileFragments(b *testing.B) {
	const conns, perConn = 4, 120 // 120 MiB of fragments per connection
	chunk := make([]byte, netdefault.MaxMessageSize-wirecore.FragmentHeaderSize)
	for _, tc := range []struct {
		name   string
		budget int64
		flood  bool
		fill   int // fragments per message
		varied bool
	}{
		{"idle", 0, false, 1, false},
		{"flood/default-budget", 0, true, 1, false},
		{"flood/budget-64MiB", 64 << 20, true, 1, false},
		{"flood-filled/default-budget", 0, true, 16, false},
		{"flood-filled/budget-64MiB", 64 << 20, true, 16, false},
		{"flood-varied/default-budget", 0, true, 8, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				srv, url := echoServer(b, Options{ReassemblyBudget: tc.budget})
				debug.FreeOSMemory() // start from what is really live
				before := rssBytes(b)
				var wg sync.WaitGroup
				for i := range conns {
					c := benchDial(b, url+"?peerId=f"+strconv.Itoa(i))
					if _, _, err := c.Read(context.Background()); err != nil {
						b.Fatal(err)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						frame := make([]byte, wirecore.FragmentHeaderSize+len(chunk))
						copy(frame[wirecore.FragmentHeaderSize:], chunk)
						for n := 0; tc.flood && n < perConn; n++ {
							seq, index := n/tc.fill+1, n%tc.fill
							total, size := uint16(65535), uint32(1<<32-1)
							if tc.varied {
								total, size = 16, uint32(8+seq%8)<<20+uint32(seq*4099)
							}
							_, _ = wirecore.PutHeader(frame, wire.Frame{Kind: wire.KindFragment, Seq: uint32(seq), Index: uint16(index), Total: total, TotalSize: size, Payload: chunk})
							if c.Write(context.Background(), websocket.MessageBinary, frame) != nil {
								return // closed (1013 once the budget is gone)
							}
						}
						_ = pingPong(c)
					}()
				}
				wg.Wait()
				st := srv.Stats()
				after := rssBytes(b)
				b.ReportMetric(float64(after-before)/(1<<20), "rss-MiB")
				b.ReportMetric(float64(st.ReassemblyReserved)/(1<<20), "reserved-MiB")
				b.ReportMetric(float64(st.ReassemblyBudget)/(1<<20), "budget-MiB")
				b.ReportMetric(float64(st.Closed[statusTryAgainLater]+st.Closed[statusMessageTooBig]), "limit-closes")
			}
		})
	}
}

// BenchmarkHostileCBOR: one 4 MiB message (sent in 100 KiB fragments) that
// is an ignored field full of empty arrays, the shape that cost about 40
// times its size in the tree decoder. Reported: the RSS the process gained
// while the server reassembled, decoded and delivered it (goal at most 16
// MiB). "offer-4MiB" is the baseline: a plain 4 MiB binary offer.
func BenchmarkHostileCBOR(b *testing.B) {
	const size = 4 << 20
	hostile := []byte{0xa2, 0x61, 't', 0x02, 0x61, 'x', 0x9a}
	hostile = binary.BigEndian.AppendUint32(hostile, size)
	hostile = append(hostile, bytes.Repeat([]byte{0x80}, size)...)
	offer, err := wire.Encode(&wire.Offer{DocID: "d", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, size)}, Version: "1"})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		payload []byte
	}{{"offer-4MiB", offer}, {"empty-arrays-4MiB", hostile}} {
		b.Run(tc.name, func(b *testing.B) {
			frames, err := wire.FragmentBinary(tc.payload, netdefault.FragmentThreshold, 1)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				srv, url := echoServer(b, Options{})
				c := benchDial(b, url)
				if _, _, err := c.Read(context.Background()); err != nil {
					b.Fatal(err)
				}
				debug.FreeOSMemory() // start from what is really live
				before := rssBytes(b)
				for _, f := range frames {
					if err := c.Write(context.Background(), websocket.MessageBinary, f); err != nil {
						b.Fatal(err)
					}
				}
				if err := pingPong(c); err != nil {
					b.Fatal(err)
				}
				after := rssBytes(b)
				b.ReportMetric(float64(after-before)/(1<<20), "rss-MiB")
				b.ReportMetric(float64(srv.Stats().InvalidFrames), "invalid")
				_ = c.CloseNow()
			}
		})
	}
}
