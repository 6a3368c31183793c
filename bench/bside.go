package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/wire"
)

// cmd is an instruction from the orchestrator (A) to peer B.
type cmd struct {
	Cmd      string `json:"cmd"`
	URL      string `json:"url,omitempty"`
	Docs     int    `json:"docs,omitempty"`
	Expected string `json:"expected,omitempty"` // JSON text every doc must reach
	N        int    `json:"n,omitempty"`
	Size     int    `json:"size,omitempty"`
	Conns    int    `json:"conns,omitempty"`
	Kind     string `json:"kind,omitempty"`
	Window   int    `json:"window,omitempty"`
}

// msg is a report from B to A. Times are wall-clock nanoseconds.
type msg struct {
	Ev          string    `json:"ev"`
	T0          int64     `json:"t0,omitempty"`
	TEst        int64     `json:"tEst,omitempty"`
	TAllCreated int64     `json:"tAllCreated,omitempty"`
	TDone       int64     `json:"tDone,omitempty"`
	T           int64     `json:"t,omitempty"`
	Base        int64     `json:"base,omitempty"`
	Docs        int       `json:"docs,omitempty"`
	V           int       `json:"v,omitempty"`
	Rep         int       `json:"rep"`
	Start       int       `json:"start"`
	Obs         []float64 `json:"obs,omitempty"` // µs since Base, index k-1 = value k
	Lat         []float64 `json:"lat,omitempty"` // raw: round trips in µs
	RateMsgsS   float64   `json:"rate,omitempty"`
	Changesets  int       `json:"changesets,omitempty"`
	Established int       `json:"established,omitempty"`
	Failed      int       `json:"failed,omitempty"`
	ConnectMs   float64   `json:"connect_ms,omitempty"`
	Mem         *memStats `json:"mem,omitempty"`
	Message     string    `json:"message,omitempty"`
}

// bSide drives peer B, in this process or in a child.
type bSide interface {
	procs() int
	send(c cmd)
	msgs() <-chan msg
	close()
}

// client state of peer B between commands (one workload at a time).
type bState struct {
	cfg   *config
	emit  func(msg)
	mu    sync.Mutex
	peer  *peerB
	idle  []*websocket.Conn
	idleX []*peerB
	stop  func()
}

func (s *bState) command(c cmd) {
	var err error
	switch c.Cmd {
	case "converge":
		err = s.converge(c)
	case "stream":
		err = s.stream(c)
	case "large":
		err = s.large(c)
	case "idle":
		err = s.idleConnect(c)
	case "raw":
		err = s.raw(c)
	case "stop":
		s.shutdown()
		collect()
		s.emit(msg{Ev: "stopped", Mem: mem()})
		return
	default:
		err = fmt.Errorf("unknown cmd %q", c.Cmd)
	}
	if err != nil {
		s.emit(msg{Ev: "error", Message: err.Error()})
	}
}

func (s *bState) shutdown() {
	s.mu.Lock()
	p, idle, idleX, stop := s.peer, s.idle, s.idleX, s.stop
	s.peer, s.idle, s.idleX, s.stop = nil, nil, nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	if p != nil {
		p.close()
	}
	for _, c := range idle {
		_ = c.CloseNow()
	}
	var wg sync.WaitGroup
	for _, x := range idleX {
		wg.Add(1)
		go func() { defer wg.Done(); x.close() }()
	}
	wg.Wait()
}

// ctx bounds one command. It ends a tenth before the orchestrator stops
// waiting for the command, so that B's error, which says where B stopped,
// reaches the orchestrator's report instead of a bare timeout.
func (s *bState) ctx() (context.Context, context.CancelFunc) {
	d := time.Duration(s.cfg.timeoutSec) * time.Second
	return context.WithTimeout(context.Background(), d-d/10)
}

func (s *bState) setPeer(p *peerB, stop func()) {
	s.mu.Lock()
	s.peer, s.stop = p, stop
	s.mu.Unlock()
}

