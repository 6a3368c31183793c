package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// TestLimitDefaults: the zero Options carry every limit, and negative
// values switch the optional ones off.
func TestLimitDefaults(t *testing.T) {
	c, err := Options{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.MessageRate != defaultMessageRate || c.MessageBurst != defaultMessageBurst ||
		c.MaxConnectionsPerIP != netdefault.MaxConnectionsPerIP || c.MaxConnectionsPerPrincipal != netdefault.MaxConnectionsPerPrincipal ||
		c.budget == nil || c.budget.Limit() != netdefault.ReassemblyBudget {
		t.Fatalf("defaults: %+v budget %v", c.Options, c.budget)
	}
	c, err = Options{MessageRate: -1, ReassemblyBudget: -1, MaxConnectionsPerIP: -1, MaxConnectionsPerPrincipal: -1}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.MessageRate != 0 || c.budget != nil || c.MaxConnectionsPerIP > 0 || c.MaxConnectionsPerPrincipal > 0 {
		t.Fatalf("disabled: %+v budget %v", c.Options, c.budget)
	}
	if c, _ := (Options{MessageRate: 50}).resolve(); c.MessageBurst != 50 {
		t.Fatalf("burst for an explicit rate: %d", c.MessageBurst)
	}
	defaults, _ := Options{}.resolve()
	for p, want := range map[Principal]string{"svc": "svc", 42: "", nil: "", stringer("u1"): "u1"} {
		if got := defaults.PrincipalKey(p); got != want {
			t.Errorf("principal key of %#v = %q, want %q", p, got, want)
		}
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestDefaultRateDoesNotBotherABulkClient: 20,000 messages sent as fast as
// the socket takes them stay within the default burst.
func TestDefaultRateDoesNotBotherABulkClient(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0)) // no token comes back: only the burst counts
	h := newHarness(t, Options{Clock: fc})
	c := h.connect("")
	frames, err := c.pipe.Send(&wire.Interest{DocID: "doc"})
	if err != nil {
		t.Fatal(err)
	}
	for range 20_000 {
		if err := c.writeBinary(frames[0]); err != nil {
			t.Fatal(err)
		}
	}
	c.writeText("ping")
	c.expectText("pong")
	if n := h.srv.Stats().Closed[statusPolicyViolation]; n != 0 {
		t.Fatalf("%d rate-limit closes", n)
	}
}

// TestPerIPCap: connections above the per-address cap are refused with
// HTTP 429 before the upgrade; a reconnect that replaces its own older
// connection is not; a closed connection frees its slot.
func TestPerIPCap(t *testing.T) {
	h := newHarness(t, Options{MaxConnectionsPerIP: 2})
	a := h.connect("peerId=a")
	h.connect("peerId=b")
	_, resp, err := h.dial("peerId=c", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third connection: err %v resp %v, want HTTP 429 with Retry-After", err, resp)
	}
	if n := h.srv.Stats().Rejected[reasonPerIP]; n != 1 {
		t.Fatalf("rejected per-ip = %d", n)
	}
	// Peer a reconnects: the new socket replaces the old one.
	a2 := h.connect("peerId=a")
	a.expectClose(statusReplaced, closeReasonReplaced)
	h.waitDone(1)
	a2.close()
	h.waitDone(1)
	h.connect("peerId=c")
	if got := h.srv.ConnectionCount(); got != 2 {
		t.Fatalf("%d connections", got)
	}
}

// TestPerPrincipalCap: one principal may hold MaxConnectionsPerPrincipal
// connections; others are not affected.
func TestPerPrincipalCap(t *testing.T) {
	h := newHarness(t, Options{MaxConnectionsPerPrincipal: 1, Authenticate: func(r *http.Request) (Principal, error) {
		return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), nil
	}})
	as := func(user string) http.Header { return http.Header{"Authorization": {"Bearer " + user}} }
	c, _, err := h.dial("", as("alice"))
	if err != nil {
		t.Fatal(err)
	}
	c.expectText("ready")
	if _, resp, err := h.dial("", as("alice")); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second alice: err %v resp %v, want HTTP 429", err, resp)
	}
	b, _, err := h.dial("", as("bob"))
	if err != nil {
		t.Fatalf("bob: %v", err)
	}
	b.expectText("ready")
	if n := h.srv.Stats().Rejected[reasonPerPrincipal]; n != 1 {
		t.Fatalf("rejected per-principal = %d", n)
	}
}

// TestPerIPCapHandleConn: HandleConn refuses with 1013 and says why.
func TestPerIPCapHandleConn(t *testing.T) {
	srv, err := New(Options{MaxConnectionsPerIP: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rec.srv = srv
	ctx := context.Background()
	_ = srv.Initialize(ctx, rec.context())
	_ = srv.Start(ctx)
	served := make(chan error, 2)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			served <- err
			return
		}
		served <- srv.HandleConn(context.Background(), ws, transport.ConnInfo{RemoteAddr: r.RemoteAddr})
	}))
	defer ts.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	url := "ws" + strings.TrimPrefix(ts.URL, "http")
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	first := &testClient{t: t, ws: ws}
	first.expectText("ready")
	ws2, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	(&testClient{t: t, ws: ws2}).expectClose(statusTryAgainLater, closeReasonTooMany)
	var ce *CloseError
	if err := <-served; !errors.As(err, &ce) || !errors.Is(err, &kyneta.Error{Pkg: "server", Reason: reasonPerIP}) {
		t.Fatalf("HandleConn refusal = %v", err)
	}
	first.close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_ = srv.Stop(ctx)
}

