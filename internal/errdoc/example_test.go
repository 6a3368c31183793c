package errdoc_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/errdoc"
)

func Example() {
	docs, err := errdoc.Table("testdata/errors.md", "beta")
	if err != nil {
		panic(err)
	}
	// What the package under test maps, e.g. from its reason table.
	code := map[string]kyneta.Code{"closed": kyneta.CodeUnavailable}
	fmt.Printf("%q\n", errdoc.Diff(code, docs))
	// Output: ""
}
