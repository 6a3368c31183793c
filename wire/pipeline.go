package wire

import (
	"errors"
	"math"
)

// Codec is one of the two wire encodings a pipeline step speaks:
// [BinaryCodec] (CBOR messages in binary frames, used by WebSocket) or
// [TextCodec] (JSON messages in text frames, used by SSE/HTTP). Its fields
// are unexported; use the two variables.
type Codec[P Piece] struct {
	name     string
	maxFrame int64
	size     func(P) int
	encode   func(wireMessage) (P, error)
	decode   func(P) (wireMessage, error)
	// decodeOwned, if set, decodes a payload the reassembler built (no
	// one else holds it), sharing it where decode would copy.
	decodeOwned func(P) (wireMessage, error)
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
	name:        "binary",
	maxFrame:    MaxPayload,
	size:        func(b []byte) int { return len(b) },
	encode:      encodeMessage,
	decode:      decodeMessage,
	decodeOwned: decodeOwnedMessage,
	complete: func(seq uint32, payload []byte) []byte {
		b := make([]byte, HeaderSize+len(payload))
		putHeader(b, KindComplete, uint32(len(payload)), seq)
		copy(b[HeaderSize:], payload)
		return b
	},
	fragment: FragmentBinary,
}

// TextCodec encodes messages as compact JSON and frames them as text
// frames; sizes count Unicode code points.
var TextCodec = Codec[string]{
	name:     "text",
	maxFrame: MaxTextPayload,
	size:     textSize,
	encode:   encodeTextMessage,
	decode:   decodeTextMessage,
	complete: func(seq uint32, payload string) string {
		return string(appendTextComplete(make([]byte, 0, len(payload)+16), seq, payload))
	},
	fragment: FragmentText,
}

// PipelineState is the per-connection state the pipeline steps thread
// through: the alias table and the reassembler for received pieces of type
// R (both updated in place by the steps, shared by reference, as in the
// reference) and the next outbound frame sequence number, which starts
// at 1.
type PipelineState[R Piece] struct {
	Alias       *AliasState
	Reassembler *Reassembler[R]
	NextSeq     uint32
}

// NewPipelineState returns the state of a fresh connection: empty alias
// table, a reassembler with cfg's limits (the zero config is safe) and
// NextSeq 1. A reset connection starts from a new state, so its output is
// byte-identical to a first connection's.
func NewPipelineState[R Piece](cfg ReassemblyConfig) PipelineState[R] {
	return PipelineState[R]{Alias: new(AliasState), Reassembler: NewReassembler[R](cfg), NextSeq: 1}
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
	Kind FrameKind
	// Index and Total are set for sent fragments.
	Index int
	Total int
	// Size is the size of the piece in the codec's unit. On receive it is
	// the last piece only, not the whole message, as in the reference.
	Size int
}

// SendOutput is one result of [SendStep]: a piece to transmit with its
// trace, or an error.
type SendOutput[P Piece] struct {
	Piece P
	Trace FrameTrace
	Err   *WireError // nil for a piece
}

