package pipeline

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/wirestep"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
	"pgregory.net/rapid"
)

type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) hook(err error, _ transport.Direction) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errLog) codes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.errs {
		out = append(out, kyneta.ReasonOf(e))
	}
	return out
}

func sampleMessages() []wire.ChannelMsg {
	name := "Bee"
	yes := true
	v := "v1"
	lin := "lineage"
	return []wire.ChannelMsg{
		&wire.Establish{Identity: wire.PeerIdentity{PeerID: "p1", Name: &name, Type: wire.PeerBot}, Features: &wire.Features{Alias: &yes}, ProtocolVersion: wire.DefaultProtocolVersion},
		&wire.Depart{},
		&wire.Present{Docs: []wire.DocPresence{{DocID: "d1", ReplicaType: wire.ReplicaType{Name: "plain", Major: 1}, SyncMode: wire.Authoritative, SchemaHash: "h1", SupportedHashes: []string{"h1", "h0"}}}},
		&wire.Interest{DocID: "d1", Version: &v, Reciprocate: &yes},
		&wire.Offer{DocID: "d1", Version: "v2", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{1, 2, 3}, Lineage: &lin}},
		&wire.Dismiss{DocID: "d1"},
		&wire.Vacant{DocID: "d2"},
	}
}

func TestPipelineRoundTrip(t *testing.T) {
	for _, threshold := range []int{0, 8, 1000} {
		var sendTraces, recvTraces []transport.FrameTrace
		a := New(Options{Threshold: threshold, OnFrame: func(tr transport.FrameTrace) { sendTraces = append(sendTraces, tr) }})
		b := New(Options{Threshold: threshold, OnFrame: func(tr transport.FrameTrace) { recvTraces = append(recvTraces, tr) }})
		for i, m := range sampleMessages() {
			pieces, err := a.Send(m)
			if err != nil {
				t.Fatalf("threshold %d: send %T: %v", threshold, m, err)
			}
			if threshold == 8 && len(pieces) < 2 && m.MsgType() != wire.TypeDepart { // depart is 4 bytes
				t.Fatalf("threshold 8: %T not fragmented", m)
			}
			var got wire.ChannelMsg
			for j, pc := range pieces {
				f, err := wire.DecodeFrame(pc)
				if err != nil || f.Seq != uint32(i+1) {
					t.Fatalf("frame %d: seq %d err %v", j, f.Seq, err)
				}
				if threshold > 0 && f.Kind == wire.KindFragment && len(f.Payload) > threshold {
					t.Fatalf("chunk of %d > threshold %d", len(f.Payload), threshold)
				}
				m, err := b.Receive(pc)
				if err != nil {
					t.Fatal(err)
				}
				if j < len(pieces)-1 && m != nil {
					t.Fatal("message before last fragment")
				}
				got = m
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("threshold %d: got %#v want %#v", threshold, got, m)
			}
		}
		if b.PendingFragments() != 0 {
			t.Fatal("groups left")
		}
		if len(recvTraces) != len(sampleMessages()) {
			t.Fatalf("receive traces %d", len(recvTraces))
		}
		fragments := 0
		for _, tr := range sendTraces {
			if tr.Dir != transport.DirSend || (tr.Kind == wire.KindFragment && (tr.Total < 2 || tr.Index >= tr.Total)) {
				t.Fatalf("threshold %d: trace %+v", threshold, tr)
			}
			if tr.Kind == wire.KindFragment {
				fragments++
			}
		}
		if (fragments > 0) != (threshold == 8) {
			t.Fatalf("threshold %d: %d fragment traces", threshold, fragments)
		}
	}
}

