package sse

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
)

// Close codes carried by the eventClose event that precedes every stream
// end the server initiates. They are the WebSocket server's codes, so a
// client treats both transports alike: 1008 is final, the others are
// retried.
const (
	// closeReplaced: a newer stream took the peer id.
	closeReplaced = 1000
	// closeGoingAway: drain, shutdown or transport stop.
	closeGoingAway = 1001
	// closeAbnormal is what a client reports when a stream ended without
	// a close event (connection lost, or a server that sends none, such as
	// the reference's). It is never sent.
	closeAbnormal = 1006
	// closePolicyViolation: the exchange rejected the peer, or it went
	// above an alias cap ("Limit exceeded: <code>"). Not retried.
	closePolicyViolation = 1008
	// closeInternal: the stream could not be registered.
	closeInternal = 1011
	// closeSlowConsumer: the send queue overflowed or a write stalled.
	closeSlowConsumer = 4000
)

// Close reasons sent with the codes above.
const (
	reasonReplaced     = "Replaced by new connection"
	reasonDraining     = "Server draining"
	reasonShuttingDown = "Server shutting down"
	reasonRejected     = "Connection rejected"
	reasonSlowConsumer = "Slow consumer"
	reasonInternal     = "Internal error"
	reasonLimitFmt     = "Limit exceeded: %s"
)

// Authentication and option errors are the WebSocket server's
// (server.ErrUnauthorized, server.ErrForbidden, *server.AuthError,
// server.ErrInvalidOptions, *server.OptionsError), so one authenticator and
// one check serve both transports: a plain error refuses with 401,
// server.ErrForbidden with 403, a *server.AuthError with its status.

// ErrServerClosed: the server was closed, or the stream is closing. It
// matches transport.ErrClosed. (A send that would overflow a stream's queue
// fails with the WebSocket server's server.ErrSlowConsumer, and the stream
// is closed with 4000.)
var ErrServerClosed = fmt.Errorf("sse: stream closed: %w", transport.ErrClosed)

// authStatus maps an authenticator error to an HTTP status and message, as
// the WebSocket server does.
func authStatus(err error) (int, string) {
	var ae *server.AuthError
	if errors.As(err, &ae) {
		st := http.StatusUnauthorized
		if ae.Status >= 400 && ae.Status < 500 {
			st = ae.Status
		}
		if ae.Message != "" {
			return st, ae.Message
		}
		return st, http.StatusText(st)
	}
	if errors.Is(err, server.ErrForbidden) {
		return http.StatusForbidden, http.StatusText(http.StatusForbidden)
	}
	return http.StatusUnauthorized, http.StatusText(http.StatusUnauthorized)
}

// Code classifies why a client is disconnected (and the client's other
// errors), so callers branch without matching text.
type Code string

// Client codes. The first four are the reference's disconnect reasons.
const (
	// CodeIntentional: Stop was called.
	CodeIntentional Code = "intentional"
	// CodeError: the stream or an upload failed and retries are disabled.
	CodeError Code = "error"
	// CodeClosed: the server ended the stream and retries are disabled.
	CodeClosed Code = "closed"
	// CodeMaxRetries: the backoff policy's attempts are used up.
	CodeMaxRetries Code = "max-retries-exceeded"
	// CodeUnauthorized: a request was refused with HTTP 401 or 403. Not
	// retried.
	CodeUnauthorized Code = "unauthorized"
	// CodePolicyViolation: the server closed the stream with 1008. Not
	// retried.
	CodePolicyViolation Code = "policy-violation"
	// CodeInvalidConfig: a URL or header function failed. Not retried.
	CodeInvalidConfig Code = "invalid-config"
	// CodeClientClosed: the client was closed for good.
	CodeClientClosed Code = "client-closed"
	// CodeSendQueueFull: a send would exceed the upload queue's limit.
	CodeSendQueueFull Code = "send-queue-full"
	// CodeNotConnected: a send found no open stream.
	CodeNotConnected Code = "not-connected"
)

