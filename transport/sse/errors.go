package sse

import (
	"errors"
	"net/http"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/reasons"
	"github.com/kyneta-go/kyneta/server"
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
	closeReasonReplaced     = "Replaced by new connection"
	closeReasonDraining     = "Server draining"
	closeReasonShuttingDown = "Server shutting down"
	closeReasonRejected     = "Connection rejected"
	closeReasonSlowConsumer = "Slow consumer"
	closeReasonInternal     = "Internal error"
	closeReasonLimitFmt     = "Limit exceeded: %s"
)

// Authentication works as on the WebSocket server, so one authenticator
// serves both transports: a plain error refuses with 401, an error of code
// kyneta.CodePermissionDenied with 403, a *server.AuthError with its
// status.
//
// The SSE client reports its outcomes with the WebSocket client's model, so
// one check covers both clients: a *client.DisconnectReason (State.Reason,
// WaitForStatus, OnDisconnect) with the WebSocket client's reasons ("closed"
// for a stream the server ended, "unauthorized", "policy-violation", ...),
// and the same reasons for this package's own errors (Pkg "sse"). Branch on
// kyneta.CodeOf(err) or kyneta.ReasonOf(err).

// The reasons of this package's errors (docs/errors.md lists them with
// their codes). The client's match the WebSocket client's reasons, the
// server's the WebSocket server's.
const (
	// The server's.
	reasonInvalidOptions = "invalid-options" // NewServer or Drain was given an invalid option field
	reasonClosed         = "closed"          // the server was closed, or the stream is closing
	reasonSlowConsumer   = "slow-consumer"   // a send would overflow the stream's queue (the stream is closed with 4000)
	reasonNilMessage     = "nil-message"     // a nil message was sent on a channel

	// The client's, and the disconnect reasons it reports.
	reasonIntentional     = "intentional"
	reasonError           = "error"
	reasonMaxRetries      = "max-retries-exceeded"
	reasonUnauthorized    = "unauthorized"
	reasonPolicyViolation = "policy-violation"
	reasonInvalidConfig   = "invalid-config"
	reasonClientClosed    = "client-closed"
	reasonSendQueueFull   = "send-queue-full"
	reasonNotConnected    = "not-connected"
	reasonIdleTimeout     = "idle-timeout"    // a stream stayed silent (not even a heartbeat) for ClientOptions.IdleTimeout
	reasonOpenTimeout     = "open-timeout"    // the events request did not answer within ClientOptions.OpenTimeout
	reasonEventTooLarge   = "event-too-large" // a line or an event above the reader's limit
	reasonChannelClosed   = "channel-closed"  // the exchange closed the channel
)

// reasonCodes maps this package's own reasons (not the disconnect reasons,
// which the client package classifies) to what a caller should do.
var reasonCodes = map[string]kyneta.Code{
	reasonInvalidOptions: kyneta.CodeInvalidArgument,
	reasonClosed:         kyneta.CodeUnavailable,
	reasonSlowConsumer:   kyneta.CodeResourceExhausted,
	reasonNilMessage:     kyneta.CodeInvalidArgument,
	reasonInvalidConfig:  kyneta.CodeInvalidArgument,
	reasonClientClosed:   kyneta.CodeUnavailable,
	reasonSendQueueFull:  kyneta.CodeResourceExhausted,
	reasonNotConnected:   kyneta.CodeUnavailable,
	reasonIdleTimeout:    kyneta.CodeDeadlineExceeded,
	reasonOpenTimeout:    kyneta.CodeDeadlineExceeded,
	reasonEventTooLarge:  kyneta.CodeResourceExhausted,
	reasonChannelClosed:  kyneta.CodeUnavailable,
}

// newError returns this package's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	return reasons.Table{Pkg: "sse", Codes: reasonCodes}.New(reason, detail, cause)
}

// errStreamClosed is the error of a send on a closed server or a closing
// stream; it wraps the transport's closed error, which the exchange and
// transport.Channel recognise.
func errStreamClosed() error { return newError(reasonClosed, "stream", pipeline.ErrClosed()) }

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
	if kyneta.CodeOf(err) == kyneta.CodePermissionDenied {
		return http.StatusForbidden, http.StatusText(http.StatusForbidden)
	}
	return http.StatusUnauthorized, http.StatusText(http.StatusUnauthorized)
}

// permanent reports whether a failure with this reason must not be
// retried: the WebSocket client's rule.
func permanent(reason string) bool {
	return reason == reasonUnauthorized || reason == reasonPolicyViolation || reason == reasonInvalidConfig
}

// errIdleTimeout is the cause reported when a stream stayed silent (not
// even a heartbeat) for ClientOptions.IdleTimeout.
var errIdleTimeout = newError(reasonIdleTimeout, "stream", nil)
