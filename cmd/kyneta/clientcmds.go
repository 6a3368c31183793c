package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

type clientConfig struct {
	token   string
	schema  string
	timeout time.Duration
	url     string
	doc     string
}

var clientSynopsis = map[string]string{
	"put":   "kyneta put [flags] URL DOC JSON",
	"watch": "kyneta watch [flags] URL DOC",
}

// clientFlags binds the flags of put and watch to c.
func clientFlags(name string, c *clientConfig) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.token, "token", "", "bearer token sent to the server; empty: none")
	fs.StringVar(&c.schema, "schema", "", "schema hash of the document type")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the server")
	return fs
}

func parseClient(name string, args []string, positional int) (clientConfig, []string, error) {
	var c clientConfig
	fs := clientFlags(name, &c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, nil, flagHelp(fs, clientSynopsis[name])
		}
		return c, nil, &usageError{name + ": " + err.Error()}
	}
	if fs.NArg() != positional {
		return c, nil, &usageError{fmt.Sprintf("%s: want %d arguments, got %d\n%s", name, positional, fs.NArg(), usage)}
	}
	c.url, c.doc = fs.Arg(0), fs.Arg(1)
	return c, fs.Args()[2:], nil
}

// session is a short-lived exchange with one WebSocket client transport.
type session struct {
	ex  *exchange.Exchange
	cl  *client.Client
	doc *exchange.Doc
}

func randomPeerID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "cli-" + hex.EncodeToString(b[:])
}

// open connects to the server and waits until the document is synced with
// it (or the server answered that it has none).
func open(ctx context.Context, c clientConfig) (*session, error) {
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set("Authorization", "Bearer "+c.token)
	}
	// A command line tool gives up quickly instead of retrying for minutes
	// (but tries every node it was given, in the order given: successive
	// commands on one document go to the same node while it is up).
	opts := client.Options{URL: c.url, Header: hdr}
	if urls := strings.Split(c.url, ","); len(urls) > 1 {
		opts.URL, opts.URLs = "", urls
		opts.Rand = func() float64 { return 0 }
	}
	policy := backoff.Policy{Base: 200 * time.Millisecond, Max: time.Second, MaxAttempts: max(2, len(opts.URLs))}
	opts.Reconnect = &policy
	cl, err := client.New(opts)
	if err != nil {
		return nil, err
	}
	ex, err := exchange.New(exchange.Options{
		PeerID:     randomPeerID(),
		PeerType:   wire.PeerService,
		Transports: []transport.Transport{cl},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		_ = cl.Close()
		return nil, err
	}
	s := &session{ex: ex, cl: cl}
	fail := func(err error) (*session, error) {
		s.close()
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := s.waitReady(waitCtx); err != nil {
		return fail(err)
	}
	doc, err := ex.Get(c.doc, exchange.JSONDoc(c.schema))
	if err != nil {
		return fail(err)
	}
	s.doc = doc
	if err := doc.WaitForSync(waitCtx); err != nil {
		return fail(fmt.Errorf("document %q did not sync with %s: %w", c.doc, c.url, err))
	}
	if err := s.catchUp(waitCtx); err != nil {
		return fail(err)
	}
	return s, nil
}

// catchUp waits until the document holds every version a peer told us it
// has. WaitForSync alone is not enough for a reader: it resolves once the
// server's interest arrived, which can be before the server's offer has.
func (s *session) catchUp(ctx context.Context) error {
	behind := func() (string, bool) {
		local := s.doc.Version()
		for _, st := range s.doc.PeerStates() {
			if st.Kind == exchange.PeerPending {
				return "pending", true
			}
			if st.Kind == exchange.PeerSynced && st.LastKnownVersion != "" && st.LastKnownVersion != local &&
				!strings.HasPrefix(st.LastKnownVersion, "kyneta.genesis:") {
				return st.LastKnownVersion, true
			}
		}
		return "", false
	}
	changed := make(chan struct{}, 1)
	wake := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	cancelSync := s.doc.OnPeerSyncChange(func(exchange.SyncEvent) { wake() })
	defer cancelSync()
	cancelChange := s.doc.Subscribe(func(exchange.Change) { wake() })
	defer cancelChange()
	for {
		want, ok := behind()
		if !ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("document %q did not catch up with the server's version %s: %w", s.doc.ID(), want, ctx.Err())
		}
	}
}

