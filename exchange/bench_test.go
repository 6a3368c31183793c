package exchange

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
	"github.com/kyneta-go/kyneta/wire"
)

const (
	benchDocs = 1000
	benchOps  = 100
)

// benchConverge runs benchOps writes on each of benchDocs documents at a
// and waits until b holds every final version. Only the write-and-converge
// phase is timed.
func benchConverge(b *testing.B, setup func(b *testing.B) (a, c *Exchange, wait func(), done func())) {
	b.ReportAllocs()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a, c, wait, done := setup(b)
		ids := make([]string, benchDocs)
		da := make([]*Doc, benchDocs)
		dc := make([]*Doc, benchDocs)
		for k := range ids {
			ids[k] = fmt.Sprintf("doc-%04d", k)
			var err error
			if da[k], err = a.Get(ids[k], jsonDoc); err != nil {
				b.Fatal(err)
			}
			if dc[k], err = c.Get(ids[k], jsonDoc); err != nil {
				b.Fatal(err)
			}
		}
		wait()
		b.StartTimer()
		start := time.Now()
		for op := 0; op < benchOps; op++ {
			for k := range da {
				if err := da[k].Update(func(tx *Tx) error { tx.Set(P("n"), op); return nil }); err != nil {
					b.Fatal(err)
				}
			}
			// A bulk writer applies backpressure once per round, so
			// transport send queues stay bounded.
			if err := a.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		wait()
		for k := range dc {
			waitVersion(b, dc[k], da[k].Version())
		}
		total += time.Since(start)
		b.StopTimer()
		done()
	}
	b.ReportMetric(float64(benchDocs*benchOps*b.N)/total.Seconds(), "ops/s")
}

