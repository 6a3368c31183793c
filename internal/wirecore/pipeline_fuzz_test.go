package wirecore_test

import (
	"reflect"
	"testing"
	"time"

	wire "github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/internal/wirestep"
)

func FuzzReceiveStep(f *testing.F) {
	// Seeds: what a sender emits for a handshake and a fragmented offer,
	// in both encodings, plus damaged variants.
	alias := true
	msgs := []wire.ChannelMsg{
		&wire.Establish{Identity: wire.PeerIdentity{PeerID: "peer-a", Type: wire.PeerUser}, Features: &wire.Features{Alias: &alias}},
		&wire.Present{Docs: []wire.DocPresence{{DocID: "doc-1", ReplicaType: wire.ReplicaType{"loro", 1, 0}, SyncMode: wire.Collaborative, SchemaHash: "h1"}}},
		&wire.Interest{DocID: "doc-1"},
		&wire.Offer{DocID: "doc-1", Version: "3", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte("0123456789abcdef0123456789")}},
		&wire.Dismiss{DocID: "doc-1"},
	}
	bst := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{Clock: wire.NewRecordingClock()})
	tst := wirestep.NewPipelineState[string](wire.ReassemblyConfig{Clock: wire.NewRecordingClock()})
	var bp, tp [][]byte
	for _, m := range msgs {
		var bo []wirestep.SendOutput[[]byte]
		var to []wirestep.SendOutput[string]
		bst, bo = wirestep.SendStep(bst, wirestep.BinaryCodec, 24, m)
		tst, to = wirestep.SendStep(tst, wirestep.TextCodec, 24, m)
		for _, o := range bo {
			bp = append(bp, o.Piece)
		}
		for _, o := range to {
			tp = append(tp, []byte(o.Piece))
		}
	}
	f.Add(wire.JoinPieces(bp...), false)
	f.Add(wire.JoinPieces(tp...), true)
	f.Add(wire.JoinPieces(bp[0], bp[2], bp[1][:5], nil, bp[3]), false)
	f.Add(wire.JoinPieces([]byte{3, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0xff}), false)
	f.Add(wire.JoinPieces([]byte(`["2c",1,{"t":19,"dx":0}]`), []byte(`["2c",2,[{"t":2}]]`)), true)

	codes := map[string]bool{wirestep.ReasonReassemblyFailed: true, wirestep.ReasonDecodeFailed: true, wirestep.ReasonInvalidWireMessage: true, wirestep.ReasonAliasResolutionFailed: true}
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		var received []wire.ChannelMsg
		n := wire.Allocated(func() {
			clk := wire.NewRecordingClock()
			cfg := wire.ReassemblyConfig{Timeout: time.Second, MaxConcurrentFrames: 4, MaxTotalSize: 256, Clock: clk}
			bst := wirestep.NewPipelineState[[]byte](cfg)
			tst := wirestep.NewPipelineState[string](cfg)
			received = nil
			for _, piece := range wire.FuzzPieces(data) {
				if piece == nil {
					clk.Advance(400 * time.Millisecond)
					bst.Reassembler.Expire(clk.Now())
					tst.Reassembler.Expire(clk.Now())
					continue
				}
				var out wirestep.ReceiveOutput
				var ok bool
				if text {
					tst, out, ok = wirestep.ReceiveStep(tst, wirestep.TextCodec, string(piece))
				} else {
					bst, out, ok = wirestep.ReceiveStep(bst, wirestep.BinaryCodec, piece)
				}
				if !ok {
					continue
				}
				if (out.Msg == nil) == (out.Err == nil) {
					t.Fatalf("output %+v: want exactly one of message and error", out)
				}
				if out.Err != nil && !codes[out.Err.Reason] {
					t.Fatalf("unexpected receive error code %v", out.Err)
				}
				if out.Msg != nil {
					received = append(received, out.Msg)
				}
			}
		})
		if n > uint64(256*len(data))+wire.AllocSlack {
			t.Fatalf("%d input bytes wire.Allocated %d bytes", len(data), n)
		}
		// Round trip: every accepted message, sent through a fresh pipeline
		// pair, arrives unchanged.
		for _, m := range received {
			checkPipelineRoundTrip(t, m, text)
		}
	})
}

func checkPipelineRoundTrip(t *testing.T, m wire.ChannelMsg, text bool) {
	t.Helper()
	cfg := wire.ReassemblyConfig{Clock: wire.NewRecordingClock()}
	var got wire.ChannelMsg
	if text {
		tx, rx := wirestep.NewPipelineState[string](cfg), wirestep.NewPipelineState[string](cfg)
		_, outs := wirestep.SendStep(tx, wirestep.TextCodec, 16, m)
		for _, o := range outs {
			if o.Err != nil {
				t.Fatalf("resend %#v: %v", m, o.Err)
			}
			var out wirestep.ReceiveOutput
			var ok bool
			if rx, out, ok = wirestep.ReceiveStep(rx, wirestep.TextCodec, o.Piece); ok {
				if out.Err != nil {
					t.Fatalf("re-receive %#v: %v", m, out.Err)
				}
				got = out.Msg
			}
		}
	} else {
		tx, rx := wirestep.NewPipelineState[[]byte](cfg), wirestep.NewPipelineState[[]byte](cfg)
		_, outs := wirestep.SendStep(tx, wirestep.BinaryCodec, 16, m)
		for _, o := range outs {
			if o.Err != nil {
				t.Fatalf("resend %#v: %v", m, o.Err)
			}
			var out wirestep.ReceiveOutput
			var ok bool
			if rx, out, ok = wirestep.ReceiveStep(rx, wirestep.BinaryCodec, o.Piece); ok {
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
