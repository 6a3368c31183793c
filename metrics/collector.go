package metrics

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Options configure a Collector. Every field is optional.
type Options struct {
	// Namespace prefixes every metric name; default "kyneta".
	Namespace string
	// Server is the WebSocket server whose counters are exported
	// (connections, bytes, refusals, close codes, queues).
	Server *server.Server
	// Clock times store operations; default the wall clock.
	Clock clock.Clock
	// StoreBuckets are the store latency histogram's buckets in seconds;
	// default 100 µs to 10 s.
	StoreBuckets []float64
}

// defaultStoreBuckets spans an in-memory write to a stalled disk.
var defaultStoreBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

// Collector is a prometheus.Collector for one exchange and what it runs
// on. All methods are safe for concurrent use.
type Collector struct {
	ns  string
	srv *server.Server
	clk clock.Clock
	ex  atomic.Pointer[exchange.Exchange]

	msgs      *prometheus.CounterVec   // exchange messages by direction and type
	frames    *prometheus.CounterVec   // wire frames by transport, direction and kind
	frameB    *prometheus.CounterVec   // wire frame bytes by transport and direction
	storeLat  *prometheus.HistogramVec // store operations by op
	storeFail *prometheus.CounterVec   // failed store operations by op
	clientSt  *prometheus.GaugeVec     // 1 for each client's current status
	clientTr  *prometheus.CounterVec   // client status changes by target status

	own  []prometheus.Collector
	desc map[string]*prometheus.Desc

	clientsMu sync.Mutex
	clients   map[string]func() // client id -> unsubscribe
}

// New returns a Collector; register it with a prometheus.Registerer.
func New(o Options) *Collector {
	ns := o.Namespace
	if ns == "" {
		ns = "kyneta"
	}
	buckets := o.StoreBuckets
	if buckets == nil {
		buckets = defaultStoreBuckets
	}
	c := &Collector{ns: ns, srv: o.Server, clk: clock.OrReal(o.Clock), clients: make(map[string]func())}
	c.msgs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "exchange_messages_by_type_total",
		Help: "Protocol messages the exchange sent (once per channel) or received, by direction and type."}, []string{"dir", "type"})
	c.frames = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "frames_total",
		Help: "Wire frames sent or received, by transport type, direction and kind (complete or fragment)."}, []string{"transport", "dir", "kind"})
	c.frameB = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "frame_bytes_total",
		Help: "Wire frame bytes sent or received, by transport type and direction."}, []string{"transport", "dir"})
	c.storeLat = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "store_operation_seconds",
		Help: "Duration of store operations, by operation.", Buckets: buckets}, []string{"op"})
	c.storeFail = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "store_operation_failures_total",
		Help: "Store operations that returned an error, by operation."}, []string{"op"})
	c.clientSt = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "client_status",
		Help: "1 for the current status of each WebSocket client transport."}, []string{"client", "status"})
	c.clientTr = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "client_transitions_total",
		Help: "Status changes of WebSocket client transports, by client and new status (reconnecting counts retries)."}, []string{"client", "status"})
	c.own = []prometheus.Collector{c.msgs, c.frames, c.frameB, c.storeLat, c.storeFail, c.clientSt, c.clientTr}

	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(ns+"_"+name, help, labels, nil)
	}
	c.desc = map[string]*prometheus.Desc{
		// Server.
		"open":      d("connections_open", "WebSocket connections open now."),
		"accepted":  d("connections_accepted_total", "WebSocket connections accepted."),
		"rejected":  d("connections_rejected_total", "Connection attempts refused, by reason.", "reason"),
		"closed":    d("connections_closed_total", "Connections the server closed, by close code.", "code"),
		"bytesIn":   d("received_bytes_total", "WebSocket message bytes read (payload bytes, after any decompression)."),
		"bytesOut":  d("sent_bytes_total", "WebSocket message bytes written (payload bytes, before any compression)."),
		"framesIn":  d("received_messages_total", "WebSocket messages read."),
		"framesOut": d("sent_messages_total", "WebSocket messages written."),
		"invalid":   d("invalid_frames_total", "Binary messages the wire pipeline rejected."),
		"drains":    d("drains_total", "Drain rounds started."),
		"queueHW":   d("send_queue_high_water_bytes", "Largest send queue any connection reached."),
		"draining":  d("draining", "1 while the server is draining."),
		// Exchange.
		"peers":       d("peers", "Peers known to the exchange."),
		"docs":        d("documents", "Documents held by the exchange."),
		"docsMode":    d("documents_by_mode", "Documents held by the exchange, by mode (interpret, replicate, deferred, suspended).", "mode"),
		"msgsOut":     d("exchange_messages_sent_total", "Protocol messages the exchange handed to channels (one per channel)."),
		"msgsIn":      d("exchange_messages_received_total", "Protocol messages the exchange received."),
		"offersOut":   d("offers_sent_total", "Offers sent to peers."),
		"offerBOut":   d("offer_bytes_sent_total", "Payload bytes of offers sent."),
		"offersIn":    d("offers_received_total", "Offers received from peers."),
		"offerBIn":    d("offer_bytes_received_total", "Payload bytes of offers received."),
		"storeErrors": d("store_errors_total", "Failed store operations the exchange saw (loads, writes, deletes)."),
		"unhealthy":   d("store_unhealthy", "Documents x stores whose writes are failing (retried) or broken."),
		"syncStates":  d("peer_doc_states", "Per-peer document sync states, by state (pending, synced, vacant).", "state"),
		"inboundQ":    d("exchange_inbound_queue", "Inputs waiting for the exchange's dispatcher."),
	}
	return c
}

