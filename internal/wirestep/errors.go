package wirestep

import (
	"fmt"

	"github.com/kyneta-go/kyneta/wire"
)

// WireErrorCode names a pipeline failure. The values are the reference's
// WireError codes, plus CodeEncodeFailed.
type WireErrorCode string

// Pipeline error codes. The reference also declares "frame-decode-failed"
// but never produces it: undecodable frames surface as reassembly-failed
// with a parse_error detail, here as well.
const (
	// CodeAliasResolutionFailed: the alias transformer rejected the message
	// (Detail is the *AliasError).
	CodeAliasResolutionFailed WireErrorCode = "alias-resolution-failed"
	// CodeDecodeFailed: the reassembled payload is not CBOR or JSON the
	// decoder accepts (Detail is the *wire.Error).
	CodeDecodeFailed WireErrorCode = "decode-failed"
	// CodeReassemblyFailed: the piece was rejected by the reassembler
	// (Detail is the *ReassemblyError).
	CodeReassemblyFailed WireErrorCode = "reassembly-failed"
	// CodeReassemblyTimeout and CodeReassemblyEvicted report a partial
	// message dropped by the reassembler (Detail is the ReassemblyEvent).
	CodeReassemblyTimeout WireErrorCode = "reassembly-timeout"
	CodeReassemblyEvicted WireErrorCode = "reassembly-evicted"
	// CodeFrameTooLarge: a complete frame would exceed the codec's limit
	// (Detail is a SizeLimit).
	CodeFrameTooLarge WireErrorCode = "frame-too-large"
	// CodeEmptyPayload and CodeTooManyFragments: fragmentation failed
	// (Detail is the *wire.Error).
	CodeEmptyPayload     WireErrorCode = "empty-payload"
	CodeTooManyFragments WireErrorCode = "too-many-fragments"
	// CodeInvalidWireMessage: the payload decoded but is not a valid
	// message (Detail is the *ValidationError).
	CodeInvalidWireMessage WireErrorCode = "invalid-wire-message"
	// CodeEncodeFailed is Go-only: the message could not be encoded at all
	// (a nil message). The reference would throw instead.
	CodeEncodeFailed WireErrorCode = "encode-failed"
)

// SizeLimit is the detail of a frame-too-large error.
type SizeLimit struct {
	Size  int64
	Limit int64
}

// WireError is a pipeline failure as a value: the steps never panic and
// never return a bare error. Detail is the lower layer's error or record
// (see the code constants); when it is an error, Unwrap returns it, so
// errors.As reaches e.g. the *wire.AliasError. errors.Is matches any *WireError
// with the same Code.
type WireError struct {
	Code   WireErrorCode
	Detail any
}

func (e *WireError) Error() string {
	switch d := e.Detail.(type) {
	case nil:
		return "wire: " + string(e.Code)
	case error:
		return "wire: " + string(e.Code) + ": " + d.Error()
	case SizeLimit:
		return fmt.Sprintf("wire: %s: %d exceeds the limit of %d", e.Code, d.Size, d.Limit)
	case wire.ReassemblyEvent:
		return fmt.Sprintf("wire: %s: seq %v (%d fragments had arrived)", e.Code, d.Seq, d.PartialCount)
	default:
		return fmt.Sprintf("wire: %s: %v", e.Code, d)
	}
}

// Unwrap returns Detail when it is an error.
func (e *WireError) Unwrap() error {
	err, _ := e.Detail.(error)
	return err
}

// Is reports whether target is a *WireError with the same code.
func (e *WireError) Is(target error) bool {
	t, ok := target.(*WireError)
	return ok && t.Code == e.Code
}

// EventError converts a reassembly event into the error the reference's
// pipeline reports for it: reassembly-timeout or reassembly-evicted.
func EventError(e wire.ReassemblyEvent) *WireError {
	code := CodeReassemblyEvicted
	if e.Type == wire.CodeTimeout {
		code = CodeReassemblyTimeout
	}
	return &WireError{Code: code, Detail: e}
}
