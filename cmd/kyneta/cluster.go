package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/postgres"
	"github.com/kyneta-go/kyneta/transport"
	natstransport "github.com/kyneta-go/kyneta/transport/nats"
)

// Several nodes (docs/cluster.md): every node keeps its documents in one
// shared PostgreSQL database and is an exchange peer of the other nodes
// over NATS. A node's id is its exchange peer id, so the NATS links and
// the exchange agree on who is who.

// clusterConfig is what serve takes for running on PostgreSQL and NATS.
type clusterConfig struct {
	store  string // PostgreSQL URL; empty: the SQLite file of --data
	nats   string // NATS URL(s); empty: a single node
	nodeID string
	prefix string // NATS subject prefix
}

// clusterEnv maps each flag to the environment variable that sets it when
// the flag is not on the command line.
var clusterEnv = map[string]string{
	"store":          "KYNETA_STORE",
	"cluster":        "KYNETA_CLUSTER",
	"node-id":        "KYNETA_NODE_ID",
	"cluster-prefix": "KYNETA_CLUSTER_PREFIX",
}

// clusterFlags binds the cluster flags to c.
func clusterFlags(fs *flag.FlagSet, c *clusterConfig) {
	fs.StringVar(&c.store, "store", "", "PostgreSQL URL (postgres://…) to keep documents in instead of --data; env KYNETA_STORE")
	fs.StringVar(&c.nats, "cluster", "", "NATS URL(s) (nats://…, comma-separated) to replicate with other nodes over; needs --store and --node-id; env KYNETA_CLUSTER")
	fs.StringVar(&c.nodeID, "node-id", "", "this node's id in the cluster, unique and stable (letters, digits, - and _); it is also the peer id; env KYNETA_NODE_ID")
	fs.StringVar(&c.prefix, "cluster-prefix", "kyneta", "NATS subject prefix shared by the nodes of one cluster; env KYNETA_CLUSTER_PREFIX")
}

// resolveCluster fills the flags not given on the command line from the
// environment and checks the combination. peerID is serve's --peer-id: a
// cluster node's peer id is its node id.
func resolveCluster(fs *flag.FlagSet, c *clusterConfig, peerID *string, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, env := range clusterEnv {
		if v := getenv(env); v != "" && !given[name] {
			if err := fs.Set(name, v); err != nil {
				return &usageError{fmt.Sprintf("serve: bad %s: %v", env, err)}
			}
		}
	}
	if c.store != "" && !strings.HasPrefix(c.store, "postgres://") && !strings.HasPrefix(c.store, "postgresql://") {
		return &usageError{fmt.Sprintf("serve: --store %q: want a postgres:// URL", redactDSN(c.store))}
	}
	if c.nats == "" {
		if c.nodeID != "" {
			*peerID = c.nodeID
		}
		return nil
	}
	switch {
	case c.store == "":
		return &usageError{"serve: --cluster needs --store postgres://… (the nodes share one database)"}
	case c.nodeID == "":
		return &usageError{"serve: --cluster needs --node-id"}
	case given["peer-id"] && *peerID != c.nodeID:
		return &usageError{fmt.Sprintf("serve: --peer-id %q differs from --node-id %q; a cluster node's peer id is its node id", *peerID, c.nodeID)}
	}
	*peerID = c.nodeID
	return nil
}

// redactDSN hides a password in a connection URL for logs and errors.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "(connection string)"
}

// cluster is what serve runs besides its WebSocket server when it keeps
// its data in PostgreSQL, and replicates over NATS when nats is set. A nil
// *cluster is a single node on SQLite: every method then does nothing.
type cluster struct {
	cfg   clusterConfig
	pg    *postgres.Store
	store store.Store              // pg as the nodes share it
	nats  *natstransport.Transport // nil without --cluster
}

// openCluster opens the PostgreSQL store (nil, nil without --store) and
// prepares the NATS transport, which the exchange starts.
func openCluster(ctx context.Context, cfg clusterConfig, bound []replica.Bound, log *slog.Logger) (*cluster, error) {
	if cfg.store == "" {
		return nil, nil
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pg, err := postgres.Open(octx, cfg.store, postgres.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redactDSN(cfg.store), err)
	}
	c := &cluster{cfg: cfg, pg: pg, store: pg.Shared(bound...)}
	if cfg.nats != "" {
		c.nats, err = natstransport.New(natstransport.Options{URL: cfg.nats, NodeID: cfg.nodeID, Prefix: cfg.prefix, Logger: log})
		if err != nil {
			_ = pg.Close()
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	log.Info("cluster", "store", redactDSN(cfg.store), "nats", cfg.nats, "node", cfg.nodeID, "prefix", cfg.prefix)
	return c, nil
}

// storeOr returns the cluster's store, or the single node's.
func (c *cluster) storeOr(single func() (store.Store, error)) (store.Store, error) {
	if c == nil {
		return single()
	}
	return c.store, nil
}

// transports adds the NATS transport to the server's.
func (c *cluster) transports(ts ...transport.Transport) []transport.Transport {
	if c != nil && c.nats != nil {
		ts = append(ts, c.nats)
	}
	return ts
}

// policies returns serve's policies fitted for a cluster: their connect
// gates, written for WebSocket clients, abstain on NATS channels, and a
// cluster gate admits a NATS channel only when the peer's establish
// claims the node id the link was opened with (a process on the cluster's
// subjects cannot speak for another node).
func (c *cluster) policies(ps ...exchange.Policy) []exchange.Policy {
	if c == nil || c.nats == nil {
		return ps
	}
	out := make([]exchange.Policy, 0, len(ps)+1)
	for _, p := range ps {
		if gate := p.CanConnect; gate != nil {
			p.CanConnect = func(req exchange.ConnectRequest) exchange.Verdict {
				if req.TransportType == natstransport.TransportType {
					return exchange.Abstain
				}
				return gate(req)
			}
		}
		out = append(out, p)
	}
	return append(out, exchange.Policy{Name: "cluster", CanConnect: c.canConnect})
}

func (c *cluster) canConnect(req exchange.ConnectRequest) exchange.Verdict {
	if req.TransportType != natstransport.TransportType {
		return exchange.Abstain
	}
	if p, ok := req.Meta.(natstransport.Peer); ok && p.Local == c.cfg.nodeID &&
		p.Remote != "" && req.Identity.PeerID == p.Remote {
		return exchange.Allow
	}
	return exchange.Deny
}

// errNotReady says why a node should not take traffic.
var errNotReady = errors.New("not ready")

// ready checks the database answers and the node is connected to NATS.
func (c *cluster) ready(ctx context.Context) error {
	if c == nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.pg.Ping(pctx); err != nil {
		return fmt.Errorf("%w: store unreachable: %v", errNotReady, err)
	}
	if c.nats != nil && !c.nats.Stats().Connected {
		return fmt.Errorf("%w: not connected to NATS", errNotReady)
	}
	return nil
}

// register adds the cluster's metrics.
func (c *cluster) register(reg *prometheus.Registry) {
	if c != nil {
		reg.MustRegister(newClusterCollector(c))
	}
}
