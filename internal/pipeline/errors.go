package pipeline

import "github.com/kyneta-go/kyneta"

// The pipeline's reasons: the reference's WireError codes, plus
// encode-failed (Go only: a nil message). docs/errors.md lists them under
// transport, the package whose errors they are.
const (
	reasonClosed = "closed"

	reasonAliasResolutionFailed = "alias-resolution-failed"
	reasonDecodeFailed          = "decode-failed"
	reasonReassemblyFailed      = "reassembly-failed"
	reasonReassemblyTimeout     = "reassembly-timeout"
	reasonReassemblyEvicted     = "reassembly-evicted"
	reasonFrameTooLarge         = "frame-too-large"
	reasonEmptyPayload          = "empty-payload"
	reasonTooManyFragments      = "too-many-fragments"
	reasonInvalidWireMessage    = "invalid-wire-message"
	reasonEncodeFailed          = "encode-failed"
)

// reasonCodes maps every reason to what a caller should do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonClosed: kyneta.CodeUnavailable,

	reasonAliasResolutionFailed: kyneta.CodeMalformed,
	reasonDecodeFailed:          kyneta.CodeMalformed,
	reasonReassemblyFailed:      kyneta.CodeMalformed,
	reasonReassemblyTimeout:     kyneta.CodeDeadlineExceeded,
	reasonReassemblyEvicted:     kyneta.CodeResourceExhausted,
	reasonFrameTooLarge:         kyneta.CodeResourceExhausted,
	reasonEmptyPayload:          kyneta.CodeMalformed,
	reasonTooManyFragments:      kyneta.CodeResourceExhausted,
	reasonInvalidWireMessage:    kyneta.CodeMalformed,
	reasonEncodeFailed:          kyneta.CodeInvalidArgument,
}

// newError returns the pipeline's error for reason, a transport error.
func newError(reason, detail string, cause error) *kyneta.Error {
	code, ok := reasonCodes[reason]
	if !ok {
		code = kyneta.CodeInternal
	}
	return &kyneta.Error{Code: code, Reason: reason, Pkg: "transport", Detail: detail, Err: cause}
}

// ErrClosed returns the transport's closed error: the error of a use
// after Close, which the exchange and transport.Channel recognise.
func ErrClosed() *kyneta.Error { return newError(reasonClosed, "", nil) }
