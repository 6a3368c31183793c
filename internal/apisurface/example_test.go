package apisurface_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/apisurface"
)

func ExampleScan() {
	pkgs, err := apisurface.Scan("testdata/mod", "example.com/mod")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pkgs {
		fmt.Printf("%s: %d identifiers, %d methods, %d fields (internal %t)\n",
			p.ImportPath, p.Idents, p.Methods, p.Fields, p.Internal)
	}
	// Output:
	// example.com/mod/lib: 8 identifiers, 2 methods, 1 fields (internal false)
	// example.com/mod/lib/internal/hidden: 1 identifiers, 0 methods, 0 fields (internal true)
}
