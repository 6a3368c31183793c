package line

import (
	"testing"

	"github.com/kyneta-go/kyneta/internal/errdoc"
)

// docs/errors.md lists exactly the reasons this package returns, each with
// its code.
func TestReasonsDocumented(t *testing.T) {
	docs, err := errdoc.Table("", "exchange/line")
	if err != nil {
		t.Fatal(err)
	}
	if d := errdoc.Diff(reasonCodes, docs); d != "" {
		t.Error(d)
	}
}
