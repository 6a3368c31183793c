package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
	"pgregory.net/rapid"
)

// TestExchangeModel drives real exchanges (the real dispatcher, programs
// and shell) over the in-memory bridge with its full wire codec. Four
// peers hold every kind of document; random steps write, drop, duplicate,
// partition, disconnect and close channels, and move the clock. One peer
// is denied CanShare for a "secret" document everywhere. After the network
// is healed it checks:
//
//	(a) every peer allowed to share a doc holds the same state of it;
//	(b) the denied peer never received anything about the secret doc but
//	    vacant, and nothing it wrote there reached anyone;
//	(c) a late joiner whose WaitForSync returns nil already holds the
//	    converged state;
//	(d) offer bytes stay linear in bytes written.
//
// Longer runs: go test ./exchange -run TestExchangeModel -rapid.checks=2000
func TestExchangeModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newModel(t, rt)
		defer m.close()
		rt.Repeat(map[string]func(*rapid.T){
			"write":      m.write,
			"drop":       m.drop,
			"duplicate":  m.duplicate,
			"partition":  m.partition,
			"heal":       m.heal,
			"disconnect": m.disconnect,
			"close":      m.closeChannel,
			"clock":      m.tick,
			"store":      m.storeFault,
			"restart":    m.restart,
			"":           m.checkAlways,
		})
		m.healAll()
		m.checkConverged(rt)
		m.checkStored(rt)
		m.checkDenied(rt)
		m.checkLateJoiner(rt)
		m.checkOfferBytes(rt)
	})
}

var (
	modelPeers = []string{"p0", "p1", "p2", "p3"}
	modelLoro  = wire.ReplicaType{Name: "loro", Major: 1}
)

type model struct {
	t      *testing.T
	n      *testNet
	opaque replica.Factory
	crdt   DocType
	denied string // peer denied CanShare("secret")
	docs   map[string]map[string]*Doc
	data   map[string]*store.MemoryData // each peer's store
	fail   map[string]func(bool)
	broken map[string]bool // the peer's store fails writes

	mu       sync.Mutex
	leaks    []string // messages about the secret doc the denied peer got
	written  uint64   // bytes of values written
	counter  int
	clockRun time.Duration
}

func newModel(t *testing.T, rt *rapid.T) *model {
	m := &model{t: t, n: newTestNet(t), docs: map[string]map[string]*Doc{},
		data: map[string]*store.MemoryData{}, fail: map[string]func(bool){}, broken: map[string]bool{}}
	m.n.t = t
	m.opaque = replica.NewOpaqueFactory(modelLoro, replica.OpaqueOptions{})
	m.crdt = DocType{Name: "crdt", Factory: m.opaque, Mode: wire.Collaborative, SchemaHash: "h-loro"}
	m.denied = rapid.SampledFrom(modelPeers[1:]).Draw(rt, "denied")
	for _, p := range modelPeers {
		m.start(p)
	}
	m.n.settle()
	return m
}

// policy is the same on every peer: the denied peer may not see "secret".
func (m *model) policy() Policy {
	return Policy{Name: "secret", CanShare: func(doc string, p wire.PeerIdentity) Verdict {
		if doc == "secret" && p.PeerID == m.denied {
			return Deny
		}
		return Allow
	}}
}

func (m *model) start(p string) {
	if m.data[p] == nil {
		m.data[p] = store.NewMemoryData()
	}
	st, fail := failingStore(m.data[p])
	fail(m.broken[p])
	m.fail[p] = fail
	ex := m.n.peer(p, func(o *Options) {
		o.Stores = []store.Store{st}
		o.Replicas = []replica.Bound{{Factory: m.opaque, Mode: wire.Collaborative}}
		o.Policies = []Policy{m.policy()}
		o.OnMessage = func(e MessageEvent) {
			if e.Outbound || p != m.denied {
				return
			}
			if leak := aboutSecret(e.Msg); leak != "" {
				m.mu.Lock()
				m.leaks = append(m.leaks, leak)
				m.mu.Unlock()
			}
		}
	})
	docs := map[string]*Doc{}
	for _, id := range []string{"a0", "a1", "secret"} {
		docs[id] = mustGet(m.t, ex, id, jsonDoc)
	}
	docs["eph"] = mustGet(m.t, ex, "eph", ephDoc)
	docs["st"] = mustGet(m.t, ex, "st", StateDoc("h-state"))
	if err := ex.Replicate("op", &m.crdt); err != nil {
		m.t.Fatal(err)
	}
	m.docs[p] = docs
}

