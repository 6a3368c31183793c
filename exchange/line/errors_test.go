package line

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// TestReasonCodes pins the code of every reason (docs/errors.md lists them).
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"closed":        kyneta.CodeUnavailable,
		"receiver-busy": kyneta.CodeFailedPrecondition,
		"type-conflict": kyneta.CodeFailedPrecondition,
		"invalid-topic": kyneta.CodeInvalidArgument,
		"invalid-peer":  kyneta.CodeInvalidArgument,
		"schema":        kyneta.CodeInvalidArgument,
		"payload":       kyneta.CodeInvalidArgument,
		"malformed":     kyneta.CodeMalformed,
		"canceled":      kyneta.CodeCanceled,
		"exchange":      kyneta.CodeInternal, // without an exchange error as cause
	}
	if len(reasonCodes) != len(want) {
		t.Fatalf("%d reasons, the table pins %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		err := newError(reason, "", "", "detail", errors.New("cause"))
		if kyneta.CodeOf(err) != code || kyneta.ReasonOf(err) != reason {
			t.Errorf("%s: code %s, want %s", reason, kyneta.CodeOf(err), code)
		}
		if got, w := err.Error(), "line: "+reason+": detail: cause"; got != w {
			t.Errorf("message %q, want %q", got, w)
		}
	}
	// Reason "exchange" carries the exchange error's code.
	ex := &kyneta.Error{Code: kyneta.CodeNotFound, Pkg: "exchange", Reason: "unknown-doc"}
	err := newError(reasonExchange, "t", "p", "", fmt.Errorf("w: %w", ex))
	if kyneta.CodeOf(err) != kyneta.CodeNotFound || exchangeReason(err) != "unknown-doc" {
		t.Errorf("%v: code %s, exchange reason %q", err, kyneta.CodeOf(err), exchangeReason(err))
	}
	if got := err.Error(); got != `line: exchange: topic "t", peer "p": w: exchange: unknown-doc` {
		t.Errorf("message %q", got)
	}
}

func TestWithLine(t *testing.T) {
	err := withLine(newError(reasonMalformed, "", "", "bad", nil), "t", "p")
	if err.Error() != `line: malformed: topic "t", peer "p": bad` {
		t.Fatalf("got %q", err)
	}
	if again := withLine(err, "u", "q"); again != err {
		t.Fatalf("a second line was named: %v", again)
	}
}
