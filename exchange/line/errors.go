package line

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// Reasons ([kyneta.Error.Reason]) of the line's errors; docs/errors.md
// lists them with their codes.
const (
	reasonClosed       = "closed"        // the line was closed or destroyed, or its exchange shut down
	reasonReceiverBusy = "receiver-busy" // Receive while another Receive is waiting (one consumer per line)
	reasonTypeConflict = "type-conflict" // Open of a line already open with other message types
	reasonInvalidTopic = "invalid-topic" // empty, or contains ':' or '→'
	reasonInvalidPeer  = "invalid-peer"  // empty, the local peer, or contains '→'
	reasonSchema       = "schema"        // a message type has no schema the json binding accepts
	reasonPayload      = "payload"       // a message does not fit the schema (Send) or the Go type (Receive)
	reasonMalformed    = "malformed"     // the remote wrote an inbox that is not a line document (OnError)
	reasonCanceled     = "canceled"      // the context ended first; unwraps to ctx.Err()
	reasonExchange     = "exchange"      // the exchange refused a read or write; unwraps to its error and has its code
)

// reasonCodes maps every reason to the code that says what to do about it;
// reason "exchange" takes the exchange error's code instead.
var reasonCodes = map[string]kyneta.Code{
	reasonClosed:       kyneta.CodeUnavailable,
	reasonReceiverBusy: kyneta.CodeFailedPrecondition,
	reasonTypeConflict: kyneta.CodeFailedPrecondition,
	reasonInvalidTopic: kyneta.CodeInvalidArgument,
	reasonInvalidPeer:  kyneta.CodeInvalidArgument,
	reasonSchema:       kyneta.CodeInvalidArgument,
	reasonPayload:      kyneta.CodeInvalidArgument,
	reasonMalformed:    kyneta.CodeMalformed,
	reasonCanceled:     kyneta.CodeCanceled,
	reasonExchange:     kyneta.CodeInternal,
}

// newError returns the line's error for reason, on the line (topic, peer)
// when they are known.
func newError(reason, topic, peer, detail string, cause error) *kyneta.Error {
	code := reasons.Table{Codes: reasonCodes}.Code(reason)
	if reason == reasonExchange {
		if c := kyneta.CodeOf(cause); c != kyneta.CodeUnknown && c != "" {
			code = c
		}
	}
	if topic != "" || peer != "" {
		detail = joinDetail(subject(topic, peer), detail)
	}
	return &kyneta.Error{Code: code, Reason: reason, Pkg: "line", Detail: detail, Err: cause}
}

func subject(topic, peer string) string { return fmt.Sprintf("topic %q, peer %q", topic, peer) }

func joinDetail(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// withLine names the line (topic, peer) in err when err is a line error
// that names none yet.
func withLine(err error, topic, peer string) error {
	var e *kyneta.Error
	if !errors.As(err, &e) || e.Pkg != "line" || strings.HasPrefix(e.Detail, "topic ") {
		return err
	}
	c := *e
	c.Detail = joinDetail(subject(topic, peer), c.Detail)
	return &c
}

// exchangeReason returns the reason of the exchange error in err's chain,
// or "".
func exchangeReason(err error) string {
	var e *kyneta.Error
	for ; err != nil; err = e.Err {
		if !errors.As(err, &e) {
			return ""
		}
		if e.Pkg == "exchange" {
			return e.Reason
		}
	}
	return ""
}
