//go:build unix

package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// The cluster benchmarks run real nodes on the machine's PostgreSQL and
// NATS (docs/performance.md has the command and the numbers). They need a
// testing.T for the helpers, so each wraps its setup in one.

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// clusterBench starts n nodes for a benchmark; stopped when b ends.
func clusterBench(ctx context.Context, b *testing.B, n int) (*clusterInfra, []*serveProc) {
	b.Helper()
	ci := newClusterInfra(ctx, b)
	var nodes []*serveProc
	for i := range n {
		nodes = append(nodes, ci.startNode(ctx, b, fmt.Sprintf("b%d", i+1), ci.nats))
	}
	return ci, nodes
}

// BenchmarkClusterWriteObserve: a writer on b1 updates a state document;
// an observer on b1 (same node) and one on b2 (through NATS) report when
// they see each write. Both latencies come from the same writes.
func BenchmarkClusterWriteObserve(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, nodes := clusterBench(ctx, b, 3)
	w := newTClient(ctx, b, "bw", nodes[0].wsURL())
	same := newTClient(ctx, b, "bsame", nodes[0].wsURL())
	cross := newTClient(ctx, b, "bcross", nodes[1].wsURL())
	dt := exchange.StateDoc("bench")
	wd, err := w.ex.Get("bench/latency", dt)
	if err != nil {
		b.Fatal(err)
	}
	type seen struct {
		mu sync.Mutex
		at map[string]time.Time
		ch chan struct{}
	}
	watch := func(c *tclient) *seen {
		s := &seen{at: map[string]time.Time{}, ch: make(chan struct{}, 1)}
		d, err := c.ex.Get("bench/latency", dt)
		if err != nil {
			b.Fatal(err)
		}
		d.Subscribe(func(exchange.Change) {
			now := time.Now()
			m := docMap(d)
			s.mu.Lock()
			if v, ok := m["i"]; ok {
				k := fmt.Sprint(v)
				if _, dup := s.at[k]; !dup {
					s.at[k] = now
				}
			}
			s.mu.Unlock()
			select {
			case s.ch <- struct{}{}:
			default:
			}
		})
		return s
	}
	ss, cs := watch(same), watch(cross)
	wait := func(s *seen, k string) time.Time {
		for {
			s.mu.Lock()
			at, ok := s.at[k]
			s.mu.Unlock()
			if ok {
				return at
			}
			select {
			case <-s.ch:
			case <-ctx.Done():
				b.Fatalf("write %s never observed", k)
			}
		}
	}
	var dSame, dCross []time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := wd.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("i"), float64(i)); return nil }); err != nil {
			b.Fatal(err)
		}
		k := strconv.Itoa(i)
		dSame = append(dSame, wait(ss, k).Sub(start))
		dCross = append(dCross, wait(cs, k).Sub(start))
	}
	b.StopTimer()
	b.ReportMetric(float64(quantile(dSame, 0.5).Microseconds()), "same-p50-µs")
	b.ReportMetric(float64(quantile(dSame, 0.99).Microseconds()), "same-p99-µs")
	b.ReportMetric(float64(quantile(dCross, 0.5).Microseconds()), "cross-p50-µs")
	b.ReportMetric(float64(quantile(dCross, 0.99).Microseconds()), "cross-p99-µs")
}

// BenchmarkClusterThroughput: 12 writers spread over 1, 2 or 3 nodes,
// each writing its own JSON document and waiting for every write to be
// acknowledged (stored in PostgreSQL). writes/s is the aggregate.
func BenchmarkClusterThroughput(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			_, nodes := clusterBench(ctx, b, n)
			const writers = 12
			docs := make([]*exchange.Doc, writers)
			for i := range writers {
				c := newTClient(ctx, b, fmt.Sprintf("tw%d", i), nodes[i%n].wsURL())
				docs[i] = c.doc(b, fmt.Sprintf("bench/tp%d", i), jsonDoc)
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for i, d := range docs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := i; j < b.N; j += writers {
						if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("k"), float64(j)); return nil }); err != nil {
							errs <- err
							return
						}
						if err := d.WaitAcknowledged(ctx); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
		})
	}
}

// BenchmarkClusterFailover: a client on b1 (with b2 as failover), with the
// default reconnect policy, is ready;
// b1 is killed with SIGKILL; the time until the client is ready on b2 is
// one sample. b1 is restarted between rounds. Run with -benchtime=20x
// for 20 kills.
func BenchmarkClusterFailover(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ci, nodes := clusterBench(ctx, b, 2)
	var ds []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		// The default reconnect policy: 1 s base, full jitter.
		c := newTClientPolicy(ctx, b, "fo-"+randHex(4), backoff.Default, nodes[0].wsURL(), nodes[1].wsURL())
		if c.cl.URL() != nodes[0].wsURL() {
			b.Fatalf("client started on %s", c.cl.URL())
		}
		readyOn2 := make(chan time.Time, 1)
		unsub := c.cl.Subscribe(func(_, to client.State) {
			if to.Status == client.StatusReady && c.cl.URL() == nodes[1].wsURL() {
				select {
				case readyOn2 <- time.Now():
				default:
				}
			}
		})
		b.StartTimer()
		start := time.Now()
		if err := nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-readyOn2:
			ds = append(ds, at.Sub(start))
		case <-ctx.Done():
			b.Fatal("client never failed over")
		}
		b.StopTimer()
		unsub()
		<-nodes[0].exited
		nodes[0] = ci.startNode(ctx, b, "b1", ci.nats)
		_ = c.ex.Shutdown(ctx)
	}
	b.ReportMetric(float64(quantile(ds, 0.5).Milliseconds()), "failover-p50-ms")
	b.ReportMetric(float64(quantile(ds, 0.99).Milliseconds()), "failover-p99-ms")
}
