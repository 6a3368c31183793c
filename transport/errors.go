package transport

import (
	"errors"
	"fmt"
)

// Code classifies a transport error so callers can branch on it without
// matching text: CodeOf(err) == c, or errors.Is(err, &Error{Code: c}).
type Code string

// Lifecycle and channel codes, carried by *[Error]. The pipeline's codes
// are listed with [PipelineError].
const (
	// CodeInvalidState: the operation is not allowed in the transport's
	// current lifecycle state (Error.State), e.g. AddChannel before Start.
	CodeInvalidState Code = "invalid-state"
	// CodeChannelNotFound: no channel with that id in this transport.
	CodeChannelNotFound Code = "channel-not-found"
	// CodeDuplicateID: the context minted an id that is already live (or
	// zero, which is reserved).
	CodeDuplicateID Code = "duplicate-channel-id"
	// CodeInvalidContext: Initialize was given a Context without
	// MintChannelID.
	CodeInvalidContext Code = "invalid-context"
	// CodeClosed: the object (transport, pipeline, bridge, endpoint,
	// channel) was closed.
	CodeClosed Code = "closed"
	// CodeSendFailed: a channel's send failed (Err is the link's error) or
	// panicked.
	CodeSendFailed Code = "send-failed"
)

// Error is the transport's error for lifecycle and channel failures.
// errors.Is(err, &Error{Code: c}) matches any *Error or *PipelineError
// with code c.
type Error struct {
	Code Code
	// Op is what was attempted: "initialize", "start", "add channel",
	// "remove channel", "establish channel", "receive", "send", ...
	Op string
	// State is the transport's state, for CodeInvalidState.
	State State
	// ID is the channel concerned, if any.
	ID ChannelID
	// Err is the cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == CodeInvalidState {
		return fmt.Sprintf("transport: can't %s in %q state", e.Op, e.State)
	}
	s := "transport: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	s += string(e.Code)
	if e.ID != 0 {
		s += fmt.Sprintf(" (channel %d)", e.ID)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error or a *PipelineError with the
// same code.
func (e *Error) Is(target error) bool { return sameCode(e.Code, target) }

func sameCode(c Code, target error) bool {
	switch t := target.(type) {
	case *Error:
		return t.Code == c
	case *PipelineError:
		return t.Code == c
	}
	return false
}

// sendError is the error of a failed channel send: the cause's own code
// when it has one of this package (a closed endpoint), else
// CodeSendFailed.
func sendError(id ChannelID, err error) *Error {
	c := CodeOf(err)
	if c == "" {
		c = CodeSendFailed
	}
	return &Error{Code: c, Op: "send", ID: id, Err: err}
}

// CodeOf returns the code of the first *Error or *PipelineError in err's
// chain, or "" if there is none.
func CodeOf(err error) Code {
	for ; err != nil; err = errors.Unwrap(err) {
		switch e := err.(type) {
		case *Error:
			return e.Code
		case *PipelineError:
			return e.Code
		}
	}
	return ""
}
