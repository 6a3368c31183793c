package purity_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/purity"
)

func ExampleCheck() {
	for _, v := range purity.Check("testdata/impure/timer_program.go") {
		fmt.Println(v)
	}
	// Output:
	// testdata/impure/timer_program.go:8:8: use of time.NewTicker (dot import)
	// testdata/impure/timer_program.go:9:2: go statement
	// testdata/impure/timer_program.go:13:6: use of time.Tick (dot import)
}
