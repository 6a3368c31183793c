package exchange

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// tokens maps bearer tokens to the principal (a peer id) they authenticate.
var tokens = map[string]string{"t-alice": "alice", "t-bob": "bob"}

// principalPolicy admits a peer only if the id it claims in establish is
// the one its bearer token authenticated (the TS reference trusted the
// claimed id).
func principalPolicy() Policy {
	return Policy{Name: "principal", CanConnect: func(r ConnectRequest) Verdict {
		info, ok := r.Meta.(transport.ConnInfo)
		if !ok {
			return Abstain // not a server channel
		}
		if p, _ := info.Principal.(string); p != r.Identity.PeerID {
			return Deny
		}
		return Allow
	}}
}

type wsServer struct {
	ex   *Exchange
	srv  *server.Server
	http *httptest.Server
}

func startWSServer(t *testing.T, mods ...func(*Options)) *wsServer {
	t.Helper()
	s := newWSServer(t, mods...)
	t.Cleanup(s.close)
	return s
}

func startWSServerB(b *testing.B, mods ...func(*Options)) *wsServer {
	return newWSServer(b, mods...)
}

func (s *wsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.ex.Shutdown(ctx)
	s.http.Close()
}

func newWSServer(t testing.TB, mods ...func(*Options)) *wsServer {
	t.Helper()
	srv, err := server.New(server.Options{
		Authenticate: func(r *http.Request) (server.Principal, error) {
			p, ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			if !ok {
				return nil, errors.New("bad token")
			}
			return p, nil
		},
		MaxMessageSize: 2 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{PeerID: "server", PeerType: "service", Transports: []transport.Transport{srv}, Policies: []Policy{principalPolicy()}}
	for _, m := range mods {
		m(&o)
	}
	ex, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	return &wsServer{ex: ex, srv: srv, http: hs}
}

func startWSClient(t *testing.T, s *wsServer, peerID, token string) (*Exchange, *client.Client) {
	t.Helper()
	ex, c := newWSClient(t, s, peerID, token)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ex.Shutdown(ctx)
	})
	return ex, c
}

func startWSClientB(b *testing.B, s *wsServer, peerID, token string) (*Exchange, *client.Client) {
	return newWSClient(b, s, peerID, token)
}

func newWSClient(t testing.TB, s *wsServer, peerID, token string) (*Exchange, *client.Client) {
	t.Helper()
	none := backoff.Policy{MaxAttempts: 0}
	c, err := client.New(client.Options{
		URLFunc: func(id string) (string, error) {
			return "ws" + strings.TrimPrefix(s.http.URL, "http") + "/?peerId=" + url.QueryEscape(id), nil
		},
		Header:    http.Header{"Authorization": []string{"Bearer " + token}},
		Reconnect: &none,
	})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := New(Options{PeerID: peerID, PeerType: "service", Transports: []transport.Transport{c}})
	if err != nil {
		t.Fatal(err)
	}
	return ex, c
}

// waitDoc waits (without sleeping) until cond holds for d, re-checking on
// every change of the document.
func waitDoc(t *testing.T, d *Doc, cond func() bool) {
	t.Helper()
	wake := make(chan struct{}, 1)
	cancel := d.Subscribe(func(Change) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer cancel()
	ctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	for !cond() {
		select {
		case <-wake:
		case <-ctx.Done():
			t.Fatalf("doc %s: condition not reached: %s", d.ID(), jsonOf(t, d)[:min(200, len(jsonOf(t, d)))])
		}
	}
}

func TestWebSocketConvergeLargeDocWithBearerToken(t *testing.T) {
	s := startWSServer(t, func(o *Options) { o.DocTypes = []DocType{jsonDoc} })
	cx, _ := startWSClient(t, s, "alice", "t-alice")

	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB: fragmented on the wire
	dc := mustGet(t, cx, "big", jsonDoc)
	update(t, dc, func(tx *Tx) {
		tx.Set(P("blob"), big)
		tx.Set(P("owner"), "alice")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := dc.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	ds := mustGet(t, s.ex, "big", jsonDoc)
	waitDoc(t, ds, func() bool { return ds.Version() == dc.Version() })
	var got struct{ Blob, Owner string }
	if err := ds.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Blob != big || got.Owner != "alice" {
		t.Fatalf("server copy differs (len %d)", len(got.Blob))
	}
	// And back: a server-side edit reaches the client.
	update(t, ds, func(tx *Tx) { tx.Set(P("owner"), "server") })
	waitDoc(t, dc, func() bool { return dc.Version() == ds.Version() })
	if err := dc.Decode(&got); err != nil || got.Owner != "server" {
		t.Fatalf("client copy: %v %q", err, got.Owner)
	}
	// A large value written on the server goes out from the string's own
	// memory (kept in pieces by the replica): the client gets it whole,
	// and the server counts the offer's full size.
	big2 := strings.Repeat("fedcba9876543210", 1<<16)
	sent := s.ex.Stats().OfferBytesSent
	update(t, ds, func(tx *Tx) { tx.Set(P("blob"), big2) })
	waitDoc(t, dc, func() bool { return dc.Version() == ds.Version() })
	if err := dc.Decode(&got); err != nil || got.Blob != big2 {
		t.Fatalf("client copy of the server's value: %v, %d bytes", err, len(got.Blob))
	}
	if n := s.ex.Stats().OfferBytesSent - sent; n < uint64(len(big2)) {
		t.Fatalf("%d offer bytes counted for a %d-byte value", n, len(big2))
	}
}

func TestWebSocketCanConnectChecksPrincipal(t *testing.T) {
	s := startWSServer(t)
	// A valid token for bob, but the exchange claims to be alice.
	impostor, c := startWSClient(t, s, "alice", "t-bob")
	// The server rejects the establish and closes the connection; the
	// client (no retries) ends disconnected and never sees the server.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.WaitForStatus(ctx, client.StatusDisconnected); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ex.Peers()["alice"]; ok {
		t.Fatal("impostor admitted")
	}
	if _, ok := impostor.Peers()["server"]; ok {
		t.Fatal("impostor completed the handshake")
	}
	// The honest peer gets in.
	honest, _ := startWSClient(t, s, "bob", "t-bob")
	d := mustGet(t, honest, "d", jsonDoc)
	if err := d.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ex.Peers()["bob"]; !ok {
		t.Fatal("bob not admitted")
	}
}
