package transport

import (
	"errors"
	"fmt"
)

// Code classifies a transport error so callers can branch on it without
// matching text.
type Code string

// Error codes carried by the typed errors of this package.
const (
	CodeInvalidState    Code = "invalid-state"
	CodeChannelNotFound Code = "channel-not-found"
	CodeDuplicateID     Code = "duplicate-channel-id"
	CodeInvalidContext  Code = "invalid-context"
	CodeClosed          Code = "closed"
	CodeSendFailed      Code = "send-failed"
)

// Sentinel errors. Typed errors of this package match them with errors.Is.
var (
	// ErrInvalidState: the operation is not allowed in the transport's
	// current lifecycle state. Returned as a *StateError.
	ErrInvalidState = errors.New("transport: invalid state")
	// ErrChannelNotFound: no channel with that id in this transport.
	ErrChannelNotFound = errors.New("transport: channel not found")
	// ErrDuplicateChannelID: the context minted an id that is already live
	// (or zero, which is reserved).
	ErrDuplicateChannelID = errors.New("transport: duplicate channel id")
	// ErrInvalidContext: Initialize was given a Context without MintChannelID.
	ErrInvalidContext = errors.New("transport: invalid context")
	// ErrClosed: the object (pipeline, bridge, endpoint, channel) was closed.
	ErrClosed = errors.New("transport: closed")
)

// StateError reports a lifecycle-guarded operation attempted in the wrong
// state, e.g. AddChannel before Start. errors.Is(err, ErrInvalidState) holds.
type StateError struct {
	Op    string // "initialize", "start", "add channel", "remove channel", "establish channel", "receive"
	State State  // the state the transport was in
}

// Code returns CodeInvalidState.
func (e *StateError) Code() Code { return CodeInvalidState }

// Error implements error.
func (e *StateError) Error() string {
	return fmt.Sprintf("transport: can't %s in %q state", e.Op, e.State)
}

// Is makes errors.Is(err, ErrInvalidState) true.
func (e *StateError) Is(target error) bool { return target == ErrInvalidState }

// ChannelError reports a failure that concerns one channel. It unwraps to
// its cause (ErrChannelNotFound, ErrDuplicateChannelID, or the error a
// channel's send returned).
type ChannelError struct {
	Op  string
	ID  ChannelID
	Err error
}

// Code classifies the error by its cause.
func (e *ChannelError) Code() Code {
	if c := codeOf(e.Err); c != "" {
		return c
	}
	return CodeSendFailed
}

// Error implements error.
func (e *ChannelError) Error() string {
	return fmt.Sprintf("transport: %s channel %d: %v", e.Op, e.ID, e.Err)
}

// Unwrap returns the cause.
func (e *ChannelError) Unwrap() error { return e.Err }

// PanicError wraps a value recovered from a panicking channel send, so a
// broken channel shows up as an error instead of taking down the fan-out.
type PanicError struct {
	Value any
}

// Error implements error.
func (e *PanicError) Error() string {
	return fmt.Sprintf("transport: channel send panicked: %v", e.Value)
}

// CodeOf returns the Code of err (or of the first error in its chain that
// has one), and "" when none does.
func CodeOf(err error) Code { return codeOf(err) }

func codeOf(err error) Code {
	var pe *PipelineError
	if errors.As(err, &pe) {
		return pe.Code
	}
	var c interface{ Code() Code }
	if errors.As(err, &c) {
		return c.Code()
	}
	switch {
	case errors.Is(err, ErrInvalidState):
		return CodeInvalidState
	case errors.Is(err, ErrChannelNotFound):
		return CodeChannelNotFound
	case errors.Is(err, ErrDuplicateChannelID):
		return CodeDuplicateID
	case errors.Is(err, ErrInvalidContext):
		return CodeInvalidContext
	case errors.Is(err, ErrClosed):
		return CodeClosed
	}
	return ""
}
