package line

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta/internal/errtext"
)

// Code classifies line errors so callers can branch on a value.
type Code string

// Error codes.
const (
	CodeClosed       Code = "closed"        // the line was closed or destroyed, or its exchange shut down
	CodeReceiverBusy Code = "receiver-busy" // Receive while another Receive is waiting (one consumer per line)
	CodeTypeConflict Code = "type-conflict" // Open of a line already open with other message types
	CodeInvalidTopic Code = "invalid-topic" // empty, or contains ':' or '→'
	CodeInvalidPeer  Code = "invalid-peer"  // empty, the local peer, or contains '→'
	CodeSchema       Code = "schema"        // a message type has no schema the json binding accepts
	CodePayload      Code = "payload"       // a message does not fit the schema (Send) or the Go type (Receive)
	CodeMalformed    Code = "malformed"     // the remote wrote an inbox that is not a line document (OnError)
	CodeCanceled     Code = "canceled"      // the context ended first; unwraps to ctx.Err()
	CodeExchange     Code = "exchange"      // the exchange refused a read or write; unwraps to its *exchange.Error
)

// Error is the line's typed error. errors.Is(err, &Error{Code: c}) matches
// any *Error with code c (as does CodeOf(err) == c for the first one in
// the chain); Unwrap exposes the cause.
type Error struct {
	Code  Code
	Topic string
	Peer  string
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	s := "line: " + string(e.Code)
	if e.Topic != "" || e.Peer != "" {
		s += fmt.Sprintf(" (topic %q, peer %q)", e.Topic, e.Peer)
	}
	return errtext.Join(s, e.Msg, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
