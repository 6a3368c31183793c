package server

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// batchLog records who wrote each batch: the reader (inline) or the
// writer goroutine.
type batchLog struct {
	mu     sync.Mutex
	inline []bool
}

func (l *batchLog) hook(inline bool) {
	l.mu.Lock()
	l.inline = append(l.inline, inline)
	l.mu.Unlock()
}

func (l *batchLog) take() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.inline
	l.inline = nil
	return out
}

// TestReplyWrittenByReader: a reply the exchange sends while a message is
// being delivered is written by the reading goroutine itself, not handed
// to the writer goroutine (no wake-up per round trip); a send made while
// the reader waits for input goes through the writer goroutine.
func TestReplyWrittenByReader(t *testing.T) {
	h := newHarness(t, Options{})
	var log batchLog
	h.srv.testHookBatch = log.hook
	echoOffers(h)
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	log.take() // "ready" went out through the writer goroutine

	// The reader waits for input and holds nothing: a send from another
	// goroutine goes to the writer goroutine.
	sendAndRead(t, h, c, "out")
	if got := log.take(); len(got) != 1 || got[0] {
		t.Fatalf("send while the reader waits for input: batches %v, want one by the writer goroutine", got)
	}
	// A writer goroutine that is still finishing its batch takes what is
	// queued meanwhile; once it is parked, replies are the reader's.
	waitWriterParked(t, h.srv)

	for i := range 20 {
		v := string(rune('a' + i))
		c.send(&wire.Offer{DocID: "d", Version: v, Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: []byte{byte(i)}}})
		msg, _ := c.readMsg()
		if o, ok := msg.(*wire.Offer); !ok || o.Version != v+"'" {
			t.Fatalf("reply %d: %#v", i, msg)
		}
	}
	got := log.take()
	if len(got) != 20 {
		t.Fatalf("%d batches for 20 replies", len(got))
	}
	for i, inline := range got {
		if !inline {
			t.Fatalf("reply %d was handed to the writer goroutine", i)
		}
	}

}

// TestWriteTimeoutInline: a reply the reader writes itself is bounded by
// WriteTimeout like any other write: a peer that sends but never reads
// is cut, and its reader does not stay blocked.
func TestWriteTimeoutInline(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	h := newHarness(t, Options{Clock: fc, WriteTimeout: 10 * time.Second, SendQueueBytes: 8 << 20, FragmentThreshold: -1}, smallBuffers)
	var log batchLog
	h.srv.testHookBatch = log.hook
	writes := make(chan int, 4)
	big := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 2<<20)}}
	h.rec.onReceive = func(ch *transport.Channel, msg wire.ChannelMsg) {
		if _, ok := msg.(*wire.Offer); ok {
			h.srv.testHookWrite = func(size int) { writes <- size }
			_ = ch.Send(big)
		}
	}
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	// "ready" went out through the writer goroutine, which takes what is
	// queued until it parks; from then on replies are the reader's.
	waitWriterParked(t, h.srv)
	log.take()
	// The client never reads again: the 2 MiB reply cannot finish.
	c.send(&wire.Offer{DocID: "d", Version: "0", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary}})
	if size := <-writes; size < 2<<20 {
		t.Fatalf("first write of %d bytes", size)
	}
	if got := log.take(); len(got) != 1 || !got[0] {
		t.Fatalf("batches %v, want one written by the reader", got)
	}
	fc.Advance(10 * time.Second)
	h.waitDone(1)
	if n := h.srv.Stats().Closed[StatusSlowConsumer]; n != 1 {
		t.Fatalf("closed 4000 = %d", n)
	}
}

// TestPipelinedRepliesAllArrive: replies the reader holds back while more
// input is buffered are all written, in order, before it waits for input
// again; none is left behind when the client stops sending.
func TestPipelinedRepliesAllArrive(t *testing.T) {
	h := newHarness(t, Options{})
	var log batchLog
	h.srv.testHookBatch = log.hook
	echoOffers(h)
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	waitWriterParked(t, h.srv) // as in TestWriteTimeoutInline
	log.take()
	const n = 200
	for i := range n {
		c.send(&wire.Offer{DocID: "d", Version: strconv.Itoa(i), Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: []byte{byte(i)}}})
	}
	for i := range n {
		msg, _ := c.readMsg()
		if o, ok := msg.(*wire.Offer); !ok || o.Version != strconv.Itoa(i)+"'" {
			t.Fatalf("reply %d: %#v", i, msg)
		}
	}
	batches := log.take()
	if len(batches) == 0 || len(batches) > n {
		t.Fatalf("%d batches for %d replies", len(batches), n)
	}
	for i, inline := range batches {
		if !inline {
			t.Fatalf("batch %d was written by the writer goroutine", i)
		}
	}
	t.Logf("%d replies in %d batches", n, len(batches))
}

