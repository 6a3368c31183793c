package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// Two peers sync a document through a relay; every family the collector
// exports reflects it.
func TestCollectorExportsExchangeServerAndClientMetrics(t *testing.T) {
	r := startRelay(t, Options{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.m)
	cm := New(Options{Namespace: "app"}) // the peers' side: client metrics
	creg := prometheus.NewPedanticRegistry()
	creg.MustRegister(cm)

	a := connect(t, r, "alice", cm)
	b := connect(t, r, "bob", cm)
	if err := a.doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("debug"), true); return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := a.doc.WaitAcknowledged(ctx); err != nil {
		t.Fatal(err)
	}

	got := gather(t, reg)
	for name, want := range map[string]float64{
		"kyneta_connections_open":                  2,
		"kyneta_connections_accepted_total":        2,
		"kyneta_peers":                             2,
		"kyneta_documents":                         1,
		"kyneta_documents_by_mode{mode=replicate}": 1,
		"kyneta_documents_by_mode{mode=interpret}": 0,
		"kyneta_store_unhealthy":                   0,
		"kyneta_draining":                          0,
		"kyneta_exchange_messages_by_type_total{dir=in,type=establish}":  2,
		"kyneta_exchange_messages_by_type_total{dir=out,type=establish}": 2,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	for _, name := range []string{
		"kyneta_offers_received_total", "kyneta_offer_bytes_received_total", "kyneta_exchange_messages_received_total",
		"kyneta_received_bytes_total", "kyneta_sent_bytes_total",
		"kyneta_frames_total{dir=in,kind=complete,transport=websocket-server}",
		"kyneta_frame_bytes_total{dir=out,transport=websocket-server}",
		"kyneta_exchange_messages_by_type_total{dir=in,type=offer}",
		"kyneta_store_operation_seconds{op=append_after}",
	} {
		if got[name] < 1 {
			t.Errorf("%s = %v, want > 0", name, got[name])
		}
	}
	if got["kyneta_store_operation_seconds{op=replace}"]+got["kyneta_store_operation_seconds{op=append}"] < 1 {
		t.Errorf("the new document was never stored: %v", got)
	}

	cg := gather(t, creg)
	for _, cl := range []*client.Client{a.cl, b.cl} {
		id := cl.ID()
		if v := cg["app_client_status{client="+id+",status=ready}"]; v != 1 {
			t.Errorf("client %s ready = %v", id, v)
		}
		if v := cg["app_client_status{client="+id+",status=reconnecting}"]; v != 0 {
			t.Errorf("client %s reconnecting = %v", id, v)
		}
		if v := cg["app_client_transitions_total{client="+id+",status=ready}"]; v != 1 {
			t.Errorf("client %s transitions to ready = %v", id, v)
		}
		if cg["app_frames_total{dir=out,kind=complete,transport=websocket-client}"] < 2 {
			t.Errorf("client frames not counted: %v", cg)
		}
	}
	if _, ok := cg["app_connections_open"]; ok {
		t.Error("a collector without a server exports server metrics")
	}

	// The snapshot of the stats feed says the same.
	s := r.m.Snapshot()
	if s.Connections != 2 || len(s.Peers) != 2 || s.Peers[0].ID != "alice" || s.Peers[1].ID != "bob" ||
		!s.Peers[0].Connected || s.Documents != 1 || s.OffersIn < 1 || s.StoreUnhealthy != 0 {
		t.Errorf("snapshot %+v", s)
	}
}

// The store wrapper times every operation on the collector's clock and
// counts failures by operation.
func TestStoreLatencyAndFailures(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	fail := errors.New("disk full")
	var failing bool
	mem := store.NewMemory(store.MemoryOptions{Seam: func(int) error {
		fc.Advance(3 * time.Millisecond) // every low-level write takes 3 ms
		if failing {
			return fail
		}
		return nil
	}})
	m := New(Options{Clock: fc, StoreBuckets: []float64{0.001, 0.005, 0.01}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	st := m.Store(mem)
	ctx := context.Background()
	meta := store.MetaRecord(store.Meta{ReplicaType: wire.ReplicaType{Name: "plain", Major: 1}, SyncMode: wire.Authoritative})
	if err := st.Append(ctx, "d", meta); err != nil {
		t.Fatal(err)
	}
	failing = true
	if err := st.Append(ctx, "d", store.EntryRecord(replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{}`)}, "kyneta.genesis:0")); !errors.Is(err, fail) {
		t.Fatalf("append = %v", err)
	}
	if _, err := st.LoadAll(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	var sum float64
	var under5ms uint64
	for _, mf := range mfs {
		if mf.GetName() != "kyneta_store_operation_seconds" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			if mm.GetLabel()[0].GetValue() != "append" {
				continue
			}
			h := mm.GetHistogram()
			count, sum = h.GetSampleCount(), h.GetSampleSum()
			under5ms = h.GetBucket()[1].GetCumulativeCount()
		}
	}
	// Append writes the index and the record: 2 × 3 ms = 6 ms for the meta
	// (above 5 ms); the failing one stops at its first write (3 ms).
	if count != 2 || sum < 0.0089 || sum > 0.0091 || under5ms != 1 {
		t.Errorf("append latency: count %d sum %v under 5ms %d", count, sum, under5ms)
	}
	got := gather(t, reg)
	if got["kyneta_store_operation_failures_total{op=append}"] != 1 || got["kyneta_store_operation_seconds{op=load}"] != 1 {
		t.Errorf("failures/loads: %v", got)
	}
	if _, ok := got["kyneta_store_operation_failures_total{op=load}"]; ok {
		t.Error("a successful load was counted as failed")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
