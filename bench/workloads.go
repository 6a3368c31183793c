package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kyneta-go/kyneta/server"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/exchange"
)

// orchestrator is peer A and the driver of every run.
type orchestrator struct {
	cfg  *config
	out  *json.Encoder
	warn io.Writer
}

func (o *orchestrator) emit(v any) { _ = o.out.Encode(v) }

type result = map[string]any

func (o *orchestrator) runAll() []string {
	var failures []string
	series := func(bench string, procs int, params map[string]any, keys []string, fn func(i int) (result, error)) {
		var runs []result
		for i := 1; i <= o.cfg.runs; i++ {
			r, err := fn(i)
			if err != nil {
				o.emit(map[string]any{"kind": "error", "bench": bench, "procs": procs, "params": params, "run": i, "message": err.Error()})
				failures = append(failures, fmt.Sprintf("%s %v: %v", bench, params, err))
				break
			}
			r["kind"], r["bench"], r["procs"], r["run"], r["params"] = "run", bench, procs, i, params
			o.emit(r)
			runs = append(runs, r)
		}
		if len(runs) > 0 {
			o.emit(summarize(bench, procs, params, runs, keys))
		}
	}
	for _, w := range o.cfg.workloads {
		if w == "idle-conns" {
			for _, c := range o.cfg.conns {
				series(w, 2, map[string]any{"conns": c, "idle_kind": o.cfg.idleKind},
					[]string{"wall_ms", "ops_per_s", "rss_kib_per_conn", "heap_used_kib_per_conn", "stack_kib_per_conn"},
					func(int) (result, error) { return o.idle(c) })
			}
			continue
		}
		for _, procs := range o.cfg.procs {
			b, err := o.newB(procs)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s procs %d: %v", w, procs, err))
				continue
			}
			switch w {
			case "converge":
				for _, d := range o.cfg.docs {
					for _, m := range o.cfg.writes {
						series(w, procs, map[string]any{"docs": d, "writes": m},
							[]string{"wall_ms", "docs_per_s", "ops_per_s", "establish_ms", "all_docs_created_ms", "a_write_ms", "a_local_writes_per_s"},
							func(int) (result, error) { return o.converge(b, d, m) })
					}
				}
			case "stream":
				for _, win := range o.cfg.windows {
					series(w, procs, map[string]any{"n": o.cfg.n, "window": win},
						[]string{"wall_ms", "ops_per_s", "lat_p50_us", "lat_p99_us", "a_batch_us_mean"},
						func(int) (result, error) { return o.stream(b, o.cfg.n, win) })
				}
			case "large":
				series(w, procs, map[string]any{"size": o.cfg.size, "reps": o.cfg.largeReps},
					[]string{"wall_ms", "mib_per_s", "a_batch_ms_median"},
					func(int) (result, error) { return o.large(b, o.cfg.size, o.cfg.largeReps) })
			case "raw":
				series(w, procs, map[string]any{"n": o.cfg.rawN, "size": rawSize, "window": rawWindow},
					[]string{"rtt_p50_us", "rtt_p99_us", "msgs_per_s", "oneway_p50_us", "oneway_p99_us"},
					func(int) (result, error) { return o.raw(b) })
			}
			b.close()
		}
	}
	return failures
}

func (o *orchestrator) newB(procs int) (bSide, error) {
	if procs == 2 {
		return newChildB(o.cfg)
	}
	return newLocalB(o.cfg), nil
}

// next waits for the next message from B that pred accepts; other
// messages go to handle (may be nil). An "error" message fails.
func (o *orchestrator) next(b bSide, what string, pred func(msg) bool, handle func(msg)) (msg, error) {
	t := time.NewTimer(time.Duration(o.cfg.timeoutSec) * time.Second)
	defer t.Stop()
	for {
		select {
		case m := <-b.msgs():
			if m.Ev == "error" {
				return m, fmt.Errorf("peer B: %s", m.Message)
			}
			if pred(m) {
				return m, nil
			}
			if handle != nil {
				handle(m)
			}
		case <-t.C:
			return msg{}, fmt.Errorf("%w after %d s: %s", errTimeout, o.cfg.timeoutSec, what)
		}
	}
}

