package replica

import (
	"errors"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// TestReasonCodes pins the code of every reason (docs/errors.md lists them).
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"version-parse":     kyneta.CodeMalformed,
		"version-mismatch":  kyneta.CodeInvalidArgument,
		"payload-encoding":  kyneta.CodeUnsupported,
		"malformed-payload": kyneta.CodeMalformed,
		"unknown-change":    kyneta.CodeUnsupported,
		"invalid-change":    kyneta.CodeInvalidArgument,
		"invalid-value":     kyneta.CodeInvalidArgument,
		"advance-range":     kyneta.CodeInvalidArgument,
		"unmaterializable":  kyneta.CodeFailedPrecondition,
		"unsupported":       kyneta.CodeUnsupported,
		"capacity":          kyneta.CodeResourceExhausted,
		"limit":             kyneta.CodeResourceExhausted,
	}
	if len(reasonCodes) != len(want) {
		t.Fatalf("%d reasons, the table pins %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		err := newError(reason, "detail", errors.New("cause"))
		if kyneta.CodeOf(err) != code || kyneta.ReasonOf(err) != reason {
			t.Errorf("%s: code %s, want %s", reason, kyneta.CodeOf(err), code)
		}
		if got, w := err.Error(), "replica: "+reason+": detail: cause"; got != w {
			t.Errorf("message %q, want %q", got, w)
		}
	}
}
