package pressure_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/pressure"
)

func Example() {
	const limit = 8
	var g pressure.Gauge
	queued := 0
	tell := func(congested bool) bool { fmt.Println("congested:", congested); return true }
	for range 5 { // the exchange sends faster than the socket drains
		queued++
		if pressure.AboveHighWater(queued, limit) {
			g.Set(true)
		}
		g.Report(tell)
	}
	for queued > 0 { // the writer catches up
		queued--
		if g.Congested() && pressure.BelowLowWater(queued, limit) {
			g.Set(false)
		}
		g.Report(tell)
	}
	// Output:
	// congested: true
	// congested: false
}
