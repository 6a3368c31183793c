package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta/transport"
)

// Transport connects this node to the other nodes of its prefix over NATS.
// It embeds a *[transport.Base]; create it with [New] and hand it to the
// exchange (exchange.Options.Transports), which starts and stops it.
//
// Each Start connects afresh under a new instance id, so a stopped
// transport may be initialized and started again; the other nodes treat
// it as a restart.
type Transport struct {
	*transport.Base
	opts Options

	mu   sync.Mutex
	sess *session // nil unless started

	stats counters
}

var _ transport.Transport = (*Transport)(nil)

// Peer is the Meta of a NATS channel: the nodes at both ends and the link
// between them. Policies can check that a peer's establish claims the
// identity its node id implies.
type Peer struct {
	Local  string
	Remote string
	Link   string
	// Since is when the link got its channel.
	Since time.Time
}

// New returns a transport in state created. It does not connect yet.
func New(opts Options) (*Transport, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Transport{opts: o}
	t.Base = transport.NewBase(transport.BaseOptions{
		Type:    TransportType,
		ID:      TransportType + "-" + o.NodeID,
		OnStart: t.onStart,
		OnStop:  t.onStop,
		OnFlush: t.onFlush,
	})
	return t, nil
}

// NodeID returns this node's id.
func (t *Transport) NodeID() string { return t.opts.NodeID }

func newInstanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (t *Transport) onStart(ctx context.Context) error {
	s := newSession(t, newInstanceID())
	nopts := []natsgo.Option{
		natsgo.Name("kyneta node " + t.opts.NodeID),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(t.opts.ReconnectWait),
		natsgo.NoCallbacksAfterClientClose(),
		natsgo.DisconnectErrHandler(func(*natsgo.Conn, error) { t.stats.disconnects.Add(1) }),
		natsgo.ReconnectHandler(func(*natsgo.Conn) {
			t.stats.reconnects.Add(1)
			s.post(event{kind: evReconnected})
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			// Slow-consumer drops show up as sequence gaps on the links.
			t.opts.Logger.Warn("nats transport: async error", "node", t.opts.NodeID, "err", err)
		}),
	}
	if deadline, ok := ctx.Deadline(); ok {
		nopts = append(nopts, natsgo.Timeout(time.Until(deadline)))
	}
	nc, err := natsgo.Connect(t.opts.URL, append(nopts, t.opts.NATSOptions...)...)
	if err != nil {
		return newError(reasonConnect, redactURL(t.opts.URL), err)
	}
	if err := s.start(ctx, nc); err != nil {
		nc.Close()
		return newError(reasonConnect, "subscribe", err)
	}
	t.mu.Lock()
	t.sess = s
	t.mu.Unlock()
	return nil
}

func (t *Transport) onStop(ctx context.Context) error {
	t.mu.Lock()
	s := t.sess
	t.sess = nil
	t.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.stop(ctx)
}

func (t *Transport) session() *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sess
}

// onFlush waits until NATS has every frame published so far. While the
// connection is down there is nothing to wait for: nats.go holds the
// frames and sends them on reconnect, or the links reset.
func (t *Transport) onFlush(ctx context.Context) error {
	s := t.session()
	if s == nil || !s.nc.IsConnected() {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	if err := s.nc.FlushWithContext(ctx); err != nil && s.nc.IsConnected() {
		return err
	}
	return nil
}

// Stats are a transport's counters (cumulative over restarts) and current
// state, for metrics and health checks.
type Stats struct {
	// Connected reports whether the NATS connection is up.
	Connected bool
	// Peers is the number of nodes with an open link.
	Peers int
	// FramesSent and FramesReceived count wire frames on links;
	// BytesSent and BytesReceived their sizes.
	FramesSent, FramesReceived uint64
	BytesSent, BytesReceived   uint64
	// LinksOpened counts links that got a channel.
	LinksOpened uint64
	// LinkResets counts links dropped because of a sequence gap, a wire
	// error, a silent or restarted peer (not orderly closes).
	LinkResets uint64
	// Disconnects and Reconnects count NATS connection losses and
	// recoveries.
	Disconnects, Reconnects uint64
	// DuplicateNodes counts hellos from another process using this node's
	// id: a misconfiguration that breaks both nodes' links.
	DuplicateNodes uint64
}

type counters struct {
	framesSent, framesReceived atomic.Uint64
	bytesSent, bytesReceived   atomic.Uint64
	linksOpened, linkResets    atomic.Uint64
	disconnects, reconnects    atomic.Uint64
	duplicates                 atomic.Uint64
}

// Stats returns the counters and the current state.
func (t *Transport) Stats() Stats {
	st := Stats{
		FramesSent:     t.stats.framesSent.Load(),
		FramesReceived: t.stats.framesReceived.Load(),
		BytesSent:      t.stats.bytesSent.Load(),
		BytesReceived:  t.stats.bytesReceived.Load(),
		LinksOpened:    t.stats.linksOpened.Load(),
		LinkResets:     t.stats.linkResets.Load(),
		Disconnects:    t.stats.disconnects.Load(),
		Reconnects:     t.stats.reconnects.Load(),
		DuplicateNodes: t.stats.duplicates.Load(),
	}
	if s := t.session(); s != nil {
		st.Connected = s.nc.IsConnected()
	}
	st.Peers = len(t.Peers())
	return st
}

// Peers returns the links this node has open, one per other node (the
// channels' Meta), by remote node id.
func (t *Transport) Peers() []Peer {
	var out []Peer
	for _, ch := range t.Channels() {
		if p, ok := ch.Meta.(Peer); ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Peer) int {
		switch {
		case a.Remote < b.Remote:
			return -1
		case a.Remote > b.Remote:
			return 1
		}
		return 0
	})
	return out
}
