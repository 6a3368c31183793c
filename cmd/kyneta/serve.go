package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/sqlite"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/metrics"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

type serveConfig struct {
	addr             string
	data             string
	peerID           string
	insecure         bool
	tokenFile        string
	metricsTokenFile string
	tlsCert, tlsKey  string
	reloadInterval   time.Duration
	origins          string

	// Limits: every one the server and exchange have.
	maxConns             int
	maxConnsPerIP        int
	maxConnsPerPrincipal int
	maxMessageSize       int64
	fragmentThreshold    int
	maxReassembly        int
	reassemblyBudget     int64
	maxAliases           int
	maxPresentDocs       int
	maxInboundQueue      int
	maxDocsPerPeer       int
	maxDocsPerPrincipal  int
	sendQueueMessages    int
	sendQueueBytes       int
	messageRate          float64
	messageBurst         int
	idleTimeout          time.Duration
	writeTimeout         time.Duration
	closeTimeout         time.Duration
	drainWindow          time.Duration
	drainDeadline        time.Duration
	departureTimeout     time.Duration
	readBuffer           int
	writeBuffer          int

	compression          string
	compressionThreshold int

	dashboard     bool
	statsInterval time.Duration
	trace         bool
	logLevel      string
	logFormat     string

	cluster clusterConfig
}

