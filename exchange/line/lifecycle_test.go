package line

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/schema"
)

// tryRecv receives without waiting.
func tryRecv[Out, In any](l *Line[Out, In]) (In, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return l.Receive(ctx)
}

// A line opened before Listen is found by Listen's scan; its messages are
// there.
func TestListenFindsExistingLines(t *testing.T) {
	n := newNet(t)
	n.start("a", false)
	sx := n.start("b", false)
	p := mustProto(t, "late")
	c, err := p.Open(n.exs["a"], "b")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendN(t, c, 0, 3, "x")
	n.settle(c)
	if !sx.Has(c.outID) {
		t.Fatal("b does not know the line document")
	}
	got := make(chan *Line[Msg, Msg], 2)
	lis, err := p.Listen(sx, func(l *Line[Msg, Msg]) { got <- l })
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	s := <-got
	defer s.Close()
	checkSeq(t, recvN(t, s, 3), 0, "x")
	n.settle(c, s)
	if len(got) != 0 {
		t.Fatal("the line was announced twice")
	}
}

// Close keeps the documents: what was received stays received, what was
// queued but not received comes again. Open counts references.
func TestCloseResumes(t *testing.T) {
	n := newNet(t)
	n.start("a", false)
	n.start("b", false)
	p := mustProto(t, "resume")
	a, b, _ := openPair(t, n, p, "a", "b")
	sendN(t, a, 1, 5, "m")
	n.settle(a, b)
	checkSeq(t, recvN(t, b, 2), 1, "m")

	again, err := p.Open(n.exs["b"], "a")
	if err != nil || again != b {
		t.Fatalf("second Open = %p, %v; want the same line %p", again, err, b)
	}
	if err := again.Close(); err != nil || b.Closed() {
		t.Fatalf("closing one of two references closed the line (%v)", err)
	}
	if err := b.Close(); err != nil || !b.Closed() {
		t.Fatalf("last Close: %v, closed=%v", err, b.Closed())
	}
	b2, err := p.Open(n.exs["b"], "a")
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if b2 == b {
		t.Fatal("reopened line is the closed one")
	}
	checkSeq(t, recvN(t, b2, 3), 3, "m")
	n.settle(a, b2)
	if _, err := tryRecv(b2); kyneta.ReasonOf(err) != reasonCanceled {
		t.Fatalf("extra message after resume: %v", err)
	}
	if got := readBox(t, a.out); len(got.Messages) != 0 {
		t.Fatalf("sender keeps %d acknowledged messages", len(got.Messages))
	}
}

// Destroy deletes both documents; the line starts again from seq 1.
func TestDestroy(t *testing.T) {
	n := newNet(t)
	ex := n.start("a", false)
	p := mustProto(t, "gone")
	l, err := p.Open(ex, "b")
	if err != nil {
		t.Fatal(err)
	}
	sendN(t, l, 0, 2, "x")
	if err := l.Destroy(); err != nil {
		t.Fatal(err)
	}
	if ex.Has(l.outID) || ex.Has(l.inID) {
		t.Fatal("documents survive Destroy")
	}
	if err := l.Send(ctxT(t), Msg{}); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonClosed}) {
		t.Fatalf("Send after Destroy: %v", err)
	}
	l2, err := p.Open(ex, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	sendN(t, l2, 0, 1, "y")
	if b := readBox(t, l2.out); len(b.Messages) != 1 || b.Messages[0].Seq != 1 {
		t.Fatalf("after Destroy the outbox is %+v", b)
	}
}

// The exchange's Shutdown closes its lines: a waiting Receive returns
// reasonClosed, and so does Send.
func TestShutdownClosesLines(t *testing.T) {
	n := newNet(t)
	ex := n.start("a", false)
	p := mustProto(t, "down")
	l, err := p.Open(ex, "b")
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	errc := make(chan error, 1)
	go func() { _, err := l.Receive(ctx); errc <- err }()
	n.stop("a")
	if err := <-errc; !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonClosed}) {
		t.Fatalf("Receive across Shutdown: %v", err)
	}
	if err := l.Send(ctx, Msg{}); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonClosed}) {
		t.Fatalf("Send after Shutdown: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
}

// The per-line policy: a peer cannot write this peer's outbox.
func TestRemoteCannotWriteOutbox(t *testing.T) {
	n := newNet(t)
	n.start("a", false)
	bx := n.start("b", false)
	p := mustProto(t, "own")
	a, err := p.Open(n.exs["a"], "b")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sendN(t, a, 0, 1, "mine")
	n.settle(a)
	// b writes into its copy of a's outbox, bypassing any line.
	theirs, err := bx.Get(a.outID, p.client.doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := theirs.Update(func(tx *exchange.Tx) error {
		tx.Set(exchange.P("nextSeq"), 99)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n.settle(a)
	if b := readBox(t, a.out); b.NextSeq != 2 {
		t.Fatalf("a's outbox took b's write: nextSeq %v", b.NextSeq)
	}
}

// A payload that fits the schema but not the receiver's Go type is a
// reasonPayload error that counts as received; the stream goes on. Inbox
// content that is no line message reaches OnError as reasonMalformed and is
// skipped.
func TestBadPayloads(t *testing.T) {
	n := newNet(t)
	n.start("a", false)
	n.start("b", false)
	type intMsg struct {
		Text string `json:"text"`
		N    int    `json:"n"`
	}
	var mu sync.Mutex
	var reported []error
	s, _ := schema.For[Msg]()
	pb, err := NewProtocol[intMsg, intMsg]("bad", Options{ClientSchema: s, ServerSchema: s, OnError: func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	pa := mustProto(t, "bad")
	a, err := pa.Open(n.exs["a"], "b")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := pb.Open(n.exs["b"], "a")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := ctxT(t)
	for _, m := range []Msg{{"x", 1.5}, {"y", 2}} {
		if err := a.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Receive(ctx); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonPayload}) {
		t.Fatalf("undecodable payload: %v", err)
	}
	if m, err := b.Receive(ctx); err != nil || m.N != 2 {
		t.Fatalf("next message: %+v, %v", m, err)
	}
	// A schema violation is refused at Send.
	var loose Protocol[any, any]
	loose.topic, loose.client = "bad", pa.client
	la, err := loose.Open(n.exs["a"], "c")
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	if err := la.Send(ctx, map[string]any{"text": 5}); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonPayload}) {
		t.Fatalf("schema violation: %v", err)
	}

	// Peer c is no line: it writes a raw plain document (same hash, no
	// schema check) where b reads its inbox from c, with one good message
	// among entries that have no usable seq.
	cx := n.start("c", false)
	bc, err := pb.Open(n.exs["b"], "c")
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	raw, err := cx.Get(DocID("bad", "c", "b"), exchange.JSONDoc(pb.ClientSchema().Hash()))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *exchange.Tx) error {
		tx.Set(exchange.P("messages"), []any{map[string]any{"seq": "x"}, 7, map[string]any{"seq": 1, "payload": map[string]any{"text": "ok", "n": 3}}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if m, err := bc.Receive(ctx); err != nil || m.Text != "ok" {
		t.Fatalf("good message among bad ones: %+v, %v", m, err)
	}
	n.settle(a, b, bc)
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || !errors.Is(reported[0], &kyneta.Error{Pkg: "line", Reason: reasonMalformed}) {
		t.Fatalf("reported %v, want one reasonMalformed", reported)
	}
}
