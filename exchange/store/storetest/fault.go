package storetest

import (
	"errors"
	"fmt"
	"sync"

	"github.com/kyneta-go/kyneta/exchange/store"
)

// ErrFault is the default error an [ArmedFault] returns.
var ErrFault error = &store.Error{Code: store.CodeInjected, Msg: "fault-injected write"}

// ArmedFault fails one low-level write of a backend on demand. A backend
// calls Tick before each write it performs (with the number of operations
// the write stands for: 1 for a statement, k for a batch of k); Tick
// returns an error for the write whose running count reaches the armed
// value, before that write is delegated, so earlier writes of the same
// operation have already gone through and the backend's atomicity is what
// keeps them from showing. It is latent until Arm and fires once.
//
// Use [ArmedFault.Tick] as [store.MemoryOptions.Seam], or call it from the
// write seam of another backend.
type ArmedFault struct {
	mu    sync.Mutex
	err   error
	tick  int
	armed int // 0 = not armed
}

// NewArmedFault returns a latent fault that fails with err (nil means
// [ErrFault]).
func NewArmedFault(err error) *ArmedFault {
	if err == nil {
		err = ErrFault
	}
	return &ArmedFault{err: err}
}

// Arm resets the count and makes the write whose running count reaches n
// fail. n must be at least 1.
func (f *ArmedFault) Arm(n int) error {
	if n < 1 {
		return fmt.Errorf("storetest: ArmedFault.Arm: n must be >= 1, got %d", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tick = 0
	f.armed = n
	return nil
}

// Tick counts a write of the given weight and returns the armed error when
// this write reaches the armed count.
func (f *ArmedFault) Tick(weight int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.armed == 0 {
		return nil
	}
	start := f.tick
	f.tick += weight
	if f.armed > start && f.armed <= f.tick {
		f.armed = 0
		return f.err
	}
	return nil
}

// Fired reports whether err is (or wraps) the fault's error.
func (f *ArmedFault) Fired(err error) bool { return errors.Is(err, f.err) }
