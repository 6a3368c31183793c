package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// Issue 8: TypeScript peers exchange Loro updates the Go relay cannot read.
// Two raw-wire peers speak the exchange protocol by hand (as a TS Loro peer
// would) through the real relay over loopback WebSockets; the relay must
// forward the binary blobs untouched, persist them, serve them to a late
// joiner after a restart and never store one twice.
func TestRelayCarriesOpaqueBlobsAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db := t.TempDir() + "/k.db"
	blob1, blob2 := relayBlob("update-1", 300), relayBlob("update-2", 417)
	const v1, v2 = "ts-a:1@41", "ts-a:2@97"

	relay := relayStart(t, ctx, db)
	a := relayDial(t, ctx, relay.url, "ts-a")
	a.join(t, ctx)
	// The relay answers a's interest only once it holds the doc; offers
	// sent earlier would be dropped (a TS peer also waits for that turn).
	a.answer(t, ctx)
	a.send(t, relayOffer(blob1, v1, false))
	a.send(t, relayOffer(blob2, v2, true)) // reciprocate: an interest comes back once it is absorbed
	a.answer(t, ctx)

	// (1) b joins after both blobs were sent and gets them in order.
	b := relayDial(t, ctx, relay.url, "ts-b")
	b.join(t, ctx)
	relayCheckBlobs(t, "peer b", b.answer(t, ctx), []relayWant{{blob1, v1}, {blob2, v2}})

	// (3) a sends both again (as a TS peer does after a reconnect): the
	// first with an older stamp, which the relay imports and must dedup by
	// content, the second with the current one.
	a.send(t, relayOffer(blob1, v1, false))
	a.send(t, relayOffer(blob2, v2, true))
	a.answer(t, ctx)
	// An interest is answered with the whole log (an opaque peer version
	// says nothing about payloads that reached the relay from others), so
	// b's answer shows the log: had the relay stored blob1 again, it would
	// appear a second time, after v2.
	b.send(t, &wire.Interest{DocID: "doc", Version: relayPtr(v2), Reciprocate: relayPtr(true)})
	relayCheckBlobs(t, "peer b after the resend", b.answer(t, ctx), []relayWant{{blob1, v1}, {blob2, v2}})

	a.close(t)
	b.close(t)
	relay.stop(t)

	// (2) The relay restarts on the same database; a late joiner gets both
	// blobs from SQLite, once each.
	relay = relayStart(t, ctx, db)
	c := relayDial(t, ctx, relay.url, "ts-c")
	c.join(t, ctx)
	relayCheckBlobs(t, "late joiner c after restart", c.answer(t, ctx), []relayWant{{blob1, v1}, {blob2, v2}})
	c.close(t)
	relay.stop(t)
}

// relayBlob is a deterministic stand-in for a Loro update: a binary header
// and n bytes of hash output, so it holds 0x00, 0xff and invalid UTF-8.
func relayBlob(seed string, n int) []byte {
	out := []byte{0x6c, 0x6f, 0x72, 0x6f, 0x00, 0xff, 0xfe, 0x01}
	h := sha256.Sum256([]byte(seed))
	for len(out) < n {
		out = append(out, h[:]...)
		h = sha256.Sum256(h[:])
	}
	out = out[:n]
	out[n/2], out[n/2+1] = 0x00, 0xff
	return out
}

func relayPtr[T any](v T) *T { return &v }

func relayOffer(data []byte, version string, reciprocate bool) *wire.Offer {
	o := &wire.Offer{
		DocID:   "doc",
		Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: data},
		Version: version,
	}
	if reciprocate {
		o.Reciprocate = relayPtr(true)
	}
	return o
}

type relayWant struct {
	data    []byte
	version string
}

func relayCheckBlobs(t *testing.T, who string, got []*wire.Offer, want []relayWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s received %d offers, want %d: %s", who, len(got), len(want), relayDescribe(got))
	}
	for i, o := range got {
		w := want[i]
		if o.DocID != "doc" || o.Payload.Kind != wire.Since || o.Payload.Encoding != wire.Binary ||
			o.Version != w.version || !bytes.Equal(o.Payload.Data, w.data) {
			t.Fatalf("%s: offer %d is %s, want since/binary %d bytes at %q", who, i, relayDescribe(got[i:i+1]), len(w.data), w.version)
		}
	}
}

func relayDescribe(offers []*wire.Offer) string {
	var parts []string
	for _, o := range offers {
		parts = append(parts, fmt.Sprintf("{doc %q %s/%s %d bytes %x… version %q}", o.DocID, o.Payload.Kind, o.Payload.Encoding,
			len(o.Payload.Data), o.Payload.Data[:min(8, len(o.Payload.Data))], o.Version))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// relayProc is one in-process run of serve.
type relayProc struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	log    *relayLog
}

func relayStart(t *testing.T, ctx context.Context, db string) *relayProc {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	p := &relayProc{cancel: cancel, done: make(chan error, 1), log: &relayLog{addr: make(chan string, 1)}}
	go func() {
		p.done <- serve(sctx, []string{"--addr", "127.0.0.1:0", "--data", db, "--drain-window", "100ms"}, io.Discard, p.log)
	}()
	select {
	case addr := <-p.log.addr:
		p.url = "ws://" + addr + "/ws"
		return p
	case err := <-p.done:
		cancel()
		t.Fatalf("serve returned before serving: %v\n%s", err, p.log.String())
	case <-ctx.Done():
		p.stop(t)
		t.Fatalf("serve did not log its address: %v\n%s", ctx.Err(), p.log.String())
	}
	return nil
}

func (p *relayProc) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	err := <-p.done
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, p.log.String())
	}
}

