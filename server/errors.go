package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// Close codes the server sends: coder/websocket's, named here for their
// use, and StatusSlowConsumer, which coder/websocket has no name for. Every
// close the server initiates uses one of these, with a short fixed reason;
// the package documentation lists them.
const (
	// statusReplaced (1000) closes a socket whose peer id was taken over by
	// a newer connection (reason "Replaced by new connection").
	statusReplaced = websocket.StatusNormalClosure
	// statusGoingAway (1001) is used for drains ("Server draining"),
	// shutdown ("Server shutting down") and the idle timeout
	// ("Idle timeout"). Clients reconnect after it.
	statusGoingAway = websocket.StatusGoingAway
	// statusInvalidData (1007) closes a connection that sent a binary frame
	// the wire pipeline could not decode ("Invalid frame: <wire code>").
	statusInvalidData = websocket.StatusInvalidFramePayloadData
	// statusPolicyViolation (1008) closes a connection that exceeded its
	// message rate ("Rate limit exceeded"), announced more aliases than
	// Options.MaxAliases ("Limit exceeded: too-many-aliases") or was
	// rejected by the exchange ("Connection rejected"). Kyneta clients
	// treat 1008 as final.
	statusPolicyViolation = websocket.StatusPolicyViolation
	// statusMessageTooBig (1009) closes a connection that sent a message
	// above Options.MaxMessageSize, a fragmented message above
	// Options.MaxReassemblySize, a present above Options.MaxPresentDocs or
	// a message beyond the wire decoder's caps ("Message too big").
	statusMessageTooBig = websocket.StatusMessageTooBig
	// statusInternalError (1011) closes a connection the transport refused
	// to register for a reason other than being stopped (a stopped
	// transport gives 1001 "Server shutting down").
	statusInternalError = websocket.StatusInternalError
	// statusTryAgainLater (1013) refuses a connection above
	// Options.MaxConnections, or (HandleConn) above a per-address or
	// per-principal cap ("Too many connections"), and closes a connection
	// that found the server-wide reassembly budget exhausted ("Server
	// busy"). Clients reconnect after it.
	statusTryAgainLater = websocket.StatusTryAgainLater
	// StatusSlowConsumer (4000, private range) closes a connection whose
	// send queue overflowed or whose socket did not accept a write within
	// Options.WriteTimeout ("Slow consumer"). It is retryable: the peer
	// should reconnect and resynchronise.
	StatusSlowConsumer websocket.StatusCode = 4000
)

// Close reasons sent with the codes above.
const (
	closeReasonReplaced        = "Replaced by new connection"
	closeReasonShuttingDown    = "Server shutting down"
	closeReasonIdle            = "Idle timeout"
	closeReasonRateLimited     = "Rate limit exceeded"
	closeReasonRejected        = "Connection rejected"
	closeReasonTooMany         = "Too many connections"
	closeReasonSlowConsumer    = "Slow consumer"
	closeReasonInternal        = "Internal error"
	closeReasonTooBig          = "Message too big"
	closeReasonBusy            = "Server busy"
	closeReasonInvalidFrameFmt = "Invalid frame: %s"
	closeReasonLimitFmt        = "Limit exceeded: %s"
)

// The reasons of the server's errors and refusals (docs/errors.md lists
// them with their codes): the causes inside a *CloseError, New's and
// Drain's validation, and the keys of Stats.Rejected.
//
// Refusal reasons, counted in Stats.Rejected (with the HTTP status or close
// code the client sees).
const (
	reasonClosed         = "closed"          // Close was called (HTTP 503); also: the connection is closed or closing, so nothing more can be sent
	reasonDraining       = "draining"        // a drain is running or ran (HTTP 503, or close with the drain code)
	reasonNotStarted     = "not-started"     // the transport is not started by an exchange, or was stopped (HTTP 503)
	reasonAuth           = "auth"            // Authenticate failed (HTTP 401/403/4xx); the reason of an *AuthError
	reasonBadRequest     = "bad-request"     // bad peer id or missing subprotocol (HTTP 400)
	reasonOrigin         = "origin"          // origin not allowed (HTTP 403)
	reasonHandshake      = "handshake"       // not a valid WebSocket upgrade
	reasonMaxConnections = "max-connections" // over MaxConnections (close 1013)
	reasonPeerIDInUse    = "peer-id-in-use"  // the peer id is connected under another principal (HTTP 409, or close 1008)
	reasonPerIP          = "per-ip"          // over MaxConnectionsPerIP (HTTP 429, or close 1013)
	reasonPerPrincipal   = "per-principal"   // over MaxConnectionsPerPrincipal (HTTP 429, or close 1013)
)