// waitVersion waits, without sleeping, until d reaches version v.
func waitVersion(b *testing.B, d *Doc, v string) {
	if d.Version() == v {
		return
	}
	wake := make(chan struct{}, 1)
	cancel := d.Subscribe(func(Change) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer cancel()
	ctx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	for d.Version() != v {
		select {
		case <-wake:
		case <-ctx.Done():
			b.Fatalf("%s stuck at %s, want %s", d.ID(), d.Version(), v)
		}
	}
}

func BenchmarkConverge1000Docs100OpsBridge(b *testing.B) {
	benchConverge(b, func(b *testing.B) (*Exchange, *Exchange, func(), func()) {
		br := transporttest.NewBridge(transporttest.BridgeOptions{})
		a, err := New(Options{PeerID: "a", Transports: []transport.Transport{br.Endpoint("a")}})
		if err != nil {
			b.Fatal(err)
		}
		c, err := New(Options{PeerID: "c", Transports: []transport.Transport{br.Endpoint("c")}})
		if err != nil {
			b.Fatal(err)
		}
		wait := func() {
			ctx := context.Background()
			for {
				_ = br.Settle(ctx)
				_ = a.waitQuiet(ctx)
				_ = c.waitQuiet(ctx)
				a.mu.Lock()
				busy := a.busyLocked()
				a.mu.Unlock()
				c.mu.Lock()
				busy = busy || c.busyLocked()
				c.mu.Unlock()
				if !busy && br.InFlight() == 0 {
					return
				}
			}
		}
		return a, c, wait, func() {
			_ = a.Shutdown(context.Background())
			_ = c.Shutdown(context.Background())
			_ = br.Close()
		}
	})
}

func BenchmarkConverge1000Docs100OpsWebSocket(b *testing.B) {
	benchConverge(b, func(b *testing.B) (*Exchange, *Exchange, func(), func()) {
		s := startWSServerB(b)
		b.Cleanup(func() {
			if b.Failed() {
				b.Logf("server closes by code: %v", s.srv.Stats().Closed)
			}
		})
		c, _ := startWSClientB(b, s, "alice", "t-alice")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// Wait for the session before timing anything.
		d, err := c.Get("warmup", jsonDoc)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.WaitForSync(ctx); err != nil {
			b.Fatal(err)
		}
		wait := func() {
			_ = s.ex.Flush(context.Background())
			_ = c.Flush(context.Background())
		}
		return c, s.ex, wait, func() {
			_ = c.Shutdown(context.Background())
			_ = s.ex.Shutdown(context.Background())
			s.http.Close()
		}
	})
}

// BenchmarkLocalUpdate is one transaction on a document nobody else holds:
// the shell's fixed cost per write (dispatch, program step, tick).
func BenchmarkLocalUpdate(b *testing.B) {
	ex, err := New(Options{PeerID: "solo"})
	if err != nil {
		b.Fatal(err)
	}
	defer ex.Shutdown(context.Background())
	d, _ := ex.Get("d", jsonDoc)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Update(func(tx *Tx) error { tx.Set(P("n"), i); return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// syncModelB is a sync model holding docs documents (doc-0000 onwards, at
// L:0), each followed by peer bob through its interest.
func syncModelB(docs int) (*syncProgram, *syncState) {
	p := &syncProgram{identity: me}
	s, _ := p.Init()
	s, _ = p.Update(s, msgPeerAvailable{identity: wire.PeerIdentity{PeerID: "bob"}})
	for k := 0; k < docs; k++ {
		id := fmt.Sprintf("doc-%04d", k)
		s, _ = p.Update(s, msgDocEnsure{doc: id, mode: ModeInterpret, version: "L:0", meta: authM})
		s, _ = p.Update(s, msgReceived{from: "bob", msg: interest(id, ptr("L:0"), ptr(false))})
	}
	s, _ = p.Update(s, msgSyncTick{})
	return p, s
}

// BenchmarkSyncProgramLocalChange is one pure program step (a local write
// pushed to one synced peer) with 1 000 documents in the model.
func BenchmarkSyncProgramLocalChange(b *testing.B) {
	p, s := syncModelB(benchDocs)
	msg := msgLocalChange{doc: "doc-0500", version: "L:1"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = p.Update(s, msg)
	}
}

// BenchmarkCreate20kDocsWatched creates 20,000 documents one at a time on
// an exchange with a documents-feed subscriber (a line listener is one),
// and, as the baseline in the same run, on one without.
func BenchmarkCreate20kDocsWatched(b *testing.B) {
	for _, watched := range []bool{false, true} {
		name := "unwatched"
		if watched {
			name = "watched"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				ex, err := New(Options{PeerID: "a"})
				if err != nil {
					b.Fatal(err)
				}
				if watched {
					ex.SubscribeDocuments(func(DocEvent) {})
				}
				for i := range 20_000 {
					if _, err := ex.Get("d"+strconv.Itoa(i), jsonDoc); err != nil {
						b.Fatal(err)
					}
					if err := ex.Flush(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				_ = ex.Shutdown(context.Background())
			}
		})
	}
}

// BenchmarkSyncProgramWriteCycle is the sync program's share of one
// replicated write on both ends: the writer's local change, its push
// report and tick; the reader's offer, import report and tick. One peer
// each side, with 1 and 1 000 documents in the model.
func BenchmarkSyncProgramWriteCycle(b *testing.B) {
	for _, docs := range []int{1, benchDocs} {
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			p, s := syncModelB(docs)
			versions := make([]string, 64)
			for i := range versions {
				versions[i] = "L:" + strconv.Itoa(i+1)
			}
			in := offer("doc-0000", "", nil).(*wire.Offer)
			to := []string{"bob"}
			w, r := s, s // the writer's and the reader's models
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v := versions[i%len(versions)]
				w, _ = p.Update(w, msgLocalChange{doc: "doc-0000", version: v})
				w, _ = p.Update(w, msgPushed{doc: "doc-0000", version: v, to: to})
				w, _ = p.Update(w, msgSyncTick{})
				in.Version = v
				r, _ = p.Update(r, msgReceived{from: "bob", msg: in})
				r, _ = p.Update(r, msgDocImported{doc: "doc-0000", version: v, from: "bob"})
				r, _ = p.Update(r, msgSyncTick{})
			}
			if d, _ := r.docs.Get("doc-0000"); d.version != versions[(b.N-1)%len(versions)] {
				b.Fatalf("reader at %q", d.version)
			}
		})
	}
}
