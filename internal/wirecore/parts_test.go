package wirecore_test

import (
	"bytes"
	"strings"
	"testing"

	wire "github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/internal/wirestep"
)

// TestFragmentBinaryPartsMatchFrames: written head then body, the parts
// are the frames FragmentBinary builds, and they share the payload.
func TestFragmentBinaryPartsMatchFrames(t *testing.T) {
	payload := make([]byte, 250_001)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for _, thr := range []int{1 << 20, 100 << 10, 4096, 250_001, 250_000} {
		frames, err := wire.FragmentBinary(payload, thr, 42)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := wire.FragmentBinaryParts(payload, thr, 42)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != len(frames) {
			t.Fatalf("threshold %d: %d parts, %d frames", thr, len(parts), len(frames))
		}
		for i, p := range parts {
			got := append(append([]byte(nil), p.Head...), p.Body...)
			if !bytes.Equal(got, frames[i]) || p.Len() != len(frames[i]) {
				t.Fatalf("threshold %d: part %d differs", thr, i)
			}
			if &p.Body[0] != &payload[i*thr] {
				t.Fatalf("part %d copies the payload", i)
			}
		}
	}
	if _, err := wire.FragmentBinaryParts(nil, 10, 1); err == nil {
		t.Fatal("empty payload accepted")
	}
	if _, err := wire.FragmentBinaryParts([]byte("x"), 0, 1); err == nil {
		t.Fatal("threshold 0 accepted")
	}
}

// TestSendStepPartsMatchesSendStep: the same messages through both steps
// give the same bytes, sequence numbers and traces.
func TestSendStepPartsMatchesSendStep(t *testing.T) {
	big := strings.Repeat("é€x", 70_000)
	msgs := []wire.ChannelMsg{
		&wire.Offer{DocID: "d", Version: "v1", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[[1]]`)}},
		&wire.Offer{DocID: "d", Version: "v2", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`"` + big + `"`)}},
		&wire.Offer{DocID: "e", Version: "v3", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: []byte(big)}},
		// Left to the general encoder: not well-formed UTF-8.
		&wire.Offer{DocID: "e\xff", Version: "v4\xfe", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte("\"\xc3\"")}},
		&wire.Interest{DocID: "d"},
		&wire.Dismiss{DocID: big},
		&wire.Depart{},
	}
	// Small offers against thresholds that cut every field boundary: the
	// value's head, the value, and the fields after it.
	lineage := "lin"
	small := &wire.Offer{DocID: "doc", Version: "v5", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[["abcdefghijklmnop"]]`), Lineage: &lineage}, Reciprocate: ptrTo(true)}
	for thr := 1; thr <= 80; thr++ {
		a := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
		b := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
		_, outs := wirestep.SendStep(a, wirestep.BinaryCodec, thr, small)
		_, parts, werr := wirestep.SendStepParts(b, thr, small, nil)
		if werr != nil || len(parts) != len(outs) {
			t.Fatalf("threshold %d: %v, %d parts, %d outputs", thr, werr, len(parts), len(outs))
		}
		for i, p := range parts {
			got := append(append(append([]byte(nil), p.Head...), p.Body...), p.Tail...)
			if !bytes.Equal(got, outs[i].Piece) || p.Len() != len(got) {
				t.Fatalf("threshold %d: frame %d differs", thr, i)
			}
		}
	}
	for _, thr := range []int{0, 100 << 10, 1000} {
		a := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
		b := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
		for _, m := range msgs {
			var outs []wirestep.SendOutput[[]byte]
			a, outs = wirestep.SendStep(a, wirestep.BinaryCodec, thr, m)
			var parts []wire.FramePart
			var werr *wirestep.WireError
			seq := b.NextSeq
			// Appended behind what dst holds already.
			dst := []wire.FramePart{{Head: []byte("kept")}}
			b, parts, werr = wirestep.SendStepParts(b, thr, m, dst)
			if werr == nil && string(parts[0].Head) != "kept" {
				t.Fatal("dst's parts overwritten")
			}
			parts = parts[1:]
			traces := wirestep.PartTraces(seq, parts)
			if werr != nil || outs[0].Err != nil {
				t.Fatalf("errors %v %v", werr, outs[0].Err)
			}
			if len(parts) != len(outs) {
				t.Fatalf("threshold %d: %d parts, %d outputs", thr, len(parts), len(outs))
			}
			for i, p := range parts {
				got := append(append(append([]byte(nil), p.Head...), p.Body...), p.Tail...)
				if !bytes.Equal(got, outs[i].Piece) || traces[i] != outs[i].Trace {
					t.Fatalf("threshold %d: frame %d differs (trace %+v vs %+v)", thr, i, traces[i], outs[i].Trace)
				}
			}
		}
		if a.NextSeq != b.NextSeq {
			t.Fatalf("seq %d vs %d", a.NextSeq, b.NextSeq)
		}
	}
	// A failing send consumes a sequence number and returns the error.
	st := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
	st, parts, werr := wirestep.SendStepParts(st, 0, nil, nil)
	if werr == nil || parts != nil || st.NextSeq != 2 {
		t.Fatalf("nil message: %v %v %d", werr, parts, st.NextSeq)
	}
	st, parts, werr = wirestep.SendStepOfferPieces(st, 0, nil, wire.Pieces{Body: []byte("x")}, nil)
	if werr == nil || parts != nil || st.NextSeq != 3 {
		t.Fatalf("nil offer in pieces: %v %v %d", werr, parts, st.NextSeq)
	}
}

