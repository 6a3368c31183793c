package wire

import (
	"bytes"
	"strings"
	"testing"
)

// TestFragmentBinaryPartsMatchFrames: written head then body, the parts
// are the frames FragmentBinary builds, and they share the payload.
func TestFragmentBinaryPartsMatchFrames(t *testing.T) {
	payload := make([]byte, 250_001)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for _, thr := range []int{1 << 20, 100 << 10, 4096, 250_001, 250_000} {
		frames, err := FragmentBinary(payload, thr, 42)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := FragmentBinaryParts(payload, thr, 42)
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
	if _, err := FragmentBinaryParts(nil, 10, 1); err == nil {
		t.Fatal("empty payload accepted")
	}
	if _, err := FragmentBinaryParts([]byte("x"), 0, 1); err == nil {
		t.Fatal("threshold 0 accepted")
	}
}

// TestSendStepPartsMatchesSendStep: the same messages through both steps
// give the same bytes, sequence numbers and traces.
func TestSendStepPartsMatchesSendStep(t *testing.T) {
	big := strings.Repeat("é€x", 70_000)
	msgs := []ChannelMsg{
		&Offer{DocID: "d", Version: "v1", Payload: Payload{Kind: Since, Encoding: JSON, Data: []byte(`[[1]]`)}},
		&Offer{DocID: "d", Version: "v2", Payload: Payload{Kind: Entirety, Encoding: JSON, Data: []byte(`"` + big + `"`)}},
		&Offer{DocID: "e", Version: "v3", Payload: Payload{Kind: Entirety, Encoding: Binary, Data: []byte(big)}},
		// Left to the general encoder: not well-formed UTF-8.
		&Offer{DocID: "e\xff", Version: "v4\xfe", Payload: Payload{Kind: Since, Encoding: JSON, Data: []byte("\"\xc3\"")}},
		// Not offers: encoded, then copied behind the header.
		&Interest{DocID: "d"},
		&Dismiss{DocID: big},
		&Depart{},
	}
	for _, thr := range []int{0, 100 << 10, 1000} {
		a := NewPipelineState[[]byte](ReassemblyConfig{})
		b := NewPipelineState[[]byte](ReassemblyConfig{})
		for _, m := range msgs {
			var outs []SendOutput[[]byte]
			a, outs = SendStep(a, BinaryCodec, thr, m)
			var parts []FramePart
			var traces []FrameTrace
			var werr *WireError
			b, parts, traces, werr = SendStepParts(b, thr, m)
			if werr != nil || outs[0].Err != nil {
				t.Fatalf("errors %v %v", werr, outs[0].Err)
			}
			if len(parts) != len(outs) {
				t.Fatalf("threshold %d: %d parts, %d outputs", thr, len(parts), len(outs))
			}
			for i, p := range parts {
				got := append(append([]byte(nil), p.Head...), p.Body...)
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
	st := NewPipelineState[[]byte](ReassemblyConfig{})
	st, parts, _, werr := SendStepParts(st, 0, nil)
	if werr == nil || parts != nil || st.NextSeq != 2 {
		t.Fatalf("nil message: %v %v %d", werr, parts, st.NextSeq)
	}
}

// TestEncodeTextOfferWithoutStringCopy: a text offer encodes to the bytes
// of the generic value path, at every CBOR length form and for invalid
// UTF-8 (repaired the same way).
func TestEncodeTextOfferWithoutStringCopy(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536, 70_000} {
		for _, data := range [][]byte{bytes.Repeat([]byte("a"), n), append(bytes.Repeat([]byte("b"), n), 0xff, 'c')} {
			m := &wireOffer{wireDocRef: docByID("d"), Kind: wireSince, Encoding: wireJSON, Data: data, DataIsText: true, Version: "1"}
			got, err := encodeMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			v, err := messageValue(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := encodeValue(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("length %d: encodings differ", len(data))
			}
			back, err := decodeMessage(got)
			if err != nil {
				t.Fatal(err)
			}
			if o := back.(*wireOffer); !o.DataIsText || (len(data) == n && !bytes.Equal(o.Data, data)) {
				t.Fatalf("length %d: round trip %q", len(data), o.Data[:min(10, len(o.Data))])
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
		m := &Offer{DocID: "d", Version: "1", Payload: Payload{Kind: Entirety, Encoding: JSON, Data: data}}
		if !isText {
			m.Payload.Encoding = Binary
		}
		for _, thr := range []int{0, 64 << 10} {
			tx := NewPipelineState[[]byte](ReassemblyConfig{})
			rx := NewPipelineState[[]byte](ReassemblyConfig{})
			var outs []SendOutput[[]byte]
			_, outs = SendStep(tx, BinaryCodec, thr, m)
			var out ReceiveOutput
			var ok bool
			for _, o := range outs {
				rx, out, ok = ReceiveStep(rx, BinaryCodec, o.Piece)
			}
			if !ok || out.Err != nil {
				t.Fatalf("receive: %v", out.Err)
			}
			got := out.Msg.(*Offer).Payload.Data
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
