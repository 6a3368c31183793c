package pipeline

import (
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/wirestep"
)

// The pipeline's reasons: the steps' (wirestep.Reason*, the reference's
// WireError codes plus encode-failed) with the steps' codes, and closed.
// docs/errors.md lists them under transport, the package whose errors they
// are.
const (
	reasonClosed = "closed"

	reasonAliasResolutionFailed = wirestep.ReasonAliasResolutionFailed
	reasonDecodeFailed          = wirestep.ReasonDecodeFailed
	reasonReassemblyFailed      = wirestep.ReasonReassemblyFailed
	reasonReassemblyTimeout     = wirestep.ReasonReassemblyTimeout
	reasonReassemblyEvicted     = wirestep.ReasonReassemblyEvicted
	reasonFrameTooLarge         = wirestep.ReasonFrameTooLarge
	reasonEmptyPayload          = wirestep.ReasonEmptyPayload
	reasonTooManyFragments      = wirestep.ReasonTooManyFragments
	reasonInvalidWireMessage    = wirestep.ReasonInvalidWireMessage
	reasonEncodeFailed          = wirestep.ReasonEncodeFailed
)

// codeOf maps a reason to what a caller should do about it.
func codeOf(reason string) kyneta.Code {
	if reason == reasonClosed {
		return kyneta.CodeUnavailable
	}
	return wirestep.CodeOf(reason)
}

// newError returns the pipeline's error for reason, a transport error.
func newError(reason, detail string, cause error) *kyneta.Error {
	return &kyneta.Error{Code: codeOf(reason), Reason: reason, Pkg: "transport", Detail: detail, Err: cause}
}

// ErrClosed returns the transport's closed error: the error of a use
// after Close, which the exchange and transport.Channel recognise.
func ErrClosed() *kyneta.Error { return newError(reasonClosed, "", nil) }
