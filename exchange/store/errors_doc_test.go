package store

import (
	"testing"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/internal/errdoc"
)

// docs/errors.md lists exactly the reasons stores return, each with its
// code.
func TestReasonsDocumented(t *testing.T) {
	docs, err := errdoc.Table("", "exchange/store")
	if err != nil {
		t.Fatal(err)
	}
	if d := errdoc.Diff(storeerr.Codes, docs); d != "" {
		t.Error(d)
	}
}
