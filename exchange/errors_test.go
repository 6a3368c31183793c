package exchange

import (
	"errors"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// TestReasonCodes pins the code of every reason of the exchange's errors
// and diagnostics (docs/errors.md lists them).
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"invalid-peer-id":       kyneta.CodeInvalidArgument,
		"invalid-doc-id":        kyneta.CodeInvalidArgument,
		"invalid-schema-hash":   kyneta.CodeInvalidArgument,
		"invalid-doc-type":      kyneta.CodeInvalidArgument,
		"doc-type-conflict":     kyneta.CodeFailedPrecondition,
		"replicated":            kyneta.CodeFailedPrecondition,
		"suspended":             kyneta.CodeFailedPrecondition,
		"already-registered":    kyneta.CodeAlreadyExists,
		"no-metadata":           kyneta.CodeInvalidArgument,
		"no-factory":            kyneta.CodeUnsupported,
		"unknown-doc":           kyneta.CodeNotFound,
		"deferred":              kyneta.CodeFailedPrecondition,
		"not-suspended":         kyneta.CodeFailedPrecondition,
		"destroyed":             kyneta.CodeFailedPrecondition,
		"sync-timeout":          kyneta.CodeDeadlineExceeded,
		"not-acknowledged":      kyneta.CodeDeadlineExceeded,
		"schema-mismatch":       kyneta.CodeFailedPrecondition,
		"type-mismatch":         kyneta.CodeFailedPrecondition,
		"budget-exhausted":      kyneta.CodeInternal,
		"dispose":               kyneta.CodeInternal,
		"closed":                kyneta.CodeUnavailable,
		"transport":             kyneta.CodeUnavailable,
		"invalid-change":        kyneta.CodeInvalidArgument,
		"decode":                kyneta.CodeInvalidArgument,
		"self-connection":       kyneta.CodeFailedPrecondition,
		"duplicate-peer":        kyneta.CodeAlreadyExists,
		"identity-conflict":     kyneta.CodeAlreadyExists,
		"quota":                 kyneta.CodeResourceExhausted,
		"protocol-skew":         kyneta.CodeUnsupported,
		"protocol-mismatch":     kyneta.CodeUnsupported,
		"replica-type-mismatch": kyneta.CodeFailedPrecondition,
		"schema-hash-mismatch":  kyneta.CodeFailedPrecondition,
		"sync-mode-mismatch":    kyneta.CodeFailedPrecondition,
		"version-parse-failed":  kyneta.CodeMalformed,
		"merge-failed":          kyneta.CodeMalformed,
		"version-refused":       kyneta.CodeMalformed,
		"reset-failed":          kyneta.CodeMalformed,
		"reset-refused":         kyneta.CodeFailedPrecondition,
		"export-failed":         kyneta.CodeInternal,
		"store-error":           kyneta.CodeUnavailable,
		"callback-panic":        kyneta.CodeInternal,
		"send-failed":           kyneta.CodeUnavailable,
	}
	if len(reasonCodes) != len(want) {
		t.Fatalf("%d reasons, the table pins %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		err := newError(reason, "d", "detail", errors.New("cause"))
		if kyneta.CodeOf(err) != code || kyneta.ReasonOf(err) != reason {
			t.Errorf("%s: code %s, want %s", reason, kyneta.CodeOf(err), code)
		}
		if got, w := err.Error(), "exchange: "+reason+`: doc "d": detail: cause`; got != w {
			t.Errorf("message %q, want %q", got, w)
		}
		d := Diagnostic{Reason: reason, Message: "m"}
		if d.Code() != code || d.AsError().Error() != "exchange: "+reason+": m" {
			t.Errorf("diagnostic %s: code %s, error %q", reason, d.Code(), d.AsError())
		}
	}
}