// ReceiveOutput is the result of a [ReceiveStep] that produced something:
// a message with its trace, or an error.
type ReceiveOutput struct {
	Msg   ChannelMsg
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
func SendStep[S, R Piece](st PipelineState[R], codec Codec[S], threshold int, msg ChannelMsg) (PipelineState[R], []SendOutput[S]) {
	st, seq, payload, werr := encodeOutbound(st, codec, msg)
	if werr != nil {
		return st, []SendOutput[S]{{Err: werr}}
	}
	size := codec.size(payload)
	if threshold > 0 && size > threshold {
		frames, err := codec.fragment(payload, threshold, seq)
		if err != nil {
			return st, []SendOutput[S]{{Err: fragmentWireError(err)}}
		}
		out := make([]SendOutput[S], len(frames))
		for i, f := range frames {
			out[i] = SendOutput[S]{Piece: f, Trace: FrameTrace{
				Dir: TraceSend, Seq: seq, Kind: KindFragment, Index: i, Total: len(frames), Size: codec.size(f),
			}}
		}
		return st, out
	}
	if int64(size) > codec.maxFrame {
		return st, []SendOutput[S]{{Err: &WireError{Code: CodeFrameTooLarge, Detail: SizeLimit{Size: int64(size), Limit: codec.maxFrame}}}}
	}
	frame := codec.complete(seq, payload)
	return st, []SendOutput[S]{{Piece: frame, Trace: FrameTrace{Dir: TraceSend, Seq: seq, Kind: KindComplete, Size: codec.size(frame)}}}
}

// encodeOutbound takes the message's sequence number, aliases it and
// encodes it.
func encodeOutbound[S, R Piece](st PipelineState[R], codec Codec[S], msg ChannelMsg) (PipelineState[R], uint32, S, *WireError) {
	var zero S
	seq := st.NextSeq
	st.NextSeq = NextSeq(seq)
	if st.Alias == nil {
		st.Alias = new(AliasState)
	}
	wm, err := aliasOutbound(st.Alias, msg)
	if err != nil {
		code := CodeAliasResolutionFailed
		if errors.Is(err, ErrNilMessage) {
			code = CodeEncodeFailed
		}
		return st, seq, zero, &WireError{Code: code, Detail: err}
	}
	payload, err := codec.encode(wm)
	if err != nil {
		return st, seq, zero, &WireError{Code: CodeEncodeFailed, Detail: err}
	}
	return st, seq, payload, nil
}

// FramePart is a binary frame to be written as Head followed by Body.
// Fragments of one message have their own Head (the 18-byte fragment
// header) and a Body that is a slice of the one encoded message, so
// fragmenting copies nothing; a complete frame is all Head.
type FramePart struct {
	Head, Body []byte
}

// Len returns the frame's size.
func (p FramePart) Len() int { return len(p.Head) + len(p.Body) }

// SendStepParts is [SendStep] for the binary codec, for writers that can
// write a frame in two parts: fragments come back as headers and slices
// of the encoded message (see [FragmentBinaryParts]) instead of copies.
// The bytes on the wire are the same. On failure it returns the
// *WireError SendStep would return and no parts.
func SendStepParts[R Piece](st PipelineState[R], threshold int, msg ChannelMsg) (PipelineState[R], []FramePart, []FrameTrace, *WireError) {
	// The message is encoded after room for a complete frame's header.
	st, seq, framed, werr := encodeOutbound(st, binaryFramed, msg)
	if werr != nil {
		return st, nil, nil, werr
	}
	payload := framed[HeaderSize:]
	if threshold > 0 && len(payload) > threshold {
		parts, err := FragmentBinaryParts(payload, threshold, seq)
		if err != nil {
			return st, nil, nil, fragmentWireError(err)
		}
		traces := make([]FrameTrace, len(parts))
		for i, p := range parts {
			traces[i] = FrameTrace{Dir: TraceSend, Seq: seq, Kind: KindFragment, Index: i, Total: len(parts), Size: p.Len()}
		}
		return st, parts, traces, nil
	}
	if int64(len(payload)) > BinaryCodec.maxFrame {
		return st, nil, nil, &WireError{Code: CodeFrameTooLarge, Detail: SizeLimit{Size: int64(len(payload)), Limit: BinaryCodec.maxFrame}}
	}
	putHeader(framed, KindComplete, uint32(len(payload)), seq)
	return st, []FramePart{{Head: framed}}, []FrameTrace{{Dir: TraceSend, Seq: seq, Kind: KindComplete, Size: len(framed)}}, nil
}

func fragmentWireError(err error) *WireError {
	var fe *FragmentError
	if errors.As(err, &fe) {
		switch fe.Code {
		case FragmentEmptyPayload:
			return &WireError{Code: CodeEmptyPayload, Detail: fe}
		case FragmentTooMany:
			return &WireError{Code: CodeTooManyFragments, Detail: fe}
		}
	}
	return &WireError{Code: CodeFrameTooLarge, Detail: err}
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
func ReceiveStep[P Piece](st PipelineState[P], codec Codec[P], piece P) (PipelineState[P], ReceiveOutput, bool) {
	if st.Reassembler == nil {
		return st, ReceiveOutput{Err: &WireError{Code: CodeReassemblyFailed, Detail: &ReassemblyError{Type: ReassemblyDisposed}}}, true
	}
	r, done, err := st.Reassembler.Receive(piece)
	if err != nil {
		return st, ReceiveOutput{Err: &WireError{Code: CodeReassemblyFailed, Detail: err}}, true
	}
	if !done {
		return st, ReceiveOutput{}, false
	}
	decode := codec.decode
	if r.Owned && codec.decodeOwned != nil {
		decode = codec.decodeOwned
	}
	wm, err := decode(r.Payload)
	if err != nil {
		var verr *ValidationError
		if errors.As(err, &verr) {
			return st, ReceiveOutput{Err: &WireError{Code: CodeInvalidWireMessage, Detail: verr}}, true
		}
		return st, ReceiveOutput{Err: &WireError{Code: CodeDecodeFailed, Detail: err}}, true
	}
	if st.Alias == nil {
		st.Alias = new(AliasState)
	}
	msg, err := aliasInbound(st.Alias, wm)
	if err != nil {
		return st, ReceiveOutput{Err: &WireError{Code: CodeAliasResolutionFailed, Detail: err}}, true
	}
	return st, ReceiveOutput{Msg: msg, Trace: FrameTrace{
		Dir: TraceReceive, Seq: toUint32(r.Seq), Kind: KindComplete, Size: codec.size(piece),
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