// serveFlags binds the serve flags to c.
func serveFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.addr, "addr", ":8080", "listen address; without --token-file an address with no host listens on 127.0.0.1 only")
	fs.StringVar(&c.data, "data", "./kyneta.db", "SQLite database file")
	fs.StringVar(&c.peerID, "peer-id", "kyneta-relay", "this relay's peer id (stable across restarts)")
	fs.BoolVar(&c.insecure, "insecure", false, "allow serving without --token-file on a non-loopback address")
	fs.StringVar(&c.tokenFile, "token-file", "", "file of accepted bearer tokens, one per line, each optionally followed by the peer ids it may claim; reloaded on SIGHUP and on change; empty: no auth")
	fs.StringVar(&c.metricsTokenFile, "metrics-token-file", "", "file of tokens /metrics, /stats and /ui require (same format; peer ids ignored); empty: open")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate chain (PEM); with --tls-key serves HTTPS and wss://; reloaded on SIGHUP and on change")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key (PEM) of --tls-cert")
	fs.DurationVar(&c.reloadInterval, "reload-interval", 5*time.Second, "how often token and certificate files are checked for changes (0: only on SIGHUP)")
	fs.StringVar(&c.origins, "origins", "", "comma-separated Origin host patterns allowed besides the server's own host")

	fs.IntVar(&c.maxConns, "max-connections", 10000, "refuse connections above this count with 1013 (0: no cap)")
	fs.IntVar(&c.maxConnsPerIP, "max-connections-per-ip", netdefault.MaxConnectionsPerIP, "cap on open connections from one client address, refused with HTTP 429 (negative: no cap; behind a proxy every client shares its address)")
	fs.IntVar(&c.maxConnsPerPrincipal, "max-connections-per-token", netdefault.MaxConnectionsPerPrincipal, "cap on open connections per token, refused with HTTP 429 (negative: no cap)")
	fs.Int64Var(&c.maxMessageSize, "max-message-size", netdefault.MaxMessageSize, "largest WebSocket message read, in bytes; larger closes with 1009")
	fs.IntVar(&c.fragmentThreshold, "fragment-threshold", netdefault.FragmentThreshold, "outgoing payloads above this many bytes are fragmented (-1: never)")
	fs.IntVar(&c.maxReassembly, "max-reassembly-size", 50<<20, "bytes of incomplete fragmented messages one connection may hold")
	fs.Int64Var(&c.reassemblyBudget, "reassembly-budget", netdefault.ReassemblyBudget, "bytes of incomplete fragmented messages all connections together may hold; over it the connection is closed with 1013 (negative: no budget)")
	fs.IntVar(&c.maxAliases, "max-aliases", 100_000, "document (and schema) aliases one connection may define; more closes it with 1008")
	fs.IntVar(&c.maxPresentDocs, "max-present-docs", 50_000, "entries one present may list; more closes the connection with 1009")
	fs.IntVar(&c.maxInboundQueue, "max-inbound-queue", 10_000, "inputs waiting for the exchange before connections stop being read (negative: no bound)")
	fs.IntVar(&c.maxDocsPerPeer, "max-docs-per-peer", 100_000, "documents one peer may make the relay hold by announcing them; beyond, vacant (negative: no cap)")
	fs.IntVar(&c.maxDocsPerPrincipal, "max-docs-per-token", 1_000_000, "documents the peers of one token together may make the relay hold by announcing them, over its life; beyond, vacant (negative: no cap)")
	fs.IntVar(&c.sendQueueMessages, "send-queue-messages", netdefault.SendQueueMessages, "messages one connection may have queued; more closes it with 4000")
	fs.IntVar(&c.sendQueueBytes, "send-queue-bytes", netdefault.SendQueueBytes, "bytes one connection may have queued; more closes it with 4000")
	fs.Float64Var(&c.messageRate, "message-rate", 0, "incoming messages per second allowed per connection; more closes it with 1008 (0: no limit)")
	fs.IntVar(&c.messageBurst, "message-burst", 0, "burst allowed above --message-rate (0: max(1, rate))")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 90*time.Second, "close connections silent this long (0 disables)")
	fs.DurationVar(&c.writeTimeout, "write-timeout", netdefault.WriteTimeout, "a socket accepting nothing this long is cut off")
	fs.DurationVar(&c.closeTimeout, "close-timeout", netdefault.CloseTimeout, "bound on a connection's closing handshake")
	fs.DurationVar(&c.drainWindow, "drain-window", 5*time.Second, "how long connections are spread over when draining")
	fs.DurationVar(&c.drainDeadline, "drain-deadline", 0, "bound on a whole drain (0: drain window + 5s)")
	fs.DurationVar(&c.departureTimeout, "departure-timeout", 30*time.Second, "how long a disconnected peer is remembered before it departs (0: at once, negative: never)")
	fs.IntVar(&c.readBuffer, "read-buffer", netdefault.ReadBufferSize, "read buffer per connection, in bytes")
	fs.IntVar(&c.writeBuffer, "write-buffer", netdefault.WriteBufferSize, "write buffer per connection, in bytes")

	fs.StringVar(&c.compression, "compression", "off", "permessage-deflate for peers that offer it: off, context-takeover or no-context-takeover")
	fs.IntVar(&c.compressionThreshold, "compression-threshold", 0, "smallest message compressed, in bytes (0: 512, or 128 with context takeover)")

	fs.BoolVar(&c.dashboard, "dashboard", true, "serve the live stats feed at /stats and the dashboard at /ui")
	fs.DurationVar(&c.statsInterval, "stats-interval", time.Second, "interval of the /stats feed")
	fs.BoolVar(&c.trace, "trace", false, "log every protocol message and wire frame (at debug level)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "json or text")
	clusterFlags(fs, &c.cluster)
	withEnvNames(fs)
	return fs
}

func parseServe(args []string, lookupEnv func(string) (string, bool)) (serveConfig, error) {
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
	if lookupEnv != nil {
		if err := applyEnv(fs, lookupEnv); err != nil {
			return c, err
		}
	}
	if _, err := compressionMode(c.compression); err != nil {
		return c, err
	}
	getenv := func(k string) string {
		if lookupEnv == nil {
			return ""
		}
		v, _ := lookupEnv(k)
		return v
	}
	return c, resolveCluster(fs, &c.cluster, &c.peerID, getenv)
}

func compressionMode(s string) (websocket.CompressionMode, error) {
	switch s {
	case "off", "":
		return websocket.CompressionDisabled, nil
	case "context-takeover":
		return websocket.CompressionContextTakeover, nil
	case "no-context-takeover":
		return websocket.CompressionNoContextTakeover, nil
	}
	return 0, &usageError{fmt.Sprintf("serve: bad --compression %q: want off, context-takeover or no-context-takeover", s)}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, &usageError{fmt.Sprintf("bad --log-level %q", level)}
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "json", "":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	}
	return nil, &usageError{fmt.Sprintf("bad --log-format %q: want json or text", format)}
}