// relayLog keeps serve's JSON log and reports the address of the
// "serving" line.
type relayLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

func (l *relayLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	if !l.sent {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving" && rec.Addr != "" {
				l.addr <- rec.Addr
				l.sent = true
				break
			}
		}
	}
	return len(b), nil
}

func (l *relayLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// relayPeer is a raw-wire peer: a WebSocket client with a hand-written
// transport context instead of an exchange.
type relayPeer struct {
	id     string
	c      *client.Client
	mu     sync.Mutex
	ch     *transport.Channel
	queue  []wire.ChannelMsg
	notify chan struct{}
}

func relayDial(t *testing.T, ctx context.Context, url, id string) *relayPeer {
	t.Helper()
	none := backoff.Policy{MaxAttempts: 0}
	c, err := client.New(client.Options{URL: url, Reconnect: &none})
	if err != nil {
		t.Fatal(err)
	}
	p := &relayPeer{id: id, c: c, notify: make(chan struct{}, 1)}
	err = c.Initialize(ctx, transport.Context{
		Identity:      wire.PeerIdentity{PeerID: id, Type: "user"},
		MintChannelID: transport.NewChannelIDMinter(),
		OnChannelEstablish: func(ch *transport.Channel) {
			p.mu.Lock()
			p.ch = ch
			p.mu.Unlock()
			// Errors surface as a missing establish reply.
			_ = ch.Send(&wire.Establish{
				Identity:        wire.PeerIdentity{PeerID: id, Type: "user"},
				Features:        &wire.Features{Alias: relayPtr(true)},
				ProtocolVersion: wire.DefaultProtocolVersion,
			})
		},
		OnChannelReceive: func(_ transport.ChannelID, msg wire.ChannelMsg) {
			p.mu.Lock()
			p.queue = append(p.queue, msg)
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		},
	})
	if err == nil {
		err = c.Start(ctx)
	}
	if err != nil {
		_ = c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() }) // on early failure; Close is idempotent
	return p
}

// next returns the next received message in order.
func (p *relayPeer) next(t *testing.T, ctx context.Context) wire.ChannelMsg {
	t.Helper()
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			m := p.queue[0]
			p.queue = p.queue[1:]
			p.mu.Unlock()
			return m
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-ctx.Done():
			t.Fatalf("%s: no message from the relay: %v", p.id, ctx.Err())
		}
	}
}

func (p *relayPeer) send(t *testing.T, msg wire.ChannelMsg) {
	t.Helper()
	p.mu.Lock()
	ch := p.ch
	p.mu.Unlock()
	if ch == nil {
		t.Fatalf("%s: no channel", p.id)
	}
	if err := ch.Send(msg); err != nil {
		t.Fatalf("%s: send %T: %v", p.id, msg, err)
	}
}

// join waits for the relay's establish, then presents the Loro doc and asks
// for it, reciprocating, like a TS peer that opened it.
func (p *relayPeer) join(t *testing.T, ctx context.Context) {
	t.Helper()
	m := p.next(t, ctx)
	est, ok := m.(*wire.Establish)
	if !ok {
		t.Fatalf("%s: first message is %T, want establish", p.id, m)
	}
	if est.Identity.PeerID != "kyneta-relay" {
		t.Fatalf("%s: relay identifies as %q", p.id, est.Identity.PeerID)
	}
	p.send(t, &wire.Present{Docs: []wire.DocPresence{{
		DocID: "doc", ReplicaType: wire.ReplicaType{Name: "loro", Major: 1}, SyncMode: wire.Collaborative, SchemaHash: "h-loro",
	}}})
	p.send(t, &wire.Interest{DocID: "doc", Reciprocate: relayPtr(true)})
}

// answer reads messages up to the relay's next non-reciprocating interest,
// the last thing it sends when it answers an interest or a reciprocating
// offer, and returns the offers that came before it.
func (p *relayPeer) answer(t *testing.T, ctx context.Context) []*wire.Offer {
	t.Helper()
	var offers []*wire.Offer
	for {
		switch m := p.next(t, ctx).(type) {
		case *wire.Offer:
			offers = append(offers, m)
		case *wire.Interest:
			if m.Reciprocate == nil || !*m.Reciprocate {
				return offers
			}
		case *wire.Present:
			for _, d := range m.Docs {
				if d.DocID != "doc" || d.ReplicaType.Name != "loro" || d.SyncMode != wire.Collaborative {
					t.Fatalf("%s: relay presents %+v", p.id, d)
				}
			}
		case *wire.Vacant, *wire.Dismiss:
			t.Fatalf("%s: relay sent %T %+v", p.id, m, m)
		}
	}
}

func (p *relayPeer) close(t *testing.T) {
	t.Helper()
	if err := p.c.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("%s: close: %v", p.id, err)
	}
}
