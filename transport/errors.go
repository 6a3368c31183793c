package transport

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta"
)

// The reasons of the transport's errors (docs/errors.md lists them with
// their codes). Lifecycle and channel reasons first, then the pipeline's:
// the reference's WireError codes plus encode-failed (Go only: a nil
// message).
const (
	reasonInvalidState    = "invalid-state"
	reasonChannelNotFound = "channel-not-found"
	reasonDuplicateID     = "duplicate-channel-id"
	reasonInvalidContext  = "invalid-context"
	reasonClosed          = "closed"
	reasonSendFailed      = "send-failed"

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
	reasonInvalidState:    kyneta.CodeFailedPrecondition,
	reasonChannelNotFound: kyneta.CodeNotFound,
	reasonDuplicateID:     kyneta.CodeAlreadyExists,
	reasonInvalidContext:  kyneta.CodeInvalidArgument,
	reasonClosed:          kyneta.CodeUnavailable,
	reasonSendFailed:      kyneta.CodeUnavailable,

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

// newError returns the transport's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	code, ok := reasonCodes[reason]
	if !ok {
		code = kyneta.CodeInternal
	}
	return &kyneta.Error{Code: code, Reason: reason, Pkg: "transport", Detail: detail, Err: cause}
}

// stateError is the error of an operation the lifecycle state forbids.
func stateError(op string, st State) *kyneta.Error {
	return newError(reasonInvalidState, fmt.Sprintf("can't %s in %q state", op, st), nil)
}

// channelError is the error of an operation on channel id.
func channelError(reason, op string, id ChannelID, cause error) *kyneta.Error {
	return newError(reason, fmt.Sprintf("%s (channel %d)", op, id), cause)
}

// errClosed is the error of a use after Close.
func errClosed() *kyneta.Error { return newError(reasonClosed, "", nil) }

// sendError is the error of a failed channel send: the cause's own reason
// when it is one of this package's (a closed endpoint), else send-failed.
func sendError(id ChannelID, err error) *kyneta.Error {
	reason := reasonSendFailed
	var ke *kyneta.Error
	if errors.As(err, &ke) && ke.Pkg == "transport" && ke.Reason != "" {
		reason = ke.Reason
	}
	return channelError(reason, "send", id, err)
}
