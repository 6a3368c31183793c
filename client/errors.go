package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// The reasons of the client's errors and disconnects (docs/errors.md lists
// them with their codes). The SSE client (package transport/sse) reports
// with the same reasons, so one check covers both clients: branch on
// kyneta.CodeOf(err), or match kyneta.ReasonOf(err) == "policy-violation"
// or errors.Is(err, &kyneta.Error{Pkg: "client", Reason: ...}); both see
// through a *DisconnectReason.
//
// The first four are the reference's reason types; the others are outcomes
// the Go client does not retry, or new failure kinds.
const (
	// reasonIntentional: Stop was called.
	reasonIntentional = "intentional"
	// reasonError: the socket failed (dial error, network error) and
	// retries are disabled.
	reasonError = "error"
	// reasonClosed: the server closed the socket and retries are disabled.
	reasonClosed = "closed"
	// reasonMaxRetries: the backoff policy's attempts are used up.
	reasonMaxRetries = "max-retries-exceeded"
	// reasonUnauthorized: the upgrade (SSE: a request) was refused with
	// HTTP 401 or 403. Not retried.
	reasonUnauthorized = "unauthorized"
	// reasonPolicyViolation: the server closed with 1008 (policy). Not
	// retried.
	reasonPolicyViolation = "policy-violation"
	// reasonInvalidConfig: the configuration cannot work (bad URL, failing
	// header function, invalid options). Not retried.
	reasonInvalidConfig = "invalid-config"
	// reasonPongTimeout: no answer to a ping within the pong timeout, and
	// retries are disabled.
	reasonPongTimeout = "pong-timeout"
	// reasonReadyTimeout: the socket opened but the server's "ready" did
	// not follow within the ready timeout, and retries are disabled.
	reasonReadyTimeout = "ready-timeout"
	// reasonClientClosed: the client was closed for good.
	reasonClientClosed = "client-closed"
	// reasonSendQueueFull: a send would exceed the socket's queue limit.
	reasonSendQueueFull = "send-queue-full"
	// reasonNotConnected: a send found no open socket.
	reasonNotConnected = "not-connected"
	// reasonDialTimeout: a dial (TCP, TLS and upgrade) did not complete
	// within Options.DialTimeout; the cause inside an "error" reason.
	reasonDialTimeout = "dial-timeout"
	// reasonRedirect: the server answered a dial with a redirect, which
	// the client never follows; the cause inside an "error" reason.
	reasonRedirect = "redirect-refused"
)

// reasonCodes maps every reason to what a caller should do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonIntentional:     kyneta.CodeCanceled,
	reasonError:           kyneta.CodeUnavailable,
	reasonClosed:          kyneta.CodeUnavailable,
	reasonMaxRetries:      kyneta.CodeUnavailable,
	reasonUnauthorized:    kyneta.CodeUnauthenticated,
	reasonPolicyViolation: kyneta.CodePermissionDenied,
	reasonInvalidConfig:   kyneta.CodeInvalidArgument,
	reasonPongTimeout:     kyneta.CodeDeadlineExceeded,
	reasonReadyTimeout:    kyneta.CodeDeadlineExceeded,
	reasonClientClosed:    kyneta.CodeUnavailable,
	reasonSendQueueFull:   kyneta.CodeResourceExhausted,
	reasonNotConnected:    kyneta.CodeUnavailable,
	reasonDialTimeout:     kyneta.CodeDeadlineExceeded,
	reasonRedirect:        kyneta.CodeUnsupported,
}

// newError returns the client's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	return reasons.Table{Pkg: "client", Codes: reasonCodes}.New(reason, detail, cause)
}

// permanent reports whether a failure with this reason must not be
// retried.
func permanent(reason string) bool {
	return reason == reasonUnauthorized || reason == reasonPolicyViolation || reason == reasonInvalidConfig
}

// dialTimeoutError is the failure of a dial cut short by DialTimeout. The
// dial itself only sees its context cancelled; this names the cause. It
// unwraps to the dial-timeout reason, which wraps
// context.DeadlineExceeded.
type dialTimeoutError struct{ after time.Duration }

func (e *dialTimeoutError) Error() string { return e.Unwrap().Error() }

// Unwrap returns the classification.
func (e *dialTimeoutError) Unwrap() error {
	return newError(reasonDialTimeout, fmt.Sprintf("no connection within %v", e.after), context.DeadlineExceeded)
}

// Timeout reports true, as net.Error timeouts do.
func (e *dialTimeoutError) Timeout() bool { return true }

// DisconnectReason says why a client is disconnected, with the server's
// close frame, the HTTP status or the attempt count where they apply. It
// unwraps to its *kyneta.Error classification (Reason, with the code of
// the reason; a 403 refusal is kyneta.CodePermissionDenied), which wraps
// the underlying cause, so kyneta.CodeOf, kyneta.ReasonOf, errors.Is and
// errors.As see through it.
type DisconnectReason struct {
	// Reason names the condition: "closed", "policy-violation",
	// "unauthorized", "max-retries-exceeded", ... (docs/errors.md).
	Reason string
	// CloseCode and CloseReason are the server's close frame ("closed",
	// "policy-violation"; package server lists the codes), or 1006 when
	// the connection dropped without one.
	CloseCode   int
	CloseReason string
	// HTTPStatus is the status of a refused upgrade, if any.
	HTTPStatus int
	// Attempts is the number of attempts made ("max-retries-exceeded").
	Attempts int
	// Err is the underlying error: the dial or socket error, or for
	// "max-retries-exceeded" the reason the last attempt failed.
	Err error
}

// Error describes the reason, e.g. "client: unauthorized: refused with
// HTTP 401".
func (r *DisconnectReason) Error() string {
	switch r.Reason {
	case reasonIntentional:
		return "client: stopped"
	case reasonClosed, reasonPolicyViolation:
		return fmt.Sprintf("client: %s: closed by server with %d %q", r.Reason, r.CloseCode, r.CloseReason)
	case reasonMaxRetries:
		if r.Err != nil {
			return fmt.Sprintf("client: %s after %d attempts: %v", r.Reason, r.Attempts, r.Err)
		}
		return fmt.Sprintf("client: %s after %d attempts", r.Reason, r.Attempts)
	case reasonUnauthorized:
		return fmt.Sprintf("client: %s: refused with HTTP %d", r.Reason, r.HTTPStatus)
	}
	if r.Err != nil {
		return fmt.Sprintf("client: %s: %v", r.Reason, r.Err)
	}
	return "client: " + r.Reason
}

// Unwrap returns the classification, which wraps the underlying error.
func (r *DisconnectReason) Unwrap() error {
	err := newError(r.Reason, "", r.Err)
	if r.Reason == reasonUnauthorized && r.HTTPStatus == http.StatusForbidden {
		err.Code = kyneta.CodePermissionDenied
	}
	return err
}