func ev(name string) func(msg) bool { return func(m msg) bool { return m.Ev == name } }

func (o *orchestrator) stopB(b bSide) (msg, error) {
	b.send(cmd{Cmd: "stop"})
	return o.next(b, "B stop", ev("stopped"), nil)
}

// converge: A creates D docs with M writes each (no peer yet); B connects;
// time until every doc on B equals A's.
func (o *orchestrator) converge(b bSide, docs, writes int) (result, error) {
	a, err := startA(o.cfg, "bench-a")
	if err != nil {
		return nil, err
	}
	defer a.close()
	tw0 := now()
	refs := make([]*exchange.Doc, docs)
	for i := range refs {
		if refs[i], err = a.ex.Get("doc-"+strconv.Itoa(i), jsonDoc); err != nil {
			return nil, err
		}
	}
	tw1 := now()
	for _, d := range refs {
		for j := 1; j <= writes; j++ {
			if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("count"), j); return nil }); err != nil {
				return nil, err
			}
		}
	}
	tw2 := now()
	expected, err := refs[0].JSON()
	if err != nil {
		return nil, err
	}
	for _, d := range refs {
		if j, _ := d.JSON(); string(j) != string(expected) {
			return nil, errors.New("peer A: docs differ")
		}
	}
	collect()
	memAfterWrites := mem()
	tSend := now()
	b.send(cmd{Cmd: "converge", URL: a.url, Docs: docs, Expected: string(expected)})
	r, err := o.next(b, "converge", ev("converged"), nil)
	if err != nil {
		return nil, err
	}
	wall := msSince(r.T0, r.TDone)
	memA := mem()
	if r.Docs != docs {
		return nil, fmt.Errorf("peer B has %d docs, want %d", r.Docs, docs)
	}
	wireA, wireB := a.wireOut(), a.wireIn()
	stopped, err := o.stopB(b)
	if err != nil {
		return nil, err
	}
	return result{
		"wall_ms":              round(wall, 3),
		"docs_per_s":           round(float64(docs)/(wall/1e3), 1),
		"ops_per_s":            round(float64(docs*writes)/(wall/1e3), 1),
		"establish_ms":         round(msSince(r.T0, r.TEst), 3),
		"all_docs_created_ms":  round(msSince(r.T0, r.TAllCreated), 3),
		"cmd_to_start_ms":      round(msSince(tSend, r.T0), 3),
		"a_create_docs_ms":     round(msSince(tw0, tw1), 3),
		"a_write_ms":           round(msSince(tw1, tw2), 3),
		"a_local_writes_per_s": round(float64(docs*writes)/(msSince(tw1, tw2)/1e3), 1),
		"wire_a":               wireA, "wire_b": wireB,
		"mem_a": memA, "mem_a_after_writes": memAfterWrites, "mem_b": r.Mem, "mem_b_after_stop": stopped.Mem,
		"slow_consumer_closes": a.srv.Stats().Closed[server.StatusSlowConsumer],
	}, nil
}

