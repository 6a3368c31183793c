package wirestep

import (
	"errors"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

func TestErrorStringsAndMatching(t *testing.T) {
	_, frameErr := wire.DecodeFrame([]byte{3, 0})
	cases := []struct {
		err    error
		want   string // substring of Error()
		target error  // errors.Is target
	}{
		{&WireError{Reason: ReasonReassemblyFailed, Detail: &wire.ReassemblyError{Reason: "parse_error", Msg: "bad", Err: frameErr}}, "reassembly-failed", &kyneta.Error{Pkg: "wire", Reason: "truncated_frame"}},
		{&WireError{Reason: ReasonFrameTooLarge, Detail: SizeLimit{Size: 9, Limit: 8}}, "9 exceeds the limit of 8", pipelineErr(ReasonFrameTooLarge)},
		{EventError(wire.ReassemblyEvent{Reason: "timeout", Seq: 7, PartialCount: 2}), "seq 7 (2 fragments", pipelineErr(ReasonReassemblyTimeout)},
		{&WireError{Reason: ReasonEncodeFailed}, "encode-failed", pipelineErr(ReasonEncodeFailed)},
		{&WireError{Reason: ReasonDecodeFailed, Detail: "odd"}, "decode-failed: odd", pipelineErr(ReasonDecodeFailed)},
	}
	for _, c := range cases {
		if got := c.err.Error(); !strings.HasPrefix(got, "wire: ") || !strings.Contains(got, c.want) {
			t.Errorf("%#v: Error() = %q, want it to contain %q", c.err, got, c.want)
		}
		if !errors.Is(c.err, c.target) {
			t.Errorf("%v: errors.Is(%v) is false", c.err, c.target)
		}
	}
	if errors.Is(&WireError{Reason: ReasonDecodeFailed}, pipelineErr(ReasonEncodeFailed)) {
		t.Error("errors.Is matched a different reason")
	}
	if errors.Unwrap((&WireError{Reason: ReasonFrameTooLarge, Detail: SizeLimit{}}).Unwrap()) != nil {
		t.Error("non-error detail unwraps")
	}
	if got := (&WireError{Reason: ReasonDecodeFailed, Detail: errors.New("x")}).Error(); got != "wire: decode-failed: x" {
		t.Errorf("Error() = %q", got)
	}
}

func pipelineErr(reason string) *kyneta.Error { return &kyneta.Error{Pkg: "wire", Reason: reason} }

// TestReasonCodes pins the code of every pipeline reason (docs/errors.md
// lists the same table).
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"alias-resolution-failed": kyneta.CodeMalformed,
		"decode-failed":           kyneta.CodeMalformed,
		"reassembly-failed":       kyneta.CodeMalformed,
		"reassembly-timeout":      kyneta.CodeDeadlineExceeded,
		"reassembly-evicted":      kyneta.CodeResourceExhausted,
		"frame-too-large":         kyneta.CodeResourceExhausted,
		"empty-payload":           kyneta.CodeInvalidArgument,
		"too-many-fragments":      kyneta.CodeResourceExhausted,
		"invalid-wire-message":    kyneta.CodeMalformed,
		"encode-failed":           kyneta.CodeInvalidArgument,
	}
	if len(reasonCodes) != len(want) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		if got := kyneta.CodeOf(&WireError{Reason: reason}); got != code {
			t.Errorf("reason %q has code %q, want %q", reason, got, code)
		}
	}
}

func TestCodecNameSize(t *testing.T) {
	if BinaryCodec.Name() != "binary" || TextCodec.Name() != "text" || BinaryCodec.Size([]byte("é")) != 2 || TextCodec.Size("é😀") != 2 {
		t.Error("Codec Name/Size")
	}
}
