package transport

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// The reasons of the transport's lifecycle and channel errors
// (docs/errors.md lists them with their codes, and the wire pipeline's,
// which are transport errors too).
const (
	reasonInvalidState    = "invalid-state"
	reasonChannelNotFound = "channel-not-found"
	reasonDuplicateID     = "duplicate-channel-id"
	reasonInvalidContext  = "invalid-context"
	reasonSendFailed      = "send-failed"
)

// reasonCodes maps every reason to what a caller should do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonInvalidState:    kyneta.CodeFailedPrecondition,
	reasonChannelNotFound: kyneta.CodeNotFound,
	reasonDuplicateID:     kyneta.CodeAlreadyExists,
	reasonInvalidContext:  kyneta.CodeInvalidArgument,
	reasonSendFailed:      kyneta.CodeUnavailable,
}

// newError returns the transport's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	return reasons.Table{Pkg: "transport", Codes: reasonCodes}.New(reason, detail, cause)
}

// stateError is the error of an operation the lifecycle state forbids.
func stateError(op string, st State) *kyneta.Error {
	return newError(reasonInvalidState, fmt.Sprintf("can't %s in %q state", op, st), nil)
}

// channelError is the error of an operation on channel id.
func channelError(reason, op string, id ChannelID, cause error) *kyneta.Error {
	return newError(reason, fmt.Sprintf("%s (channel %d)", op, id), cause)
}

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