// stream: N sequential writes count=1..N on A with at most W in flight
// (written on A, not yet observed on B); B observes.
func (o *orchestrator) stream(b bSide, n, window int) (result, error) {
	a, err := startA(o.cfg, "bench-a")
	if err != nil {
		return nil, err
	}
	defer a.close()
	doc, err := a.ex.Get("stream", jsonDoc)
	if err != nil {
		return nil, err
	}
	b.send(cmd{Cmd: "stream", URL: a.url, N: n})
	rdy, err := o.next(b, "stream ready", ev("ready"), nil)
	if err != nil {
		return nil, err
	}
	if rdy.Start != 0 {
		return nil, fmt.Errorf("stream doc starts at %d", rdy.Start)
	}
	win := window
	if win == 0 {
		win = math.MaxInt
	}
	tw := make([]int64, n+1)
	sent, acked := 0, 0
	var batchNs int64
	var werr error
	wireBefore := a.wireOut()
	pump := func() {
		for werr == nil && sent < n && sent-acked < win {
			sent++
			k := sent
			t := now()
			tw[k] = t
			werr = doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("count"), k); return nil })
			batchNs += now() - t
		}
	}
	t0 := now()
	pump()
	r, err := o.next(b, "stream", ev("stream-obs"), func(m msg) {
		if m.Ev == "ack" && m.V > acked {
			acked = m.V
			pump()
		}
	})
	if err != nil {
		st := a.srv.Stats()
		return nil, fmt.Errorf("%w (acknowledged %d of %d; server: %d open, closed %v, version %s)", err, acked, n, st.Open, st.Closed, doc.Version())
	}
	if werr != nil {
		return nil, werr
	}
	if len(r.Obs) != n {
		return nil, fmt.Errorf("peer B observed %d values, want %d", len(r.Obs), n)
	}
	tEnd := r.Base + int64(slices.Max(r.Obs)*1e3)
	wall := msSince(t0, tEnd)
	lat := make([]float64, n)
	for k := 1; k <= n; k++ {
		lat[k-1] = (float64(r.Base-tw[k]) + r.Obs[k-1]*1e3) / 1e3
	}
	memA := mem()
	wireAfter := a.wireOut()
	if _, err := o.stopB(b); err != nil {
		return nil, err
	}
	ls := stats(lat)
	return result{
		"wall_ms":         round(wall, 3),
		"ops_per_s":       round(float64(n)/(wall/1e3), 1),
		"lat_us":          ls,
		"lat_p50_us":      ls["p50"],
		"lat_p99_us":      ls["p99"],
		"a_batch_us_mean": round(float64(batchNs)/float64(n)/1e3, 3),
		"b_changesets":    r.Changesets,
		"wire_a_frames":   wireAfter.Frames - wireBefore.Frames,
		"wire_a_bytes":    wireAfter.Bytes - wireBefore.Bytes,
		"mem_a":           memA, "mem_b": r.Mem,
	}, nil
}

// large: one size-byte string written on A reps times; time until B has
// each.
func (o *orchestrator) large(b bSide, size, reps int) (result, error) {
	a, err := startA(o.cfg, "bench-a")
	if err != nil {
		return nil, err
	}
	defer a.close()
	doc, err := a.ex.Get("large", jsonDoc)
	if err != nil {
		return nil, err
	}
	b.send(cmd{Cmd: "large", URL: a.url, Size: size})
	if _, err := o.next(b, "large ready", ev("ready"), nil); err != nil {
		return nil, err
	}
	const filler = "abcdefghijklmnopqrstuvwxyz012345"
	strs := make([]string, reps)
	for r := range strs {
		buf := make([]byte, size)
		for i := 0; i < size; i += len(filler) {
			copy(buf[i:], filler)
		}
		copy(buf, "#"+strconv.Itoa(r)+"#")
		strs[r] = string(buf)
	}
	times := make([]float64, 0, reps)
	batchMs := make([]float64, 0, reps)
	frames0 := a.wireOut().Frames
	var memB *memStats
	for r := range reps {
		t0 := now()
		if err := doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("body"), strs[r]); return nil }); err != nil {
			return nil, err
		}
		batchMs = append(batchMs, msSince(t0, now()))
		m, err := o.next(b, "large rep "+strconv.Itoa(r), func(m msg) bool { return m.Ev == "large-ack" && m.Rep == r }, nil)
		if err != nil {
			return nil, err
		}
		memB = m.Mem
		times = append(times, msSince(t0, m.T))
	}
	framesPerWrite := float64(a.wireOut().Frames-frames0) / float64(reps)
	memA := mem()
	if _, err := o.stopB(b); err != nil {
		return nil, err
	}
	st := stats(times)
	return result{
		"wall_ms":             st["p50"],
		"write_ms":            st,
		"ops_per_s":           round(1000/st["p50"], 2),
		"mib_per_s":           round(float64(size)/(1<<20)/(st["p50"]/1e3), 1),
		"a_batch_ms_median":   round(stats(batchMs)["p50"], 3),
		"ws_frames_per_write": framesPerWrite,
		"fragment_threshold":  o.cfg.fragThreshold(),
		"mem_a":               memA, "mem_b": memB,
	}, nil
}