// converge: B connects and discovers the docs from A's present; done when
// every doc's JSON equals the expected text.
func (s *bState) converge(c cmd) error {
	t0 := now()
	p, err := startB(s.cfg, c.URL, "bench-b")
	if err != nil {
		return err
	}
	var (
		mu          sync.Mutex
		seen        = make(map[string]bool, c.Docs)
		created     int
		converged   int
		tAllCreated int64
		tDone       int64
		subs        []func()
		done        = make(chan struct{})
	)
	expected := []byte(c.Expected)
	watch := func(id string) {
		d, err := p.ex.Get(id, jsonDoc)
		if err != nil {
			return
		}
		ok := false
		check := func() {
			if ok {
				return
			}
			j, err := d.JSON()
			if err != nil || string(j) != string(expected) {
				return
			}
			ok = true
			converged++
			if converged == c.Docs {
				tDone = now()
				close(done)
			}
		}
		subs = append(subs, d.Subscribe(func(exchange.Change) { mu.Lock(); check(); mu.Unlock() }))
		check()
	}
	add := func(id string) { // mu held
		if seen[id] {
			return
		}
		seen[id] = true
		created++
		if created == c.Docs {
			tAllCreated = now()
		}
		watch(id)
	}
	stopDocs := p.ex.SubscribeDocuments(func(ev exchange.DocEvent) {
		mu.Lock()
		defer mu.Unlock()
		for _, ch := range ev.Changes {
			if ch.Type == exchange.DocCreated {
				add(ch.DocID)
			}
		}
	})
	// The client started connecting in startB: on a loaded machine the
	// peer's documents can arrive before the subscription above exists,
	// and their creation events are then gone. Take those from the
	// exchange itself.
	existing := p.ex.Documents()
	mu.Lock()
	for id := range existing {
		add(id)
	}
	mu.Unlock()
	s.setPeer(p, func() {
		stopDocs()
		mu.Lock()
		defer mu.Unlock()
		for _, f := range subs {
			f()
		}
	})
	ctx, cancel := s.ctx()
	defer cancel()
	var tEst int64
	select {
	case tEst = <-p.established:
	case <-ctx.Done():
		return p.noPeer("converge")
	}
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("converge: %d of %d docs converged (%d created): %w", converged, c.Docs, created, errTimeout)
	}
	collect()
	mu.Lock()
	m := msg{Ev: "converged", T0: t0, TEst: tEst, TAllCreated: tAllCreated, TDone: tDone, Docs: len(p.ex.Documents()), Mem: mem()}
	mu.Unlock()
	s.emit(m)
	return nil
}

// countOf reads the "count" field a remote change set, if any.
func fieldValue(ch exchange.Change, field string) (any, bool) {
	var v any
	found := false
	for _, op := range ch.Ops {
		if len(op.Path) != 1 || op.Path[0].Kind != replica.SegField || op.Path[0].Key != field {
			continue
		}
		if op.Change.Type() != "replace" {
			continue
		}
		if x, ok := op.Change.Object().Get("value"); ok {
			v, found = x, true
		}
	}
	return v, found
}

// stream: B waits for doc "stream", then records when each count value
// is observed and acknowledges the highest one seen (flow control for
// the writer's window).
func (s *bState) stream(c cmd) error {
	p, err := startB(s.cfg, c.URL, "bench-b")
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	s.setPeer(p, nil)
	select {
	case <-p.established:
	case <-ctx.Done():
		return p.noPeer("stream")
	}
	d, err := whenDoc(ctx, p.ex, "stream")
	if err != nil {
		return fmt.Errorf("stream: %w (documents %v, deferred %v)", err, p.ex.Documents(), p.ex.Deferred())
	}
	if err := d.WaitForSync(ctx); err != nil {
		return fmt.Errorf("stream: doc held, not synced: %w (version %s, peer states %v)", err, d.Version(), p.ex.Stats().PeerDocStates)
	}
	var st struct {
		Count int `json:"count"`
	}
	if err := d.Decode(&st); err != nil {
		return err
	}
	base := now()
	obs := make([]float64, c.N+1)
	last := st.Count
	changesets := 0
	var mu sync.Mutex
	cancelSub := d.Subscribe(func(ch exchange.Change) {
		mu.Lock()
		defer mu.Unlock()
		changesets++
		x, ok := fieldValue(ch, "count")
		f, _ := x.(float64)
		v := int(f)
		if !ok || v <= last || v > c.N {
			return
		}
		t := float64(now()-base) / 1e3
		for k := last + 1; k <= v; k++ {
			obs[k] = t
		}
		last = v
		s.emit(msg{Ev: "ack", V: last})
		if last >= c.N {
			for i := range obs {
				obs[i] = round(obs[i], 1)
			}
			s.emit(msg{Ev: "stream-obs", Base: base, Obs: obs[1:], Changesets: changesets, Mem: mem()})
		}
	})
	s.setPeer(p, cancelSub)
	s.emit(msg{Ev: "ready", Start: last})
	return nil
}

