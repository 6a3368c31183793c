package pmap_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/internal/pmap"
)

// A transition builds the next state from the old one without touching it:
// both versions stay valid and share what did not change.
func ExampleMap() {
	var before pmap.Map[int]
	before = before.Set("alice", 1)
	after := before.Set("bob", 2)
	_, had := before.Get("bob")
	v, has := after.Get("bob")
	fmt.Println(before.Len(), had, after.Len(), v, has)
	// Output: 1 false 2 2 true
}