// SetExchange names the exchange whose counters are exported. Call it
// once the exchange exists (it takes the collector's hooks when it is
// built).
func (c *Collector) SetExchange(ex *exchange.Exchange) { c.ex.Store(ex) }

// OnMessage counts one protocol message; pass it as
// exchange.Options.OnMessage (or call it from yours).
func (c *Collector) OnMessage(e exchange.MessageEvent) {
	dir := "in"
	if e.Outbound {
		dir = "out"
	}
	c.msgs.WithLabelValues(dir, e.Msg.MsgType().String()).Inc()
}

// Transport returns t with its frames counted (kyneta_frames_total and
// kyneta_frame_bytes_total). Give the result to the exchange in place of
// t; t keeps serving its own role (an http.Handler, say) unchanged.
func (c *Collector) Transport(t transport.Transport) transport.Transport {
	typ := t.Type()
	return TraceFrames(t, func(f transport.FrameTrace) {
		dir := "out"
		if f.Dir == transport.DirReceive {
			dir = "in"
		}
		kind := "complete"
		if f.Kind == wire.KindFragment {
			kind = "fragment"
		}
		c.frames.WithLabelValues(typ, dir, kind).Inc()
		c.frameB.WithLabelValues(typ, dir).Add(float64(f.Size))
	})
}

// AddClient exports a WebSocket client transport's status and status
// changes under its transport id. The returned function stops that.
func (c *Collector) AddClient(cl *client.Client) (remove func()) {
	id := cl.ID()
	set := func(st client.Status) {
		for s := client.StatusDisconnected; s <= client.StatusReconnecting; s++ {
			v := 0.0
			if s == st {
				v = 1
			}
			c.clientSt.WithLabelValues(id, s.String()).Set(v)
		}
	}
	set(cl.State().Status)
	unsub := cl.Subscribe(func(from, to client.State) {
		if from.Status != to.Status {
			c.clientTr.WithLabelValues(id, to.Status.String()).Inc()
		}
		set(to.Status)
	})
	var once sync.Once
	remove = func() {
		once.Do(func() {
			unsub()
			c.clientsMu.Lock()
			delete(c.clients, id)
			c.clientsMu.Unlock()
			c.clientSt.DeletePartialMatch(prometheus.Labels{"client": id})
		})
	}
	c.clientsMu.Lock()
	c.clients[id] = remove
	c.clientsMu.Unlock()
	return remove
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, o := range c.own {
		o.Describe(ch)
	}
	for _, d := range c.desc {
		ch <- d
	}
}

// Collect reads the server's and exchange's counters now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, o := range c.own {
		o.Collect(ch)
	}
	gauge := func(name string, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc[name], prometheus.GaugeValue, v, l...)
	}
	counter := func(name string, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc[name], prometheus.CounterValue, float64(v), l...)
	}
	if c.srv != nil {
		s := c.srv.Stats()
		gauge("open", float64(s.Open))
		counter("accepted", s.Accepted)
		for reason, n := range s.Rejected {
			counter("rejected", n, string(reason))
		}
		for code, n := range s.Closed {
			counter("closed", n, strconv.Itoa(int(code)))
		}
		counter("bytesIn", s.BytesIn)
		counter("bytesOut", s.BytesOut)
		counter("framesIn", s.FramesIn)
		counter("framesOut", s.FramesOut)
		counter("invalid", s.InvalidFrames)
		counter("drains", s.Drains)
		gauge("queueHW", float64(s.QueueHighWaterBytes))
		gauge("draining", b2f(c.srv.IsDraining()))
	}
	if ex := c.ex.Load(); ex != nil {
		gauge("peers", float64(len(ex.Peers())))
		docs := ex.Documents()
		gauge("docs", float64(len(docs)))
		for mode, n := range docModes(docs) {
			gauge("docsMode", float64(n), mode)
		}
		es := ex.Stats()
		counter("msgsOut", es.MessagesSent)
		counter("msgsIn", es.MessagesReceived)
		counter("offersOut", es.OffersSent)
		counter("offerBOut", es.OfferBytesSent)
		counter("offersIn", es.OffersReceived)
		counter("offerBIn", es.OfferBytesReceived)
		counter("storeErrors", es.StoreErrors)
		gauge("unhealthy", float64(es.StoreUnhealthy))
		for kind, n := range es.PeerDocStates {
			gauge("syncStates", float64(n), string(kind))
		}
		gauge("inboundQ", float64(es.InboundQueue))
	}
}

// docModes counts documents by mode, every mode present (0 too), with
// suspended ones under "suspended".
func docModes(docs map[string]exchange.DocInfo) map[string]int {
	out := map[string]int{string(exchange.ModeInterpret): 0, string(exchange.ModeReplicate): 0,
		string(exchange.ModeDeferred): 0, "suspended": 0}
	for _, d := range docs {
		if d.Suspended {
			out["suspended"]++
			continue
		}
		out[string(d.Mode)]++
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sortedPeers lists the exchange's peers by id.
func sortedPeers(ex *exchange.Exchange) []Peer {
	ps := ex.Peers()
	out := make([]Peer, 0, len(ps))
	for id, p := range ps {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		out = append(out, Peer{ID: id, Name: name, Type: string(p.Type), Connected: ex.Connected(id)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// since returns the seconds elapsed on c's clock from start.
func (c *Collector) since(start time.Time) float64 { return c.clk.Now().Sub(start).Seconds() }

var _ prometheus.Collector = (*Collector)(nil)