// large: B records when the body of each rep (size bytes, "#rep#"
// prefix) arrives.
func (s *bState) large(c cmd) error {
	p, err := startB(s.cfg, c.URL, "bench-b")
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	s.setPeer(p, nil)
	select {
	case <-p.established:
	case <-ctx.Done():
		return p.noPeer("large")
	}
	d, err := whenDoc(ctx, p.ex, "large")
	if err != nil {
		return err
	}
	if err := d.WaitForSync(ctx); err != nil {
		return err
	}
	lastRep := -1
	var mu sync.Mutex
	cancelSub := d.Subscribe(func(ch exchange.Change) {
		x, ok := fieldValue(ch, "body")
		b, _ := x.(string)
		if !ok || len(b) != c.Size || b[0] != '#' {
			return
		}
		end := strings.IndexByte(b[1:min(len(b), 16)], '#')
		if end < 0 {
			return
		}
		rep, err := strconv.Atoi(b[1 : 1+end])
		if err != nil {
			return
		}
		t := now()
		mu.Lock()
		defer mu.Unlock()
		if rep <= lastRep {
			return
		}
		lastRep = rep
		s.emit(msg{Ev: "large-ack", Rep: rep, T: t, Mem: mem()})
	})
	s.setPeer(p, cancelSub)
	s.emit(msg{Ev: "ready"})
	return nil
}

// idleConnect opens c.Conns idle connections, at most 100 handshakes at a
// time. raw: a plain WebSocket that waits for "ready", sends establish
// and waits for the server's first binary message, then stays silent.
// exchange: a client and an exchange per connection.
func (s *bState) idleConnect(c cmd) error {
	t0 := now()
	var (
		mu          sync.Mutex
		established int
		failed      int
		wg          sync.WaitGroup
		sem         = make(chan struct{}, 100)
	)
	for i := range c.Conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			if c.Kind == "exchange" {
				err = s.openExchangeIdle(c.URL, i)
			} else {
				err = s.openRawIdle(c.URL, i)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				if failed <= 3 {
					fmt.Fprintf(os.Stderr, "bench: idle client %d failed: %v\n", i, err)
				}
				return
			}
			established++
		}()
	}
	wg.Wait()
	s.emit(msg{Ev: "idle-ready", Established: established, Failed: failed, ConnectMs: round(msSince(t0, now()), 3), Mem: mem()})
	return nil
}

var yes = true

func (s *bState) openRawIdle(url string, i int) error {
	ctx, cancel := s.ctx()
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.idle = append(s.idle, ws)
	s.mu.Unlock()
	typ, b, err := ws.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(b) != "ready" {
		return fmt.Errorf("no ready: %q %v", b, err)
	}
	pipe := pipeline.New(pipeline.Options{})
	defer pipe.Close()
	frames, err := pipe.Send(&wire.Establish{
		Identity:        wire.PeerIdentity{PeerID: "idle-" + strconv.Itoa(i), Type: wire.PeerUser},
		Features:        &wire.Features{Alias: &yes},
		ProtocolVersion: wire.DefaultProtocolVersion,
	})
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := ws.Write(ctx, websocket.MessageBinary, f); err != nil {
			return err
		}
	}
	for {
		typ, _, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageBinary {
			return nil
		}
	}
}

func (s *bState) openExchangeIdle(url string, i int) error {
	p, err := startB(s.cfg, url, "idle-"+strconv.Itoa(i))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.idleX = append(s.idleX, p)
	s.mu.Unlock()
	ctx, cancel := s.ctx()
	defer cancel()
	select {
	case <-p.established:
		return nil
	case <-ctx.Done():
		return errTimeout
	}
}

