package pipeline

import (
	"testing"

	"github.com/kyneta-go/kyneta"

	"github.com/kyneta-go/kyneta/internal/wirestep"
	"github.com/kyneta-go/kyneta/transport"
)

// The pipeline converts the steps' codes into its reasons and trace directions by value, so
// the strings must agree.
func TestPipelineCodesMatchSteps(t *testing.T) {
	pairs := map[string]wirestep.WireErrorCode{
		reasonAliasResolutionFailed: wirestep.CodeAliasResolutionFailed,
		reasonDecodeFailed:          wirestep.CodeDecodeFailed,
		reasonReassemblyFailed:      wirestep.CodeReassemblyFailed,
		reasonReassemblyTimeout:     wirestep.CodeReassemblyTimeout,
		reasonReassemblyEvicted:     wirestep.CodeReassemblyEvicted,
		reasonFrameTooLarge:         wirestep.CodeFrameTooLarge,
		reasonEmptyPayload:          wirestep.CodeEmptyPayload,
		reasonTooManyFragments:      wirestep.CodeTooManyFragments,
		reasonInvalidWireMessage:    wirestep.CodeInvalidWireMessage,
		reasonEncodeFailed:          wirestep.CodeEncodeFailed,
	}
	for c, w := range pairs {
		if string(c) != string(w) {
			t.Errorf("%s != %s", c, w)
		}
	}
	if string(transport.DirSend) != string(wirestep.TraceSend) || string(transport.DirReceive) != string(wirestep.TraceReceive) {
		t.Error("directions differ")
	}
}

// Every reason's code, spelled out so a change shows up in review.
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"closed":                  kyneta.CodeUnavailable,
		"alias-resolution-failed": kyneta.CodeMalformed,
		"decode-failed":           kyneta.CodeMalformed,
		"reassembly-failed":       kyneta.CodeMalformed,
		"reassembly-timeout":      kyneta.CodeDeadlineExceeded,
		"reassembly-evicted":      kyneta.CodeResourceExhausted,
		"frame-too-large":         kyneta.CodeResourceExhausted,
		"empty-payload":           kyneta.CodeMalformed,
		"too-many-fragments":      kyneta.CodeResourceExhausted,
		"invalid-wire-message":    kyneta.CodeMalformed,
		"encode-failed":           kyneta.CodeInvalidArgument,
	}
	if len(want) != len(reasonCodes) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		err := newError(reason, "", nil)
		if err.Code != code || err.Reason != reason || err.Pkg != "transport" {
			t.Errorf("%s: got %+v, want code %s", reason, err, code)
		}
	}
}
