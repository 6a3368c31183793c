package server

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// echoEstablish makes the recorder answer establish like the exchange does.
func echoEstablish(h *harness) {
	h.rec.onReceive = func(ch *transport.Channel, msg wire.ChannelMsg) {
		if msg.MsgType() == wire.TypeEstablish {
			_ = ch.Send(establish("server"))
		}
	}
}

func TestBroadcast(t *testing.T) {
	h := newHarness(t, Options{})
	echoEstablish(h)
	var est []*testClient
	for _, id := range []string{"a", "b"} {
		c := h.connect("peerId=" + id)
		c.send(establish(id))
		if msg, seq := c.readMsg(); msg.MsgType() != wire.TypeEstablish || seq != 1 {
			t.Fatalf("echo %v seq %d", msg.MsgType(), seq)
		}
		est = append(est, c)
	}
	lurker := h.connect("peerId=c") // connected, never established

	data := bytes.Repeat([]byte("kyneta"), 50_000) // 300 KB: fragmented
	offer := &wire.Offer{DocID: "doc", Version: "7", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: data}}
	if n := h.srv.Broadcast(offer); n != 2 {
		t.Fatalf("offer reached %d connections, want the 2 established ones (S9)", n)
	}
	for _, c := range est {
		msg, seq := c.readMsg()
		o, ok := msg.(*wire.Offer)
		if !ok || o.DocID != "doc" || !bytes.Equal(o.Payload.Data, data) || seq != 2 {
			t.Fatalf("got %T seq %d", msg, seq)
		}
	}
	// Lifecycle messages go to everyone; sequences stay per connection.
	if n := h.srv.Broadcast(&wire.Depart{}); n != 3 {
		t.Fatalf("depart reached %d", n)
	}
	for _, c := range est {
		if msg, seq := c.readMsg(); msg.MsgType() != wire.TypeDepart || seq != 3 {
			t.Fatalf("got %v seq %d", msg.MsgType(), seq)
		}
	}
	if msg, seq := lurker.readMsg(); msg.MsgType() != wire.TypeDepart || seq != 1 {
		t.Fatalf("lurker got %v seq %d (the offer must not reach it)", msg.MsgType(), seq)
	}
	// Present is encoded per connection (it assigns aliases).
	present := &wire.Present{Docs: []wire.DocPresence{{DocID: "doc", ReplicaType: wire.ReplicaType{Name: "plain", Major: 1}, SyncMode: wire.Authoritative, SchemaHash: "h"}}}
	if n := h.srv.Broadcast(present); n != 2 {
		t.Fatalf("present reached %d", n)
	}
	for _, c := range est {
		if msg, seq := c.readMsg(); msg.MsgType() != wire.TypePresent || seq != 4 {
			t.Fatalf("got %v seq %d", msg.MsgType(), seq)
		}
	}
	if h.srv.Broadcast(nil) != 0 {
		t.Fatal("nil broadcast")
	}
}

// TestBroadcastSharesPayload checks that the queued bodies of two
// connections are the same memory: only headers are per connection.
func TestBroadcastSharesPayload(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Connections that are not open yet: nothing is written, the queue
	// can be inspected.
	c1 := newConn(s, nil, transport.ConnInfo{PeerID: "1"}, func() {})
	c2 := newConn(s, nil, transport.ConnInfo{PeerID: "2"}, func() {})
	c2.seq = 41
	offer := &wire.Offer{DocID: "doc", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 250_000)}}
	frames, err := s.encodeShared(offer)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 3 {
		t.Fatalf("%d frames", len(frames))
	}
	if err := c1.sendShared(frames); err != nil {
		t.Fatal(err)
	}
	if err := c2.sendShared(frames); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		a, b := c1.q[i], c2.q[i]
		if unsafe.SliceData(a.body) != unsafe.SliceData(b.body) || len(a.body) != len(b.body) {
			t.Fatalf("frame %d: bodies are copies", i)
		}
		fa, err := wire.DecodeFrame(append(append([]byte(nil), a.head...), a.body...))
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := wire.DecodeFrame(append(append([]byte(nil), b.head...), b.body...))
		if fa.Seq != 1 || fb.Seq != 41 || fa.Index != uint16(i) || fa.Total != 3 {
			t.Fatalf("frame %d: seqs %d/%d index %d total %d", i, fa.Seq, fb.Seq, fa.Index, fa.Total)
		}
	}
	if c1.seq != 2 || c2.seq != 42 {
		t.Fatalf("seq not advanced: %d %d", c1.seq, c2.seq)
	}
}
