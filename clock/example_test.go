package clock_test

import (
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta/clock"
)

// A shell takes a Clock; a test drives it with a Fake and never sleeps.
func ExampleFake() {
	c := clock.NewFake(time.Unix(0, 0))
	c.AfterFunc(5*time.Second, func() { fmt.Println("reconnect after", c.Now().Unix(), "s") })
	c.Advance(4 * time.Second)
	fmt.Println("armed:", c.Pending())
	c.Advance(time.Second)
	fmt.Println("armed:", c.Pending())
	// Output:
	// armed: 1
	// reconnect after 5 s
	// armed: 0
}
