package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/errtext"
	"github.com/kyneta-go/kyneta/transport"
)

// StatusCode is a WebSocket close code; it is websocket.StatusCode.
type StatusCode = websocket.StatusCode

// Close codes the server sends. Every close the server initiates uses one of
// these, with a short fixed reason (the reasons are listed in the package
// documentation).
const (
	// StatusReplaced (1000) closes a socket whose peer id was taken over by
	// a newer connection (reason "Replaced by new connection").
	StatusReplaced = websocket.StatusNormalClosure
	// StatusGoingAway (1001) is used for drains ("Server draining"),
	// shutdown ("Server shutting down") and the idle timeout
	// ("Idle timeout"). Clients reconnect after it.
	StatusGoingAway = websocket.StatusGoingAway
	// StatusInvalidData (1007) closes a connection that sent a binary frame
	// the wire pipeline could not decode ("Invalid frame: <wire code>").
	StatusInvalidData = websocket.StatusInvalidFramePayloadData
	// StatusPolicyViolation (1008) closes a connection that exceeded its
	// message rate ("Rate limit exceeded"), announced more aliases than
	// Options.MaxAliases ("Limit exceeded: too-many-aliases") or was
	// rejected by the exchange ("Connection rejected"). Kyneta clients
	// treat 1008 as final.
	StatusPolicyViolation = websocket.StatusPolicyViolation
	// StatusMessageTooBig (1009) closes a connection that sent a message
	// above Options.MaxMessageSize, a fragmented message above
	// Options.MaxReassemblySize, a present above Options.MaxPresentDocs or
	// a message beyond the wire decoder's caps ("Message too big").
	StatusMessageTooBig = websocket.StatusMessageTooBig
	// StatusInternalError (1011) closes a connection the transport refused
	// to register for a reason other than being stopped (a stopped
	// transport gives 1001 "Server shutting down").
	StatusInternalError = websocket.StatusInternalError
	// StatusTryAgainLater (1013) refuses a connection above
	// Options.MaxConnections, or (HandleConn) above a per-address or
	// per-principal cap ("Too many connections"), and closes a connection
	// that found the server-wide reassembly budget exhausted ("Server
	// busy"). Clients reconnect after it.
	StatusTryAgainLater = websocket.StatusTryAgainLater
	// StatusSlowConsumer (4000, private range) closes a connection whose
	// send queue overflowed or whose socket did not accept a write within
	// Options.WriteTimeout ("Slow consumer"). It is retryable: the peer
	// should reconnect and resynchronise.
	StatusSlowConsumer StatusCode = 4000
)

// Close reasons sent with the codes above.
const (
	reasonReplaced        = "Replaced by new connection"
	reasonShuttingDown    = "Server shutting down"
	reasonIdle            = "Idle timeout"
	reasonRateLimited     = "Rate limit exceeded"
	reasonRejected        = "Connection rejected"
	reasonTooMany         = "Too many connections"
	reasonSlowConsumer    = "Slow consumer"
	reasonInternal        = "Internal error"
	reasonTooBig          = "Message too big"
	reasonBusy            = "Server busy"
	reasonInvalidFrameFmt = "Invalid frame: %s"
	reasonLimitFmt        = "Limit exceeded: %s"
)

// Sentinel errors.
// Code classifies the server's errors and refusals: the causes inside a
// *CloseError, what an authenticator returns, New's validation, and the
// reasons counted in Stats.Rejected and passed to Options.OnReject.
// Match with CodeOf(err) == c or errors.Is(err, &Error{Code: c}).
type Code string