// aboutSecret describes a received message that reveals the secret doc
// ("" for none). Vacant reveals nothing: it is also the answer for docs
// that do not exist.
func aboutSecret(msg wire.ChannelMsg) string {
	switch x := msg.(type) {
	case *wire.Present:
		for _, d := range x.Docs {
			if d.DocID == "secret" {
				return "present"
			}
		}
	case *wire.Interest:
		if x.DocID == "secret" {
			return "interest"
		}
	case *wire.Offer:
		if x.DocID == "secret" {
			return "offer"
		}
	case *wire.Dismiss:
		if x.DocID == "secret" {
			return "dismiss"
		}
	}
	return ""
}

func (m *model) close() {}

func (m *model) pick(rt *rapid.T, label string) string {
	return rapid.SampledFrom(modelPeers).Draw(rt, label)
}

func (m *model) pair(rt *rapid.T) (string, string) {
	a := m.pick(rt, "a")
	others := slices.DeleteFunc(slices.Clone(modelPeers), func(x string) bool { return x == a })
	return a, rapid.SampledFrom(others).Draw(rt, "b")
}

func (m *model) write(rt *rapid.T) {
	m.counter++
	c := m.counter
	p := m.pick(rt, "writer")
	kind := rapid.SampledFrom([]string{"plain", "secret", "eph", "st", "op"}).Draw(rt, "doc")
	set := func(doc string, path Path, v any) {
		b, _ := json.Marshal(v)
		m.written += uint64(len(b))
		update(m.t, m.docs[p][doc], func(tx *Tx) { tx.Set(path, v) })
	}
	switch kind {
	case "plain": // single writer per authoritative doc: its owner
		owner := rapid.SampledFrom([]string{"p0", "p1"}).Draw(rt, "owner")
		p = owner
		set("a"+owner[1:], P(fmt.Sprint("k", c%5)), c)
	case "secret": // p0 owns the shared secret; the denied peer writes its own
		if p != m.denied {
			p = "p0"
		}
		set("secret", P("v"), fmt.Sprint(p, "-", c))
	case "eph":
		m.clockRun += time.Millisecond
		m.n.clk.Advance(time.Millisecond)
		set("eph", P("by"), fmt.Sprint(p, "-", c))
	case "st":
		m.clockRun += time.Millisecond
		m.n.clk.Advance(time.Millisecond)
		set("st", P("f"+p), c)
	case "op": // a CRDT peer's update, relayed opaquely
		ex := m.n.exs[p]
		blob := fmt.Sprint("blob-", c)
		m.written += uint64(len(blob))
		ex.dispatch(funcMsg(func() {
			r := ex.runtimeFor("op")
			r.mu.Lock()
			err := r.rep.(replica.StampedMerger).MergeStamped(replica.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte(blob)}, fmt.Sprint("s-", c), "")
			r.mu.Unlock()
			if err != nil {
				m.t.Error(err)
			}
			ex.stepSync(msgLocalChange{doc: "op", version: fmt.Sprint("s-", c)})
		}))
	}
	m.n.settle()
}

func (m *model) drop(rt *rapid.T) {
	a, b := m.pair(rt)
	m.n.bridge.DropNext(a, b, rapid.IntRange(1, 2).Draw(rt, "drops"))
}

func (m *model) duplicate(rt *rapid.T) {
	a, b := m.pair(rt)
	m.n.bridge.DuplicateNext(a, b, rapid.IntRange(1, 3).Draw(rt, "dups"))
}

func (m *model) partition(rt *rapid.T) {
	a, b := m.pair(rt)
	m.n.bridge.Partition(a, b)
	m.n.settle()
}

func (m *model) heal(rt *rapid.T) {
	a, b := m.pair(rt)
	m.n.bridge.Heal(a, b)
	m.n.settle()
}

