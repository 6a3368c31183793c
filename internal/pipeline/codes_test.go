package pipeline

import (
	"testing"

	"github.com/kyneta-go/kyneta"

	"github.com/kyneta-go/kyneta/internal/wirestep"
	"github.com/kyneta-go/kyneta/transport"
)

// The pipeline converts the steps' trace directions by value, so the
// strings must agree.
func TestDirectionsMatchSteps(t *testing.T) {
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
		"empty-payload":           kyneta.CodeInvalidArgument,
		"too-many-fragments":      kyneta.CodeResourceExhausted,
		"invalid-wire-message":    kyneta.CodeMalformed,
		"encode-failed":           kyneta.CodeInvalidArgument,
	}
	for reason, code := range want {
		err := newError(reason, "", nil)
		if err.Code != code || err.Reason != reason || err.Pkg != "transport" {
			t.Errorf("%s: got %+v, want code %s", reason, err, code)
		}
	}
}