func TestPipelineSeqAndReset(t *testing.T) {
	p := New(Options{})
	first, _ := p.Send(&wire.Depart{})
	p.mu.Lock()
	p.st.NextSeq = 0xFFFFFFFF
	p.mu.Unlock()
	seqOf := func(pc [][]byte) uint32 { f, _ := wire.DecodeFrame(pc[0]); return f.Seq }
	x, _ := p.Send(&wire.Depart{})
	y, _ := p.Send(&wire.Depart{})
	if seqOf(x) != 0xFFFFFFFF || seqOf(y) != 0 {
		t.Fatalf("wrap: %d %d", seqOf(x), seqOf(y))
	}
	// A failing send still consumes a seq (reference issue P1).
	if _, err := p.Send(nil); err == nil {
		t.Fatal("nil message accepted")
	}
	z, _ := p.Send(&wire.Depart{})
	if seqOf(z) != 2 {
		t.Fatalf("seq after failed send: %d", seqOf(z))
	}
	// A pending fragment group is dropped by Reset too.
	frag, _ := New(Options{Threshold: 4}).Send(&wire.Vacant{DocID: "pending"})
	if _, err := p.Receive(frag[0]); err != nil || p.PendingFragments() != 1 {
		t.Fatalf("pending %d, err %v", p.PendingFragments(), err)
	}
	if err := p.Reset(); err != nil {
		t.Fatal(err)
	}
	if p.PendingFragments() != 0 || p.PendingBytes() != 0 {
		t.Fatal("Reset kept fragments")
	}
	again, _ := p.Send(&wire.Depart{})
	if !bytes.Equal(again[0], first[0]) {
		t.Fatal("output after Reset differs from a fresh pipeline's")
	}
}

func TestPipelineClose(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	p := New(Options{Clock: fc, Threshold: 4})
	q := New(Options{Clock: fc, Threshold: 4})
	pieces, _ := p.Send(&wire.Interest{DocID: "abcdef"})
	if _, err := q.Receive(pieces[0]); err != nil {
		t.Fatal(err)
	}
	if fc.Pending() != 1 {
		t.Fatal("no reassembly timer")
	}
	_ = q.Close()
	_ = q.Close()
	if fc.Pending() != 0 {
		t.Fatal("Close left a timer")
	}
	if _, err := q.Receive(pieces[1]); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonClosed, Code: kyneta.CodeUnavailable}) {
		t.Fatalf("receive after close: %v", err)
	}
	if _, err := q.Send(&wire.Depart{}); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonClosed, Code: kyneta.CodeUnavailable}) {
		t.Fatalf("send after close: %v", err)
	}
	if err := q.Reset(); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonClosed, Code: kyneta.CodeUnavailable}) {
		t.Fatalf("reset after close: %v", err)
	}
}

func TestPipelineReassemblyTimeout(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	var log errLog
	tx := New(Options{Threshold: 4})
	rx := New(Options{Clock: fc, OnError: log.hook})
	pieces, _ := tx.Send(&wire.Interest{DocID: "timeout-me"})
	if _, err := rx.Receive(pieces[0]); err != nil {
		t.Fatal(err)
	}
	if d := fc.Durations(); len(d) != 1 || d[0] != 10*time.Second {
		t.Fatalf("timers %v", d)
	}
	fc.Advance(10*time.Second - time.Millisecond)
	if rx.PendingFragments() != 1 || len(log.codes()) != 0 {
		t.Fatal("expired early")
	}
	fc.Advance(time.Millisecond)
	if rx.PendingFragments() != 0 {
		t.Fatal("group not dropped")
	}
	codes := log.codes()
	if len(codes) != 1 || codes[0] != reasonReassemblyTimeout {
		t.Fatalf("errors %v", codes)
	}
	var pe *Error
	if !errors.As(log.errs[0], &pe) || pe.Seq != 1 || pe.Dir != transport.DirReceive {
		t.Fatalf("error %+v", log.errs[0])
	}
	// The rest of the message now starts a fresh group and never completes
	// without its first fragment.
	for _, pc := range pieces[1:] {
		if m, err := rx.Receive(pc); m != nil || err != nil {
			t.Fatalf("got %v %v", m, err)
		}
	}
	// A completed group's timer is stopped.
	rx2 := New(Options{Clock: fc})
	p2, _ := tx.Send(&wire.Interest{DocID: "complete"})
	for _, pc := range p2 {
		_, _ = rx2.Receive(pc)
	}
	// Only rx's fresh group (from the orphaned fragments) still has a timer.
	if rx2.PendingFragments() != 0 || rx.PendingFragments() != 1 || fc.Pending() != 1 {
		t.Fatalf("after completion: groups %d/%d timers %d", rx2.PendingFragments(), rx.PendingFragments(), fc.Pending())
	}
	_ = rx.Close()
	_ = rx2.Close()
}

