// Command presence shows who is online, kept in ephemeral last-writer-wins
// documents that a Kyneta relay passes between peers.
//
// Each peer owns one document, "presence/<name>", holding its status, and
// writes only that one; a whole-document last-writer-wins replica is the
// right fit, since the newest write is all anyone needs. The peers declare
// the presence type (Options.DocTypes), so the documents the relay
// announces from other peers are interpreted automatically; each peer
// builds its roster from the documents it holds.
//
// Like any presence system it heartbeats: every peer rewrites its document
// every beatEvery, and a peer not heard from for expireAfter counts as
// offline. That covers peers that vanish without a goodbye, and the next
// beat repairs a status change that did not get through (LWW versions are
// wall-clock milliseconds; lww_test.go shows the boundary cases).
//
// Everything runs in one process: a relay (WebSocket server plus an
// exchange that replicates what it is offered, no storage: presence is
// transient) and three peers with WebSocket clients.
//
//	go run ./examples/presence
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
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
		fmt.Fprintln(os.Stderr, "presence:", err)
		os.Exit(1)
	}
}

// presenceType is whole-document last-writer-wins (the TS "ephemeral"
// binding); the schema hash names the shape below.
var presenceType = exchange.EphemeralDoc("presence-v1")

const prefix = "presence/"

// Presence is one peer's document.
type Presence struct {
	Status string `json:"status"`
	Beat   int    `json:"beat"` // heartbeat counter: every beat is a new write
}

const (
	beatEvery   = 100 * time.Millisecond
	expireAfter = 10 * beatEvery
)

func run(ctx context.Context, out io.Writer) (err error) {
	url, stopRelay, err := startRelay()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopRelay()) }()

	names := []string{"alice", "bob", "carol"}
	peers := map[string]*peer{}
	for _, name := range names {
		p, err := join(name, url)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, p.leave()) }()
		peers[name] = p
	}

	// Everyone comes online and waits until it sees the others.
	for _, name := range names {
		if err := peers[name].set("online"); err != nil {
			return err
		}
	}
	all := map[string]string{"alice": "online", "bob": "online", "carol": "online"}
	for _, name := range names {
		if err := peers[name].waitRoster(ctx, all); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s sees %s\n", name, show(all))
	}

	// bob steps away; the others see it.
	if err := peers["bob"].set("away"); err != nil {
		return err
	}
	all["bob"] = "away"
	for _, name := range []string{"alice", "carol"} {
		if err := peers[name].waitRoster(ctx, all); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s sees %s\n", name, show(all))
	}

	// carol signs off and disconnects. Her goodbye usually arrives at once;
	// when it does not get through, or when a peer crashes without one,
	// its silence expires it after expireAfter.
	if err := peers["carol"].set("offline"); err != nil {
		return err
	}
	if err := peers["carol"].leave(); err != nil {
		return err
	}
	all["carol"] = "offline"
	for _, name := range []string{"alice", "bob"} {
		if err := peers[name].waitRoster(ctx, all); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s sees %s\n", name, show(all))
	}
	return nil
}

func show(r map[string]string) string {
	var b strings.Builder
	for i, name := range slices.Sorted(maps.Keys(r)) {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%s", name, r[name])
	}
	return b.String()
}

// peer is one participant: an exchange with a WebSocket client, and a
// heartbeat that rewrites its presence.
type peer struct {
	name string
	ex   *exchange.Exchange
	tr   *http.Transport
	me   *exchange.Doc
	wake chan struct{} // a presence document appeared or changed
	stop chan struct{} // closed by leave: ends the heartbeat
	done chan struct{} // closed when the heartbeat ended

	// writeMu serializes this peer's writes. It is never taken inside a
	// subscription callback (those may run inside Update).
	writeMu sync.Mutex
	status  string
	beat    int

	mu       sync.Mutex
	watched  map[string]func()    // document id -> cancel of its subscription
	lastSeen map[string]time.Time // document id -> last change from the network
	left     bool
}

func join(name, url string) (*peer, error) {
	// Own HTTP transport, closed on leave: see examples/config-sync.
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment}
	cl, err := client.New(client.Options{URL: url, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, err
	}
	ex, err := exchange.New(exchange.Options{
		PeerID:     name,
		PeerType:   wire.PeerUser,
		Transports: []transport.Transport{cl},
		// Presence documents the relay announces are interpreted as such.
		DocTypes: []exchange.DocType{presenceType},
	})
	if err != nil {
		_ = cl.Close()
		tr.CloseIdleConnections()
		return nil, err
	}
	p := &peer{name: name, ex: ex, tr: tr, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
		watched: map[string]func(){}, lastSeen: map[string]time.Time{}}
	p.watched[""] = ex.SubscribeDocuments(func(exchange.DocEvent) { p.poke() })
	if p.me, err = ex.Get(prefix+name, presenceType); err != nil {
		close(p.done)
		_ = p.leave()
		return nil, err
	}
	go p.heartbeat()
	return p, nil
}