// Other reasons.
const (
	// reasonSlowConsumer: a send would have overflowed the connection's
	// send queue; the connection is being closed with StatusSlowConsumer.
	reasonSlowConsumer = "slow-consumer"
	// reasonRateLimited: the connection sent messages faster than
	// Options.MessageRate allows (closed with 1008).
	reasonRateLimited = "rate-limited"
	// reasonReassemblyBudget: the server-wide reassembly budget had no
	// room for the connection's fragment (closed with 1013).
	reasonReassemblyBudget = "reassembly-budget"
	// reasonLimit: the connection exceeded a per-connection limit on what
	// it sends (a fragmented message above MaxReassemblySize, a present
	// above MaxPresentDocs, aliases above MaxAliases, a message beyond the
	// decoder's caps); closed with 1009 or 1008.
	reasonLimit = "limit"
	// reasonInvalidOptions: New, Drain or CloseConnections was given an
	// invalid option field (the detail names it).
	reasonInvalidOptions = "invalid-options"
	// reasonIdleTimeout: the connection sent nothing for
	// Options.IdleTimeout (closed with 1001).
	reasonIdleTimeout = "idle-timeout"
	// reasonWriteTimeout: the socket did not accept a write within
	// Options.WriteTimeout (closed with 4000).
	reasonWriteTimeout = "write-timeout"
	// reasonRejected: the exchange rejected the peer (closed with 1008).
	reasonRejected = "rejected"
	// reasonNilMessage: a nil message was sent on a channel.
	reasonNilMessage = "nil-message"
	// reasonNoHijacker: the http.ResponseWriter cannot be hijacked.
	reasonNoHijacker = "no-hijacker"
)

// reasonCodes maps every reason to what a caller should do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonClosed:           kyneta.CodeUnavailable,
	reasonDraining:         kyneta.CodeUnavailable,
	reasonNotStarted:       kyneta.CodeUnavailable,
	reasonAuth:             kyneta.CodeUnauthenticated,
	reasonBadRequest:       kyneta.CodeInvalidArgument,
	reasonOrigin:           kyneta.CodePermissionDenied,
	reasonHandshake:        kyneta.CodeMalformed,
	reasonMaxConnections:   kyneta.CodeResourceExhausted,
	reasonPeerIDInUse:      kyneta.CodeAlreadyExists,
	reasonPerIP:            kyneta.CodeResourceExhausted,
	reasonPerPrincipal:     kyneta.CodeResourceExhausted,
	reasonSlowConsumer:     kyneta.CodeResourceExhausted,
	reasonRateLimited:      kyneta.CodeResourceExhausted,
	reasonReassemblyBudget: kyneta.CodeResourceExhausted,
	reasonLimit:            kyneta.CodeResourceExhausted,
	reasonInvalidOptions:   kyneta.CodeInvalidArgument,
	reasonIdleTimeout:      kyneta.CodeDeadlineExceeded,
	reasonWriteTimeout:     kyneta.CodeDeadlineExceeded,
	reasonRejected:         kyneta.CodePermissionDenied,
	reasonNilMessage:       kyneta.CodeInvalidArgument,
	reasonNoHijacker:       kyneta.CodeUnsupported,
}

// newError returns the server's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	return reasons.Table{Pkg: "server", Codes: reasonCodes}.New(reason, detail, cause)
}

// AuthError lets an authenticator choose the HTTP status, body and
// challenge of a refusal. A plain error from Authenticate means 401, an
// error of code kyneta.CodePermissionDenied 403. An *AuthError unwraps to
// a *kyneta.Error with reason "auth" and code kyneta.CodeUnauthenticated
// (kyneta.CodePermissionDenied for a 403).
type AuthError struct {
	// Status is the HTTP status to answer with; 0 means 401. Only 4xx
	// statuses are used as given; anything else becomes 401.
	Status int
	// Message is written as the response body; "" means the status text.
	// It should not contain secrets or internal details.
	Message string
	// Challenge is the WWW-Authenticate value sent with a 401 (RFC 7235
	// requires one); "" means "Bearer" (RFC 6750). Other statuses send none.
	Challenge string
	// Err is the underlying cause (logged, never sent).
	Err error
}

