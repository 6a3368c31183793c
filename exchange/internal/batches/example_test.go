package batches_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/internal/batches"
)

func ExampleCount() {
	// A since payload of a plain replica: two batches of ops (brackets
	// inside strings do not count).
	n, ok := batches.Count([]byte(`[[{"path":["a"],"change":{"type":"replace","value":"]"}}],[{"path":["b"],"change":{"type":"increment","amount":1}}]]`))
	fmt.Println(n, ok)
	// Output: 2 true
}
