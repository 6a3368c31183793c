package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// clusterCollector reads the NATS transport's counters and checks the
// database at scrape time. Every sample carries the node id, so one
// dashboard can show all the nodes of a cluster side by side.
type clusterCollector struct {
	c *cluster

	storeUp, natsUp, peers, peer                     *prometheus.Desc
	framesOut, framesIn, bytesOut, bytesIn           *prometheus.Desc
	linksOpened, linkResets, disconnects, reconnects *prometheus.Desc
	duplicateNodes                                   *prometheus.Desc
}

func newClusterCollector(c *cluster) *clusterCollector {
	node := prometheus.Labels{"node": c.cfg.nodeID}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kyneta_cluster_"+name, help, labels, node)
	}
	return &clusterCollector{
		c:              c,
		storeUp:        d("store_up", "1 when the PostgreSQL store answered a ping at scrape time."),
		natsUp:         d("nats_connected", "1 while the NATS connection is up (0 for a node without --cluster)."),
		peers:          d("peers", "Other nodes this node has an open link with."),
		peer:           d("peer_link_age_seconds", "Age of the open link to each other node.", "peer"),
		framesOut:      d("sent_messages_total", "Wire frames sent to other nodes."),
		framesIn:       d("received_messages_total", "Wire frames received from other nodes."),
		bytesOut:       d("sent_bytes_total", "Bytes of the wire frames sent to other nodes."),
		bytesIn:        d("received_bytes_total", "Bytes of the wire frames received from other nodes."),
		linksOpened:    d("links_opened_total", "Links to other nodes that got a channel."),
		linkResets:     d("link_resets_total", "Links dropped because of a lost frame, a wire error, a silent or restarted peer; each is followed by a catch-up."),
		disconnects:    d("nats_disconnects_total", "NATS connection losses."),
		reconnects:     d("nats_reconnects_total", "NATS reconnections."),
		duplicateNodes: d("duplicate_node_hellos_total", "Hellos from another process using this node's id (a misconfiguration)."),
	}
}

func (k *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{k.storeUp, k.natsUp, k.peers, k.peer, k.framesOut, k.framesIn,
		k.bytesOut, k.bytesIn, k.linksOpened, k.linkResets, k.disconnects, k.reconnects, k.duplicateNodes} {
		ch <- d
	}
}

func (k *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	up := 0.0
	if k.c.pg.Ping(ctx) == nil {
		up = 1
	}
	gauge(k.storeUp, up)
	if k.c.nats == nil {
		gauge(k.natsUp, 0)
		gauge(k.peers, 0)
		return
	}
	s := k.c.nats.Stats()
	connected := 0.0
	if s.Connected {
		connected = 1
	}
	gauge(k.natsUp, connected)
	gauge(k.peers, float64(s.Peers))
	now := time.Now()
	seen := map[string]bool{}
	for _, p := range k.c.nats.Peers() {
		if !seen[p.Remote] { // one sample per label value
			seen[p.Remote] = true
			gauge(k.peer, now.Sub(p.Since).Seconds(), p.Remote)
		}
	}
	counter(k.framesOut, s.FramesSent)
	counter(k.framesIn, s.FramesReceived)
	counter(k.bytesOut, s.BytesSent)
	counter(k.bytesIn, s.BytesReceived)
	counter(k.linksOpened, s.LinksOpened)
	counter(k.linkResets, s.LinkResets)
	counter(k.disconnects, s.Disconnects)
	counter(k.reconnects, s.Reconnects)
	counter(k.duplicateNodes, s.DuplicateNodes)
}
