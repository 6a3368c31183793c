package line

import (
	"fmt"
	"strings"
	"sync"

	"github.com/kyneta-go/kyneta/exchange"
)

// Listener accepts the lines peers open to this exchange on one topic
// (Protocol.Listen). Close stops it; the lines it handed out stay open.
type Listener struct {
	cancelDocs func()
	dispose    func() error

	mu      sync.Mutex
	pending []string // inbox doc ids waiting for the goroutine
	queued  map[string]bool
	stopped bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Listen accepts lines as the server: whenever a peer's outbox on this
// topic addressed to this exchange appears (a peer opened a line, or it was
// already held when Listen was called), fn gets this exchange's line to
// that peer, which sends S and receives C. fn owns the line (Close it when
// done) and runs on the listener's goroutine, one line at a time, so it
// should hand long work to a goroutine of its own. A peer whose line is
// already open here (by Open or an earlier fn) is not announced again.
//
// Listen registers both directions' document types with the exchange, so a
// peer's line documents are interpreted as soon as they are announced.
func (p *Protocol[C, S]) Listen(ex *exchange.Exchange, fn func(*Line[S, C])) (*Listener, error) {
	me := ex.PeerID()
	if strings.Contains(me, arrow) {
		return nil, newError(reasonInvalidPeer, p.topic, me, "the local peer id contains '→'", nil)
	}
	for _, t := range []exchange.DocType{p.client.doc, p.server.doc} {
		if err := ex.RegisterDocType(t); err != nil {
			return nil, newError(reasonExchange, p.topic, "", "", err)
		}
	}
	lis := &Listener{
		queued: map[string]bool{},
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	offer := func(id string) {
		topic, from, to, ok := ParseDocID(id)
		if !ok || topic != p.topic || to != me || from == me {
			return
		}
		lis.mu.Lock()
		if !lis.stopped && !lis.queued[id] {
			lis.queued[id] = true
			lis.pending = append(lis.pending, id)
		}
		lis.mu.Unlock()
		select {
		case lis.wake <- struct{}{}:
		default:
		}
	}
	// Subscribe first, then scan: a document created in between is seen
	// twice, and the queue and the registry drop the duplicate.
	lis.cancelDocs = ex.SubscribeDocuments(func(ev exchange.DocEvent) {
		for _, c := range ev.Changes {
			if c.Type == exchange.DocCreated || c.Type == exchange.DocPromoted {
				offer(c.DocID)
			}
		}
	})
	for id := range ex.Documents() {
		offer(id)
	}
	// The exchange's Shutdown disposes policies: that stops the listener.
	lis.dispose = ex.Register(exchange.Policy{
		Name:    fmt.Sprintf("line-listener:%s:%p", p.topic, lis),
		Dispose: func() error { lis.halt(); return nil },
	})
	go lis.run(func(id string) {
		_, from, _, _ := ParseDocID(id)
		if registry.has(regKey{ex: ex, topic: p.topic, peer: from}) {
			return
		}
		l, err := open[S, C](ex, p.topic, from, p.server, p.client, p.onError)
		if err != nil {
			if p.onError != nil {
				p.onError(err)
			}
			return
		}
		fn(l)
	})
	return lis, nil
}

func (lis *Listener) run(accept func(id string)) {
	defer close(lis.done)
	for {
		select {
		case <-lis.stop:
			return
		case <-lis.wake:
		}
		for {
			lis.mu.Lock()
			if lis.stopped || len(lis.pending) == 0 {
				lis.mu.Unlock()
				break
			}
			id := lis.pending[0]
			lis.pending = lis.pending[1:]
			delete(lis.queued, id)
			lis.mu.Unlock()
			accept(id)
		}
	}
}

// halt stops the listener without waiting (safe inside the exchange's
// policy disposal).
func (lis *Listener) halt() {
	lis.once.Do(func() {
		lis.mu.Lock()
		lis.stopped = true
		lis.pending = nil
		lis.mu.Unlock()
		close(lis.stop)
	})
}

// Close stops accepting lines and waits for the listener's goroutine (do
// not call it from fn). Lines already handed out stay open. Idempotent.
func (lis *Listener) Close() error {
	lis.halt()
	lis.cancelDocs()
	<-lis.done
	if err := lis.dispose(); err != nil && exchangeReason(err) != "closed" {
		return newError(reasonExchange, "", "", "", err)
	}
	return nil
}
