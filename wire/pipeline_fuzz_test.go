package wire

import (
	"reflect"
	"testing"
	"time"
)

func FuzzReceiveStep(f *testing.F) {
	// Seeds: what a sender emits for a handshake and a fragmented offer,
	// in both encodings, plus damaged variants.
	alias := true
	msgs := []ChannelMsg{
		&Establish{Identity: PeerIdentity{PeerID: "peer-a", Type: PeerUser}, Features: &Features{Alias: &alias}},
		&Present{Docs: []DocPresence{{DocID: "doc-1", ReplicaType: ReplicaType{"loro", 1, 0}, SyncMode: Collaborative, SchemaHash: "h1"}}},
		&Interest{DocID: "doc-1"},
		&Offer{DocID: "doc-1", Version: "3", Payload: Payload{Kind: Since, Encoding: Binary, Data: []byte("0123456789abcdef0123456789")}},
		&Dismiss{DocID: "doc-1"},
	}
	bst := NewPipelineState[[]byte](ReassemblyConfig{Clock: newRecordingClock()})
	tst := NewPipelineState[string](ReassemblyConfig{Clock: newRecordingClock()})
	var bp, tp [][]byte
	for _, m := range msgs {
		var bo []SendOutput[[]byte]
		var to []SendOutput[string]
		bst, bo = SendStep(bst, BinaryCodec, 24, m)
		tst, to = SendStep(tst, TextCodec, 24, m)
		for _, o := range bo {
			bp = append(bp, o.Piece)
		}
		for _, o := range to {
			tp = append(tp, []byte(o.Piece))
		}
	}
	f.Add(joinPieces(bp...), false)
	f.Add(joinPieces(tp...), true)
	f.Add(joinPieces(bp[0], bp[2], bp[1][:5], nil, bp[3]), false)
	f.Add(joinPieces([]byte{3, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xff}), false)
	f.Add(joinPieces([]byte(`["2c",1,{"t":19,"dx":0}]`), []byte(`["2c",2,[{"t":2}]]`)), true)

	codes := map[WireErrorCode]bool{CodeReassemblyFailed: true, CodeDecodeFailed: true, CodeInvalidWireMessage: true, CodeAliasResolutionFailed: true}
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		var received []ChannelMsg
		n := allocated(func() {
			clk := newRecordingClock()
			cfg := ReassemblyConfig{Timeout: time.Second, MaxConcurrentFrames: 4, MaxTotalSize: 256, Clock: clk}
			bst := NewPipelineState[[]byte](cfg)
			tst := NewPipelineState[string](cfg)
			received = nil
			for _, piece := range fuzzPieces(data) {
				if piece == nil {
					clk.Advance(400 * time.Millisecond)
					continue
				}
				var out ReceiveOutput
				var ok bool
				if text {
					tst, out, ok = ReceiveStep(tst, TextCodec, string(piece))
				} else {
					bst, out, ok = ReceiveStep(bst, BinaryCodec, piece)
				}
				if !ok {
					continue
				}
				if (out.Msg == nil) == (out.Err == nil) {
					t.Fatalf("output %+v: want exactly one of message and error", out)
				}
				if out.Err != nil && !codes[out.Err.Code] {
					t.Fatalf("unexpected receive error code %v", out.Err)
				}
				if out.Msg != nil {
					received = append(received, out.Msg)
				}
			}
		})
		if n > uint64(256*len(data))+allocSlack {
			t.Fatalf("%d input bytes allocated %d bytes", len(data), n)
		}
		// Round trip: every accepted message, sent through a fresh pipeline
		// pair, arrives unchanged.
		for _, m := range received {
			checkPipelineRoundTrip(t, m, text)
		}
	})
}

func checkPipelineRoundTrip(t *testing.T, m ChannelMsg, text bool) {
	t.Helper()
	cfg := ReassemblyConfig{Clock: newRecordingClock()}
	var got ChannelMsg
	if text {
		tx, rx := NewPipelineState[string](cfg), NewPipelineState[string](cfg)
		_, outs := SendStep(tx, TextCodec, 16, m)
		for _, o := range outs {
			if o.Err != nil {
				t.Fatalf("resend %#v: %v", m, o.Err)
			}
			var out ReceiveOutput
			var ok bool
			if rx, out, ok = ReceiveStep(rx, TextCodec, o.Piece); ok {
				if out.Err != nil {
					t.Fatalf("re-receive %#v: %v", m, out.Err)
				}
				got = out.Msg
			}
		}
	} else {
		tx, rx := NewPipelineState[[]byte](cfg), NewPipelineState[[]byte](cfg)
		_, outs := SendStep(tx, BinaryCodec, 16, m)
		for _, o := range outs {
			if o.Err != nil {
				t.Fatalf("resend %#v: %v", m, o.Err)
			}
			var out ReceiveOutput
			var ok bool
			if rx, out, ok = ReceiveStep(rx, BinaryCodec, o.Piece); ok {
				if out.Err != nil {
					t.Fatalf("re-receive %#v: %v", m, out.Err)
				}
				got = out.Msg
			}
		}
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip changed the message:\n got %#v\nwant %#v", got, m)
	}
}
