package errtext_test

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta/internal/errtext"
)

func ExampleJoin() {
	fmt.Println(errtext.Join(`exchange: sync-timeout (doc "d")`, "waiting for the peer", errors.New("context deadline exceeded")))
	// Output: exchange: sync-timeout (doc "d"): waiting for the peer: context deadline exceeded
}