func (m *model) disconnect(rt *rapid.T) {
	p := m.pick(rt, "who")
	if rapid.Bool().Draw(rt, "off") {
		m.n.bridge.Disconnect(p)
	} else {
		m.n.bridge.Reconnect(p)
	}
	m.n.settle()
}

// closeChannel closes one channel and lets it come back at once, like a
// server closing a slow consumer that reconnects.
func (m *model) closeChannel(rt *rapid.T) {
	a, b := m.pair(rt)
	if ch, ok := m.n.bridge.Endpoint(a).ChannelTo(b); ok {
		ch.Close()
	}
	m.n.bridge.Heal(a, b)
	m.n.settle()
}

func (m *model) tick(rt *rapid.T) {
	d := time.Duration(rapid.IntRange(1, 40).Draw(rt, "seconds")) * time.Second
	m.clockRun += d
	m.n.clk.Advance(d)
	m.n.settle()
}

// storeFault makes a peer's store fail its writes, or heals it (the
// exchange retries with backoff; the clock action fires the retries).
func (m *model) storeFault(rt *rapid.T) {
	p := m.pick(rt, "whose")
	m.broken[p] = !m.broken[p]
	m.fail[p](m.broken[p])
	m.n.settle()
}

// restart shuts a peer down and starts it again from its store. Only
// after its writes landed: a writer that loses unpersisted writes and then
// writes again would reuse versions its peers already saw (see the
// durability notes in docs/exchange.md).
func (m *model) restart(rt *rapid.T) {
	p := m.pick(rt, "who")
	if m.broken[p] {
		rt.Skip("store failing")
	}
	m.n.clk.Advance(time.Minute) // pending retries fire
	m.n.settle()
	if st := m.n.exs[p].Stats(); st.StoreUnhealthy != 0 {
		rt.Fatalf("%s: store healthy but %d writes still failing", p, st.StoreUnhealthy)
	}
	m.n.stop(p)
	m.start(p)
	m.n.settle()
}

// checkAlways runs after every step.
func (m *model) checkAlways(rt *rapid.T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.leaks) > 0 {
		rt.Fatalf("denied peer %s received %v about the secret doc", m.denied, m.leaks)
	}
}

// healAll ends every fault and reconnects everybody once: a message lost
// at the very end is followed by nothing, and reconnection is how the
// protocol recovers (a real transport closes a channel that lost data).
func (m *model) healAll() {
	for _, p := range modelPeers {
		m.broken[p] = false
		m.fail[p](false)
	}
	m.n.clk.Advance(time.Minute) // pending store retries fire
	m.n.bridge.ClearFaults()
	for i, a := range modelPeers {
		m.n.bridge.Reconnect(a)
		for _, b := range modelPeers[i+1:] {
			m.n.bridge.Heal(a, b)
		}
	}
	m.n.settle()
	for _, p := range modelPeers {
		m.n.bridge.Disconnect(p)
		m.n.settle()
		m.n.bridge.Reconnect(p)
		m.n.settle()
	}
}