// defaultChallenge is the WWW-Authenticate value of a 401 whose
// authenticator did not choose one: Kyneta peers authenticate with bearer
// tokens (RFC 6750).
const defaultChallenge = "Bearer"

func (e *AuthError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.status())
	}
	if e.Err != nil {
		return fmt.Sprintf("server: authentication failed (%d %s): %v", e.status(), msg, e.Err)
	}
	return fmt.Sprintf("server: authentication failed (%d %s)", e.status(), msg)
}

// Unwrap returns the classification, which wraps the cause.
func (e *AuthError) Unwrap() error {
	err := newError(reasonAuth, "", e.Err)
	if e.status() == http.StatusForbidden {
		err.Code = kyneta.CodePermissionDenied
	}
	return err
}

func (e *AuthError) status() int {
	if e.Status >= 400 && e.Status < 500 {
		return e.Status
	}
	return http.StatusUnauthorized
}

// authStatus maps an authenticator error to an HTTP status, body and, for
// a 401, the WWW-Authenticate challenge.
func authStatus(err error) (status int, body, challenge string) {
	var ae *AuthError
	if errors.As(err, &ae) {
		status, body, challenge = ae.status(), ae.Message, ae.Challenge
	} else if kyneta.CodeOf(err) == kyneta.CodePermissionDenied {
		status = http.StatusForbidden
	} else {
		status = http.StatusUnauthorized
	}
	if body == "" {
		body = http.StatusText(status)
	}
	switch {
	case status != http.StatusUnauthorized:
		challenge = ""
	case challenge == "":
		challenge = defaultChallenge
	}
	return status, body, challenge
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header. The scheme is matched case-insensitively ("bearer", "BEARER"),
// as RFC 7235 and RFC 6750 require; ok is false without such a header or
// with an empty token.
func BearerToken(r *http.Request) (token string, ok bool) {
	scheme, rest, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(rest, " ")
	return token, token != ""
}

// maxCloseReason is the longest close reason a close frame carries (125
// bytes of payload minus the 2-byte code).
const maxCloseReason = 123

// invalidFrameReason is the close reason for a binary message the pipeline
// rejected. It names the real cause: the frame decoder's code for a frame
// that does not parse (a bad version is "unsupported_version", not the
// reassembler's "reassembly-failed" it travels in), else the pipeline's
// code and detail.
func invalidFrameReason(err error) string {
	cause := "decode-failed" // the pipeline's reason for a payload that does not decode
	var pe *pipeline.Error
	fe := frameError(err)
	switch {
	case fe != nil:
		cause = fe.Reason
		if fe.Detail != "" {
			cause += ": " + fe.Detail
		}
	case errors.As(err, &pe):
		cause = pe.Reason
		if pe.Detail != "" {
			cause += ": " + pe.Detail
		}
	}
	return clipReason(fmt.Sprintf(closeReasonInvalidFrameFmt, cause))
}

// clipReason shortens a close reason to maxCloseReason bytes without
// splitting a UTF-8 sequence.
func clipReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	s = s[:maxCloseReason]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// CloseError describes why the server closed a connection: the close
// status and reason text it sent (or tried to send) and the cause, a
// *kyneta.Error with the refusal's reason (so kyneta.CodeOf and
// kyneta.ReasonOf see through it). HandleConn returns it for a refused
// connection.
type CloseError struct {
	Code   websocket.StatusCode
	Reason string
	Err    error // cause, may be nil
}

func (e *CloseError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("server: closed connection with %d %q: %v", int(e.Code), e.Reason, e.Err)
	}
	return fmt.Sprintf("server: closed connection with %d %q", int(e.Code), e.Reason)
}

// Unwrap returns the cause.
func (e *CloseError) Unwrap() error { return e.Err }

// frameError returns the binary frame decoder's error in err's chain (an
// error of package wire with one of its frame reasons), or nil.
func frameError(err error) *kyneta.Error {
	for err != nil {
		if ke, ok := err.(*kyneta.Error); ok && ke.Pkg == "wire" {
			switch ke.Reason {
			case "truncated_frame", "unsupported_version", "invalid_type", "frame_too_large":
				return ke
			}
		}
		err = errors.Unwrap(err)
	}
	return nil
}