// waitReady waits for the server's "ready", or reports why it never came.
func (s *session) waitReady(ctx context.Context) error {
	done := make(chan struct{})
	unsubscribe := s.cl.Subscribe(func(_, to client.State) {
		if to.Status == client.StatusReady || (to.Status == client.StatusDisconnected && to.Reason != nil) {
			select {
			case <-done:
			default:
				close(done)
			}
		}
	})
	defer unsubscribe()
	st := s.cl.State()
	if st.Status != client.StatusReady && !(st.Status == client.StatusDisconnected && st.Reason != nil) {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("server did not answer in time: %w", ctx.Err())
		}
	}
	st = s.cl.State()
	if st.Status == client.StatusReady {
		return nil
	}
	if st.Reason != nil {
		return fmt.Errorf("cannot reach server: %s", describeReason(st.Reason))
	}
	return errors.New("cannot reach server")
}

func describeReason(r *client.DisconnectReason) string {
	switch {
	case r.HTTPStatus != 0:
		return fmt.Sprintf("%s (HTTP %d)", r.Code, r.HTTPStatus)
	case r.Err != nil:
		// A network failure says it best on its own ("dial tcp ...:
		// connection refused"), without the layers of dial wrapping.
		var op *net.OpError
		if errors.As(r.Err, &op) {
			return op.Error()
		}
		return fmt.Sprintf("%s: %v", r.Code, r.Err)
	}
	return string(r.Code)
}

func (s *session) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.ex.Shutdown(ctx)
}

// put replaces the document's content with a JSON object.
func put(ctx context.Context, args []string, stdout, _ io.Writer) error {
	c, rest, err := parseClient("put", args, 3)
	if err != nil {
		return err
	}
	var content map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(rest[0])))
	dec.UseNumber()
	if err := dec.Decode(&content); err != nil || content == nil {
		return &usageError{fmt.Sprintf("put: JSON must be an object: %v", errOr(err, "null"))}
	}
	s, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer s.close() // idempotent: put closes it early to confirm
	var current map[string]any
	if err := s.doc.Decode(&current); err != nil {
		return err
	}
	err = s.doc.Update(func(tx *exchange.Tx) error {
		var stale []string
		for k := range current {
			if _, keep := content[k]; !keep {
				stale = append(stale, k)
			}
		}
		sort.Strings(stale)
		if len(stale) > 0 {
			tx.Delete(exchange.P(), stale...)
		}
		keys := make([]string, 0, len(content))
		for k := range content {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tx.Set(exchange.P(k), content[k])
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Acknowledged means the server holds the write durably (every store
	// confirmed it); until then the write exists only in this process.
	v := s.doc.Version()
	waitCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := s.doc.WaitAcknowledged(waitCtx); err != nil {
		return fmt.Errorf("the server did not acknowledge version %s within %s (it may be unable to persist it; see its /readyz): %w", v, c.timeout, err)
	}
	s.close()
	fmt.Fprintln(stdout, v)
	return nil
}

// watch prints the document as one JSON line now and after every change,
// until ctx ends or the connection to the server is lost for good.
func watch(ctx context.Context, args []string, stdout, _ io.Writer) error {
	c, _, err := parseClient("watch", args, 2)
	if err != nil {
		return err
	}
	s, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer s.close()
	// One pending wake-up is enough: the printer reads the newest state.
	changed := make(chan struct{}, 1)
	wake := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	cancel := s.doc.Subscribe(func(exchange.Change) { wake() })
	defer cancel()
	lost := make(chan *client.DisconnectReason, 1)
	unsubscribe := s.cl.Subscribe(func(_, to client.State) {
		if to.Status == client.StatusDisconnected && to.Reason != nil {
			select {
			case lost <- to.Reason:
			default:
			}
		}
	})
	defer unsubscribe()
	wake()
	var last []byte
	for {
		select {
		case <-changed:
			b, err := s.doc.JSON()
			if err != nil {
				return err
			}
			if !bytes.Equal(b, last) {
				if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
					return err
				}
				last = b
			}
		case r := <-lost:
			return fmt.Errorf("lost the server: %s", describeReason(r))
		case <-ctx.Done():
			return nil
		}
	}
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}
