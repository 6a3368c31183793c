package metrics

import (
	"context"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// guard bounds every wait; it is a failure timeout, never a way to let
// time pass.
const guard = 20 * time.Second

// relay is a server exchange with a collector, behind an httptest server.
type relay struct {
	m   *Collector
	srv *server.Server
	ex  *exchange.Exchange
	hs  *httptest.Server
	st  *store.Memory
}

func startRelay(t *testing.T, o Options) *relay {
	t.Helper()
	srv, err := server.New(server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Server = srv
	m := New(o)
	st := store.NewMemory(store.MemoryOptions{})
	ex, err := exchange.New(exchange.Options{
		PeerID:     "relay",
		PeerType:   wire.PeerService,
		Transports: []transport.Transport{m.Transport(srv)},
		Stores:     []store.Store{m.Store(st)},
		OnMessage:  m.OnMessage,
		Policies: []exchange.Policy{{Name: "relay", Resolve: func(exchange.ResolveRequest) exchange.Resolution {
			return exchange.Replicate()
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.SetExchange(ex)
	r := &relay{m: m, srv: srv, ex: ex, hs: httptest.NewServer(srv), st: st}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := ex.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		r.hs.Close()
	})
	return r
}

func (r *relay) url() string { return "ws" + strings.TrimPrefix(r.hs.URL, "http") }

// peer is a client exchange connected to a relay.
type peer struct {
	ex  *exchange.Exchange
	cl  *client.Client
	doc *exchange.Doc
}

func connect(t *testing.T, r *relay, id string, m *Collector) *peer {
	t.Helper()
	cl, err := client.New(client.Options{URL: r.url()})
	if err != nil {
		t.Fatal(err)
	}
	var tr transport.Transport = cl
	if m != nil {
		m.AddClient(cl)
		tr = m.Transport(cl)
	}
	ex, err := exchange.New(exchange.Options{PeerID: id, Transports: []transport.Transport{tr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		_ = ex.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	doc, err := ex.Get("config", exchange.JSONDoc(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.WaitForSync(ctx); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return &peer{ex: ex, cl: cl, doc: doc}
}

// gather returns every sample of reg as "name{labels} value" keyed by
// "name{labels}", labels sorted.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			key := mf.GetName()
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			// The type's name, not client_model's constants: this
			// module does not import that package itself.
			switch mf.GetType().String() {
			case "COUNTER":
				out[key] = m.GetCounter().GetValue()
			case "GAUGE":
				out[key] = m.GetGauge().GetValue()
			case "HISTOGRAM":
				out[key] = float64(m.GetHistogram().GetSampleCount())
			default:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}
