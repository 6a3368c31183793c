package store

import (
	"errors"
	"fmt"
	"testing"
)

// TestCodeOf: every error type of the package reports its code, and
// errors.Is matches by code.
func TestCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		want Code
	}{
		{&Error{Code: CodeClosed}, CodeClosed},
		{fmt.Errorf("wrapped: %w", &Error{Code: CodeWriteFailed}), CodeWriteFailed},
		{&CorruptError{Reason: ReasonSequenceGap}, CodeCorrupt},
		{fmt.Errorf("wrapped: %w", &HeadError{DocID: "d"}), CodeHeadMismatch},
		{&FormatError{Reason: ReasonMalformedVersion}, CodeFormat},
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
}