// waitWriterParked waits until every connection's writer goroutine, if
// any, is parked.
func waitWriterParked(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		parked := true
		s.mu.Lock()
		for _, c := range s.conns {
			c.mu.Lock()
			if c.writing && !c.parked {
				parked = false
			}
			c.mu.Unlock()
		}
		s.mu.Unlock()
		if parked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("writer goroutine never parked")
		}
		runtime.Gosched()
	}
}

// echoOffers makes the harness answer every offer, during its delivery,
// with the same offer at version v + "'".
func echoOffers(h *harness) {
	h.rec.onReceive = func(ch *transport.Channel, msg wire.ChannelMsg) {
		if o, ok := msg.(*wire.Offer); ok {
			_ = ch.Send(&wire.Offer{DocID: o.DocID, Version: o.Version + "'", Payload: o.Payload})
		}
	}
}

// TestSendFrameTraces: the frame observer sees every frame a send writes,
// with the sequence number the peer reads: one complete frame for a small
// message, every fragment of a large one, and sizes that add up to what
// arrived.
func TestSendFrameTraces(t *testing.T) {
	h := newHarness(t, Options{FragmentThreshold: 64, MaxMessageSize: 1 << 10})
	var frames []transport.FrameTrace
	h.rec.mu.Lock()
	h.rec.frames = &frames
	h.rec.mu.Unlock()
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	h.rec.mu.Lock()
	ch := h.rec.added[0]
	frames = frames[:0]
	h.rec.mu.Unlock()

	small := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: []byte{1}}}
	large := &wire.Offer{DocID: "d", Version: "2", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 300)}}
	for _, m := range []*wire.Offer{small, large} {
		if err := ch.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	_, seqSmall := c.readMsg()
	_, seqLarge := c.readMsg()

	h.rec.mu.Lock()
	var sent []transport.FrameTrace
	for _, f := range frames {
		if f.Dir == transport.DirSend {
			sent = append(sent, f)
		}
	}
	h.rec.mu.Unlock()
	if len(sent) < 3 {
		t.Fatalf("traces %+v", sent)
	}
	if f := sent[0]; f.Kind != wire.KindComplete || f.Seq != seqSmall || f.Size < 10 {
		t.Fatalf("small offer's trace %+v (seq %d)", f, seqSmall)
	}
	fragments := sent[1:]
	size := 0
	for i, f := range fragments {
		if f.Kind != wire.KindFragment || f.Seq != seqLarge || f.Index != i || f.Total != len(fragments) || f.Size > 64+fragmentHeaderSize {
			t.Fatalf("fragment trace %d: %+v (seq %d, %d fragments)", i, f, seqLarge, len(fragments))
		}
		size += f.Size - fragmentHeaderSize
	}
	if size < 300 {
		t.Fatalf("fragments carry %d bytes, the value alone is 300", size)
	}
}

// fragmentHeaderSize is the wire's fragment frame header: version, kind,
// seq, index, total and total size.
const fragmentHeaderSize = 18

// TestRetiredWriterLeavesNoQueueStorage: once the writer goroutine of an
// idle connection retires, the connection keeps no queue arrays and no
// wake channel (idle memory per connection), and the next message still
// goes out through a new writer.
func TestRetiredWriterLeavesNoQueueStorage(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	h := newHarness(t, Options{Clock: fc})
	c := h.connect("")
	h.rec.waitFor(t, "channel", func() bool { return len(h.rec.added) == 1 })
	waitWriterParked(t, h.srv)
	// The watchdog retires a writer idle for writerLinger.
	waitTimer(t, fc, writerLinger)
	fc.Advance(writerLinger)
	deadline := time.Now().Add(guard)
	for h.srv.writersRunning() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle writer never retired")
		}
		runtime.Gosched()
	}
	h.srv.mu.Lock()
	for _, cn := range h.srv.conns {
		cn.mu.Lock()
		if cn.q != nil || cn.spare != nil || cn.wake != nil {
			t.Errorf("retired writer left queue %d/%d and wake %v", cap(cn.q), cap(cn.spare), cn.wake != nil)
		}
		cn.mu.Unlock()
	}
	h.srv.mu.Unlock()

	sendAndRead(t, h, c, "after")
}

// sendAndRead sends an empty offer with the given version on the
// harness's first channel, from outside any delivery, and checks that the
// client reads it.
func sendAndRead(t *testing.T, h *harness, c *testClient, version string) {
	t.Helper()
	h.rec.mu.Lock()
	ch := h.rec.added[0]
	h.rec.mu.Unlock()
	if err := ch.Send(&wire.Offer{DocID: "d", Version: version, Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary}}); err != nil {
		t.Fatal(err)
	}
	if msg, _ := c.readMsg(); msg.(*wire.Offer).Version != version {
		t.Fatalf("got %#v", msg)
	}
}
