package server

import (
	"errors"
	"fmt"
	"testing"
)

// TestCodeOf: the server's errors report their code through CodeOf and
// errors.Is, also inside a *CloseError.
func TestCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		want Code
	}{
		{&Error{Code: CodeSlowConsumer}, CodeSlowConsumer},
		{&CloseError{Code: StatusSlowConsumer, Reason: reasonSlowConsumer, Err: &Error{Code: CodeSlowConsumer}}, CodeSlowConsumer},
		{fmt.Errorf("auth: %w", &AuthError{Status: 403}), CodeAuth},
		{&CloseError{Code: StatusGoingAway}, ""},
		{errors.New("other"), ""},
		{nil, ""},
	}
	for _, c := range cases {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if !errors.Is(&CloseError{Err: &Error{Code: CodeLimit, Msg: "x"}}, &Error{Code: CodeLimit}) {
		t.Error("errors.Is does not match by code")
	}
	if ae := (&AuthError{Status: 403, Err: &Error{Code: CodeForbidden}}); !errors.Is(ae, &Error{Code: CodeAuth}) || !errors.Is(ae, &Error{Code: CodeForbidden}) {
		t.Error("an *AuthError matches neither auth nor its cause's code")
	}
	if errors.Is(&Error{Code: CodeLimit}, &Error{Code: CodeRateLimited}) {
		t.Error("errors.Is matched another code")
	}
}
