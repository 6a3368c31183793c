package wirestep

import (
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

// Pipeline error reasons. The values are the reference's WireError codes,
// plus ReasonEncodeFailed. The reference also declares
// "frame-decode-failed" but never produces it: undecodable frames surface
// as reassembly-failed with a parse_error detail, here as well. They are
// exported for the transports in this module, which report them.
const (
	// ReasonAliasResolutionFailed: the alias transformer rejected the
	// message (Detail is the *wire.AliasError).
	ReasonAliasResolutionFailed = "alias-resolution-failed"
	// ReasonDecodeFailed: the reassembled payload is not CBOR or JSON the
	// decoder accepts (Detail is the wire package's error).
	ReasonDecodeFailed = "decode-failed"
	// ReasonReassemblyFailed: the piece was rejected by the reassembler
	// (Detail is the *wire.ReassemblyError).
	ReasonReassemblyFailed = "reassembly-failed"
	// ReasonReassemblyTimeout and ReasonReassemblyEvicted report a partial
	// message dropped by the reassembler (Detail is the ReassemblyEvent).
	ReasonReassemblyTimeout = "reassembly-timeout"
	ReasonReassemblyEvicted = "reassembly-evicted"
	// ReasonFrameTooLarge: a complete frame would exceed the codec's limit
	// (Detail is a SizeLimit).
	ReasonFrameTooLarge = "frame-too-large"
	// ReasonEmptyPayload and ReasonTooManyFragments: fragmentation failed
	// (Detail is the wire package's error).
	ReasonEmptyPayload     = "empty-payload"
	ReasonTooManyFragments = "too-many-fragments"
	// ReasonInvalidWireMessage: the payload decoded but is not a valid
	// message (Detail is the *wire.ValidationError).
	ReasonInvalidWireMessage = "invalid-wire-message"
	// ReasonEncodeFailed is Go-only: the message could not be encoded at
	// all (a nil message). The reference would throw instead.
	ReasonEncodeFailed = "encode-failed"
)

// reasonCodes maps every pipeline reason to its code.
var reasonCodes = map[string]kyneta.Code{
	ReasonAliasResolutionFailed: kyneta.CodeMalformed,
	ReasonDecodeFailed:          kyneta.CodeMalformed,
	ReasonReassemblyFailed:      kyneta.CodeMalformed,
	ReasonReassemblyTimeout:     kyneta.CodeDeadlineExceeded,
	ReasonReassemblyEvicted:     kyneta.CodeResourceExhausted,
	ReasonFrameTooLarge:         kyneta.CodeResourceExhausted,
	ReasonEmptyPayload:          kyneta.CodeInvalidArgument,
	ReasonTooManyFragments:      kyneta.CodeResourceExhausted,
	ReasonInvalidWireMessage:    kyneta.CodeMalformed,
	ReasonEncodeFailed:          kyneta.CodeInvalidArgument,
}

// CodeOf returns the code of a pipeline reason (CodeInternal for an
// unknown one, which is a bug); the transports' pipelines report the same
// reasons with the same codes.
func CodeOf(reason string) kyneta.Code {
	return reasons.Table{Codes: reasonCodes}.Code(reason)
}

// SizeLimit is the detail of a frame-too-large error.
type SizeLimit struct {
	Size  int64
	Limit int64
}

// WireError is a pipeline failure as a value: the steps never panic and
// never return a bare error. Detail is the lower layer's error or record
// (see the reason constants). It unwraps to its *kyneta.Error
// classification (Pkg "wire", the same Reason), which wraps Detail when it
// is an error, so errors.As reaches e.g. the *wire.AliasError.
type WireError struct {
	Reason string
	Detail any
}

func (e *WireError) Error() string { return e.Unwrap().Error() }

// Unwrap returns the error's classification.
func (e *WireError) Unwrap() error {
	ke := &kyneta.Error{Code: CodeOf(e.Reason), Reason: e.Reason, Pkg: "wire"}
	switch d := e.Detail.(type) {
	case nil:
	case error:
		ke.Err = d
	case SizeLimit:
		ke.Detail = fmt.Sprintf("%d exceeds the limit of %d", d.Size, d.Limit)
	case wire.ReassemblyEvent:
		ke.Detail = fmt.Sprintf("seq %v (%d fragments had arrived)", d.Seq, d.PartialCount)
	default:
		ke.Detail = fmt.Sprint(d)
	}
	return ke
}

// EventError converts a reassembly event into the error the reference's
// pipeline reports for it: reassembly-timeout or reassembly-evicted.
func EventError(e wire.ReassemblyEvent) *WireError {
	reason := ReasonReassemblyEvicted
	if e.Reason == "timeout" {
		reason = ReasonReassemblyTimeout
	}
	return &WireError{Reason: reason, Detail: e}
}
