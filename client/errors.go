package client

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code classifies why a client is disconnected (and the errors of this
// package), so callers can branch without matching text. The SSE client
// (package transport/sse) reports with the same codes and reasons, so one
// check covers both clients. Match with CodeOf(err) == c or
// errors.Is(err, &Error{Code: c}); both see *DisconnectReason and *Error.
type Code string

// Disconnect codes. The first four are the reference's reason types; the
// others are outcomes the Go client does not retry, or new failure kinds.
const (
	// CodeIntentional: Stop was called.
	CodeIntentional Code = "intentional"
	// CodeError: the socket failed (dial error, network error) and retries
	// are disabled.
	CodeError Code = "error"
	// CodeClosed: the server closed the socket and retries are disabled.
	CodeClosed Code = "closed"
	// CodeMaxRetries: the backoff policy's attempts are used up.
	CodeMaxRetries Code = "max-retries-exceeded"
	// CodeUnauthorized: the upgrade (SSE: a request) was refused with HTTP
	// 401 or 403. Not retried.
	CodeUnauthorized Code = "unauthorized"
	// CodePolicyViolation: the server closed with 1008 (policy). Not
	// retried.
	CodePolicyViolation Code = "policy-violation"
	// CodeInvalidConfig: the configuration cannot work (bad URL, failing
	// header function, invalid options). Not retried.
	CodeInvalidConfig Code = "invalid-config"
	// CodePongTimeout: no answer to a ping within the pong timeout, and
	// retries are disabled.
	CodePongTimeout Code = "pong-timeout"
	// CodeReadyTimeout: the socket opened but the server's "ready" did not
	// follow within the ready timeout, and retries are disabled.
	CodeReadyTimeout Code = "ready-timeout"
	// CodeClientClosed: the client was closed for good.
	CodeClientClosed Code = "client-closed"
	// CodeSendQueueFull: a send would exceed the socket's queue limit.
	CodeSendQueueFull Code = "send-queue-full"
	// CodeNotConnected: a send found no open socket.
	CodeNotConnected Code = "not-connected"
)

// permanent reports whether a failure with this code must not be retried.
func (c Code) permanent() bool {
	return c == CodeUnauthorized || c == CodePolicyViolation || c == CodeInvalidConfig
}

// ErrDialTimeout matches the error of a dial (TCP, TLS and upgrade) that
// did not complete within Options.DialTimeout. It is the cause inside a
// CodeError reason, not a Code of its own.
var ErrDialTimeout = errors.New("client: dial timeout")

// dialTimeoutError is the failure of a dial cut short by DialTimeout. The
// dial itself only sees its context cancelled; this names the cause.
type dialTimeoutError struct{ after time.Duration }

func (e *dialTimeoutError) Error() string {
	return fmt.Sprintf("dial timeout: no connection within %v", e.after)
}

// Is matches ErrDialTimeout and context.DeadlineExceeded.
func (e *dialTimeoutError) Is(target error) bool {
	return target == ErrDialTimeout || target == context.DeadlineExceeded
}

// Timeout reports true, as net.Error timeouts do.
func (e *dialTimeoutError) Timeout() bool { return true }

// sameCode reports whether target is a *DisconnectReason or an *Error with
// code c.
func sameCode(c Code, target error) bool {
	switch t := target.(type) {
	case *DisconnectReason:
		return t.Code == c
	case *Error:
		return t.Code == c
	}
	return false
}

// DisconnectReason says why a client is disconnected. It is an error:
// errors.Is(err, &Error{Code: c}) matches a reason with code c (as does
// CodeOf(err) == c) and errors.As reaches the underlying cause through
// Unwrap.
type DisconnectReason struct {
	// Code classifies the reason.
	Code Code
	// CloseCode and CloseReason are the server's close frame (CodeClosed,
	// CodePolicyViolation; the codes are server.Status*), or 1006 when the
	// connection dropped without one.
	CloseCode   int
	CloseReason string
	// HTTPStatus is the status of a refused upgrade, if any.
	HTTPStatus int
	// Attempts is the number of attempts made (CodeMaxRetries).
	Attempts int
	// Err is the underlying error: the dial or socket error, or for
	// CodeMaxRetries the reason the last attempt failed.
	Err error
}

// Error describes the reason, e.g. "client: unauthorized: refused with
// HTTP 401".
func (r *DisconnectReason) Error() string {
	switch r.Code {
	case CodeIntentional:
		return "client: stopped"
	case CodeClosed, CodePolicyViolation:
		return fmt.Sprintf("client: %s: closed by server with %d %q", r.Code, r.CloseCode, r.CloseReason)
	case CodeMaxRetries:
		if r.Err != nil {
			return fmt.Sprintf("client: %s after %d attempts: %v", r.Code, r.Attempts, r.Err)
		}
		return fmt.Sprintf("client: %s after %d attempts", r.Code, r.Attempts)
	case CodeUnauthorized:
		return fmt.Sprintf("client: %s: refused with HTTP %d", r.Code, r.HTTPStatus)
	}
	if r.Err != nil {
		return fmt.Sprintf("client: %s: %v", r.Code, r.Err)
	}
	return "client: " + string(r.Code)
}

// Unwrap returns the underlying error.
func (r *DisconnectReason) Unwrap() error { return r.Err }

// Is reports whether target is a *DisconnectReason or an *Error with the
// same Code.
func (r *DisconnectReason) Is(target error) bool { return sameCode(r.Code, target) }

// Error is a client error that is not a disconnect reason: an invalid
// option, a send on a full queue, use after Close. errors.Is(err,
// &Error{Code: c}) matches any *Error or *DisconnectReason with code c.
type Error struct {
	Code Code
	Op   string // what was attempted, e.g. "new", "send", "start"
	Err  error  // cause, may be nil
}

// Error describes the error, e.g. "client: send: send-queue-full".
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("client: %s: %s: %v", e.Op, e.Code, e.Err)
	}
	return fmt.Sprintf("client: %s: %s", e.Op, e.Code)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error or a *DisconnectReason with the
// same Code.
func (e *Error) Is(target error) bool { return sameCode(e.Code, target) }

// CodeOf returns the Code of the first *DisconnectReason or *Error in err's
// chain, or "" when there is none.
func CodeOf(err error) Code {
	var c interface{ code() Code }
	if errors.As(err, &c) {
		return c.code()
	}
	return ""
}

func (r *DisconnectReason) code() Code { return r.Code }
func (e *Error) code() Code            { return e.Code }
