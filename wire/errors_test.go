package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorStringsAndMatching(t *testing.T) {
	frameErr := &Error{Code: CodeTruncatedFrame, Msg: "need 10"}
	_, tooMany := fragmentCount(70000, 1)
	cases := []struct {
		err    error
		want   string // substring of Error()
		target error  // errors.Is target
	}{
		{frameErr, "truncated_frame: need 10", &Error{Code: CodeTruncatedFrame}},
		{&Error{Code: CodeInvalidFrameType}, "invalid_type", &Error{Code: CodeInvalidFrameType}},
		{&Error{Code: CodeTruncated, Msg: "x"}, "truncated: x", &Error{Code: CodeTruncated}},
		{&Error{Code: CodeInvalidJSON}, "invalid_json", &Error{Code: CodeInvalidJSON}},
		{tooMany, "70000 pieces needed, at most 65535", &Error{Code: CodeTooManyFragments}},
		{&Error{Code: CodeEmptyPayload}, "empty-payload", &Error{Code: CodeEmptyPayload}},
		{&ReassemblyError{Code: CodeDuplicateFragment, Seq: 1, Index: 2}, "duplicate_fragment: seq 1 index 2", &ReassemblyError{Code: CodeDuplicateFragment}},
		{&ReassemblyError{Code: CodeInvalidIndex, Seq: 1, Index: 5, Max: 2}, "index 5 (max 2)", &ReassemblyError{Code: CodeInvalidIndex}},
		{&ReassemblyError{Code: CodeSizeMismatch, Seq: 3, Expected: 10, Got: 8}, "expected 10 got 8", &ReassemblyError{Code: CodeSizeMismatch}},
		{&ReassemblyError{Code: CodeEvicted, Seq: 4}, "evicted: seq 4", &ReassemblyError{Code: CodeEvicted}},
		{&ReassemblyError{Code: CodeDisposed}, "disposed", &ReassemblyError{Code: CodeDisposed}},
		{&ReassemblyError{Code: CodeParseError, Msg: "bad", Err: frameErr}, "parse_error: bad", &Error{Code: CodeTruncatedFrame}},
	}
	for _, c := range cases {
		if got := c.err.Error(); !strings.HasPrefix(got, "wire: ") || !strings.Contains(got, c.want) {
			t.Errorf("%#v: Error() = %q, want it to contain %q", c.err, got, c.want)
		}
		if !errors.Is(c.err, c.target) {
			t.Errorf("%v: errors.Is(%v) is false", c.err, c.target)
		}
	}
	// Codes do not match across kinds.
	if errors.Is(frameErr, &Error{Code: CodeUnsupportedVersion}) {
		t.Error("errors.Is matched a different code")
	}
	var fe *Error
	if !errors.As(&ReassemblyError{Code: CodeParseError, Err: frameErr}, &fe) || fe != frameErr {
		t.Error("parse_error does not unwrap to its frame error")
	}
}

// TestCodeOf: every error type of the package reports its code, and
// errors.Is matches by code across the types.
func TestCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		want Code
	}{
		{&Error{Code: CodeTruncatedFrame}, CodeTruncatedFrame},
		{fmt.Errorf("wrapped: %w", &ReassemblyError{Code: CodeEvicted}), CodeEvicted},
		{&ReassemblyError{Code: CodeParseError, Err: &Error{Code: CodeInvalidJSON}}, CodeParseError},
		{&AliasError{Code: CodeTooManyDocs}, CodeTooManyDocs},
		{&ValidationError{Reason: "x"}, CodeInvalidMessage},
		{errNilMessage, CodeNilMessage},
		{errors.New("other"), ""},
		{nil, ""},
	}
	for _, c := range cases {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %q, want %q", c.err, got, c.want)
		}
		if c.want != "" && !errors.Is(c.err, &Error{Code: c.want}) {
			t.Errorf("errors.Is(%v, &Error{Code: %q}) is false", c.err, c.want)
		}
	}
	if errors.Is(&AliasError{Code: CodeTooManyDocs}, &Error{Code: CodeTooManyAliases}) {
		t.Error("errors.Is matched a different code")
	}
}

func TestStringers(t *testing.T) {
	if decisionAccept.String() != "accept" || fragmentDecision(0).String() != "Decision(0)" || fragmentDecision(99).String() != "Decision(99)" {
		t.Error("Decision.String")
	}
}
