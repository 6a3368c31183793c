package machine

import (
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/errdoc"
)

// docs/errors.md lists exactly the reasons this package returns, each with
// its code.
func TestReasonsDocumented(t *testing.T) {
	docs, err := errdoc.Table("", "machine")
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]kyneta.Code{}
	for _, r := range []string{reasonClosed, reasonBudgetExhausted, reasonPanic} {
		code[r] = codeOf(r)
	}
	if d := errdoc.Diff(code, docs); d != "" {
		t.Error(d)
	}
}
