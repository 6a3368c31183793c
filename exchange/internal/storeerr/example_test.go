package storeerr_test

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
)

func ExampleNew() {
	// A backend's write failed; the code comes from the one reason table.
	err := storeerr.New(storeerr.WriteFailed, "doc-1", "", errors.New("disk full"))
	fmt.Println(kyneta.CodeOf(err), kyneta.ReasonOf(err))
	// Output: unavailable write-failed
}
