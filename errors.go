// Package kyneta holds the error model every package of the module shares:
// a Code that says what a caller should do about an error, a Reason that
// names the exact condition, and one *Error that carries both.
//
// Codes are few and stable, connect-go style; reasons are many, precise and
// also stable (the reference implementation's strings where it has them),
// in the manner of AIP-193's ErrorInfo.reason. Branch on the code; log,
// count or match the reason when one condition needs its own handling.
// docs/errors.md lists every reason, its code and what to do about it.
package kyneta

import (
	"context"
	"errors"
)

// Code classifies an error by what a caller should do about it.
type Code string

// The codes. Every error a kyneta package returns has one of them.
const (
	// CodeUnknown: err holds no kyneta error (CodeOf's answer for foreign
	// errors). Treat as CodeInternal.
	CodeUnknown Code = "unknown"
	// CodeInvalidArgument: the caller passed a bad argument or option. Fix
	// the call; retrying the same call fails the same way.
	CodeInvalidArgument Code = "invalid-argument"
	// CodeMalformed: bytes from a peer or a store do not decode, or break
	// the protocol. Drop the message (a server closes the peer); never
	// retry with the same bytes.
	CodeMalformed Code = "malformed"
	// CodeUnsupported: well-formed input this side does not support (a
	// protocol or format version, a replica type, a feature).
	CodeUnsupported Code = "unsupported"
	// CodeResourceExhausted: a limit, budget or queue is full. Back off and
	// retry later, or raise the limit.
	CodeResourceExhausted Code = "resource-exhausted"
	// CodeUnauthenticated: the request carries no valid credentials.
	// Obtain credentials, then retry.
	CodeUnauthenticated Code = "unauthenticated"
	// CodePermissionDenied: the principal may not do this. Retrying does
	// not help.
	CodePermissionDenied Code = "permission-denied"
	// CodeNotFound: the named thing (a document, a peer, a record) does
	// not exist.
	CodeNotFound Code = "not-found"
	// CodeAlreadyExists: the name is taken (a peer id, a registration).
	CodeAlreadyExists Code = "already-exists"
	// CodeFailedPrecondition: the state does not allow the operation (a
	// schema mismatch, a destroyed document, a moved head). Fix the state
	// before retrying.
	CodeFailedPrecondition Code = "failed-precondition"
	// CodeUnavailable: closed, draining, stopped or disconnected. Retry
	// later or elsewhere.
	CodeUnavailable Code = "unavailable"
	// CodeDeadlineExceeded: a timeout expired first. Retry if the
	// operation is idempotent.
	CodeDeadlineExceeded Code = "deadline-exceeded"
	// CodeCanceled: the caller canceled the operation.
	CodeCanceled Code = "canceled"
	// CodeDataLoss: stored data is damaged or missing. Restore it; a retry
	// reads the same damage.
	CodeDataLoss Code = "data-loss"
	// CodeInternal: a bug or broken invariant inside kyneta (a panic, a
	// feedback loop). Report it.
	CodeInternal Code = "internal"
)

// Error is the error every kyneta package returns, directly or as the
// classification inside a type that carries more data (those unwrap to an
// *Error, so CodeOf, ReasonOf, errors.Is and errors.As find it).
type Error struct {
	// Code says what to do about the error.
	Code Code
	// Reason names the exact condition, e.g. "truncated_frame" or
	// "per-ip"; stable, listed in docs/errors.md.
	Reason string
	// Pkg is the short name of the package that returned the error, the
	// message's prefix.
	Pkg string
	// Detail says more, for people (not stable).
	Detail string
	// Err is the cause, if any.
	Err error
}

// Error formats "pkg: reason: detail: cause", leaving out empty parts (the
// code stands in for a missing reason).
func (e *Error) Error() string {
	head := e.Reason
	if head == "" {
		head = string(e.Code)
	}
	if e.Pkg != "" {
		head = e.Pkg + ": " + head
	}
	if e.Detail != "" {
		head += ": " + e.Detail
	}
	if e.Err != nil {
		head += ": " + e.Err.Error()
	}
	return head
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error whose non-empty fields among Code,
// Reason and Pkg all equal e's, so errors.Is(err, &Error{Code: c}) matches
// a code and &Error{Pkg: "server", Reason: "per-ip"} one condition.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil {
		return false
	}
	return (t.Code == "" || t.Code == e.Code) &&
		(t.Reason == "" || t.Reason == e.Reason) &&
		(t.Pkg == "" || t.Pkg == e.Pkg)
}

// CodeOf returns the code of the first *Error in err's chain. Without one
// it returns CodeCanceled or CodeDeadlineExceeded for the context errors,
// CodeUnknown for any other error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	}
	return CodeUnknown
}

// ReasonOf returns the reason of the first *Error in err's chain, or "".
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
