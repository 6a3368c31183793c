package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/sqlite"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/wire"
)

type serveConfig struct {
	addr        string
	data        string
	tokenFile   string
	origins     string
	peerID      string
	drainWindow time.Duration
	idleTimeout time.Duration
	maxConns    int
	logLevel    string
	cluster     clusterConfig
}

// serveFlags binds the serve flags to c.
func serveFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.addr, "addr", ":8080", "listen address")
	fs.StringVar(&c.data, "data", "./kyneta.db", "SQLite database file")
	fs.StringVar(&c.tokenFile, "token-file", "", "file of accepted bearer tokens, one per line; empty: no auth")
	fs.StringVar(&c.origins, "origins", "", "comma-separated Origin host patterns allowed besides the server's own host")
	fs.StringVar(&c.peerID, "peer-id", "kyneta-relay", "this relay's peer id (stable across restarts)")
	fs.DurationVar(&c.drainWindow, "drain-window", 5*time.Second, "how long connections are spread over when draining")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 90*time.Second, "close connections silent this long (0 disables)")
	fs.IntVar(&c.maxConns, "max-connections", 10000, "refuse connections above this count with 1013 (0: no cap)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	clusterFlags(fs, &c.cluster)
	return fs
}

func parseServe(args []string, _ io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := serveFlags(&c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, flagHelp(fs, "kyneta serve [flags]")
		}
		return c, &usageError{"serve: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Sprintf("serve: unexpected argument %q", fs.Arg(0))}
	}
	return c, resolveCluster(fs, &c.cluster, &c.peerID, os.Getenv)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, &usageError{fmt.Sprintf("bad --log-level %q", level)}
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// loadTokens reads one token per line; blank lines and # comments are skipped.
func loadTokens(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	var tokens []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tokens = append(tokens, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("token file %s holds no token", path)
	}
	return tokens, nil
}

// tokenPrincipal is what an authenticated connection carries: which token
// it presented (by position, never the secret itself).
type tokenPrincipal struct{ Index int }

// bearerAuth accepts "Authorization: Bearer T" (any case of "Bearer") or,
// for browsers, which cannot set headers on a WebSocket, the "token" query
// parameter. Refusals are 401 with an RFC 6750 challenge.
func bearerAuth(tokens []string) func(*http.Request) (server.Principal, error) {
	return func(r *http.Request) (server.Principal, error) {
		got, ok := server.BearerToken(r)
		if !ok {
			got = r.URL.Query().Get("token")
		}
		if got == "" {
			return nil, &server.AuthError{Status: http.StatusUnauthorized, Challenge: `Bearer realm="kyneta"`,
				Err: errors.New("missing bearer token")}
		}
		for i, t := range tokens {
			if subtle.ConstantTimeCompare([]byte(got), []byte(t)) == 1 {
				return tokenPrincipal{Index: i}, nil
			}
		}
		return nil, &server.AuthError{Status: http.StatusUnauthorized, Challenge: `Bearer realm="kyneta", error="invalid_token"`,
			Err: errors.New("unknown bearer token")}
	}
}

func serve(ctx context.Context, args []string, _ io.Writer, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel)
	if err != nil {
		return err
	}
	srvOpts := server.Options{
		IdleTimeout:    cfg.idleTimeout,
		MaxConnections: cfg.maxConns,
		Logger:         log,
		Drain:          server.DrainOptions{Window: cfg.drainWindow},
	}
	if cfg.origins != "" {
		for _, o := range strings.Split(cfg.origins, ",") {
			if o = strings.TrimSpace(o); o != "" {
				srvOpts.OriginPatterns = append(srvOpts.OriginPatterns, o)
			}
		}
	}
	auth := cfg.tokenFile != ""
	if auth {
		tokens, err := loadTokens(cfg.tokenFile)
		if err != nil {
			return err
		}
		srvOpts.Authenticate = bearerAuth(tokens)
	}
	srv, err := server.New(srvOpts)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	defer ln.Close()

	cl, err := openCluster(ctx, cfg.cluster, relayReplicas(), log)
	if err != nil {
		return err
	}
	st, err := cl.storeOr(func() (store.Store, error) { return sqlite.Open(ctx, cfg.data, sqlite.Options{Logger: log}) })
	if err != nil {
		return fmt.Errorf("open store %s: %w", cfg.data, err)
	}

	relay := exchange.Policy{
		Name: "relay",
		// A relay holds whatever it is offered, headless, and serves it on.
		Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() },
	}
	if auth {
		// Every connection passed the token check before the upgrade; a
		// channel without a principal did not come through that door.
		relay.CanConnect = func(req exchange.ConnectRequest) exchange.Verdict {
			if info, ok := req.Meta.(server.ConnInfo); ok {
				if _, ok := info.Principal.(tokenPrincipal); ok {
					return exchange.Allow
				}
			}
			return exchange.Deny
		}
	}
	ex, err := exchange.New(exchange.Options{
		PeerID:     cfg.peerID,
		PeerType:   wire.PeerService,
		Transports: cl.transports(srv),
		Stores:     []store.Store{st},
		Policies:   cl.policies(relay),
		Replicas:   relayReplicas(),
		Logger:     log,
	})
	if err != nil {
		st.Close()
		return err
	}

	var ready atomic.Bool
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(srv, ex))
	cl.register(reg)
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() || srv.IsDraining() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if n := ex.Stats().StoreUnhealthy; n > 0 {
			// Writes are held in memory and retried; acknowledging new
			// ones would promise what the disk cannot keep.
			http.Error(w, fmt.Sprintf("store failing for %d document(s)", n), http.StatusServiceUnavailable)
			return
		}
		if err := cl.ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	ready.Store(true)
	log.Info("serving", "addr", ln.Addr().String(), "data", cfg.data, "auth", auth, "peer", cfg.peerID)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("signal received; draining")
	case serveErr = <-served:
		log.Error("http server stopped", "err", serveErr)
	}
	ready.Store(false)

	// Drain the WebSocket peers first (they reconnect elsewhere), then stop
	// the exchange, which flushes pending writes and closes the store.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.drainWindow+15*time.Second)
	defer cancel()
	res, derr := srv.Drain(shutdownCtx, server.DrainOptions{})
	log.Info("drained", "closed", res.Closed, "remaining", res.Remaining, "timed_out", res.TimedOut, "err", errString(derr))
	if err := ex.Shutdown(shutdownCtx); err != nil {
		log.Error("exchange shutdown", "err", err)
		serveErr = errors.Join(serveErr, err)
	}
	if err := hs.Shutdown(shutdownCtx); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	log.Info("stopped")
	return serveErr
}

// relayReplicas are the factories the relay holds documents with: the
// built-in interpretable types, and opaque logs for the CRDT formats of
// TypeScript peers (Loro, Yjs), which it stores and replays without
// interpreting them.
func relayReplicas() []replica.Bound {
	return []replica.Bound{
		{Factory: replica.NewPlainFactory(replica.PlainOptions{}), Mode: wire.Authoritative},
		{Factory: replica.NewLWWFactory(replica.LWWOptions{}), Mode: wire.Ephemeral},
		{Factory: replica.NewStateFactory(replica.StateOptions{}), Mode: wire.Ephemeral},
		{Factory: replica.NewOpaqueFactory(wire.ReplicaType{Name: "loro", Major: 1}, replica.OpaqueOptions{}), Mode: wire.Collaborative},
		{Factory: replica.NewOpaqueFactory(wire.ReplicaType{Name: "yjs", Major: 1}, replica.OpaqueOptions{}), Mode: wire.Collaborative},
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
