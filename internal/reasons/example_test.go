package reasons_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

func ExampleTable() {
	errs := reasons.Table{Pkg: "store", Codes: map[string]kyneta.Code{"closed": kyneta.CodeUnavailable}}
	err := errs.New("closed", "", nil)
	fmt.Println(err, kyneta.CodeOf(err))
	// Output: store: closed unavailable
}
