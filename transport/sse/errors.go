package sse

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/kyneta-go/kyneta/client"
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
// (a *server.Error with server.CodeUnauthorized, server.CodeForbidden or
// server.CodeInvalidOptions, or a *server.AuthError), so one authenticator
// and one check serve both transports: a plain error refuses with 401,
// a server.CodeForbidden error with 403, a *server.AuthError with its
// status.

// ErrServerClosed: the server was closed, or the stream is closing. It
// has code transport.CodeClosed. (A send that would overflow a stream's queue
// fails with the WebSocket server's server.CodeSlowConsumer, and the stream
// is closed with 4000.)
var ErrServerClosed = fmt.Errorf("sse: stream closed: %w", &transport.Error{Code: transport.CodeClosed})

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
	if errors.Is(err, &server.Error{Code: server.CodeForbidden}) {
		return http.StatusForbidden, http.StatusText(http.StatusForbidden)
	}
	return http.StatusUnauthorized, http.StatusText(http.StatusUnauthorized)
}

// The SSE client reports its outcomes with the WebSocket client's error
// model, so one check covers both clients: a *client.DisconnectReason
// (State.Reason, WaitForStatus, OnDisconnect) or a *client.Error, with a
// client.Code that client.CodeOf returns. A stream that the server ended
// is client.CodeClosed.

// ErrIdleTimeout is the cause reported when a stream stayed silent (not
// even a heartbeat) for ClientOptions.IdleTimeout.
var ErrIdleTimeout = errors.New("sse: stream idle timeout")

// permanent reports whether a failure with this code must not be retried:
// the WebSocket client's rule.
func permanent(c client.Code) bool {
	return c == client.CodeUnauthorized || c == client.CodePolicyViolation || c == client.CodeInvalidConfig
}
