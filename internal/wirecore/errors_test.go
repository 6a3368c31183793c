package wirecore

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// wireErr is an errors.Is target matching this package's errors with reason.
func wireErr(reason string) *kyneta.Error { return &kyneta.Error{Pkg: "wire", Reason: reason} }

func TestErrorStringsAndMatching(t *testing.T) {
	frameErr := newError(reasonTruncatedFrame, "need 10", nil)
	_, tooMany := fragmentCount(70000, 1)
	cases := []struct {
		err    error
		want   string // substring of Error()
		target error  // errors.Is target
	}{
		{frameErr, "truncated_frame: need 10", wireErr(reasonTruncatedFrame)},
		{newError(reasonInvalidFrameType, "", nil), "invalid_type", wireErr(reasonInvalidFrameType)},
		{newError(reasonTruncated, "x", nil), "truncated: x", wireErr(reasonTruncated)},
		{newError(reasonInvalidJSON, "", nil), "invalid_json", wireErr(reasonInvalidJSON)},
		{tooMany, "70000 pieces needed, at most 65535", wireErr(reasonTooManyFragments)},
		{newError(reasonEmptyPayload, "", nil), "empty-payload", wireErr(reasonEmptyPayload)},
		{&ReassemblyError{Reason: reasonDuplicateFragment, Seq: 1, Index: 2}, "duplicate_fragment: seq 1 index 2", wireErr(reasonDuplicateFragment)},
		{&ReassemblyError{Reason: reasonInvalidIndex, Seq: 1, Index: 5, Max: 2}, "index 5 (max 2)", wireErr(reasonInvalidIndex)},
		{&ReassemblyError{Reason: reasonSizeMismatch, Seq: 3, Expected: 10, Got: 8}, "expected 10 got 8", wireErr(reasonSizeMismatch)},
		{&ReassemblyError{Reason: reasonEvicted, Seq: 4}, "evicted: seq 4", wireErr(reasonEvicted)},
		{&ReassemblyError{Reason: reasonDisposed}, "disposed", wireErr(reasonDisposed)},
		{&ReassemblyError{Reason: reasonParseError, Msg: "bad", Err: frameErr}, "parse_error: bad", wireErr(reasonTruncatedFrame)},
		{&ValidationError{Reason: "bad"}, "invalid message: bad", wireErr(reasonInvalidMessage)},
		{&AliasError{Reason: reasonTooManyDocs, Detail: "x"}, "too-many-docs: x", wireErr(reasonTooManyDocs)},
	}
	for _, c := range cases {
		if got := c.err.Error(); !strings.HasPrefix(got, "wire: ") || !strings.Contains(got, c.want) {
			t.Errorf("%#v: Error() = %q, want it to contain %q", c.err, got, c.want)
		}
		if !errors.Is(c.err, c.target) {
			t.Errorf("%v: errors.Is(%v) is false", c.err, c.target)
		}
	}
	// Reasons do not match across conditions.
	if errors.Is(frameErr, wireErr(reasonUnsupportedVersion)) {
		t.Error("errors.Is matched a different reason")
	}
	var fe *kyneta.Error
	if !errors.As((&ReassemblyError{Reason: reasonParseError, Err: frameErr}).Unwrap(), &fe) || fe.Reason != reasonParseError || !errors.Is(fe, frameErr) {
		t.Error("parse_error does not unwrap to its frame error")
	}
}

