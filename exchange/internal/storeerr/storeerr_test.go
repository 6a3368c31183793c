package storeerr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// TestReasonCodes pins the code of every reason (docs/errors.md lists them).
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"entry-before-meta":         kyneta.CodeFailedPrecondition,
		"replica-type-mismatch":     kyneta.CodeFailedPrecondition,
		"sync-mode-mismatch":        kyneta.CodeFailedPrecondition,
		"replace-without-meta":      kyneta.CodeInvalidArgument,
		"invalid-record":            kyneta.CodeInvalidArgument,
		"closed":                    kyneta.CodeUnavailable,
		"fault-injected":            kyneta.CodeUnavailable,
		"locked":                    kyneta.CodeUnavailable,
		"head-mismatch":             kyneta.CodeFailedPrecondition,
		"write-failed":              kyneta.CodeUnavailable,
		"version-conflict":          kyneta.CodeFailedPrecondition,
		"incompatible-major":        kyneta.CodeUnsupported,
		"unversioned-existing-data": kyneta.CodeFailedPrecondition,
		"malformed-version":         kyneta.CodeDataLoss,
		"undecodable-record":        kyneta.CodeDataLoss,
		"sequence-gap":              kyneta.CodeDataLoss,
		"no-leading-meta":           kyneta.CodeDataLoss,
		"version-gap":               kyneta.CodeDataLoss,
		"rejected-record":           kyneta.CodeDataLoss,
	}
	if len(Codes) != len(want) {
		t.Fatalf("%d reasons, the table pins %d", len(Codes), len(want))
	}
	for reason, code := range want {
		err := New(reason, "", "detail", errors.New("cause"))
		if kyneta.CodeOf(err) != code || kyneta.ReasonOf(err) != reason {
			t.Errorf("%s: code %s, want %s", reason, kyneta.CodeOf(err), code)
		}
		if got, w := err.Error(), "store: "+reason+": detail: cause"; got != w {
			t.Errorf("message %q, want %q", got, w)
		}
	}
}

func TestWithDoc(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", New(WriteFailed, "", "sqlite commit", nil))
	got := WithDoc(err, "d")
	if got.Error() != "store: write-failed: doc 'd': sqlite commit" {
		t.Fatalf("got %q", got)
	}
	if again := WithDoc(got, "e"); again != got {
		t.Fatalf("a second document was named: %v", again)
	}
	other := errors.New("other")
	if WithDoc(other, "d") != other {
		t.Fatal("a foreign error was changed")
	}
}
