// Package pure follows every rule: time and randomness arrive as values.
package pure

import (
	"errors"
	"maps"
	"time"
)

type state struct {
	retries map[string]int
	until   time.Time
	backoff time.Duration
}

type msg struct {
	peer string
	now  time.Time // the shell reads the clock and puts the reading here
}

type program struct {
	rand func() float64 // injected, so tests are deterministic
}

var errGone = errors.New("gone")

func (p program) Init() (state, []string) { return state{retries: map[string]int{}}, nil }

func (p program) Update(s state, m msg) (state, []string) {
	next := s
	next.retries = maps.Clone(s.retries)
	next.retries[m.peer]++
	next.backoff = time.Duration(p.rand()*float64(time.Second)) + 2*time.Millisecond
	next.until = m.now.Add(next.backoff)
	var t struct{ Now time.Time }
	_ = t.Now // a field called Now is not time.Now
	return next, []string{"timer:" + next.backoff.String(), errGone.Error()}
}