// Refusal codes, counted in Stats.Rejected (with the HTTP status or close
// code the client sees).
const (
	CodeClosed         Code = "closed"          // Close was called (HTTP 503); also: the connection is closed or closing, so nothing more can be sent
	CodeDraining       Code = "draining"        // a drain is running or ran (HTTP 503, or close with the drain code)
	CodeNotStarted     Code = "not-started"     // the transport is not started by an exchange, or was stopped (HTTP 503)
	CodeAuth           Code = "auth"            // Authenticate failed (HTTP 401/403/4xx); CodeOf of an *AuthError
	CodeBadRequest     Code = "bad-request"     // bad peer id or missing subprotocol (HTTP 400)
	CodeOrigin         Code = "origin"          // origin not allowed (HTTP 403)
	CodeHandshake      Code = "handshake"       // not a valid WebSocket upgrade
	CodeMaxConnections Code = "max-connections" // over MaxConnections (close 1013)
	CodePeerIDInUse    Code = "peer-id-in-use"  // the peer id is connected under another principal (HTTP 409, or close 1008)
	CodePerIP          Code = "per-ip"          // over MaxConnectionsPerIP (HTTP 429, or close 1013)
	CodePerPrincipal   Code = "per-principal"   // over MaxConnectionsPerPrincipal (HTTP 429, or close 1013)
)

// Other codes.
const (
	// CodeUnauthorized: what an authenticator returns (possibly wrapped)
	// to refuse a request with HTTP 401: &Error{Code: CodeUnauthorized}.
	CodeUnauthorized Code = "unauthorized"
	// CodeForbidden: what an authenticator returns (possibly wrapped) to
	// refuse a request with HTTP 403.
	CodeForbidden Code = "forbidden"
	// CodeSlowConsumer: a send would have overflowed the connection's send
	// queue; the connection is being closed with StatusSlowConsumer.
	CodeSlowConsumer Code = "slow-consumer"
	// CodeRateLimited: the connection sent messages faster than
	// Options.MessageRate allows (closed with 1008).
	CodeRateLimited Code = "rate-limited"
	// CodeReassemblyBudget: the server-wide reassembly budget had no room
	// for the connection's fragment (closed with 1013).
	CodeReassemblyBudget Code = "reassembly-budget"
	// CodeLimit: the connection exceeded a per-connection limit on what it
	// sends (a fragmented message above MaxReassemblySize, a present above
	// MaxPresentDocs, aliases above MaxAliases, a message beyond the
	// decoder's caps); closed with 1009 or 1008.
	CodeLimit Code = "limit"
	// CodeInvalidOptions: New or Drain was given an invalid option field
	// (Msg names it).
	CodeInvalidOptions Code = "invalid-options"
)

// Error is the server's error. errors.Is(err, &Error{Code: c}) matches
// any *Error with code c.
type Error struct {
	Code Code
	Msg  string // detail, e.g. the invalid option field and why
	Err  error  // cause, may be nil
}

func (e *Error) Error() string {
	s := "server: " + string(e.Code)
	return errtext.Join(s, e.Msg, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the code of the first *Error in err's chain (CodeAuth for
// an *AuthError that comes first), or "" if there is none. For a
// *CloseError it is the code of its cause.
func CodeOf(err error) Code {
	for ; err != nil; err = errors.Unwrap(err) {
		switch e := err.(type) {
		case *Error:
			return e.Code
		case *AuthError:
			return CodeAuth
		}
	}
	return ""
}

// AuthError lets an authenticator choose the HTTP status of a refusal. A
// plain error from Authenticate means 401, an error of code CodeForbidden
// 403.
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

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with code CodeAuth.
func (e *AuthError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeAuth
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
	} else if errors.Is(err, &Error{Code: CodeForbidden}) {
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
	cause := string(transport.CodeDecodeFailed)
	var pe *transport.PipelineError
	fe := frameError(err)
	switch {
	case fe != nil:
		cause = fe.Reason
		if fe.Detail != "" {
			cause += ": " + fe.Detail
		}
	case errors.As(err, &pe):
		cause = string(pe.Code)
		if pe.Detail != "" {
			cause += ": " + pe.Detail
		}
	}
	return clipReason(fmt.Sprintf(reasonInvalidFrameFmt, cause))
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

// CloseError describes why the server closed a connection: the code and
// reason it sent (or tried to send) and the cause. HandleConn returns it
// for a refused connection.
type CloseError struct {
	Code   StatusCode
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