// raw: the baseline. B dials A's plain coder/websocket echo and measures
// N sequential round trips of a small binary message (latency), then N
// messages with up to c.Window in flight (rate).
func (s *bState) raw(c cmd) error {
	ctx, cancel := s.ctx()
	defer cancel()
	ws, _, err := websocket.Dial(ctx, c.URL, nil)
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	ws.SetReadLimit(-1)
	payload := make([]byte, c.Size)
	lat := make([]float64, c.N)
	for i := range c.N {
		t := time.Now()
		if err := ws.Write(ctx, websocket.MessageBinary, payload); err != nil {
			return err
		}
		if _, _, err := ws.Read(ctx); err != nil {
			return err
		}
		lat[i] = float64(time.Since(t).Nanoseconds()) / 1e3
	}
	credits := make(chan struct{}, c.Window)
	for range c.Window {
		credits <- struct{}{}
	}
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		for range c.N {
			if _, _, err := ws.Read(ctx); err != nil {
				errc <- err
				return
			}
			credits <- struct{}{}
		}
		errc <- nil
	}()
	for range c.N {
		<-credits
		if err := ws.Write(ctx, websocket.MessageBinary, payload); err != nil {
			return err
		}
	}
	if err := <-errc; err != nil {
		return err
	}
	rate := float64(c.N) / time.Since(start).Seconds()
	// One-way, paced as the stream workload: A writes message k once the
	// acknowledgement of k-1 reached it over the control channel.
	if err := ws.Write(ctx, websocket.MessageText, []byte(rawOneWay)); err != nil {
		return err
	}
	base := now()
	obs := make([]float64, c.N)
	s.emit(msg{Ev: "one-way-ready"})
	for k := 1; k <= c.N; k++ {
		if _, _, err := ws.Read(ctx); err != nil {
			return err
		}
		obs[k-1] = float64(now()-base) / 1e3
		s.emit(msg{Ev: "ack", V: k})
	}
	for i := range obs {
		obs[i] = round(obs[i], 1)
	}
	// Reported before the close: A's handler answers the close only once
	// the report has handed the connection back to it.
	s.emit(msg{Ev: "raw-done", Lat: lat, RateMsgsS: rate, Base: base, Obs: obs})
	_ = ws.Close(websocket.StatusNormalClosure, "")
	return nil
}

// localB runs B's handlers in this process.
type localB struct {
	st *bState
	ch chan msg
	wg sync.WaitGroup
}

func newLocalB(cfg *config) *localB {
	l := &localB{ch: make(chan msg, 1<<16)}
	l.st = &bState{cfg: cfg, emit: func(m msg) { l.ch <- m }}
	return l
}

func (l *localB) procs() int { return 1 }
func (l *localB) send(c cmd) {
	l.wg.Add(1)
	go func() { defer l.wg.Done(); l.st.command(c) }()
}
func (l *localB) msgs() <-chan msg { return l.ch }
func (l *localB) close()           { l.st.shutdown(); l.wg.Wait() }

// childB runs B in a child process (this program with --child).
type childB struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	inMu  sync.Mutex
	ch    chan msg
	done  chan struct{}
	waitE error
}

func newChildB(cfg *config) (*childB, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"--child", "--timeout", strconv.Itoa(cfg.timeoutSec), "--fragment-threshold", strconv.Itoa(cfg.frag)}
	if cfg.cpuProfile != "" {
		args = append(args, "--cpuprofile", cfg.cpuProfile+".child")
	}
	if cfg.traceFile != "" {
		args = append(args, "--trace", cfg.traceFile+".child")
	}
	c := exec.Command(self, args...)
	c.Env = append(os.Environ(), childEnv+"=1")
	c.Stderr = os.Stderr
	in, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	b := &childB{cmd: c, in: in, ch: make(chan msg, 1<<16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 256<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 || line[0] != '{' {
				fmt.Fprintf(os.Stderr, "bench: child: %s\n", line)
				continue
			}
			var m msg
			if err := json.Unmarshal(line, &m); err != nil {
				m = msg{Ev: "error", Message: "bad child line: " + err.Error()}
			}
			b.ch <- m
		}
		b.waitE = c.Wait()
		if b.waitE != nil {
			b.ch <- msg{Ev: "error", Message: "child exited: " + b.waitE.Error()}
		}
		close(b.done)
	}()
	return b, nil
}

func (b *childB) procs() int { return 2 }
func (b *childB) send(c cmd) {
	line, _ := json.Marshal(c)
	b.inMu.Lock()
	defer b.inMu.Unlock()
	_, _ = b.in.Write(append(line, '\n'))
}
func (b *childB) msgs() <-chan msg { return b.ch }
func (b *childB) close() {
	b.send(cmd{Cmd: "exit"})
	_ = b.in.Close()
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// childEnv marks the child process, so a test binary can act as the child
// too.
const childEnv = "KYNETA_BENCH_CHILD"

// childMain serves commands from stdin, one JSON line each, and writes
// reports to stdout. Commands run one after another, except that a stop
// may arrive while a stream or large handler is still subscribed.
func childMain(cfg *config, stdin io.Reader, stdout io.Writer) error {
	var outMu sync.Mutex
	enc := json.NewEncoder(stdout)
	st := &bState{cfg: cfg, emit: func(m msg) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = enc.Encode(m)
	}}
	defer st.shutdown()
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var c cmd
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return err
		}
		if c.Cmd == "exit" {
			return nil
		}
		st.command(c)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