func TestPipelineEviction(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	var log errLog
	tx := New(Options{Threshold: 4})
	rx := New(Options{Clock: fc, MaxConcurrentFrames: 2, OnError: log.hook})
	var firsts, rests [][][]byte
	for _, id := range []string{"doc-one", "doc-two", "doc-three"} {
		pc, _ := tx.Send(&wire.Vacant{DocID: id})
		firsts = append(firsts, pc[:1])
		rests = append(rests, pc[1:])
	}
	for _, f := range firsts {
		if _, err := rx.Receive(f[0]); err != nil {
			t.Fatal(err)
		}
	}
	if rx.PendingFragments() != 2 {
		t.Fatalf("pending %d", rx.PendingFragments())
	}
	if codes := log.codes(); len(codes) != 1 || codes[0] != reasonReassemblyEvicted {
		t.Fatalf("errors %v", codes)
	}
	// Messages two and three still complete.
	for i := 1; i < 3; i++ {
		var got wire.ChannelMsg
		for _, pc := range rests[i] {
			got, _ = rx.Receive(pc)
		}
		if got == nil {
			t.Fatalf("message %d lost", i)
		}
	}
	_ = rx.Close()
}

func TestPipelineSizeLimit(t *testing.T) {
	var log errLog
	tx := New(Options{Threshold: 100})
	rx := New(Options{MaxReassemblySize: 150, OnError: log.hook})
	defer rx.Close()
	pieces, _ := tx.Send(&wire.Offer{DocID: "big", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 400)}})
	for _, pc := range pieces {
		m, _ := rx.Receive(pc)
		if m != nil {
			t.Fatal("a message larger than the reassembly limit was delivered")
		}
		if n := rx.PendingBytes(); n > 150 {
			t.Fatalf("holding %d bytes, limit 150", n)
		}
	}
	if len(log.codes()) == 0 {
		t.Fatal("no error reported for the oversized message")
	}
}

func TestPipelineBadFrames(t *testing.T) {
	tx := New(Options{Threshold: 4})
	pieces, _ := tx.Send(&wire.Dismiss{DocID: "abcdefgh"})
	frag := func(index, total uint16, totalSize uint32, chunk string) []byte {
		b, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindFragment, Seq: 9, Index: index, Total: total, TotalSize: totalSize, Payload: []byte(chunk)})
		return b
	}
	complete := func(payload string) []byte {
		b, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindComplete, Seq: 3, Payload: []byte(payload)})
		return b
	}
	cases := []struct {
		name   string
		pieces [][]byte
		code   string
		detail string
	}{
		{"truncated", [][]byte{{3, 0, 0}}, reasonReassemblyFailed, "parse_error"},
		{"bad version", [][]byte{append([]byte{2}, pieces[0][1:]...)}, reasonReassemblyFailed, "parse_error"},
		{"duplicate fragment", [][]byte{pieces[0], pieces[0]}, reasonReassemblyFailed, "duplicate_fragment"},
		{"index out of range", [][]byte{frag(3, 3, 6, "ab")}, reasonReassemblyFailed, "invalid_index"},
		{"zero total", [][]byte{frag(0, 0, 6, "ab")}, reasonReassemblyFailed, "invalid_index"},
		{"total mismatch", [][]byte{frag(0, 3, 6, "ab"), frag(1, 4, 6, "cd")}, reasonReassemblyFailed, "total_mismatch"},
		{"size mismatch", [][]byte{frag(0, 3, 6, "ab"), frag(1, 3, 7, "cd")}, reasonReassemblyFailed, "size_mismatch"},
		{"chunks exceed total size", [][]byte{frag(0, 2, 3, "ab"), frag(1, 2, 3, "cd")}, reasonReassemblyFailed, "size_mismatch"},
		{"garbage payload", [][]byte{complete("not a message")}, reasonDecodeFailed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log errLog
			rx := New(Options{OnError: log.hook})
			defer rx.Close()
			var err error
			for _, pc := range c.pieces {
				_, err = rx.Receive(pc)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Reason != c.code || pe.Detail != c.detail {
				t.Fatalf("got %v", err)
			}
			if codes := log.codes(); len(codes) != 1 || codes[0] != c.code {
				t.Fatalf("OnError saw %v", codes)
			}
		})
	}
}

func TestPipelineTooManyFragments(t *testing.T) {
	p := New(Options{Threshold: 1})
	_, err := p.Send(&wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: make([]byte, 70000)}})
	if kyneta.ReasonOf(err) != reasonTooManyFragments || kyneta.CodeOf(err) != kyneta.CodeResourceExhausted {
		t.Fatalf("got %v", err)
	}
}