// TestSendStepOfferPiecesMatchesSendStep: an offer whose data is given in
// pieces frames to the bytes, sequence numbers and traces of the offer
// with the data joined, and a fragmented one writes its body from where
// it is.
func TestSendStepOfferPiecesMatchesSendStep(t *testing.T) {
	body := []byte(strings.Repeat("abcdé€", 40_000))
	head, tail := []byte(`[[{"path":[],"change":{"type":"set","value":"`), []byte(`"}}]]`)
	cases := []wire.Pieces{
		{Head: head, Body: body, Tail: tail},
		{Body: body},
		{Head: head, Body: body[:10], Tail: tail},                       // too small to split
		{Head: head, Body: body[:len(body)-1], Tail: []byte{0xac, '"'}}, // a character cut in two: joined
	}
	for _, thr := range []int{0, 100 << 10, 1000, 70} {
		for ci, d := range cases {
			for _, enc := range []wire.PayloadEncoding{wire.JSON, wire.Binary} {
				m := &wire.Offer{DocID: "d", Version: "v", Payload: wire.Payload{Kind: wire.Since, Encoding: enc}}
				joined := *m
				joined.Payload.Data = d.Join()
				a := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
				b := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
				a, outs := wirestep.SendStep(a, wirestep.BinaryCodec, thr, &joined)
				seq := b.NextSeq
				b, parts, werr := wirestep.SendStepOfferPieces(b, thr, m, d, nil)
				if werr != nil || outs[0].Err != nil || len(parts) != len(outs) || a.NextSeq != b.NextSeq {
					t.Fatalf("threshold %d case %d %s: %v %v, %d parts, %d outputs", thr, ci, enc, werr, outs[0].Err, len(parts), len(outs))
				}
				traces := wirestep.PartTraces(seq, parts)
				shared := false
				for i, p := range parts {
					got := append(append(append([]byte(nil), p.Head...), p.Body...), p.Tail...)
					if !bytes.Equal(got, outs[i].Piece) || traces[i] != outs[i].Trace {
						t.Fatalf("threshold %d case %d %s: frame %d differs", thr, ci, enc, i)
					}
					if len(p.Body) > 0 && &p.Body[0] == &body[0] {
						shared = true
					}
				}
				if want := thr > 0 && (ci < 2 || ci == 3 && enc == wire.Binary); shared != want {
					t.Fatalf("threshold %d case %d %s: body written from where it is: %v, want %v", thr, ci, enc, shared, want)
				}
			}
		}
	}
}

// TestReceiveStepSharesReassembledPayload: an offer reassembled from
// fragments keeps its payload in the reassembly buffer (no second copy);
// one from a complete frame never aliases the frame the caller passed.
func TestReceiveStepSharesReassembledPayload(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 30_000)
	for _, isText := range []bool{false, true} {
		m := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: data}}
		if !isText {
			m.Payload.Encoding = wire.Binary
		}
		for _, thr := range []int{0, 64 << 10} {
			tx := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
			rx := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
			var outs []wirestep.SendOutput[[]byte]
			_, outs = wirestep.SendStep(tx, wirestep.BinaryCodec, thr, m)
			var out wirestep.ReceiveOutput
			var ok bool
			for _, o := range outs {
				rx, out, ok = wirestep.ReceiveStep(rx, wirestep.BinaryCodec, o.Piece)
			}
			if !ok || out.Err != nil {
				t.Fatalf("receive: %v", out.Err)
			}
			got := out.Msg.(*wire.Offer).Payload.Data
			if !bytes.Equal(got, data) {
				t.Fatal("payload differs")
			}
			last := outs[len(outs)-1].Piece
			if thr == 0 && &got[0] == &last[len(last)-len(data)] {
				t.Fatal("complete frame aliased")
			}
			// Appending must not write into anything else.
			if cap(got) != len(got) {
				t.Fatalf("payload capacity %d > length %d", cap(got), len(got))
			}
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestFragmentSplitPartsMatchFrames: for every way of cutting a payload
// into pre ‖ data ‖ post and every threshold, the parts written in order
// are FragmentBinary's frames of the joined payload, and their bodies are
// slices of data, not copies.
func TestFragmentSplitPartsMatchFrames(t *testing.T) {
	payload := make([]byte, 40)
	for i := range payload {
		payload[i] = byte(i*13 + 1)
	}
	for i := 0; i <= len(payload); i++ {
		for j := i; j <= len(payload); j++ {
			pre, data, post := payload[:i:i], bytes.Clone(payload[i:j]), payload[j:]
			for thr := 1; thr <= len(payload)+1; thr++ {
				frames, err := wire.FragmentBinary(payload, thr, 9)
				if err != nil {
					t.Fatal(err)
				}
				parts, err := wire.FragmentSplitParts(pre, data, post, thr, 9)
				if err != nil || len(parts) != len(frames) {
					t.Fatalf("split %d/%d threshold %d: %v, %d parts, %d frames", i, j, thr, err, len(parts), len(frames))
				}
				for k, p := range parts {
					got := append(append(append([]byte(nil), p.Head...), p.Body...), p.Tail...)
					if !bytes.Equal(got, frames[k]) {
						t.Fatalf("split %d/%d threshold %d: part %d differs", i, j, thr, k)
					}
					if len(p.Body) > 0 {
						off := k*thr + len(p.Head) - wire.FragmentHeaderSize - i
						if &p.Body[0] != &data[off] {
							t.Fatalf("split %d/%d threshold %d: part %d copies the data", i, j, thr, k)
						}
					}
				}
			}
		}
	}
}
