// Command config-sync shows Go services sharing a configuration document
// through a Kyneta relay, service to service with a bearer token.
//
// It starts everything in one process so it runs on its own: a relay (the
// WebSocket server, an exchange that replicates whatever it is offered,
// SQLite storage in a temporary directory), an admin service that writes
// the config and an API service that waits for it and follows its changes.
// In production the three would be separate processes, and the relay
// would usually be `kyneta serve --token-file F`.
//
//	go run ./examples/config-sync
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/sqlite"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "config-sync:", err)
		os.Exit(1)
	}
}

// Config is the document's shape as the services read it.
type Config struct {
	RateLimit int             `json:"rateLimit"`
	Features  map[string]bool `json:"features"`
	Regions   []string        `json:"regions"`
}

// configType is the document type both services agree on. The schema hash
// names the shape; a service with another hash would not interpret it.
var configType = exchange.JSONDoc("billing-config-v1")

const (
	token = "s3cret-service-token"
	docID = "config/billing"
)

func run(ctx context.Context, out io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "config-sync-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	url, stopRelay, err := startRelay(ctx, filepath.Join(dir, "relay.db"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopRelay()) }()
	fmt.Fprintln(out, "relay up, bearer token required")

	// A client without the right token is refused before the upgrade, and
	// a 401 is not retried.
	intruder, err := newService("intruder", url, "guess")
	if err != nil {
		return err
	}
	_, refused := intruder.client.WaitForStatus(ctx, client.StatusReady)
	if err := intruder.close(); err != nil {
		return err
	}
	if kyneta.ReasonOf(refused) != "unauthorized" {
		return fmt.Errorf("a wrong token was not refused: %w", refused)
	}
	fmt.Fprintln(out, "intruder refused:", refused)

	admin, err := newService("billing-admin", url, token)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, admin.close()) }()
	api, err := newService("billing-api", url, token)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, api.close()) }()

	// The admin writes the config. The api may ask for the document
	// before or after that: the relay hands it over either way.
	cfgAdmin, err := admin.ex.Get(docID, configType)
	if err != nil {
		return err
	}
	err = cfgAdmin.Update(func(tx *exchange.Tx) error {
		tx.Set(exchange.P("rateLimit"), 100)
		tx.Set(exchange.P("features"), map[string]any{"invoicesV2": false})
		tx.Set(exchange.P("regions"), []any{"eu-west", "us-east"})
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "billing-admin wrote", docID)

	cfgAPI, err := api.ex.Get(docID, configType)
	if err != nil {
		return err
	}
	cfg, err := waitConfig(ctx, cfgAPI, func(c Config) bool { return c.RateLimit != 0 })
	if err != nil {
		return fmt.Errorf("billing-api waiting for the config: %w", err)
	}
	fmt.Fprintln(out, "billing-api got config:", show(cfg))

	// A later change reaches the running service without a restart.
	err = cfgAdmin.Update(func(tx *exchange.Tx) error {
		tx.Set(exchange.P("features", "invoicesV2"), true)
		tx.Set(exchange.P("rateLimit"), 250)
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "billing-admin enabled invoicesV2")
	cfg, err = waitConfig(ctx, cfgAPI, func(c Config) bool { return c.Features["invoicesV2"] })
	if err != nil {
		return fmt.Errorf("billing-api waiting for the change: %w", err)
	}
	fmt.Fprintln(out, "billing-api got update:", show(cfg))

	// The relay kept what it relayed: after it stops, its file holds the
	// document for the next start.
	if err := errors.Join(api.close(), admin.close(), stopRelay()); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "relay.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	ids, err := st.ListDocIDs(ctx, "")
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "relay stopped; its store holds", ids)
	return nil
}

func show(c Config) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// waitConfig decodes the document until ok accepts it, re-checking after
// every change (local, from the relay, or loaded from a store).
func waitConfig(ctx context.Context, d *exchange.Doc, ok func(Config) bool) (Config, error) {
	changed := make(chan struct{}, 1)
	cancel := d.Subscribe(func(exchange.Change) {
		select {
		case changed <- struct{}{}:
		default: // one pending wake-up is enough: the loop reads the newest state
		}
	})
	defer cancel()
	for {
		var c Config
		if err := ctx.Err(); err != nil {
			return c, err // stop when asked, even if the config is already there
		}
		if err := d.Decode(&c); err != nil {
			return c, err
		}
		if ok(c) {
			return c, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return c, ctx.Err()
		}
	}
}

// service is an application's exchange with one WebSocket client.
type service struct {
	ex     *exchange.Exchange
	client *client.Client
	tr     *http.Transport
}

func newService(id, url, token string) (*service, error) {
	// Each service dials through its own HTTP transport and closes it when
	// it leaves: a dial abandoned by Shutdown can otherwise leave a
	// connection parked in a shared transport's idle pool, which holds up
	// the server's graceful http.Server.Shutdown for seconds.
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment}
	cl, err := client.New(client.Options{
		HTTPClient: &http.Client{Transport: tr},
		URL:        url,
		Header:     http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		return nil, err
	}
	ex, err := exchange.New(exchange.Options{
		PeerID:     id,
		PeerType:   wire.PeerService,
		Transports: []transport.Transport{cl},
	})
	if err != nil {
		_ = cl.Close()
		tr.CloseIdleConnections()
		return nil, err
	}
	return &service{ex: ex, client: cl, tr: tr}, nil
}

// close leaves gracefully: pending writes are flushed to the relay first.
// Calling it again does nothing.
func (s *service) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer s.tr.CloseIdleConnections()
	return s.ex.Shutdown(ctx)
}

// startRelay serves a replicating exchange over WebSocket on a free
// loopback port and returns its URL and a function that stops it (once;
// later calls return the same result).
func startRelay(ctx context.Context, dbPath string) (string, func() error, error) {
	srv, err := server.New(server.Options{
		Authenticate: func(r *http.Request) (server.Principal, error) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				return nil, &kyneta.Error{Code: kyneta.CodeUnauthenticated}
			}
			return "billing", nil // who the token belongs to
		},
	})
	if err != nil {
		return "", nil, err
	}
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		return "", nil, err
	}
	relay, err := exchange.New(exchange.Options{
		PeerID:     "relay",
		PeerType:   wire.PeerService,
		Transports: []transport.Transport{srv},
		Stores:     []store.Store{st},
		Policies: []exchange.Policy{{
			Name: "relay",
			// Hold every announced document headless, store it, pass it on.
			Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() },
		}},
	})
	if err != nil {
		_ = st.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = relay.Shutdown(ctx)
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// Shutdown closes the remaining connections and the store.
			stopErr = relay.Shutdown(ctx)
			stopErr = errors.Join(stopErr, hs.Shutdown(ctx))
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				stopErr = errors.Join(stopErr, err)
			}
		})
		return stopErr
	}
	return "ws://" + ln.Addr().String() + "/ws", stop, nil
}
