package server

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// TestReasonOf: the server's errors report their reason and code through
// kyneta.ReasonOf, kyneta.CodeOf and errors.Is, also inside a *CloseError
// and from an *AuthError.
func TestReasonOf(t *testing.T) {
	cases := []struct {
		err    error
		reason string
		code   kyneta.Code
	}{
		{newError(reasonSlowConsumer, "", nil), reasonSlowConsumer, kyneta.CodeResourceExhausted},
		{&CloseError{Code: StatusSlowConsumer, Reason: closeReasonSlowConsumer, Err: newError(reasonSlowConsumer, "", nil)}, reasonSlowConsumer, kyneta.CodeResourceExhausted},
		{fmt.Errorf("auth: %w", &AuthError{Status: 403}), reasonAuth, kyneta.CodePermissionDenied},
		{&AuthError{}, reasonAuth, kyneta.CodeUnauthenticated},
		{&AuthError{Status: 429}, reasonAuth, kyneta.CodeUnauthenticated},
		{&CloseError{Code: statusGoingAway}, "", kyneta.CodeUnknown},
		{errors.New("other"), "", kyneta.CodeUnknown},
		{nil, "", ""},
	}
	for _, c := range cases {
		if got := kyneta.ReasonOf(c.err); got != c.reason {
			t.Errorf("ReasonOf(%v) = %q, want %q", c.err, got, c.reason)
		}
		if got := kyneta.CodeOf(c.err); got != c.code {
			t.Errorf("CodeOf(%v) = %q, want %q", c.err, got, c.code)
		}
	}
	if !errors.Is(&CloseError{Err: newError(reasonLimit, "x", nil)}, &kyneta.Error{Pkg: "server", Reason: reasonLimit}) {
		t.Error("errors.Is does not match by reason")
	}
	if ae := (&AuthError{Status: 403, Err: &kyneta.Error{Code: kyneta.CodePermissionDenied}}); !errors.Is(ae, &kyneta.Error{Pkg: "server", Reason: reasonAuth}) || !errors.Is(ae, &kyneta.Error{Code: kyneta.CodePermissionDenied}) {
		t.Error("an *AuthError matches neither auth nor its cause's code")
	}
	if errors.Is(newError(reasonLimit, "", nil), &kyneta.Error{Pkg: "server", Reason: reasonRateLimited}) {
		t.Error("errors.Is matched another reason")
	}
}

// Every reason's code, spelled out so a change shows up in review.
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"closed":            kyneta.CodeUnavailable,
		"draining":          kyneta.CodeUnavailable,
		"not-started":       kyneta.CodeUnavailable,
		"auth":              kyneta.CodeUnauthenticated,
		"bad-request":       kyneta.CodeInvalidArgument,
		"origin":            kyneta.CodePermissionDenied,
		"handshake":         kyneta.CodeMalformed,
		"max-connections":   kyneta.CodeResourceExhausted,
		"peer-id-in-use":    kyneta.CodeAlreadyExists,
		"per-ip":            kyneta.CodeResourceExhausted,
		"per-principal":     kyneta.CodeResourceExhausted,
		"slow-consumer":     kyneta.CodeResourceExhausted,
		"rate-limited":      kyneta.CodeResourceExhausted,
		"reassembly-budget": kyneta.CodeResourceExhausted,
		"limit":             kyneta.CodeResourceExhausted,
		"invalid-options":   kyneta.CodeInvalidArgument,
		"idle-timeout":      kyneta.CodeDeadlineExceeded,
		"write-timeout":     kyneta.CodeDeadlineExceeded,
		"rejected":          kyneta.CodePermissionDenied,
		"nil-message":       kyneta.CodeInvalidArgument,
		"no-hijacker":       kyneta.CodeUnsupported,
	}
	if len(want) != len(reasonCodes) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		if err := newError(reason, "", nil); err.Code != code || err.Reason != reason || err.Pkg != "server" {
			t.Errorf("%s: got %+v, want code %s", reason, err, code)
		}
	}
}