// canonicalJSON is the doc's JSON with sorted keys: field-LWW peers may
// hold the same fields in different insertion orders.
func canonicalJSON(t *testing.T, d *Doc) string {
	var v any
	if err := json.Unmarshal([]byte(jsonOf(t, d)), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (m *model) logDiagnostics(rt *rapid.T) {
	m.n.mu.Lock()
	defer m.n.mu.Unlock()
	for _, d := range m.n.diags {
		rt.Logf("diagnostic %s peer=%s doc=%s: %s", d.Reason, d.PeerID, d.DocID, d.Message)
	}
}

func (m *model) blobs(ex *Exchange) []string {
	r := ex.runtimeFor("op")
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range opaqueParts(r.rep) {
		out = append(out, string(e.Payload.Data))
	}
	slices.Sort(out)
	return out
}

func (m *model) checkConverged(rt *rapid.T) {
	for _, id := range []string{"a0", "a1", "eph", "st", "secret"} {
		var ref string
		var refPeer, refVersion string
		for _, p := range modelPeers {
			if id == "secret" && p == m.denied {
				continue
			}
			got, v := canonicalJSON(m.t, m.docs[p][id]), m.docs[p][id].Version()
			if refPeer == "" {
				ref, refPeer, refVersion = got, p, v
				continue
			}
			if got != ref {
				m.logDiagnostics(rt)
				rt.Fatalf("(a) doc %s: %s has %s, %s has %s", id, refPeer, ref, p, got)
			}
			if (id == "a0" || id == "a1" || id == "secret") && v != refVersion {
				rt.Fatalf("(a) doc %s: %s at %s, %s at %s", id, refPeer, refVersion, p, v)
			}
		}
	}
	ref := m.blobs(m.n.exs["p0"])
	for _, p := range modelPeers[1:] {
		if got := m.blobs(m.n.exs[p]); !slices.Equal(got, ref) {
			rt.Fatalf("(a) opaque doc: p0 holds %v, %s holds %v", ref, p, got)
		}
	}
}

// checkStored: once stores heal, every peer's store holds its docs at the
// version the peer holds (nothing lost, nothing left behind).
func (m *model) checkStored(rt *rapid.T) {
	for _, p := range modelPeers {
		if st := m.n.exs[p].Stats(); st.StoreUnhealthy != 0 {
			rt.Fatalf("%s: %d store writes still failing after healing", p, st.StoreUnhealthy)
		}
		for _, id := range []string{"a0", "a1", "secret", "eph", "st"} {
			recs, err := store.NewMemory(store.MemoryOptions{Data: m.data[p]}).LoadAll(context.Background(), id)
			if err != nil || len(recs) == 0 {
				rt.Fatalf("%s: doc %s not stored (%v)", p, id, err)
			}
			if got, want := recs[len(recs)-1].Version, m.docs[p][id].Version(); got != want {
				rt.Fatalf("%s: doc %s stored at %s, held at %s", p, id, got, want)
			}
		}
	}
}

func (m *model) checkDenied(rt *rapid.T) {
	m.checkAlways(rt)
	for _, p := range modelPeers {
		if p == m.denied {
			continue
		}
		if got := jsonOf(m.t, m.docs[p]["secret"]); strings.Contains(got, m.denied+"-") {
			rt.Fatalf("(b) the denied peer's write reached %s: %s", p, got)
		}
	}
	for peer, st := range m.docs[m.denied]["secret"].PeerStates() {
		if st.Kind != PeerVacant {
			rt.Fatalf("(b) the denied peer is %s with %s for the secret doc", st.Kind, peer)
		}
	}
}

// checkLateJoiner starts a fresh peer: once WaitForSync returns nil for a
// doc, the doc must already hold the converged state.
func (m *model) checkLateJoiner(rt *rapid.T) {
	ex := m.n.peer("late", func(o *Options) { o.Policies = []Policy{m.policy()} })
	for _, c := range []struct {
		id string
		dt DocType
	}{{"a0", jsonDoc}, {"a1", jsonDoc}, {"secret", jsonDoc}, {"eph", ephDoc}, {"st", StateDoc("h-state")}} {
		d := mustGet(m.t, ex, c.id, c.dt)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := d.WaitForSync(ctx)
		cancel()
		if err != nil {
			rt.Fatalf("(c) late joiner: WaitForSync(%s): %v", c.id, err)
		}
		if got, want := canonicalJSON(m.t, d), canonicalJSON(m.t, m.docs["p0"][c.id]); got != want {
			rt.Fatalf("(c) late joiner: WaitForSync(%s) returned with %s; the peers hold %s", c.id, got, want)
		}
	}
}

// checkOfferBytes: every write reaches at most the other peers and a late
// joiner, each carrying its bytes a bounded number of times; entireties
// and per-offer framing are covered by a fixed allowance per offer.
func (m *model) checkOfferBytes(rt *rapid.T) {
	var bytes, offers uint64
	for _, ex := range m.n.exs {
		st := ex.Stats()
		bytes += st.OfferBytesSent
		offers += st.OffersSent
	}
	limit := 4*uint64(len(modelPeers))*m.written + 512*offers
	if bytes > limit {
		rt.Fatalf("(d) %d offer bytes for %d bytes written in %d offers (limit %d)", bytes, m.written, offers, limit)
	}
}
