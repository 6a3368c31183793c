package transport

import (
	"testing"

	"github.com/kyneta-go/kyneta/internal/wirestep"
)

// The pipeline converts the steps' codes and trace directions by value, so
// the strings must agree.
func TestPipelineCodesMatchSteps(t *testing.T) {
	pairs := map[Code]string{
		CodeAliasResolutionFailed: wirestep.ReasonAliasResolutionFailed,
		CodeDecodeFailed:          wirestep.ReasonDecodeFailed,
		CodeReassemblyFailed:      wirestep.ReasonReassemblyFailed,
		CodeReassemblyTimeout:     wirestep.ReasonReassemblyTimeout,
		CodeReassemblyEvicted:     wirestep.ReasonReassemblyEvicted,
		CodeFrameTooLarge:         wirestep.ReasonFrameTooLarge,
		CodeEmptyPayload:          wirestep.ReasonEmptyPayload,
		CodeTooManyFragments:      wirestep.ReasonTooManyFragments,
		CodeInvalidWireMessage:    wirestep.ReasonInvalidWireMessage,
		CodeEncodeFailed:          wirestep.ReasonEncodeFailed,
	}
	for c, w := range pairs {
		if string(c) != string(w) {
			t.Errorf("%s != %s", c, w)
		}
	}
	if string(DirSend) != string(wirestep.TraceSend) || string(DirReceive) != string(wirestep.TraceReceive) {
		t.Error("directions differ")
	}
}