func TestPipelineConcurrentSendReceive(t *testing.T) {
	a := New(Options{Threshold: 32})
	b := New(Options{Threshold: 32})
	ab := make(chan [][]byte, 16)
	ba := make(chan [][]byte, 16)
	var wg sync.WaitGroup
	pump := func(from *Pipeline, out chan<- [][]byte) {
		defer wg.Done()
		defer close(out)
		for range 200 {
			pc, err := from.Send(&wire.Interest{DocID: "a-fairly-long-document-identifier"})
			if err != nil {
				t.Error(err)
				return
			}
			out <- pc
		}
	}
	drain := func(to *Pipeline, in <-chan [][]byte) {
		defer wg.Done()
		n := 0
		for pcs := range in {
			for _, pc := range pcs {
				if m, err := to.Receive(pc); err != nil {
					t.Error(err)
				} else if m != nil {
					n++
				}
			}
		}
		if n != 200 {
			t.Errorf("received %d", n)
		}
	}
	wg.Add(4)
	go pump(a, ab)
	go pump(b, ba)
	go drain(b, ab)
	go drain(a, ba)
	wg.Wait()
}

// TestPipelineExpiryTimer: the reassembler arms no timers; the pipeline
// keeps one, for the earliest deadline, re-arms it for the next after a
// timeout, and stops it on Reset and Close.
func TestPipelineExpiryTimer(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	var log errLog
	tx := New(Options{Threshold: 4})
	rx := New(Options{Clock: fc, OnError: log.hook})
	first, _ := tx.Send(&wire.Interest{DocID: "first-doc"})
	second, _ := tx.Send(&wire.Interest{DocID: "second-doc"})
	if _, err := rx.Receive(first[0]); err != nil {
		t.Fatal(err)
	}
	fc.Advance(4 * time.Second)
	if _, err := rx.Receive(second[0]); err != nil {
		t.Fatal(err)
	}
	// One timer for two partial messages: the first one's deadline.
	if d := fc.Durations(); len(d) != 1 || d[0] != 6*time.Second {
		t.Fatalf("timers %v", d)
	}
	fc.Advance(6 * time.Second)
	codes := log.codes()
	var pe *Error
	if len(codes) != 1 || codes[0] != reasonReassemblyTimeout || !errors.As(log.errs[0], &pe) || pe.Seq != 1 {
		t.Fatalf("errors %v", log.errs)
	}
	// Re-armed for the second message.
	if d := fc.Durations(); rx.PendingFragments() != 1 || len(d) != 1 || d[0] != 4*time.Second {
		t.Fatalf("%d pending, timers %v", rx.PendingFragments(), d)
	}
	// Reset drops the message and its timer.
	if err := rx.Reset(); err != nil || fc.Pending() != 0 {
		t.Fatalf("after Reset: %v, %d timers", err, fc.Pending())
	}
	// A message that completes leaves no timer behind.
	for _, pc := range second {
		_, _ = rx.Receive(pc)
	}
	if rx.PendingFragments() != 0 || fc.Pending() != 0 {
		t.Fatalf("after completion: %d pending, %d timers", rx.PendingFragments(), fc.Pending())
	}
	// Close stops the timer of a pending message: its deadline passes
	// without a report.
	if _, err := rx.Receive(first[0]); err != nil || fc.Pending() != 1 {
		t.Fatalf("%v, %d timers", err, fc.Pending())
	}
	_ = rx.Close()
	if fc.Pending() != 0 {
		t.Fatalf("%d timers after Close", fc.Pending())
	}
	fc.Advance(time.Minute)
	if n := len(log.codes()); n != 1 {
		t.Fatalf("%d errors after Close", n)
	}
	// With the timeout disabled nothing is armed.
	off := New(Options{Clock: fc, ReassemblyTimeout: -1})
	if _, err := off.Receive(first[0]); err != nil || off.PendingFragments() != 1 || fc.Pending() != 0 {
		t.Fatalf("%v, %d pending, %d timers", err, off.PendingFragments(), fc.Pending())
	}
	_ = off.Close()
}

