package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestErrorStringsAndMatching(t *testing.T) {
	frameErr := &FrameError{Code: FrameTruncated, Msg: "need 10"}
	cases := []struct {
		err    error
		want   string // substring of Error()
		target error  // errors.Is target
	}{
		{frameErr, "truncated_frame: need 10", ErrTruncatedFrame},
		{&FrameError{Code: FrameInvalidType}, "invalid_type", ErrInvalidFrameType},
		{&TextFrameError{Code: TextTruncated, Msg: "x"}, "truncated: x", &TextFrameError{Code: TextTruncated}},
		{&TextFrameError{Code: TextInvalidJSON}, "invalid_json", &TextFrameError{Code: TextInvalidJSON}},
		{&FragmentError{Code: FragmentTooMany, Total: 70000, Max: MaxFragments}, "70000 pieces needed, at most 65535", &FragmentError{Code: FragmentTooMany}},
		{&FragmentError{Code: FragmentEmptyPayload}, "empty-payload", &FragmentError{Code: FragmentEmptyPayload}},
		{&ReassemblyError{Type: ReassemblyDuplicate, Seq: 1, Index: 2}, "duplicate_fragment: seq 1 index 2", &ReassemblyError{Type: ReassemblyDuplicate}},
		{&ReassemblyError{Type: ReassemblyInvalidIndex, Seq: 1, Index: 5, Max: 2}, "index 5 (max 2)", &ReassemblyError{Type: ReassemblyInvalidIndex}},
		{&ReassemblyError{Type: ReassemblySizeMismatch, Seq: 3, Expected: 10, Got: 8}, "expected 10 got 8", &ReassemblyError{Type: ReassemblySizeMismatch}},
		{&ReassemblyError{Type: ReassemblyEvicted, Seq: 4}, "evicted: seq 4", &ReassemblyError{Type: ReassemblyEvicted}},
		{&ReassemblyError{Type: ReassemblyDisposed}, "disposed", &ReassemblyError{Type: ReassemblyDisposed}},
		{&ReassemblyError{Type: ReassemblyParseError, Msg: "bad", Err: frameErr}, "parse_error: bad", ErrTruncatedFrame},
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
	if errors.Is(frameErr, ErrUnsupportedVersion) {
		t.Error("errors.Is matched a different code")
	}
	var fe *FrameError
	if !errors.As(&ReassemblyError{Type: ReassemblyParseError, Err: frameErr}, &fe) || fe != frameErr {
		t.Error("parse_error does not unwrap to its frame error")
	}
}

func TestStringers(t *testing.T) {
	if decisionAccept.String() != "accept" || fragmentDecision(0).String() != "Decision(0)" || fragmentDecision(99).String() != "Decision(99)" {
		t.Error("Decision.String")
	}
}
