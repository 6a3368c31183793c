package line

import (
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// recvN receives n messages and fails on any error.
func recvN(t testing.TB, l *Line[Msg, Msg], n int) []Msg {
	t.Helper()
	ctx := ctxT(t)
	out := make([]Msg, 0, n)
	for range n {
		m, err := l.Receive(ctx)
		if err != nil {
			t.Fatalf("receive %d: %v", len(out), err)
		}
		out = append(out, m)
	}
	return out
}

func sendN(t testing.TB, l *Line[Msg, Msg], from, n int, text string) {
	t.Helper()
	ctx := ctxT(t)
	for i := from; i < from+n; i++ {
		if err := l.Send(ctx, Msg{Text: text, N: float64(i)}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

func checkSeq(t testing.TB, got []Msg, from int, text string) {
	t.Helper()
	for i, m := range got {
		if m.Text != text || m.N != float64(from+i) {
			t.Fatalf("message %d = %+v, want {%s %d}", i, m, text, from+i)
		}
	}
}

// openPair opens a line from a to b with Open on a and Listen on b.
func openPair(t testing.TB, n *testNet, p *Protocol[Msg, Msg], a, b string) (client, server *Line[Msg, Msg], lis *Listener) {
	t.Helper()
	got := make(chan *Line[Msg, Msg], 1)
	lis, err := p.Listen(n.exs[b], func(l *Line[Msg, Msg]) { got <- l })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lis.Close() })
	client, err = p.Open(n.exs[a], b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	// The server learns of the line from the client's outbox announcement.
	sendN(t, client, 0, 1, "hello")
	select {
	case server = <-got:
	case <-ctxT(t).Done():
		t.Fatal("listener got no line")
	}
	t.Cleanup(func() { _ = server.Close() })
	checkSeq(t, recvN(t, server, 1), 0, "hello")
	return client, server, lis
}

func TestLineBothDirections(t *testing.T) {
	n := newNet(t)
	n.start("a", false)
	n.start("b", false)
	p := mustProto(t, "chat")
	c, s, _ := openPair(t, n, p, "a", "b")
	sendN(t, c, 1, 50, "c")
	sendN(t, s, 0, 50, "s")
	checkSeq(t, recvN(t, s, 50), 1, "c")
	checkSeq(t, recvN(t, c, 50), 0, "s")
	n.settle(c, s)
	// Both outboxes are pruned once acknowledged.
	for _, l := range []*Line[Msg, Msg]{c, s} {
		b := readBox(t, l.out)
		if len(b.Messages) != 0 {
			t.Errorf("%s outbox still holds %d messages", l.out.ID(), len(b.Messages))
		}
	}
	if b := readBox(t, c.out); b.NextSeq != 52 || b.AckSeq != 50 {
		t.Errorf("client outbox nextSeq=%v ackSeq=%v, want 52, 50", b.NextSeq, b.AckSeq)
	}
}

func TestLineErrors(t *testing.T) {
	n := newNet(t)
	ex := n.start("a", false)
	if _, err := NewProtocol[Msg, Msg]("a:b", Options{}); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonInvalidTopic}) {
		t.Errorf("topic with ':': %v", err)
	}
	if _, err := NewProtocol[chan int, Msg]("t", Options{}); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonSchema}) {
		t.Errorf("chan payload: %v", err)
	}
	p := mustProto(t, "t")
	for _, peer := range []string{"", "a", "x→y"} {
		if _, err := p.Open(ex, peer); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonInvalidPeer}) {
			t.Errorf("Open(%q): %v", peer, err)
		}
	}
	l, err := p.Open(ex, "b")
	if err != nil {
		t.Fatal(err)
	}
	// The same line with other types is a conflict.
	q, _ := NewProtocol[string, string]("t", Options{})
	if _, err := q.Open(ex, "b"); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonTypeConflict}) {
		t.Errorf("conflicting Open: %v", err)
	}
	ctx := ctxT(t)
	busy := make(chan error, 1)
	go func() { _, err := l.Receive(ctx); busy <- err }()
	// Once the first Receive is waiting, a second one is busy.
	for !l.waiting() {
		runtime.Gosched()
	}
	if _, err := l.Receive(ctx); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonReceiverBusy}) {
		t.Fatalf("second Receive: %v", err)
	}
	_ = l.Close()
	if err := <-busy; !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonClosed}) {
		t.Errorf("Receive after Close: %v", err)
	}
	if err := l.Send(ctx, Msg{}); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonClosed}) {
		t.Errorf("Send after Close: %v", err)
	}
	if _, err := l.Receive(ctx); !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonClosed}) {
		t.Errorf("Receive after Close: %v", err)
	}
	if kyneta.ReasonOf(fmt.Errorf("x: %w", &kyneta.Error{Pkg: "line", Reason: reasonPayload})) != reasonPayload {
		t.Error("ReasonOf does not unwrap")
	}
}
