package transport

import (
	"testing"

	"github.com/kyneta-go/kyneta/internal/wirestep"
)

// The pipeline converts the steps' codes and trace directions by value, so
// the strings must agree.
func TestPipelineCodesMatchSteps(t *testing.T) {
	pairs := map[Code]wirestep.WireErrorCode{
		CodeAliasResolutionFailed: wirestep.CodeAliasResolutionFailed,
		CodeDecodeFailed:          wirestep.CodeDecodeFailed,
		CodeReassemblyFailed:      wirestep.CodeReassemblyFailed,
		CodeReassemblyTimeout:     wirestep.CodeReassemblyTimeout,
		CodeReassemblyEvicted:     wirestep.CodeReassemblyEvicted,
		CodeFrameTooLarge:         wirestep.CodeFrameTooLarge,
		CodeEmptyPayload:          wirestep.CodeEmptyPayload,
		CodeTooManyFragments:      wirestep.CodeTooManyFragments,
		CodeInvalidWireMessage:    wirestep.CodeInvalidWireMessage,
		CodeEncodeFailed:          wirestep.CodeEncodeFailed,
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
