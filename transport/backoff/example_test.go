package backoff_test

import (
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta/transport/backoff"
)

// A schedule with the reference's additive jitter at r = 0, then what the
// policy says once the attempts are used up.
func ExamplePolicy_Next() {
	p := backoff.Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 3, Jitter: backoff.JitterAdditive}
	for n := 0; ; {
		attempt, delay, ok := p.Next(n, nil)
		if !ok {
			fmt.Printf("give up after %d attempts\n", attempt)
			return
		}
		fmt.Printf("attempt %d in %v\n", attempt, delay)
		n = attempt
	}
	// Output:
	// attempt 1 in 1s
	// attempt 2 in 2s
	// attempt 3 in 4s
	// give up after 3 attempts
}

// Full jitter (the Go default) spreads each retry over [0, cap].
func ExampleDefault() {
	for _, r := range []float64{0, 0.5, 0.99} {
		fmt.Println(backoff.Default.DelayFor(4, r))
	}
	// Output:
	// 0s
	// 4s
	// 7.92s
}
