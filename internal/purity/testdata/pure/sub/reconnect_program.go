package sub

import "time"

// Backoff is pure arithmetic on durations.
func Backoff(attempt int, base, limit time.Duration) time.Duration {
	d := base << attempt
	if d > limit || d <= 0 {
		return limit
	}
	return d
}
