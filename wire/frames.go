package wire

import "github.com/kyneta-go/kyneta/internal/wirecore"

// Frame is one binary frame (wire v3): Kind, Seq, and for a fragment
// Index, Total and TotalSize; Payload is the message bytes or the chunk.
// Its EncodedLen and HeaderLen methods give its size on the wire.
type Frame = wirecore.Frame

// FrameKind is a frame's type byte. Its String method returns "complete"
// or "fragment".
type FrameKind = wirecore.FrameKind

// Frame kinds.
const (
	KindComplete = wirecore.KindComplete
	KindFragment = wirecore.KindFragment
)

// AppendFrame appends the encoding of f to dst and returns the extended
// slice. It fails (reasons "invalid_type", "frame_too_large") for a kind
// other than complete or fragment or a payload longer than 2^32-1 bytes.
func AppendFrame(dst []byte, f Frame) ([]byte, error) { return wirecore.AppendFrame(dst, f) }

// DecodeFrame decodes one binary frame. The payload aliases b. Errors have
// the reference's reasons: "truncated_frame", "unsupported_version",
// "invalid_type" (kyneta.CodeMalformed or CodeUnsupported).
func DecodeFrame(b []byte) (Frame, error) { return wirecore.DecodeFrame(b) }

// FragmentBinary splits payload into fragment frames carrying seq, each
// with a chunk of at most threshold bytes. A payload no larger than
// threshold still yields one fragment frame: whether to fragment at all is
// the sender's decision. Errors have reason "empty-payload",
// "too-many-fragments" (more than 65535 pieces) or "invalid-threshold"
// (threshold <= 0). All frames share one allocation.
func FragmentBinary(payload []byte, threshold int, seq uint32) ([][]byte, error) {
	return wirecore.FragmentBinary(payload, threshold, seq)
}

// Reassembler turns received binary frames into whole payloads: Receive
// returns a complete message's payload (a complete frame at once, a
// fragmented one when its last fragment arrives), Len and PendingSize
// what is partial, Reset and Dispose drop it, Expire drops what is past
// its deadline and NextDeadline says when to call it. It is not safe for
// concurrent use. It arms no timers: nothing times out unless the caller
// calls Expire.
type Reassembler = wirecore.Reassembler[[]byte]

// Reassembled is a payload the [Reassembler] completed: the sender's Seq,
// the Payload, and Owned (the payload is a fresh buffer the caller may
// keep, not a view of the received frame).
type Reassembled = wirecore.Reassembled[[]byte]

// NewReassembler returns a reassembler with the limits of cfg (the zero
// config gives the safe defaults, see the package documentation).
func NewReassembler(cfg ReassemblyConfig) *Reassembler { return wirecore.NewReassembler[[]byte](cfg) }

// ReassemblyConfig holds a [Reassembler]'s limits: Timeout,
// MaxConcurrentFrames, MaxTotalSize (zero: the defaults of the package
// documentation; negative: no limit, as in the reference),
// ReferenceSizeCheck, a shared Budget, the Clock that dates deadlines
// (read, never used to arm timers) and OnEvent, called for a partial
// message that timed out (in Expire) or was evicted.
type ReassemblyConfig = wirecore.ReassemblyConfig

// ReassemblyEvent reports a partial message that was dropped: Reason
// ("timeout" or "evicted"), Seq and PartialCount (fragments that had
// arrived).
type ReassemblyEvent = wirecore.ReassemblyEvent

// ReassemblyError reports a piece the reassembler could not use: Reason
// (the collector's error type, e.g. "duplicate_fragment"), Seq, and Index,
// Max, Expected and Got where the reason has them. It unwraps to its
// *kyneta.Error, which wraps the frame's decode error for "parse_error".
type ReassemblyError = wirecore.ReassemblyError

// ReassemblyBudget is a memory budget in bytes shared by the reassemblers
// of several connections (ReassemblyConfig.Budget); it is safe for
// concurrent use. Its Limit and Used methods report it.
type ReassemblyBudget = wirecore.ReassemblyBudget

// NewReassemblyBudget returns a budget of limit bytes.
func NewReassemblyBudget(limit int64) *ReassemblyBudget { return wirecore.NewReassemblyBudget(limit) }

// AliasOptions tunes the inbound checks of a connection's alias table
// (transport.PipelineOptions.Alias): MaxAliases and MaxPresentDocs (zero:
// 100,000 and 50,000) and SkipPresentDocIDCap.
type AliasOptions = wirecore.AliasOptions
