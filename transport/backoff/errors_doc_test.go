package backoff

import (
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/errdoc"
)

// docs/errors.md lists exactly the reasons this package returns (one: an
// invalid policy), each with its code.
func TestReasonsDocumented(t *testing.T) {
	docs, err := errdoc.Table("", "transport/backoff")
	if err != nil {
		t.Fatal(err)
	}
	bad := Policy{Base: -1}.Validate()
	if bad == nil {
		t.Fatal("a negative base was accepted")
	}
	code := map[string]kyneta.Code{kyneta.ReasonOf(bad): kyneta.CodeOf(bad)}
	if d := errdoc.Diff(code, docs); d != "" {
		t.Error(d)
	}
}
