package outbox_test

import (
	"context"
	"fmt"

	"github.com/kyneta-go/kyneta/internal/outbox"
)

// Callbacks run in order on the outbox's own goroutine; Sync waits for
// everything posted before it.
func Example() {
	var o outbox.Outbox
	for _, s := range []string{"connecting", "connected"} {
		o.Post(func() { fmt.Println("state:", s) })
	}
	_ = o.Sync(context.Background())
	// Output:
	// state: connecting
	// state: connected
}