// permanent reports whether a failure with this code must not be retried.
func (c Code) permanent() bool {
	return c == CodeUnauthorized || c == CodePolicyViolation || c == CodeInvalidConfig
}

// Client sentinel errors; a *DisconnectReason or *Error with the matching
// Code satisfies errors.Is for its sentinel.
var (
	ErrStopped         = errors.New("sse: stopped")
	ErrConnection      = errors.New("sse: connection failed")
	ErrStreamClosed    = errors.New("sse: stream closed by server")
	ErrMaxRetries      = errors.New("sse: max retries exceeded")
	ErrPolicyViolation = errors.New("sse: policy violation")
	ErrInvalidConfig   = errors.New("sse: invalid configuration")
	ErrClientClosed    = errors.New("sse: client closed")
	ErrSendQueueFull   = errors.New("sse: send queue full")
	ErrNotConnected    = errors.New("sse: not connected")
	// ErrIdleTimeout is the cause reported when a stream stayed silent
	// (not even a heartbeat) for ClientOptions.IdleTimeout.
	ErrIdleTimeout = errors.New("sse: stream idle timeout")
)

var sentinels = map[Code]error{
	CodeIntentional:     ErrStopped,
	CodeError:           ErrConnection,
	CodeClosed:          ErrStreamClosed,
	CodeMaxRetries:      ErrMaxRetries,
	CodeUnauthorized:    server.ErrUnauthorized,
	CodePolicyViolation: ErrPolicyViolation,
	CodeInvalidConfig:   ErrInvalidConfig,
	CodeClientClosed:    ErrClientClosed,
	CodeSendQueueFull:   ErrSendQueueFull,
	CodeNotConnected:    ErrNotConnected,
}

// DisconnectReason says why a client is disconnected. errors.Is matches
// the sentinel of its Code; Unwrap reaches the cause.
type DisconnectReason struct {
	Code Code
	// CloseCode and CloseReason come from the server's close event
	// (CodeClosed, CodePolicyViolation); closeAbnormal when the stream
	// ended without one.
	CloseCode   int
	CloseReason string
	// HTTPStatus is the status of a refused request, if any.
	HTTPStatus int
	// Attempts is the number of attempts made (CodeMaxRetries).
	Attempts int
	// Err is the cause; for CodeMaxRetries the last attempt's reason.
	Err error
}

// Error describes the reason.
func (r *DisconnectReason) Error() string {
	switch r.Code {
	case CodeIntentional:
		return "sse: stopped"
	case CodeClosed, CodePolicyViolation:
		return fmt.Sprintf("sse: %s: stream closed by server with %d %q", r.Code, r.CloseCode, r.CloseReason)
	case CodeMaxRetries:
		if r.Err != nil {
			return fmt.Sprintf("sse: %s after %d attempts: %v", r.Code, r.Attempts, r.Err)
		}
		return fmt.Sprintf("sse: %s after %d attempts", r.Code, r.Attempts)
	case CodeUnauthorized:
		return fmt.Sprintf("sse: %s: request refused with HTTP %d", r.Code, r.HTTPStatus)
	}
	if r.Err != nil {
		return fmt.Sprintf("sse: %s: %v", r.Code, r.Err)
	}
	return "sse: " + string(r.Code)
}

// Unwrap returns the cause.
func (r *DisconnectReason) Unwrap() error { return r.Err }

// Is reports whether target is the sentinel of r's Code.
func (r *DisconnectReason) Is(target error) bool {
	s, ok := sentinels[r.Code]
	return ok && s == target
}

// Error is a client error that is not a disconnect reason (invalid
// options, a send without a stream, use after Close).
type Error struct {
	Code Code
	Op   string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("sse: %s: %s: %v", e.Op, e.Code, e.Err)
	}
	return fmt.Sprintf("sse: %s: %s", e.Op, e.Code)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's Code.
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Code]
	return ok && s == target
}

// CodeOf returns the Code of the first *DisconnectReason or *Error in
// err's chain, or "".
func CodeOf(err error) Code {
	var r *DisconnectReason
	if errors.As(err, &r) {
		return r.Code
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
