package wirestep

import (
	"errors"
	"math"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta"
	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

// Codec is one of the two wire encodings a pipeline step speaks:
// [BinaryCodec] (CBOR messages in binary frames, used by WebSocket) or
// [TextCodec] (JSON messages in text frames, used by SSE/HTTP). Its fields
// are unexported; use the two variables.
type Codec[P wire.Piece] struct {
	name     string
	maxFrame int64
	size     func(P) int
	// encode returns the encoding behind reserve bytes, where complete
	// writes the frame header without copying the message.
	reserve int
	encode  func(*wire.AliasState, wire.ChannelMsg) (P, error)
	decode  func(*wire.AliasState, P) (wire.ChannelMsg, error)
	// decodeOwned, if set, decodes a payload the reassembler built (no
	// one else holds it), sharing it where decode would copy.
	decodeOwned func(*wire.AliasState, P) (wire.ChannelMsg, error)
	complete    func(seq uint32, payload P) P
	fragment    func(payload P, threshold int, seq uint32) ([]P, error)
}

// Name returns "binary" or "text".
func (c Codec[P]) Name() string { return c.name }

// Size returns the size of a payload or frame as this codec measures it:
// bytes for binary, Unicode code points for text.
func (c Codec[P]) Size(p P) int { return c.size(p) }

// BinaryCodec encodes messages as CBOR and frames them as binary frames.
var BinaryCodec = Codec[[]byte]{
	name:     "binary",
	maxFrame: math.MaxUint32, // the 32-bit length field
	size:     func(b []byte) int { return len(b) },
	reserve:  wire.HeaderSize,
	encode: func(a *wire.AliasState, msg wire.ChannelMsg) ([]byte, error) {
		return a.EncodeReserved(msg, wire.HeaderSize)
	},
	decode:      (*wire.AliasState).Decode,
	decodeOwned: (*wire.AliasState).DecodeOwned,
	complete:    completeInPlace,
	fragment:    wire.FragmentBinary,
}

// TextCodec encodes messages as compact JSON and frames them as text
// frames; sizes count Unicode code points.
var TextCodec = Codec[string]{
	name:     "text",
	maxFrame: math.MaxInt32, // the reference's text frame limit: the longest string a JavaScript engine is guaranteed to hold
	size:     utf8.RuneCountInString,
	encode:   (*wire.AliasState).EncodeText,
	decode:   (*wire.AliasState).DecodeText,
	complete: func(seq uint32, payload string) string {
		return string(wire.AppendTextFrame(make([]byte, 0, len(payload)+16), wire.TextFrame{Kind: wire.KindComplete, Seq: float64(seq), Payload: payload}))
	},
	fragment: wire.FragmentText,
}

// PipelineState is the per-connection state the pipeline steps thread
// through: the alias table and the reassembler for received pieces of type
// R (both updated in place by the steps, shared by reference, as in the
// reference) and the next outbound frame sequence number, which starts
// at 1.
type PipelineState[R wire.Piece] struct {
	Alias       *wire.AliasState
	Reassembler *wire.Reassembler[R]
	NextSeq     uint32
}

// NewPipelineState returns the state of a fresh connection: empty alias
// table, a reassembler with cfg's limits (the zero config is safe) and
// NextSeq 1. The reassembler arms no timers: its timeouts are deadlines
// that the shell enforces by calling Reassembler.Expire from its own
// timer. A reset connection starts from a new state, so its output is
// byte-identical to a first connection's.
func NewPipelineState[R wire.Piece](cfg wire.ReassemblyConfig) PipelineState[R] {
	return PipelineState[R]{Alias: new(wire.AliasState), Reassembler: wire.NewReassembler[R](cfg), NextSeq: 1}
}

// TraceDir is the direction of a traced frame.
type TraceDir string

// Trace directions.
const (
	TraceSend    TraceDir = "send"
	TraceReceive TraceDir = "receive"
)

// FrameTrace describes a frame for observers (metrics, logs).
type FrameTrace struct {
	Dir  TraceDir
	Seq  uint32
	Kind wire.FrameKind
	// Index and Total are set for sent fragments.
	Index int
	Total int
	// Size is the size of the piece in the codec's unit. On receive it is
	// the last piece only, not the whole message, as in the reference.
	Size int
}

// SendOutput is one result of [SendStep]: a piece to transmit with its
// trace, or an error.
type SendOutput[P wire.Piece] struct {
	Piece P
	Trace FrameTrace
	Err   *WireError // nil for a piece
}

// ReceiveOutput is the result of a [ReceiveStep] that produced something:
// a message with its trace, or an error.
type ReceiveOutput struct {
	Msg   wire.ChannelMsg
	Trace FrameTrace
	Err   *WireError // nil for a message
}

// SendStep runs the send side of the pipeline for one message: outbound
// aliasing, message encoding, then one complete frame, or fragments when
// threshold > 0 and the encoded payload is larger than threshold (the
// payload size, before framing, in the codec's unit). Sending consumes
// exactly one sequence number, also when it fails, and all fragments carry
// it. The alias table is updated in place (its changes are kept on
// failure, like the reference); the returned state carries the advanced
// sequence number. Failures are single outputs with a *WireError; SendStep
// never panics.
//
// Apart from the alias table the step is pure: st's reassembler is passed
// through untouched. S (the codec's piece type) and R (the state's receive type)
// may differ, for asymmetric links.
func SendStep[S, R wire.Piece](st PipelineState[R], codec Codec[S], threshold int, msg wire.ChannelMsg) (PipelineState[R], []SendOutput[S]) {
	st, seq, buf, werr := encodeOutbound(st, codec, msg)
	if werr != nil {
		return st, []SendOutput[S]{{Err: werr}}
	}
	payload := buf[codec.reserve:]
	size := codec.size(payload)
	if threshold > 0 && size > threshold {
		frames, err := codec.fragment(payload, threshold, seq)
		if err != nil {
			return st, []SendOutput[S]{{Err: fragmentWireError(err)}}
		}
		out := make([]SendOutput[S], len(frames))
		for i, f := range frames {
			out[i] = SendOutput[S]{Piece: f, Trace: FrameTrace{
				Dir: TraceSend, Seq: seq, Kind: wire.KindFragment, Index: i, Total: len(frames), Size: codec.size(f),
			}}
		}
		return st, out
	}
	if int64(size) > codec.maxFrame {
		return st, []SendOutput[S]{{Err: &WireError{Reason: ReasonFrameTooLarge, Detail: SizeLimit{Size: int64(size), Limit: codec.maxFrame}}}}
	}
	frame := codec.complete(seq, buf)
	return st, []SendOutput[S]{{Piece: frame, Trace: FrameTrace{Dir: TraceSend, Seq: seq, Kind: wire.KindComplete, Size: codec.size(frame)}}}
}

// completeInPlace writes a complete frame's header into the reserved
// bytes in front of its payload.
func completeInPlace(seq uint32, buf []byte) []byte {
	_, _ = wire.PutHeader(buf[:wire.HeaderSize], wire.Frame{Kind: wire.KindComplete, Seq: seq, Payload: buf[wire.HeaderSize:]})
	return buf
}

// encodeOutbound takes the message's sequence number, aliases it and
// encodes it.
func encodeOutbound[S, R wire.Piece](st PipelineState[R], codec Codec[S], msg wire.ChannelMsg) (PipelineState[R], uint32, S, *WireError) {
	var zero S
	seq := st.NextSeq
	st.NextSeq = seq + 1 // wraps from 2^32-1 to 0
	if st.Alias == nil {
		st.Alias = new(wire.AliasState)
	}
	payload, err := codec.encode(st.Alias, msg)
	if err != nil {
		return st, seq, zero, encodeWireError(err)
	}
	return st, seq, payload, nil
}

func encodeWireError(err error) *WireError {
	reason := ReasonEncodeFailed
	var aerr *wire.AliasError
	if errors.As(err, &aerr) {
		reason = ReasonAliasResolutionFailed
	}
	return &WireError{Reason: reason, Detail: err}
}

// SendStepParts is [SendStep] for the binary codec, for writers that can
// write a frame in parts: fragments come back as headers and slices of
// the message (see [wire.FragmentSplitParts]) instead of copies, and an
// offer's large value is not even copied into the encoding. The bytes on
// the wire are the same. The parts are appended to dst (which may be
// nil); [PartTraces] gives the traces SendStep would. On failure it
// returns the *WireError SendStep would return and no parts.
func SendStepParts[R wire.Piece](st PipelineState[R], threshold int, msg wire.ChannelMsg, dst []wire.FramePart) (PipelineState[R], []wire.FramePart, *WireError) {
	return sendStepParts(st, threshold, dst, func(a *wire.AliasState, split int) ([]byte, []byte, []byte, error) {
		return a.EncodeSplit(msg, split, wire.HeaderSize)
	})
}

// SendStepOfferPieces is [SendStepParts] for an offer whose payload data is
// d rather than m.Payload.Data (see [wirecore.AliasState.EncodeOfferPieces]):
// a large body is written from where it is. The frames are those of
// SendStepParts for the offer with the pieces joined.
func SendStepOfferPieces[R wire.Piece](st PipelineState[R], threshold int, m *wire.Offer, d wire.Pieces, dst []wire.FramePart) (PipelineState[R], []wire.FramePart, *WireError) {
	if m == nil {
		return SendStepParts(st, threshold, nil, dst) // fails as a nil message does
	}
	return sendStepParts(st, threshold, dst, func(a *wire.AliasState, split int) ([]byte, []byte, []byte, error) {
		return a.EncodeOfferPieces(m, d, split, wire.HeaderSize)
	})
}

// sendStepParts frames what encode gives: pre ‖ data ‖ post, data nil
// when the whole message is pre behind room for its header.
func sendStepParts[R wire.Piece](st PipelineState[R], threshold int, dst []wire.FramePart, encode func(a *wire.AliasState, split int) (pre, data, post []byte, err error)) (PipelineState[R], []wire.FramePart, *WireError) {
	seq := st.NextSeq
	st.NextSeq = seq + 1 // wraps from 2^32-1 to 0
	if st.Alias == nil {
		st.Alias = new(wire.AliasState)
	}
	split := math.MaxInt // a value larger than a fragment is written from where it is
	if threshold > 0 {
		split = threshold + 1
	}
	pre, data, post, err := encode(st.Alias, split)
	if err != nil {
		return st, nil, encodeWireError(err)
	}
	reserved := pre // not split: the message behind room for its header
	if data == nil {
		pre = pre[wire.HeaderSize:]
	}
	if size := len(pre) + len(data) + len(post); threshold > 0 && size > threshold {
		parts, err := wire.FragmentSplitParts(pre, data, post, threshold, seq)
		if err != nil {
			return st, nil, fragmentWireError(err)
		}
		return st, append(dst, parts...), nil
	}
	// Not split: pre is the whole message.
	if int64(len(pre)) > BinaryCodec.maxFrame {
		return st, nil, &WireError{Reason: ReasonFrameTooLarge, Detail: SizeLimit{Size: int64(len(pre)), Limit: BinaryCodec.maxFrame}}
	}
	return st, append(dst, wire.FramePart{Head: completeInPlace(seq, reserved)}), nil
}

// PartTraces returns the traces of the frames SendStepParts gave for
// sequence number seq: the traces SendStep gives for the same message.
func PartTraces(seq uint32, parts []wire.FramePart) []FrameTrace {
	if len(parts) == 1 && parts[0].Body == nil && parts[0].Tail == nil && wire.FrameKind(parts[0].Head[1]) == wire.KindComplete {
		return []FrameTrace{{Dir: TraceSend, Seq: seq, Kind: wire.KindComplete, Size: len(parts[0].Head)}}
	}
	traces := make([]FrameTrace, len(parts))
	for i, p := range parts {
		traces[i] = FrameTrace{Dir: TraceSend, Seq: seq, Kind: wire.KindFragment, Index: i, Total: len(parts), Size: p.Len()}
	}
	return traces
}

func fragmentWireError(err error) *WireError {
	if errors.Is(err, &kyneta.Error{Pkg: "wire"}) {
		switch r := kyneta.ReasonOf(err); r {
		case ReasonEmptyPayload, ReasonTooManyFragments:
			return &WireError{Reason: r, Detail: err}
		}
	}
	return &WireError{Reason: ReasonFrameTooLarge, Detail: err}
}

// ReceiveStep runs the receive side of the pipeline for one piece:
// reassembly, message decoding, then inbound aliasing. ok is false while
// the piece only advanced a fragmented message. Otherwise the output holds
// the message and its trace (Seq is the sender's), or a *WireError:
// reassembly-failed (including undecodable frames), invalid-wire-message,
// decode-failed or alias-resolution-failed. The alias table is updated in
// place, also when aliasing fails part-way (a present keeps the
// entries before the failing one, as in the reference). ReceiveStep never
// panics.
func ReceiveStep[P wire.Piece](st PipelineState[P], codec Codec[P], piece P) (PipelineState[P], ReceiveOutput, bool) {
	if st.Reassembler == nil {
		return st, ReceiveOutput{Err: &WireError{Reason: ReasonReassemblyFailed, Detail: &wire.ReassemblyError{Reason: "disposed"}}}, true
	}
	r, done, err := st.Reassembler.Receive(piece)
	if err != nil {
		return st, ReceiveOutput{Err: &WireError{Reason: ReasonReassemblyFailed, Detail: err}}, true
	}
	if !done {
		return st, ReceiveOutput{}, false
	}
	decode := codec.decode
	if r.Owned && codec.decodeOwned != nil {
		decode = codec.decodeOwned
	}
	if st.Alias == nil {
		st.Alias = new(wire.AliasState)
	}
	msg, err := decode(st.Alias, r.Payload)
	if err != nil {
		var verr *wire.ValidationError
		var aerr *wire.AliasError
		switch {
		case errors.As(err, &verr):
			return st, ReceiveOutput{Err: &WireError{Reason: ReasonInvalidWireMessage, Detail: verr}}, true
		case errors.As(err, &aerr), kyneta.ReasonOf(err) == "nil-message":
			return st, ReceiveOutput{Err: &WireError{Reason: ReasonAliasResolutionFailed, Detail: err}}, true
		}
		return st, ReceiveOutput{Err: &WireError{Reason: ReasonDecodeFailed, Detail: err}}, true
	}
	return st, ReceiveOutput{Msg: msg, Trace: FrameTrace{
		Dir: TraceReceive, Seq: toUint32(r.Seq), Kind: wire.KindComplete, Size: codec.size(piece),
	}}, true
}

// toUint32 converts a frame seq (a JavaScript number) like ECMAScript's
// ToUint32: truncate, then reduce modulo 2^32; NaN and infinities are 0.
// Binary seqs and every seq this package sends are already in range.
func toUint32(f float64) uint32 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	f = math.Mod(math.Trunc(f), 1<<32)
	if f < 0 {
		f += 1 << 32
	}
	return uint32(f)
}
