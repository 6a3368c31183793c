// Package impure breaks every pure-program rule at least once. It is never
// compiled; the purity tests parse it.
package impure

import (
	crand "crypto/rand"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	clock "time"
)

type state struct {
	mu    sync.Mutex
	count atomic.Int64
	at    clock.Time
}

type program struct{}

func (program) Init() (state, []string) { return state{}, nil }

func (program) Update(s state, m string) (state, []string) {
	s.at = clock.Now()
	_ = clock.Since(s.at)
	wait := clock.After
	_ = wait
	clock.Sleep(clock.Second)
	go func() { _, _ = http.Get(m) }()
	fmt.Fprintln(os.Stderr, rand.N(10), mrand.Intn(3))
	_, _ = io.ReadFull(crand.Reader, make([]byte, 4))
	slog.Info("update")
	return s, nil
}