// idle: the server's memory before and after C idle established
// connections, opened by a child process.
func (o *orchestrator) idle(conns int) (result, error) {
	b, err := newChildB(o.cfg)
	if err != nil {
		return nil, err
	}
	defer b.close()
	a, err := startA(o.cfg, "bench-a")
	if err != nil {
		return nil, err
	}
	defer a.close()
	// Warm the accept path with one short connection so that code and
	// pools are not counted per connection.
	b.send(cmd{Cmd: "idle", URL: a.url, Conns: 1, Kind: o.cfg.idleKind})
	if _, err := o.next(b, "idle warmup", ev("idle-ready"), nil); err != nil {
		return nil, err
	}
	if _, err := o.stopB(b); err != nil {
		return nil, err
	}
	time.Sleep(200 * time.Millisecond)
	for range 3 {
		collect()
	}
	time.Sleep(100 * time.Millisecond)
	collect()
	before := snapshot()
	memBefore := mem()
	t0 := now()
	b.send(cmd{Cmd: "idle", URL: a.url, Conns: conns, Kind: o.cfg.idleKind})
	r, err := o.next(b, "idle connect", ev("idle-ready"), nil)
	if err != nil {
		return nil, err
	}
	connectMs := msSince(t0, now())
	time.Sleep(time.Duration(o.cfg.settleMs) * time.Millisecond)
	for range 3 {
		collect()
	}
	after := snapshot()
	memAfter := mem()
	peers := len(a.ex.Peers())
	sockets := a.srv.ConnectionCount()
	stopped, err := o.stopB(b)
	if err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	collect()
	memAfterClose := mem()
	per := func(x, y uint64) float64 { return round((float64(y)-float64(x))/float64(conns)/1024, 2) }
	return result{
		"wall_ms":                round(connectMs, 3),
		"ops_per_s":              round(float64(conns)/(connectMs/1e3), 1),
		"established":            r.Established,
		"failed":                 r.Failed,
		"server_peers":           peers,
		"server_sockets":         sockets,
		"rss_kib_per_conn":       per(before.rss, after.rss),
		"heap_used_kib_per_conn": per(before.heap, after.heap),
		"stack_kib_per_conn":     per(before.stack, after.stack),
		"goroutines_per_conn":    round((float64(after.goroutines)-float64(before.goroutines))/float64(conns), 2),
		"mem_a_before":           memBefore, "mem_a": memAfter, "mem_a_after_close": memAfterClose,
		"mem_b": r.Mem, "mem_b_after_stop": stopped.Mem,
	}, nil
}

type memSnap struct {
	rss, heap, stack uint64
	goroutines       int
}