// serverOptions maps the limits to the server's options.
func (c serveConfig) serverOptions(log *slog.Logger) server.Options {
	mode, _ := compressionMode(c.compression) // checked by parseServe
	o := server.Options{
		MaxConnections:             c.maxConns,
		MaxConnectionsPerIP:        c.maxConnsPerIP,
		MaxConnectionsPerPrincipal: c.maxConnsPerPrincipal,
		MaxMessageSize:             c.maxMessageSize,
		FragmentThreshold:          c.fragmentThreshold,
		MaxReassemblySize:          c.maxReassembly,
		ReassemblyBudget:           c.reassemblyBudget,
		MaxAliases:                 c.maxAliases,
		MaxPresentDocs:             c.maxPresentDocs,
		SendQueueMessages:          c.sendQueueMessages,
		SendQueueBytes:             c.sendQueueBytes,
		MessageRate:                c.messageRate,
		MessageBurst:               c.messageBurst,
		IdleTimeout:                c.idleTimeout,
		WriteTimeout:               c.writeTimeout,
		CloseTimeout:               c.closeTimeout,
		ReadBufferSize:             c.readBuffer,
		WriteBufferSize:            c.writeBuffer,
		CompressionMode:            mode,
		CompressionThreshold:       c.compressionThreshold,
		Logger:                     log,
		Drain:                      server.DrainOptions{Window: c.drainWindow, Deadline: c.drainDeadline},
	}
	for _, p := range strings.Split(c.origins, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.OriginPatterns = append(o.OriginPatterns, p)
		}
	}
	return o
}