// TestReasonOf: every error type of the package reports its reason and
// code, and errors.Is matches by reason across the types.
func TestReasonOf(t *testing.T) {
	cases := []struct {
		err  error
		want string
		code kyneta.Code
	}{
		{newError(reasonTruncatedFrame, "", nil), reasonTruncatedFrame, kyneta.CodeMalformed},
		{fmt.Errorf("wrapped: %w", &ReassemblyError{Reason: reasonEvicted}), reasonEvicted, kyneta.CodeResourceExhausted},
		{&ReassemblyError{Reason: reasonParseError, Err: newError(reasonInvalidJSON, "", nil)}, reasonParseError, kyneta.CodeMalformed},
		{&AliasError{Reason: reasonTooManyDocs}, reasonTooManyDocs, kyneta.CodeResourceExhausted},
		{&ValidationError{Reason: "x"}, reasonInvalidMessage, kyneta.CodeMalformed},
		{errNilMessage, reasonNilMessage, kyneta.CodeInvalidArgument},
		{errors.New("other"), "", kyneta.CodeUnknown},
		{nil, "", ""},
	}
	for _, c := range cases {
		if got := kyneta.ReasonOf(c.err); got != c.want {
			t.Errorf("ReasonOf(%v) = %q, want %q", c.err, got, c.want)
		}
		if got := kyneta.CodeOf(c.err); got != c.code {
			t.Errorf("CodeOf(%v) = %q, want %q", c.err, got, c.code)
		}
		if c.want != "" && !errors.Is(c.err, wireErr(c.want)) {
			t.Errorf("errors.Is(%v, wire %q) is false", c.err, c.want)
		}
	}
	if errors.Is(&AliasError{Reason: reasonTooManyDocs}, wireErr(reasonTooManyAliases)) {
		t.Error("errors.Is matched a different reason")
	}
}

// TestReasonCodes pins the code of every reason (docs/errors.md lists the
// same table), so a change shows up in review.
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"truncated_frame":     kyneta.CodeMalformed,
		"unsupported_version": kyneta.CodeUnsupported,
		"invalid_type":        kyneta.CodeMalformed,
		"frame_too_large":     kyneta.CodeResourceExhausted,
		"invalid_json":        kyneta.CodeMalformed,
		"invalid_structure":   kyneta.CodeMalformed,
		"invalid_prefix":      kyneta.CodeMalformed,
		"truncated":           kyneta.CodeMalformed,

		"empty-payload":      kyneta.CodeInvalidArgument,
		"too-many-fragments": kyneta.CodeResourceExhausted,
		"invalid-threshold":  kyneta.CodeInvalidArgument,

		"duplicate_fragment": kyneta.CodeMalformed,
		"invalid_index":      kyneta.CodeMalformed,
		"total_mismatch":     kyneta.CodeMalformed,
		"size_mismatch":      kyneta.CodeMalformed,
		"evicted":            kyneta.CodeResourceExhausted,
		"over_budget":        kyneta.CodeResourceExhausted,
		"disposed":           kyneta.CodeUnavailable,
		"timeout":            kyneta.CodeDeadlineExceeded,
		"parse_error":        kyneta.CodeMalformed,

		"cbor":            kyneta.CodeMalformed,
		"json":            kyneta.CodeMalformed,
		"base64":          kyneta.CodeMalformed,
		"limit":           kyneta.CodeResourceExhausted,
		"invalid-message": kyneta.CodeMalformed,
		"nil-message":     kyneta.CodeInvalidArgument,

		"unknown-doc-alias":        kyneta.CodeMalformed,
		"unknown-schema-alias":     kyneta.CodeMalformed,
		"missing-doc-id":           kyneta.CodeMalformed,
		"missing-schema-hash":      kyneta.CodeMalformed,
		"doc-id-too-long":          kyneta.CodeMalformed,
		"schema-hash-too-long":     kyneta.CodeMalformed,
		"unknown-sync-mode":        kyneta.CodeUnsupported,
		"unknown-payload-kind":     kyneta.CodeUnsupported,
		"unknown-payload-encoding": kyneta.CodeUnsupported,
		"unknown-message-type":     kyneta.CodeUnsupported,
		"invalid-replica-type":     kyneta.CodeMalformed,
		"too-many-aliases":         kyneta.CodeResourceExhausted,
		"too-many-docs":            kyneta.CodeResourceExhausted,
	}
	if len(reasonCodes) != len(want) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		err := newError(reason, "", nil)
		if got := kyneta.CodeOf(err); got != code {
			t.Errorf("reason %q has code %q, want %q", reason, got, code)
		}
	}
	if got := codeOf("no-such-reason"); got != kyneta.CodeInternal {
		t.Errorf("an unknown reason has code %q", got)
	}
}

func TestStringers(t *testing.T) {
	if decisionAccept.String() != "accept" || fragmentDecision(0).String() != "Decision(0)" || fragmentDecision(99).String() != "Decision(99)" {
		t.Error("Decision.String")
	}
}
