//go:build unix

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
)

var (
	jsonDoc  = exchange.JSONDoc("cluster-test")
	ephDoc   = exchange.EphemeralDoc("cluster-test")
	stateDoc = exchange.StateDoc("cluster-test")
)

// TestClusterConverges: three nodes on one PostgreSQL and one NATS.
// Clients on different nodes write different and the same documents of
// every type — JSON (one writer at a time), ephemeral, state, and opaque
// Loro blobs through raw wire peers — and every client converges. A
// fourth node started later hydrates and serves every document, and so
// does a node on the store alone (no NATS), which proves the store holds
// it all; the stored streams hold no payload twice.
func TestClusterConverges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ci := newClusterInfra(ctx, t)
	nodes := []*serveProc{ci.startNode(ctx, t, "n1", ci.nats), ci.startNode(ctx, t, "n2", ci.nats), ci.startNode(ctx, t, "n3", ci.nats)}
	var cs []*tclient
	for i, n := range nodes {
		cs = append(cs, newTClient(ctx, t, fmt.Sprintf("c%d", i+1), n.wsURL()))
	}

	// Different JSON docs, one per client; everyone sees all of them.
	for i, c := range cs {
		d := c.doc(t, fmt.Sprintf("json/c%d", i+1), jsonDoc)
		set(t, d, "by", float64(i+1), "n", 1.0)
		if err := d.WaitAcknowledged(ctx); err != nil {
			t.Fatalf("c%d: %v", i+1, err)
		}
	}
	for i := range cs {
		var docs []*exchange.Doc
		for _, c := range cs {
			docs = append(docs, c.doc(t, fmt.Sprintf("json/c%d", i+1), jsonDoc))
		}
		waitDocs(ctx, t, fmt.Sprintf("json/c%d everywhere", i+1), docs, hasKeys(map[string]any{"by": i + 1, "n": 1}))
	}

	// One JSON doc written in turn through each node: each writer first
	// sees the previous write (one writer at a time).
	var shared []*exchange.Doc
	for _, c := range cs {
		shared = append(shared, c.doc(t, "json/shared", jsonDoc))
	}
	want := map[string]any{}
	for i, d := range shared {
		waitDocs(ctx, t, "previous turns", []*exchange.Doc{d}, hasKeys(want))
		k := fmt.Sprintf("turn%d", i+1)
		set(t, d, k, float64(i+1))
		want[k] = i + 1
		if err := d.WaitAcknowledged(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitDocs(ctx, t, "json/shared everywhere", shared, hasKeys(want))

	// State (field LWW), written by all three at once, keeps every field.
	// Ephemeral (whole-doc LWW) is written in turn, each client after it
	// saw the previous value, and every client ends on the last one.
	// (Whole-doc writes made at once in the same millisecond carry equal
	// versions, which the LWW replica does not order, on one node or
	// several.)
	var eph, st []*exchange.Doc
	for i, c := range cs {
		eph = append(eph, c.doc(t, "eph/presence", ephDoc))
		st = append(st, c.doc(t, "state/board", stateDoc))
		set(t, st[i], fmt.Sprintf("f%d", i+1), float64(i+1))
	}
	for i := range cs {
		set(t, eph[i], "who", fmt.Sprintf("c%d", i+1))
		waitDocs(ctx, t, fmt.Sprintf("ephemeral from c%d everywhere", i+1), eph, hasKeys(map[string]any{"who": fmt.Sprintf("c%d", i+1)}))
	}
	waitDocs(ctx, t, "state keeps every field", st, hasKeys(map[string]any{"f1": 1, "f2": 2, "f3": 3}))

	// Opaque Loro blobs from raw wire peers on two nodes; a late peer on
	// the third gets both.
	blob1, blob2 := relayBlob("cluster-1", 300), relayBlob("cluster-2", 517)
	a := dialClusterPeer(ctx, t, nodes[0].wsURL(), "ts-a", "loro/doc")
	b := dialClusterPeer(ctx, t, nodes[1].wsURL(), "ts-b", "loro/doc")
	a.offer(t, blob1, "ts-a:1@11")
	b.offer(t, blob2, "ts-b:1@7")
	a.waitBlobs(ctx, t, blob2)
	b.waitBlobs(ctx, t, blob1)
	c := dialClusterPeer(ctx, t, nodes[2].wsURL(), "ts-c", "loro/doc")
	c.waitBlobs(ctx, t, blob1, blob2)

	// A fourth node joins later: it hydrates from PostgreSQL and serves
	// every document; a fifth runs on the store alone.
	n4 := ci.startNode(ctx, t, "n4", ci.nats)
	n5 := ci.startNode(ctx, t, "n5", "")
	for _, n := range []*serveProc{n4, n5} {
		r := newTClient(ctx, t, "reader-"+n.addr, n.wsURL())
		for i := range cs {
			waitDocs(ctx, t, n.addr+": json/c"+strconv.Itoa(i+1), []*exchange.Doc{r.doc(t, fmt.Sprintf("json/c%d", i+1), jsonDoc)},
				hasKeys(map[string]any{"by": i + 1, "n": 1}))
		}
		waitDocs(ctx, t, n.addr+": json/shared", []*exchange.Doc{r.doc(t, "json/shared", jsonDoc)}, hasKeys(want))
		waitDocs(ctx, t, n.addr+": state", []*exchange.Doc{r.doc(t, "state/board", stateDoc)}, hasKeys(map[string]any{"f1": 1, "f2": 2, "f3": 3}))
		waitDocs(ctx, t, n.addr+": ephemeral", []*exchange.Doc{r.doc(t, "eph/presence", ephDoc)}, hasKeys(map[string]any{"who": "c3"}))
		p := dialClusterPeer(ctx, t, n.wsURL(), "ts-late-"+n.addr, "loro/doc")
		p.waitBlobs(ctx, t, blob1, blob2)
	}

	pg := ci.openStore(ctx, t)
	for _, doc := range []string{"json/c1", "json/c2", "json/c3", "json/shared", "state/board", "eph/presence", "loro/doc"} {
		checkStream(ctx, t, pg, doc)
	}

	// Health and metrics: every clustered node is ready and linked to the
	// three others.
	for _, n := range []*serveProc{nodes[0], n4} {
		base := "http://" + n.addr
		pollHTTP(ctx, t, base+"/readyz", 200)
		code, metrics := httpGet(ctx, t, base+"/metrics")
		if code != 200 {
			t.Fatalf("/metrics: %d", code)
		}
		id := "n1"
		if n == n4 {
			id = "n4"
		}
		for _, m := range []string{`kyneta_cluster_store_up{node="` + id + `"}`, `kyneta_cluster_nats_connected{node="` + id + `"}`} {
			if v := metricSample(metrics, m); v != 1 {
				t.Errorf("%s = %v, want 1", m, v)
			}
		}
		if v := metricSample(metrics, `kyneta_cluster_sent_messages_total{node="`+id+`"}`); v <= 0 {
			t.Errorf("%s sent no frames to other nodes: %v", id, v)
		}
	}
	_, metrics := httpGet(ctx, t, "http://"+n4.addr+"/metrics")
	if v := metricSample(metrics, `kyneta_cluster_peers{node="n4"}`); v != 3 {
		t.Errorf("n4 has %v peers, want 3:\n%s", v, metrics)
	}
	for _, n := range append(nodes, n4, n5) {
		n.stop(ctx, t)
	}
}

// TestClusterNodeKill: writers connected to n1 (with n2 and n3 as
// failover nodes) write while n1 is killed with SIGKILL. They fail over
// and keep writing; every write that was acknowledged — to a writer's
// WaitAcknowledged, or as a "kyneta put" that exited 0 — is present on
// both surviving nodes.
func TestClusterNodeKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ci := newClusterInfra(ctx, t)
	nodes := []*serveProc{ci.startNode(ctx, t, "n1", ci.nats), ci.startNode(ctx, t, "n2", ci.nats), ci.startNode(ctx, t, "n3", ci.nats)}
	urls := []string{nodes[0].wsURL(), nodes[1].wsURL(), nodes[2].wsURL()}

	const writers, before, after = 3, 15, 15
	// Each writer must get writes acknowledged through a survivor after
	// the kill: failover works.
	var wg sync.WaitGroup
	acked := make([][]int, writers)
	killed := make(chan struct{})
	errs := make(chan error, writers+1)
	for w := range writers {
		c := newTClient(ctx, t, fmt.Sprintf("writer%d", w), urls...)
		if c.cl.URL() != urls[0] {
			t.Fatalf("writer%d started on %s, want n1", w, c.cl.URL())
		}
		d := c.doc(t, fmt.Sprintf("kill/w%d", w), jsonDoc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			unacked := 0
			for i := 0; ; i++ {
				if i == before && w == 0 {
					if err := nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
						errs <- err
					}
					close(killed)
				}
				if i >= before {
					<-killed
				}
				if i == before+after {
					if u := c.cl.URL(); u == urls[0] {
						errs <- fmt.Errorf("writer%d is still on the killed node", w)
					}
					return
				}
				k := "k" + strconv.Itoa(i)
				madeBeforeKill := true
				select {
				case <-killed:
					madeBeforeKill = false
				default:
				}
				if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P(k), float64(i)); return nil }); err != nil {
					errs <- err
					return
				}
				// A write in flight when n1 dies may reach the survivors
				// through NATS and never be acknowledged to its writer
				// (a node acknowledges only what it merged from that
				// peer; see docs/cluster.md): it does not count, and the
				// next write's acknowledgement covers it.
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := d.WaitAcknowledged(actx)
				cancel()
				switch {
				case err == nil:
					acked[w] = append(acked[w], i)
				case !madeBeforeKill || unacked > 0:
					errs <- fmt.Errorf("writer%d: write %d not acknowledged: %w", w, i, err)
					return
				default:
					unacked++
				}
			}
		}()
	}
	// kyneta put with the three URLs: each put is a separate process that
	// starts on n1 while it lives, then fails over.
	var putAcked []int
	list := strings.Join(urls, ",")
	for i := 0; i < 30; i++ {
		if i == 10 {
			<-killed
		}
		var js strings.Builder
		js.WriteString("{")
		for j := 0; j <= i; j++ {
			if j > 0 {
				js.WriteString(",")
			}
			fmt.Fprintf(&js, `"p%d":%d`, j, j)
		}
		js.WriteString("}")
		if r := runKyneta(ctx, t, "put", "--timeout", "10s", "--schema-hash", "", list, "kill/put", js.String()); r.code == 0 {
			putAcked = append(putAcked, i)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range writers {
		if n := len(acked[w]); n < before+after-1 || acked[w][n-1] != before+after-1 {
			t.Errorf("writer%d: acknowledged %v", w, acked[w])
		}
	}
	if code := nodes[0].wait(ctx, t); code != -1 {
		t.Errorf("n1 exit code %d after SIGKILL", code)
	}
	if len(putAcked) < 20 {
		t.Errorf("only %d of 30 puts were acknowledged across the kill: %v", len(putAcked), putAcked)
	}

	// Every acknowledged write is on both survivors.
	for _, n := range nodes[1:] {
		r := newTClient(ctx, t, "check-"+n.addr, n.wsURL())
		for w := range writers {
			want := map[string]any{}
			for _, i := range acked[w] {
				want["k"+strconv.Itoa(i)] = i
			}
			waitDocs(ctx, t, fmt.Sprintf("%s: kill/w%d", n.addr, w), []*exchange.Doc{r.doc(t, fmt.Sprintf("kill/w%d", w), jsonDoc)}, hasKeys(want))
		}
		if len(putAcked) > 0 {
			last := putAcked[len(putAcked)-1]
			want := map[string]any{}
			for j := 0; j <= last; j++ {
				want["p"+strconv.Itoa(j)] = j
			}
			waitDocs(ctx, t, n.addr+": kill/put", []*exchange.Doc{r.doc(t, "kill/put", exchange.JSONDoc(""))}, hasKeys(want))
		}
	}
	pg := ci.openStore(ctx, t)
	for w := range writers {
		checkStream(ctx, t, pg, fmt.Sprintf("kill/w%d", w))
	}
	for _, n := range nodes[1:] {
		n.stop(ctx, t)
	}
}

// TestClusterPartition: n3 reaches NATS through a relay the test cuts
// for ten seconds while clients on n1 and n3 keep writing. n3 reports
// itself not ready while cut off; after the heal every client converges,
// the links were reset and caught up, and nothing is stored twice.
func TestClusterPartition(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ci := newClusterInfra(ctx, t)
	proxy := newNATSProxy(t, ci.nats)
	n1, n2 := ci.startNode(ctx, t, "n1", ci.nats), ci.startNode(ctx, t, "n2", ci.nats)
	n3 := ci.startNode(ctx, t, "n3", proxy.URL())
	c1, c3 := newTClient(ctx, t, "c1", n1.wsURL()), newTClient(ctx, t, "c3", n3.wsURL())

	// Linked: a write on n1 reaches n3's client.
	set(t, c1.doc(t, "part/hello", jsonDoc), "hi", 1.0)
	waitDocs(ctx, t, "n1 → n3", []*exchange.Doc{c3.doc(t, "part/hello", jsonDoc)}, hasKeys(map[string]any{"hi": 1}))
	blob1, blob2, blob3 := relayBlob("part-1", 200), relayBlob("part-2", 333), relayBlob("part-3", 150)
	a := dialClusterPeer(ctx, t, n1.wsURL(), "ts-a", "part/loro")
	b := dialClusterPeer(ctx, t, n3.wsURL(), "ts-b", "part/loro")
	a.offer(t, blob1, "ts-a:1@1")
	b.waitBlobs(ctx, t, blob1)

	proxy.Cut()
	pollHTTP(ctx, t, "http://"+n3.addr+"/readyz", 503)
	da, db := c1.doc(t, "part/a", jsonDoc), c3.doc(t, "part/b", jsonDoc)
	sa, sb := c1.doc(t, "part/state", stateDoc), c3.doc(t, "part/state", stateDoc)
	a.offer(t, blob2, "ts-a:2@2")
	b.offer(t, blob3, "ts-b:1@1")
	cutEnd := time.After(10 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	want := map[string]any{}
write:
	for i := 0; ; i++ {
		k := "k" + strconv.Itoa(i)
		set(t, da, k, float64(i))
		set(t, db, k, float64(i))
		set(t, sa, "a"+k, float64(i))
		set(t, sb, "b"+k, float64(i))
		want[k] = i
		select {
		case <-tick.C:
		case <-cutEnd:
			break write
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	proxy.Heal()
	pollHTTP(ctx, t, "http://"+n3.addr+"/readyz", 200)

	c2 := newTClient(ctx, t, "c2", n2.wsURL())
	for _, id := range []string{"part/a", "part/b"} {
		waitDocs(ctx, t, id+" converges", []*exchange.Doc{c1.doc(t, id, jsonDoc), c2.doc(t, id, jsonDoc), c3.doc(t, id, jsonDoc)}, hasKeys(want))
	}
	stWant := map[string]any{}
	for k, v := range want {
		stWant["a"+k], stWant["b"+k] = v, v
	}
	waitDocs(ctx, t, "state converges", []*exchange.Doc{sa, sb, c2.doc(t, "part/state", stateDoc)}, hasKeys(stWant))
	a.waitBlobs(ctx, t, blob3)
	b.waitBlobs(ctx, t, blob2)

	_, metrics := httpGet(ctx, t, "http://"+n1.addr+"/metrics")
	if v := metricSample(metrics, `kyneta_cluster_link_resets_total{node="n1"}`); v < 1 {
		t.Errorf("n1 reports %v link resets after n3 was cut off for 10 s", v)
	}
	pg := ci.openStore(ctx, t)
	for _, doc := range []string{"part/a", "part/b", "part/state", "part/loro"} {
		checkStream(ctx, t, pg, doc)
	}
	for _, n := range []*serveProc{n1, n2, n3} {
		n.stop(ctx, t)
	}
}
