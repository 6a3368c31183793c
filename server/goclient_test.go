package server

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// TestGoClient runs the project's Go client against the server: bearer
// auth, ready, keepalive ping/pong, establish both ways, messages both
// ways, then a drain that the client sees as a retryable close.
func TestGoClient(t *testing.T) {
	h := newHarness(t, Options{Authenticate: func(r *http.Request) (Principal, error) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			return nil, &kyneta.Error{Code: kyneta.CodeUnauthenticated}
		}
		return "svc:worker", nil
	}})
	echoEstablish(h)

	cc := clock.NewFake(time.Unix(0, 0))
	crec := newRecorder()
	cl, err := client.New(client.Options{
		URL:               h.url + "?peerId=worker",
		Header:            http.Header{"Authorization": {"Bearer s3cret"}},
		HTTPClient:        h.hc,
		Clock:             cc,
		KeepaliveInterval: 30 * time.Second,
		PongTimeout:       10 * time.Second,
		Reconnect:         &backoff.Policy{MaxAttempts: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	cctx := crec.context()
	cctx.OnChannelEstablish = func(ch *transport.Channel) { _ = ch.Send(establish("worker")) }
	if err := cl.Initialize(ctx, cctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.WaitForStatus(ctx, client.StatusReady); err != nil {
		t.Fatal(err)
	}
	// establish → server, echo → client.
	h.rec.waitFor(t, "client establish", func() bool { return len(h.rec.received) == 1 })
	crec.waitFor(t, "server establish", func() bool { return len(crec.received) == 1 })
	h.rec.mu.Lock()
	sch := h.rec.added[0]
	h.rec.mu.Unlock()
	if info, _ := transport.InfoOf(sch); info.PeerID != "worker" || info.Principal != "svc:worker" {
		t.Fatalf("server channel info %+v", info)
	}

	// Keepalive: the client's ping reaches the server, and the server's
	// pong reaches the client ahead of the next message.
	texts := make(chan string, 4)
	h.srv.testHookText = func(s string) { texts <- s }
	waitTimer(t, cc, 30*time.Second)
	cc.Advance(30 * time.Second)
	if s := <-texts; s != "ping" {
		t.Fatalf("server got text %q", s)
	}

	// Server → client and client → server messages.
	big := make([]byte, 300_000)
	for i := range big {
		big[i] = byte(i)
	}
	if err := sch.Send(&wire.Offer{DocID: "cfg", Version: "2", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: big}}); err != nil {
		t.Fatal(err)
	}
	crec.waitFor(t, "offer at the client", func() bool { return len(crec.received) == 2 })
	crec.mu.Lock()
	o, ok := crec.received[1].msg.(*wire.Offer)
	cch := crec.added[0]
	crec.mu.Unlock()
	if !ok || len(o.Payload.Data) != len(big) || o.Payload.Data[12345] != big[12345] {
		t.Fatal("offer corrupted")
	}
	if err := cch.Send(&wire.Interest{DocID: "cfg"}); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "interest at the server", func() bool { return len(h.rec.received) == 2 })
	// The pong came before the offer, so the pong deadline is answered.
	cc.Advance(10 * time.Second)
	if err := cch.Send(&wire.Interest{DocID: "again"}); err != nil {
		t.Fatal(err)
	}
	h.rec.waitFor(t, "second interest", func() bool { return len(h.rec.received) == 3 })
	if st := cl.State(); st.Status != client.StatusReady {
		t.Fatalf("client state %v after the pong deadline", st)
	}

	// Drain closes the client with 1001; it does not count as a refusal.
	r, err := h.srv.Drain(ctx, DrainOptions{Window: -1})
	if err != nil || r != (DrainResult{Closed: 1}) {
		t.Fatalf("drain %+v %v", r, err)
	}
	st, err := cl.WaitForStatus(ctx, client.StatusDisconnected)
	if err != nil {
		t.Fatal(err)
	}
	// Retries are off here, so the client stops at the server's close; the
	// reason is the drain's 1001, which a client with retries on would
	// retry (only 1008 and refused upgrades are final).
	if r := st.Reason; r == nil || r.Reason != "closed" || r.CloseCode != int(statusGoingAway) || r.CloseReason != "Server draining" {
		t.Fatalf("client after drain: %v, want closed by the server with 1001 \"Server draining\"", st)
	}
	if !errors.Is(st.Reason, &kyneta.Error{Pkg: "client", Reason: "closed"}) || errors.Is(st.Reason, &kyneta.Error{Pkg: "client", Reason: "policy-violation"}) {
		t.Fatalf("drain reason %v matches the wrong sentinel", st.Reason)
	}
	if rej := h.srv.Stats().Rejected; len(rej) != 0 {
		t.Fatalf("a drain counted as a refusal: %v", rej)
	}
}
