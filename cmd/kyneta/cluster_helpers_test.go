//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/postgres"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// The cluster tests run real "kyneta serve" nodes on the machine's
// PostgreSQL and NATS. Each test gets its own PostgreSQL schema and NATS
// subject prefix, so runs and tests never see each other's data.

const (
	envTestPostgres = "KYNETA_TEST_POSTGRES"
	envTestNATS     = "KYNETA_TEST_NATS"
)

// The machine's PostgreSQL trusts both users; the first that answers is
// used unless KYNETA_TEST_POSTGRES names one.
var testPostgresDSNs = []string{
	"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
	"postgres://root@127.0.0.1:5432/test?sslmode=disable",
}

type clusterInfra struct {
	dsn    string // with the test's schema as search_path
	nats   string
	prefix string
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newClusterInfra checks PostgreSQL and NATS are there (failing the test
// with one line when not), and makes the test's schema and prefix.
func newClusterInfra(ctx context.Context, t testing.TB) *clusterInfra {
	t.Helper()
	dsns := testPostgresDSNs
	if v := os.Getenv(envTestPostgres); v != "" {
		dsns = []string{v}
	}
	var conn *pgx.Conn
	var dsn string
	var lastErr error
	for _, d := range dsns {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := pgx.Connect(cctx, d)
		cancel()
		if err == nil {
			conn, dsn = c, d
			break
		}
		lastErr = err
	}
	if conn == nil {
		t.Fatalf("cluster tests need PostgreSQL: none reachable (%v); set %s", lastErr, envTestPostgres)
	}
	schema := "kyneta_ct_" + randHex(6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(cctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(cctx)
		if _, err := c.Exec(cctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	natsURL := "nats://127.0.0.1:4222"
	if v := os.Getenv(envTestNATS); v != "" {
		natsURL = v
	}
	nc, err := natsgo.Connect(natsURL, natsgo.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("cluster tests need NATS: %s unreachable (%v); set %s", natsURL, err, envTestNATS)
	}
	nc.Close()
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return &clusterInfra{dsn: dsn + sep + "search_path=" + schema, nats: natsURL, prefix: "kt" + randHex(6)}
}

// startNode runs one node; natsURL "" runs it on the store alone.
func (ci *clusterInfra) startNode(ctx context.Context, t testing.TB, id, natsURL string, extra ...string) *serveProc {
	t.Helper()
	args := append([]string{"--store", ci.dsn, "--node-id", id, "--cluster-prefix", ci.prefix, "--drain-window", "100ms"}, extra...)
	if natsURL != "" {
		args = append(args, "--cluster", natsURL)
	}
	return startServe(ctx, t, args...)
}

// openStore opens the test's shared tables, to look at what the nodes
// stored.
func (ci *clusterInfra) openStore(ctx context.Context, t testing.TB) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(ctx, ci.dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// tclient is a service embedding an exchange with a WebSocket client to
// one or several nodes (failing over in the order given).
type tclient struct {
	ex *exchange.Exchange
	cl *client.Client
}

func newTClient(ctx context.Context, t testing.TB, name string, urls ...string) *tclient {
	t.Helper()
	policy := backoff.Default
	policy.Base, policy.Max = 100*time.Millisecond, time.Second
	return newTClientPolicy(ctx, t, name, policy, urls...)
}

// firstThenRandom draws 0 first (the client starts on the first URL),
// then random jitter.
func firstThenRandom() func() float64 {
	var mu sync.Mutex
	first := true
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			return 0
		}
		return mrand.Float64()
	}
}

func newTClientPolicy(ctx context.Context, t testing.TB, name string, policy backoff.Policy, urls ...string) *tclient {
	t.Helper()
	opts := client.Options{URLs: urls, Reconnect: &policy, Rand: firstThenRandom()}
	cl, err := client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exchange.New(exchange.Options{
		PeerID: name, PeerType: wire.PeerService, Transports: []transport.Transport{cl},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		_ = cl.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ex.Shutdown(sctx)
	})
	if _, err := cl.WaitForStatus(ctx, client.StatusReady); err != nil {
		t.Fatalf("%s: not ready on %v: %v", name, urls, err)
	}
	return &tclient{ex: ex, cl: cl}
}

func (c *tclient) doc(t testing.TB, id string, dt exchange.DocType) *exchange.Doc {
	t.Helper()
	d, err := c.ex.Get(id, dt)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// set writes key=value in a JSON or state doc.
func set(t testing.TB, d *exchange.Doc, kv ...any) {
	t.Helper()
	err := d.Update(func(tx *exchange.Tx) error {
		for i := 0; i+1 < len(kv); i += 2 {
			tx.Set(exchange.P(kv[i].(string)), kv[i+1])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("update %s: %v", d.ID(), err)
	}
}

func docMap(d *exchange.Doc) map[string]any {
	b, err := d.JSON()
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// waitDocs waits until ok holds for the contents of docs, re-checking on
// every change of any of them.
func waitDocs(ctx context.Context, t testing.TB, what string, docs []*exchange.Doc, ok func([]map[string]any) bool) {
	t.Helper()
	changed := make(chan struct{}, 1)
	for _, d := range docs {
		cancel := d.Subscribe(func(exchange.Change) {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		defer cancel()
	}
	for {
		ms := make([]map[string]any, len(docs))
		for i, d := range docs {
			ms[i] = docMap(d)
		}
		if ok(ms) {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			var b strings.Builder
			for i, d := range docs {
				fmt.Fprintf(&b, "\n  %s #%d: %v", d.ID(), i, ms[i])
			}
			t.Fatalf("%s: not reached: %v%s", what, ctx.Err(), b.String())
		}
	}
}

// hasKeys reports whether every doc holds every key with its value.
func hasKeys(want map[string]any) func([]map[string]any) bool {
	return func(ms []map[string]any) bool {
		for _, m := range ms {
			for k, v := range want {
				if got, ok := m[k]; !ok || fmt.Sprint(got) != fmt.Sprint(v) {
					return false
				}
			}
		}
		return true
	}
}

// pollHTTP waits until GET url answers with code (readiness has no event
// to wait on: a load balancer polls it the same way).
func pollHTTP(ctx context.Context, t testing.TB, u string, code int) string {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
			if resp.StatusCode == code {
				return string(b)
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("GET %s never answered %d (last: %s)", u, code, last)
		}
	}
}

// metricSample returns the value of the sample whose line starts with
// prefix (name plus labels), -1 when absent.
func metricSample(text, prefix string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, prefix+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// clusterPeer is a raw-wire peer holding one opaque (Loro) doc, as a
// TypeScript Loro peer would, through one node.
type clusterPeer struct {
	*relayPeer
	doc string

	mu   sync.Mutex
	seen map[string]int // blob content (hex) → times received
}

func dialClusterPeer(ctx context.Context, t *testing.T, u, id, doc string) *clusterPeer {
	t.Helper()
	p := &clusterPeer{relayPeer: relayDial(t, ctx, u, id), doc: doc, seen: map[string]int{}}
	if _, ok := p.next(t, ctx).(*wire.Establish); !ok {
		t.Fatalf("%s: first message is not establish", id)
	}
	p.send(t, &wire.Present{Docs: []wire.DocPresence{{
		DocID: doc, ReplicaType: wire.ReplicaType{Name: "loro", Major: 1}, SyncMode: wire.Collaborative, SchemaHash: "h-loro",
	}}})
	p.send(t, &wire.Interest{DocID: doc, Reciprocate: relayPtr(true)})
	// The node answers the interest once it holds the doc (an offer sent
	// earlier would be dropped, as with a TypeScript peer): its answer
	// ends with an interest of its own that does not reciprocate.
	for {
		switch m := p.next(t, ctx).(type) {
		case *wire.Offer:
			p.record(m)
		case *wire.Interest:
			if m.DocID == doc && (m.Reciprocate == nil || !*m.Reciprocate) {
				return p
			}
		}
	}
}

func (p *clusterPeer) record(o *wire.Offer) {
	if o.DocID == p.doc {
		p.mu.Lock()
		p.seen[hex.EncodeToString(o.Payload.Data)]++
		p.mu.Unlock()
	}
}

func (p *clusterPeer) offer(t *testing.T, blob []byte, version string) {
	t.Helper()
	p.send(t, &wire.Offer{DocID: p.doc, Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: blob}, Version: version})
}

// waitBlobs reads messages until every blob was offered to the peer.
func (p *clusterPeer) waitBlobs(ctx context.Context, t *testing.T, blobs ...[]byte) {
	t.Helper()
	missing := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		n := 0
		for _, b := range blobs {
			if p.seen[hex.EncodeToString(b)] == 0 {
				n++
			}
		}
		return n
	}
	for missing() > 0 {
		if o, ok := p.next(t, ctx).(*wire.Offer); ok {
			p.record(o)
		}
	}
}

// checkStream loads a doc's stream from PostgreSQL and checks it holds no
// payload twice and replays to the versions stored with it.
func checkStream(ctx context.Context, t *testing.T, st *postgres.Store, doc string) []store.Record {
	t.Helper()
	recs, err := st.LoadAll(ctx, doc)
	if err != nil {
		t.Fatalf("load %s: %v", doc, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s is not in the store", doc)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Kind != store.KindEntry || r.Payload.Kind != wire.Since || r.Payload.Encoding != wire.Binary {
			continue
		}
		k := hex.EncodeToString(r.Payload.Data)
		if seen[k] {
			t.Errorf("%s: the stream holds a payload twice (%d bytes)", doc, len(r.Payload.Data))
		}
		seen[k] = true
	}
	var f replica.Factory
	for _, b := range relayReplicas() {
		if b.Mode == recs[0].Meta.SyncMode && replica.Compatible(b.Factory.Type(), recs[0].Meta.ReplicaType) {
			f = b.Factory
			break
		}
	}
	if f == nil {
		t.Fatalf("%s: no replica for %v/%v", doc, recs[0].Meta.ReplicaType, recs[0].Meta.SyncMode)
	}
	rep := f.CreateEmpty()
	if err := store.Replay(doc, recs, func(r store.Record) (string, error) {
		if err := replayEntry(rep, f, r); err != nil {
			return "", err
		}
		return rep.Version().String(), nil
	}); err != nil {
		t.Errorf("%s: stored stream does not replay: %v", doc, err)
	}
	return recs
}

// replayEntry applies a stored entry the way the exchange replays one
// when it hydrates.
func replayEntry(rep replica.Replica, f replica.Factory, rec store.Record) error {
	if sm, ok := rep.(replica.StampedMerger); ok {
		return sm.MergeStamped(rec.Payload, rec.Version, "")
	}
	if rec.Payload.Kind == wire.Entirety {
		if v, err := f.ParseVersion(rec.Version); err == nil && v.Lineage() != replica.Genesis {
			return rep.ResetFromEntirety(rec.Payload, v)
		}
	}
	return rep.Merge(rec.Payload)
}

// hostPortOf is the host:port of a nats:// URL.
func hostPortOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

// natsProxy is a TCP relay between one node and NATS that a test can cut
// as a network failure would: Cut closes the node's connections and
// refuses new ones until Heal.
type natsProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newNATSProxy(t testing.TB, natsURL string) *natsProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &natsProxy{ln: ln, target: hostPortOf(natsURL), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *natsProxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *natsProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *natsProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

func (p *natsProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *natsProxy) Heal() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *natsProxy) close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}