// fragmentsOf encodes msg into fragment frames of at most threshold
// payload bytes each, with a fresh pipeline.
func fragmentsOf(t *testing.T, msg wire.ChannelMsg, threshold int) [][]byte {
	t.Helper()
	p := pipeline.New(pipeline.Options{Threshold: threshold, ReassemblyTimeout: -1})
	defer p.Close()
	frames, err := p.Send(msg)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func bigOffer(doc string, size int) *wire.Offer {
	return &wire.Offer{DocID: doc, Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, size)}}
}

// TestReassemblyBudget: two connections share the server's reassembly
// budget. The one that finds it exhausted is closed with 1013; the other
// keeps its partial message and completes it.
func TestReassemblyBudget(t *testing.T) {
	fa := fragmentsOf(t, bigOffer("a", 40<<10), 20<<10) // reserves its whole size (about 40 KiB) at once
	fb := fragmentsOf(t, bigOffer("b", 30<<10), 15<<10)
	f, err := wire.DecodeFrame(fa[0])
	if err != nil || len(fa) > 16 {
		t.Fatalf("%d frames: %v", len(fa), err)
	}
	sizeA := int64(f.TotalSize)
	h := newHarness(t, Options{ReassemblyBudget: sizeA + 20<<10})
	a, b := h.connect("peerId=a"), h.connect("peerId=b")
	if err := a.writeBinary(fa[0]); err != nil {
		t.Fatal(err)
	}
	a.writeText("ping")
	a.expectText("pong")
	if st := h.srv.Stats(); st.ReassemblyReserved != sizeA || st.ReassemblyBudget != sizeA+20<<10 {
		t.Fatalf("reserved %d of %d, want %d", st.ReassemblyReserved, st.ReassemblyBudget, sizeA)
	}
	if err := b.writeBinary(fb[0]); err != nil {
		t.Fatal(err)
	}
	b.expectClose(statusTryAgainLater, closeReasonBusy)
	for _, f := range fa[1:] {
		if err := a.writeBinary(f); err != nil {
			t.Fatal(err)
		}
	}
	h.rec.waitFor(t, "a's offer", func() bool {
		return len(h.rec.received) == 1 && h.rec.received[0].msg.(*wire.Offer).DocID == "a"
	})
	h.waitDone(1)
	if st := h.srv.Stats(); st.ReassemblyReserved != 0 || st.Closed[statusTryAgainLater] != 1 {
		t.Fatalf("after completion: reserved %d, closes %v", st.ReassemblyReserved, st.Closed)
	}
}

// TestReassemblyPerConnectionLimit: a fragmented message larger than
// MaxReassemblySize closes its connection with 1009.
func TestReassemblyPerConnectionLimit(t *testing.T) {
	h := newHarness(t, Options{MaxReassemblySize: 32 << 10})
	c := h.connect("")
	for _, f := range fragmentsOf(t, bigOffer("d", 48<<10), 16<<10) {
		if err := c.writeBinary(f); err != nil {
			break // closed already
		}
	}
	c.expectClose(statusMessageTooBig, closeReasonTooBig)
	if st := h.srv.Stats(); st.InvalidFrames != 0 || st.Closed[statusMessageTooBig] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func presentOf(n int) *wire.Present {
	p := &wire.Present{}
	for i := range n {
		p.Docs = append(p.Docs, wire.DocPresence{DocID: fmt.Sprintf("doc-%d", i), ReplicaType: wire.ReplicaType{Name: "plain", Major: 1}, SyncMode: wire.Authoritative, SchemaHash: "h"})
	}
	return p
}

// TestAliasLimits: a present longer than MaxPresentDocs closes with 1009,
// aliases beyond MaxAliases with 1008; a present within both is delivered.
func TestAliasLimits(t *testing.T) {
	h := newHarness(t, Options{MaxPresentDocs: 3, MaxAliases: 4})
	ok := h.connect("")
	ok.send(presentOf(3))
	h.rec.waitFor(t, "present", func() bool { return len(h.rec.received) == 1 })

	tooLong := h.connect("")
	tooLong.send(presentOf(4))
	tooLong.expectClose(statusMessageTooBig, closeReasonTooBig)

	tooMany := h.connect("")
	tooMany.send(presentOf(3))
	p := presentOf(5)
	p.Docs = p.Docs[3:] // doc-3 is the fourth alias, doc-4 the fifth
	tooMany.send(p)
	tooMany.expectClose(statusPolicyViolation, "Limit exceeded: too-many-aliases")
}

// TestDecodeLimitCloses: a message beyond the decoder's caps closes with
// 1009, not as an invalid frame.
func TestDecodeLimitCloses(t *testing.T) {
	h := newHarness(t, Options{})
	c := h.connect("")
	payload := []byte{0xb8, 100} // a map of 100 pairs
	for i := range 100 {
		payload = append(payload, 0x18, byte(24+i), 0x00)
	}
	frame, err := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindComplete, Seq: 1, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.writeBinary(frame); err != nil {
		t.Fatal(err)
	}
	c.expectClose(statusMessageTooBig, closeReasonTooBig)
}