func snapshot() memSnap {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnap{rss: uint64(rss()), heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// Raw baseline parameters: a message about the size of a stream offer.
const (
	rawSize   = 128
	rawWindow = 100
)

// raw: plain coder/websocket on A and B, three measurements by B: echo
// round trips, the pipelined echo rate, and one-way latency paced like the
// stream workload with one write in flight (A writes message k once B's
// acknowledgement of k-1 came back over the control channel), so that the
// stream's write→observe can be set against a raw message under the same
// pacing and the same idle gaps between writes.
func (o *orchestrator) raw(b bSide) (result, error) {
	var wg sync.WaitGroup
	oneWay := make(chan *websocket.Conn, 1)
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			if typ == websocket.MessageText && string(p) == rawOneWay {
				// The orchestrator writes from here on; the reader stays
				// here so that B's close is read.
				oneWay <- c
				<-release
				continue
			}
			if err := c.Write(ctx, typ, p); err != nil {
				return
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer func() {
		releaseOnce()
		_ = hs.Close()
		wg.Wait()
	}()
	n := o.cfg.rawN
	payload := make([]byte, rawSize)
	tw := make([]int64, n+1)
	var conn *websocket.Conn
	var werr error
	write := func(k int) {
		if werr != nil {
			return
		}
		tw[k] = now()
		werr = conn.Write(context.Background(), websocket.MessageBinary, payload)
	}
	b.send(cmd{Cmd: "raw", URL: "ws://" + ln.Addr().String() + "/", N: n, Size: rawSize, Window: rawWindow})
	m, err := o.next(b, "raw", ev("raw-done"), func(m msg) {
		switch {
		case m.Ev == "one-way-ready":
			select {
			case conn = <-oneWay:
				write(1)
			case <-time.After(time.Duration(o.cfg.timeoutSec) * time.Second):
				werr = errors.New("raw: the echo handler never switched to one-way")
			}
		case m.Ev == "ack" && m.V < n && conn != nil:
			write(m.V + 1)
		}
	})
	if err != nil {
		return nil, err
	}
	releaseOnce()
	if werr != nil {
		return nil, werr
	}
	if len(m.Obs) != n {
		return nil, fmt.Errorf("peer B observed %d one-way messages, want %d", len(m.Obs), n)
	}
	lat := make([]float64, n)
	for k := 1; k <= n; k++ {
		lat[k-1] = (float64(m.Base-tw[k]) + m.Obs[k-1]*1e3) / 1e3
	}
	ls, ow := stats(m.Lat), stats(lat)
	return result{
		"wall_ms":       round(float64(len(m.Lat))/m.RateMsgsS*1e3, 3),
		"rtt_us":        ls,
		"rtt_p50_us":    ls["p50"],
		"rtt_p99_us":    ls["p99"],
		"msgs_per_s":    round(m.RateMsgsS, 1),
		"oneway_us":     ow,
		"oneway_p50_us": ow["p50"],
		"oneway_p99_us": ow["p99"],
	}, nil
}

// rawOneWay is the text message by which B switches A's raw handler from
// echo to the one-way phase.
const rawOneWay = "one-way"

// stats: min, p50, p90, p99, max, mean with the reference harness's
// quantile rule.
func stats(xs []float64) map[string]float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return map[string]float64{}
	}
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(len(s)-1, max(0, i))]
	}
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return map[string]float64{
		"min": round(s[0], 3), "p50": round(q(0.5), 3), "p90": round(q(0.9), 3),
		"p99": round(q(0.99), 3), "max": round(s[len(s)-1], 3), "mean": round(sum/float64(len(s)), 3),
	}
}

func summarize(bench string, procs int, params map[string]any, runs []result, keys []string) map[string]any {
	s := map[string]any{"kind": "result", "bench": bench, "procs": procs, "params": params, "runs": len(runs)}
	for _, k := range keys {
		var xs []float64
		for _, r := range runs {
			if f, ok := toFloat(r[k]); ok {
				xs = append(xs, f)
			}
		}
		if len(xs) == 0 {
			continue
		}
		st := stats(xs)
		s[k] = map[string]float64{"min": st["min"], "median": st["p50"], "max": st["max"]}
	}
	s["mem_a"] = runs[len(runs)-1]["mem_a"]
	s["mem_b"] = runs[len(runs)-1]["mem_b"]
	return s
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}
