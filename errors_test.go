package kyneta

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestErrorMessage(t *testing.T) {
	cause := errors.New("disk full")
	rows := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: CodeUnavailable}, "unavailable"},
		{&Error{Code: CodeUnavailable, Pkg: "store"}, "store: unavailable"},
		{&Error{Code: CodeUnavailable, Reason: "closed", Pkg: "store"}, "store: closed"},
		{&Error{Code: CodeUnavailable, Reason: "closed", Pkg: "store", Detail: "while writing"}, "store: closed: while writing"},
		{&Error{Code: CodeUnavailable, Reason: "closed", Pkg: "store", Err: cause}, "store: closed: disk full"},
		{&Error{Code: CodeUnavailable, Reason: "closed", Pkg: "store", Detail: "while writing", Err: cause}, "store: closed: while writing: disk full"},
	}
	for _, r := range rows {
		if got := r.err.Error(); got != r.want {
			t.Errorf("%#v.Error() = %q, want %q", r.err, got, r.want)
		}
	}
}

func TestIsMatchesTheFieldsTheTargetSets(t *testing.T) {
	err := fmt.Errorf("dial: %w", &Error{Code: CodeResourceExhausted, Reason: "per-ip", Pkg: "server"})
	rows := []struct {
		target *Error
		want   bool
	}{
		{&Error{Code: CodeResourceExhausted}, true},
		{&Error{Reason: "per-ip"}, true},
		{&Error{Pkg: "server", Reason: "per-ip"}, true},
		{&Error{Code: CodeResourceExhausted, Reason: "per-ip", Pkg: "server"}, true},
		{&Error{Code: CodeUnavailable}, false},
		{&Error{Reason: "per-principal"}, false},
		{&Error{Pkg: "client", Reason: "per-ip"}, false},
		{&Error{Code: CodeUnavailable, Reason: "per-ip"}, false},
	}
	for _, r := range rows {
		if got := errors.Is(err, r.target); got != r.want {
			t.Errorf("errors.Is(err, %#v) = %v, want %v", r.target, got, r.want)
		}
	}
	if errors.Is(err, errors.New("per-ip")) {
		t.Error("an *Error matched a foreign error")
	}
	var nilTarget *Error
	if errors.Is(err, nilTarget) {
		t.Error("an *Error matched a nil *Error")
	}
}

// coded carries data of its own and unwraps to its classification, the
// shape of the module's data-carrying error types.
type coded struct {
	Seq int
}

func (c *coded) Error() string { return c.Unwrap().Error() }
func (c *coded) Unwrap() error {
	return &Error{Code: CodeResourceExhausted, Reason: "over_budget", Detail: fmt.Sprint("seq ", c.Seq)}
}

func TestCodeAndReasonOf(t *testing.T) {
	inner := &Error{Code: CodeMalformed, Reason: "truncated_frame", Pkg: "wire"}
	outer := &Error{Code: CodeUnavailable, Reason: "closed", Pkg: "client", Err: inner}
	rows := []struct {
		err    error
		code   Code
		reason string
	}{
		{nil, "", ""},
		{errors.New("foreign"), CodeUnknown, ""},
		{context.Canceled, CodeCanceled, ""},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), CodeDeadlineExceeded, ""},
		{inner, CodeMalformed, "truncated_frame"},
		{fmt.Errorf("wrapped: %w", inner), CodeMalformed, "truncated_frame"},
		{outer, CodeUnavailable, "closed"}, // the first in the chain wins
		{&coded{Seq: 7}, CodeResourceExhausted, "over_budget"},
		{&Error{Code: CodeCanceled, Err: context.DeadlineExceeded}, CodeCanceled, ""},
	}
	for _, r := range rows {
		if got := CodeOf(r.err); got != r.code {
			t.Errorf("CodeOf(%v) = %q, want %q", r.err, got, r.code)
		}
		if got := ReasonOf(r.err); got != r.reason {
			t.Errorf("ReasonOf(%v) = %q, want %q", r.err, got, r.reason)
		}
	}
	if !errors.Is(outer, &Error{Reason: "truncated_frame"}) {
		t.Error("errors.Is did not find the inner error's reason")
	}
}