func serve(ctx context.Context, args []string, _ io.Writer, stderr io.Writer) error {
	cfg, err := parseServe(args, os.LookupEnv)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	auth := cfg.tokenFile != ""
	listenAddr, exposure, defaulted, err := secureAddr(cfg.addr, auth, cfg.insecure)
	if err != nil {
		return err
	}
	srvOpts := cfg.serverOptions(log)
	reload := &reloader{log: log, clk: clock.Real}

	var toks *tokens
	if auth {
		if toks, err = openTokens(cfg.tokenFile, log); err != nil {
			return err
		}
		srvOpts.Authenticate = toks.authenticate
	}
	var metricsToks *tokens
	if cfg.metricsTokenFile != "" {
		if metricsToks, err = openTokens(cfg.metricsTokenFile, log); err != nil {
			return err
		}
	}
	var cert *certificate
	if cfg.tlsCert != "" || cfg.tlsKey != "" {
		if cert, err = openCertificate(cfg.tlsCert, cfg.tlsKey); err != nil {
			return err
		}
	}
	srv, err := server.New(srvOpts)
	if err != nil {
		return &usageError{"serve: " + err.Error()}
	}

	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listenAddr, err)
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

	m := metrics.New(metrics.Options{Server: srv})
	relay := exchange.Policy{
		Name: "relay",
		// A relay holds whatever it is offered, headless, and serves it on.
		Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() },
	}
	if toks != nil {
		relay.CanConnect = toks.canConnect
	}
	var tr transport.Transport = m.Transport(srv)
	onMessage := m.OnMessage
	if cfg.trace {
		tr = metrics.TraceFrames(tr, func(f transport.FrameTrace) {
			log.Debug("frame", "dir", string(f.Dir), "kind", f.Kind.String(), "seq", f.Seq, "index", f.Index, "total", f.Total, "size", f.Size)
		})
		onMessage = func(e exchange.MessageEvent) {
			m.OnMessage(e)
			dir := "in"
			if e.Outbound {
				dir = "out"
			}
			log.Debug("message", "dir", dir, "type", e.Msg.MsgType().String(), "peer", e.Peer, "channel", uint64(e.Channel))
		}
	}
	departure := cfg.departureTimeout
	switch {
	case departure == 0:
		departure = exchange.DepartImmediately
	case departure < 0:
		departure = exchange.DepartNever
	}
	ex, err := exchange.New(exchange.Options{
		PeerID:              cfg.peerID,
		PeerType:            wire.PeerService,
		Transports:          cl.transports(tr),
		Stores:              []store.Store{m.Store(st)},
		Policies:            cl.policies(relay),
		Replicas:            relayReplicas(),
		Logger:              log,
		OnMessage:           onMessage,
		DepartureTimeout:    departure,
		MaxInboundQueue:     cfg.maxInboundQueue,
		MaxDocsPerPeer:      cfg.maxDocsPerPeer,
		MaxDocsPerPrincipal: cfg.maxDocsPerPrincipal,
	})
	if err != nil {
		st.Close()
		return err
	}
	m.SetExchange(ex)

	if toks != nil {
		reload.add("tokens", func(trigger string) error {
			n, revoked, err := toks.reload()
			if err != nil {
				return err
			}
			closed := 0
			if len(revoked) > 0 {
				gone := make(map[string]bool, len(revoked))
				for _, id := range revoked {
					gone[id] = true
				}
				closed, _ = srv.CloseConnections(func(i transport.ConnInfo) bool {
					p, ok := i.Principal.(tokenPrincipal)
					return ok && gone[p.ID]
				}, websocket.StatusPolicyViolation, "Token revoked")
			}
			log.Info("tokens reloaded", "file", cfg.tokenFile, "tokens", n, "revoked", len(revoked), "closed", closed, "trigger", trigger)
			return nil
		}, cfg.tokenFile)
	}
	if metricsToks != nil {
		reload.add("metrics tokens", func(trigger string) error {
			n, _, err := metricsToks.reload()
			if err == nil {
				log.Info("metrics tokens reloaded", "file", cfg.metricsTokenFile, "tokens", n, "trigger", trigger)
			}
			return err
		}, cfg.metricsTokenFile)
	}
	if cert != nil {
		reload.add("certificate", func(trigger string) error {
			c, err := cert.reload()
			if err == nil {
				log.Info("certificate reloaded", append(certAttrs(c), "trigger", trigger)...)
			}
			return err
		}, cfg.tlsCert, cfg.tlsKey)
	}

	var ready atomic.Bool
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	if cert != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kyneta_tls_certificate_expiry_timestamp_seconds",
			Help: "When the TLS certificate in use expires (Unix time)."}, func() float64 {
			return float64(cert.cur.Load().Leaf.NotAfter.Unix())
		}))
	}
	observe := func(h http.Handler) http.Handler {
		if metricsToks != nil {
			return metricsToks.guard(h)
		}
		return h
	}
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
	mux.Handle("/metrics", observe(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	if cfg.dashboard {
		mux.Handle("/stats", observe(m.StatsHandler(cfg.statsInterval)))
		mux.Handle("/ui", observe(metrics.Dashboard("/stats")))
	}

	// Long-lived requests (the stats feed) end with baseCtx, before the
	// HTTP server waits for its handlers.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return baseCtx },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	var serveLn net.Listener = ln
	if cert != nil {
		serveLn = tlsListener(ln, cert)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(serveLn) }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloadCtx, stopReload := context.WithCancel(ctx)
	reloadDone := make(chan struct{})
	go func() {
		defer close(reloadDone)
		reload.run(reloadCtx, cfg.reloadInterval, hup)
	}()
	defer func() { stopReload(); <-reloadDone }()

	ready.Store(true)
	if defaulted {
		log.Warn("no --token-file: listening on loopback only; give --token-file to serve the network, or --insecure to serve it without authentication", "addr", ln.Addr().String())
	}
	if exposure == exposeInsecure {
		log.Warn("serving without authentication on a non-loopback address (--insecure): anyone who can reach it can read and write every document", "addr", ln.Addr().String())
	}
	scheme := "ws"
	if cert != nil {
		scheme = "wss"
	}
	attrs := []any{"addr", ln.Addr().String(), "url", scheme + "://" + ln.Addr().String() + "/ws", "exposure", exposure,
		"auth", auth, "tls", cert != nil, "compression", cfg.compression, "metrics_auth", metricsToks != nil,
		"data", cfg.data, "peer", cfg.peerID}
	if cert != nil {
		attrs = append(attrs, certAttrs(cert.cur.Load())...)
	}
	log.Info("serving", attrs...)

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
	cancelBase()
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
