package main

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
)

// collector reads the server's and exchange's own counters at scrape time,
// so the hot path keeps no second set of counters.
type collector struct {
	srv *server.Server
	ex  *exchange.Exchange

	open, accepted, rejected, closed            *prometheus.Desc
	bytesIn, bytesOut, framesIn, framesOut      *prometheus.Desc
	invalidFrames, drains, queueHW, peers, docs *prometheus.Desc
	offersOut, offerBytesOut, offersIn          *prometheus.Desc
	offerBytesIn, storeErrors, storeUnhealthy   *prometheus.Desc
}

func newCollector(srv *server.Server, ex *exchange.Exchange) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kyneta_"+name, help, labels, nil)
	}
	return &collector{
		srv:            srv,
		ex:             ex,
		open:           d("connections_open", "WebSocket connections open now."),
		accepted:       d("connections_accepted_total", "WebSocket connections accepted."),
		rejected:       d("connections_rejected_total", "Connection attempts refused, by reason.", "reason"),
		closed:         d("connections_closed_total", "Connections the server closed, by close code.", "code"),
		bytesIn:        d("received_bytes_total", "WebSocket message bytes read."),
		bytesOut:       d("sent_bytes_total", "WebSocket message bytes written."),
		framesIn:       d("received_messages_total", "WebSocket messages read."),
		framesOut:      d("sent_messages_total", "WebSocket messages written."),
		invalidFrames:  d("invalid_frames_total", "Binary messages the wire pipeline rejected."),
		drains:         d("drains_total", "Drain rounds started."),
		queueHW:        d("send_queue_high_water_bytes", "Largest send queue any connection reached."),
		peers:          d("peers", "Peers known to the exchange."),
		docs:           d("documents", "Documents held by the exchange."),
		offersOut:      d("offers_sent_total", "Offers sent to peers."),
		offerBytesOut:  d("offer_bytes_sent_total", "Payload bytes of offers sent."),
		offersIn:       d("offers_received_total", "Offers received from peers."),
		offerBytesIn:   d("offer_bytes_received_total", "Payload bytes of offers received."),
		storeErrors:    d("store_errors_total", "Failed store operations."),
		storeUnhealthy: d("store_unhealthy", "Documents x stores whose writes are failing (retried) or broken."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.accepted, c.rejected, c.closed, c.bytesIn, c.bytesOut,
		c.framesIn, c.framesOut, c.invalidFrames, c.drains, c.queueHW, c.peers, c.docs,
		c.offersOut, c.offerBytesOut, c.offersIn, c.offerBytesIn, c.storeErrors, c.storeUnhealthy} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.srv.Stats()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge(c.open, float64(s.Open))
	counter(c.accepted, s.Accepted)
	for reason, n := range s.Rejected {
		counter(c.rejected, n, string(reason))
	}
	for code, n := range s.Closed {
		counter(c.closed, n, strconv.Itoa(int(code)))
	}
	counter(c.bytesIn, s.BytesIn)
	counter(c.bytesOut, s.BytesOut)
	counter(c.framesIn, s.FramesIn)
	counter(c.framesOut, s.FramesOut)
	counter(c.invalidFrames, s.InvalidFrames)
	counter(c.drains, s.Drains)
	gauge(c.queueHW, float64(s.QueueHighWaterBytes))
	gauge(c.peers, float64(len(c.ex.Peers())))
	gauge(c.docs, float64(len(c.ex.Documents())))
	es := c.ex.Stats()
	counter(c.offersOut, es.OffersSent)
	counter(c.offerBytesOut, es.OfferBytesSent)
	counter(c.offersIn, es.OffersReceived)
	counter(c.offerBytesIn, es.OfferBytesReceived)
	counter(c.storeErrors, es.StoreErrors)
	gauge(c.storeUnhealthy, float64(es.StoreUnhealthy))
}