func (p *peer) poke() {
	select {
	case p.wake <- struct{}{}:
	default: // one pending wake-up is enough: the waiter re-reads everything
	}
}

// heartbeat rewrites the current status every beatEvery until leave.
func (p *peer) heartbeat() {
	defer close(p.done)
	tick := time.NewTicker(beatEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			p.writeMu.Lock()
			if p.status != "" {
				_ = p.writeLocked() // a failure is retried by the next beat
			}
			p.writeMu.Unlock()
		case <-p.stop:
			return
		}
	}
}

// set changes this peer's status now (the heartbeat repeats it).
func (p *peer) set(status string) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.status = status
	return p.writeLocked()
}

// writeLocked stores the status with the next beat number; the exchange
// pushes it to the relay. Writes are serialized by writeMu, so a beat
// never rewrites a status that set has just replaced.
func (p *peer) writeLocked() error {
	p.beat++
	return p.me.Update(func(tx *exchange.Tx) error {
		tx.Set(exchange.P("status"), p.status)
		tx.Set(exchange.P("beat"), p.beat)
		return nil
	})
}

// roster reads the status of every presence document the peer holds,
// subscribing to the ones it had not seen yet. A peer silent for longer
// than expireAfter is offline whatever its document says.
func (p *peer) roster() (map[string]string, error) {
	r := map[string]string{}
	now := time.Now()
	for id := range p.ex.Documents() {
		name, ok := strings.CutPrefix(id, prefix)
		if !ok {
			continue
		}
		d, err := p.ex.Get(id, presenceType)
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		if _, ok := p.watched[id]; !ok {
			p.lastSeen[id] = now
			p.watched[id] = d.Subscribe(func(c exchange.Change) {
				if c.Remote {
					p.mu.Lock()
					p.lastSeen[id] = time.Now()
					p.mu.Unlock()
				}
				p.poke()
			})
		}
		expired := d != p.me && now.Sub(p.lastSeen[id]) > expireAfter
		p.mu.Unlock()
		var pr Presence
		if err := d.Decode(&pr); err != nil {
			return nil, err
		}
		switch {
		case pr.Status == "":
			// not loaded yet
		case expired:
			r[name] = "offline"
		default:
			r[name] = pr.Status
		}
	}
	return r, nil
}

// waitRoster waits until the peer's roster is exactly want, re-reading it
// on every change and every beat (expiry happens without a change).
func (p *peer) waitRoster(ctx context.Context, want map[string]string) error {
	tick := time.NewTicker(beatEvery)
	defer tick.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err // stop when asked, even if the roster is already right
		}
		got, err := p.roster()
		if err != nil {
			return err
		}
		if maps.Equal(got, want) {
			return nil
		}
		select {
		case <-p.wake:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%s waiting for %s (sees %s): %w", p.name, show(want), show(got), ctx.Err())
		}
	}
}

// leave stops the heartbeat, flushes pending writes, departs and
// disconnects. Calling it again does nothing.
func (p *peer) leave() error {
	p.mu.Lock()
	if p.left {
		p.mu.Unlock()
		return nil
	}
	p.left = true
	close(p.stop)
	p.mu.Unlock()
	<-p.done
	p.mu.Lock()
	for _, cancel := range p.watched {
		cancel()
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer p.tr.CloseIdleConnections()
	return p.ex.Shutdown(ctx)
}

// startRelay serves a replicating exchange over WebSocket on a free
// loopback port; stop shuts it down (once).
func startRelay() (url string, stop func() error, err error) {
	srv, err := server.New(server.Options{})
	if err != nil {
		return "", nil, err
	}
	relay, err := exchange.New(exchange.Options{
		PeerID:     "relay",
		PeerType:   wire.PeerService,
		Transports: []transport.Transport{srv},
		Policies: []exchange.Policy{{
			Name:    "relay",
			Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() },
		}},
	})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = relay.Shutdown(context.Background())
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopErr = errors.Join(relay.Shutdown(ctx), hs.Shutdown(ctx))
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				stopErr = errors.Join(stopErr, err)
			}
		})
		return stopErr
	}
	return "ws://" + ln.Addr().String() + "/ws", stop, nil
}