// Send gives the frames the general send step gives for the same message,
// fragmented or not, each frame its own slice: appending to one never
// writes into the next.
func TestSendMatchesSendStep(t *testing.T) {
	for _, threshold := range []int{0, 8, 100, 1000} {
		p := New(Options{Threshold: threshold})
		var st wirestep.PipelineState[[]byte]
		st.NextSeq = 1
		msgs := sendMessages()
		for _, m := range msgs {
			got, err := p.Send(m)
			if err != nil {
				t.Fatal(err)
			}
			var outs []wirestep.SendOutput[[]byte]
			st, outs = wirestep.SendStep(st, wirestep.BinaryCodec, threshold, m)
			if len(got) != len(outs) {
				t.Fatalf("threshold %d, %T: %d frames, the step gives %d", threshold, m, len(got), len(outs))
			}
			for i, o := range outs {
				if o.Err != nil || !bytes.Equal(got[i], o.Piece) {
					t.Fatalf("threshold %d, %T, frame %d: % x, the step gives % x (%v)", threshold, m, i, got[i], o.Piece, o.Err)
				}
				if cap(got[i]) != len(got[i]) {
					t.Fatalf("threshold %d, %T, frame %d: capacity %d beyond its %d bytes", threshold, m, i, cap(got[i]), len(got[i]))
				}
			}
		}
		p.Close()
	}
}

// The same for drawn offers: any value size against any threshold, so a
// value split off the encoding lands anywhere in the fragments.
func TestSendMatchesSendStepDrawn(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		threshold := rapid.IntRange(0, 600).Draw(t, "threshold")
		p := New(Options{Threshold: threshold})
		defer p.Close()
		var st wirestep.PipelineState[[]byte]
		st.NextSeq = 1
		for i := range rapid.IntRange(1, 3).Draw(t, "messages") {
			data := rapid.SliceOfN(rapid.Byte(), 0, 3000).Draw(t, "data")
			m := &wire.Offer{DocID: rapid.StringN(1, 40, -1).Draw(t, "doc"), Version: "v" + strconv.Itoa(i),
				Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: data}}
			got, err := p.Send(m)
			var outs []wirestep.SendOutput[[]byte]
			st, outs = wirestep.SendStep(st, wirestep.BinaryCodec, threshold, m)
			if err != nil || len(got) != len(outs) {
				t.Fatalf("message %d: %d frames (%v), the step gives %d", i, len(got), err, len(outs))
			}
			for j, o := range outs {
				if o.Err != nil || !bytes.Equal(got[j], o.Piece) || cap(got[j]) != len(got[j]) {
					t.Fatalf("message %d, frame %d: % x (cap %d), the step gives % x (%v)", i, j, got[j], cap(got[j]), o.Piece, o.Err)
				}
			}
		}
	})
}

// AppendSend appends Send's frames behind what dst holds, without a list
// of its own when one frame fits in dst, and leaves dst as it was on error.
func TestAppendSendAppendsSendsFrames(t *testing.T) {
	for _, threshold := range []int{0, 100} {
		a, b := New(Options{Threshold: threshold}), New(Options{Threshold: threshold})
		msgs := sendMessages()
		for _, m := range msgs {
			want, err := a.Send(m)
			if err != nil {
				t.Fatal(err)
			}
			mark := []byte("kept")
			got, err := b.AppendSend([][]byte{mark}, m)
			if err != nil || len(got) != 1+len(want) || !bytes.Equal(got[0], mark) {
				t.Fatalf("threshold %d, %T: %d frames after the kept one, want %d (%v)", threshold, m, len(got)-1, len(want), err)
			}
			for i := range want {
				if !bytes.Equal(got[1+i], want[i]) {
					t.Fatalf("threshold %d, %T, frame %d differs", threshold, m, i)
				}
			}
		}
		bad := &wire.Offer{DocID: "d", Version: "v", Payload: wire.Payload{Kind: "neither", Encoding: wire.Binary}}
		dst := [][]byte{[]byte("kept")}
		if got, err := b.AppendSend(dst, bad); err == nil || len(got) != 1 {
			t.Fatalf("a failing send: %d frames, %v", len(got), err)
		}
		a.Close()
		b.Close()
	}
	p := New(Options{})
	defer p.Close()
	in := &wire.Interest{DocID: "doc-1"}
	var one [1][]byte
	if n := testing.AllocsPerRun(100, func() {
		if _, err := p.AppendSend(one[:0], in); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("%v allocations per interest into room for one frame, want 1 (the frame)", n)
	}
}

// sendMessages are the sample messages and an offer large enough to be
// fragmented at the send tests' thresholds.
func sendMessages() []wire.ChannelMsg {
	return append(sampleMessages(), &wire.Offer{DocID: "big", Version: "v9",
		Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: bytes.Repeat([]byte{9}, 5000)}})
}
