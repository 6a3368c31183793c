package machine

import (
	"testing"

	"github.com/kyneta-go/kyneta"
)

// TestReasonCodes pins the code of every reason (docs/errors.md lists the
// same table).
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		reasonClosed:          kyneta.CodeUnavailable,
		reasonBudgetExhausted: kyneta.CodeInternal,
		reasonPanic:           kyneta.CodeInternal,
	}
	for reason, code := range want {
		if got := kyneta.CodeOf(newError(reason, "", nil)); got != code {
			t.Errorf("reason %q has code %q, want %q", reason, got, code)
		}
	}
	if got := kyneta.CodeOf(&PanicError{}); got != kyneta.CodeInternal {
		t.Errorf("PanicError has code %q", got)
	}
	if got := kyneta.ReasonOf(&BudgetExhaustedError{}); got != reasonBudgetExhausted {
		t.Errorf("BudgetExhaustedError has reason %q", got)
	}
}
