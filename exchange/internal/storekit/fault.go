package storekit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/store"
)

// ErrFault is the default error an [ArmedFault] returns.
var ErrFault error = storeerr.New(storeerr.Injected, "", "fault-injected write", nil)

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
		return fmt.Errorf("storekit: ArmedFault.Arm: n must be >= 1, got %d", n)
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

// RandomFault fails low-level writes at seeded random points: each Tick
// fails with probability Rate, drawn from a generator seeded once, so a
// seed replays the same faults against the same sequence of writes. Use
// [RandomFault.Tick] as a backend's write seam ([store.MemoryOptions.Seam]
// or the SQLite store's test seam); a failing tick aborts the operation
// inside its transaction.
type RandomFault struct {
	mu    sync.Mutex
	rng   *rand.Rand
	rate  float64
	fired int
}

// NewRandomFault returns a fault source failing each write with
// probability rate.
func NewRandomFault(seed uint64, rate float64) *RandomFault {
	return &RandomFault{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rate: rate}
}

// Tick implements a write seam: it fails with [ErrFault] at random.
func (f *RandomFault) Tick(weight int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() < f.rate {
		f.fired++
		return ErrFault
	}
	return nil
}

// Fired returns how many ticks failed.
func (f *RandomFault) Fired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

// FaultMode says where a [Faulty] store failed a write.
type FaultMode int

// Fault modes.
const (
	// FaultNone: the write went through.
	FaultNone FaultMode = iota
	// FaultBefore: the write failed before it reached the store; nothing
	// was written (a refused write: disk full, I/O error).
	FaultBefore
	// FaultAfter: the write reached the store and completed, but the
	// caller sees [ErrFault] (a failed fsync or a lost connection after
	// the commit): the outcome is unknown to the caller.
	FaultAfter
)

// Faulty wraps a [store.Store] and fails its writes (Append, AppendAfter,
// Replace, Delete) at seeded random points, either before or after they
// reach the wrapped store (see [FaultMode]). Reads pass through. It is
// safe for concurrent use.
type Faulty struct {
	store.Store
	mu     sync.Mutex
	rng    *rand.Rand
	rate   float64
	counts [3]int
	off    bool
}

// NewFaulty wraps s; each write fails with probability rate, half of the
// failures before the write and half after it.
func NewFaulty(s store.Store, seed uint64, rate float64) *Faulty {
	return &Faulty{Store: s, rng: rand.New(rand.NewPCG(seed, ^seed)), rate: rate}
}

// Disable stops (or, with false, resumes) fault injection.
func (f *Faulty) Disable(off bool) {
	f.mu.Lock()
	f.off = off
	f.mu.Unlock()
}

// Counts returns how many writes went through, failed before and failed
// after.
func (f *Faulty) Counts() (ok, before, after int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[FaultNone], f.counts[FaultBefore], f.counts[FaultAfter]
}

func (f *Faulty) draw() FaultMode {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := FaultNone
	if !f.off && f.rng.Float64() < f.rate {
		m = FaultBefore
		if f.rng.IntN(2) == 1 {
			m = FaultAfter
		}
	}
	f.counts[m]++
	return m
}

func (f *Faulty) write(op func() error) error {
	switch f.draw() {
	case FaultBefore:
		return ErrFault
	case FaultAfter:
		if err := op(); err != nil {
			return err
		}
		return ErrFault
	}
	return op()
}

// Append implements [store.Store].
func (f *Faulty) Append(ctx context.Context, docID string, rec store.Record) error {
	return f.write(func() error { return f.Store.Append(ctx, docID, rec) })
}

// AppendAfter implements [store.Store].
func (f *Faulty) AppendAfter(ctx context.Context, docID, base string, recs []store.Record) error {
	return f.write(func() error { return f.Store.AppendAfter(ctx, docID, base, recs) })
}

// Replace implements [store.Store].
func (f *Faulty) Replace(ctx context.Context, docID string, recs []store.Record) error {
	return f.write(func() error { return f.Store.Replace(ctx, docID, recs) })
}

// Delete implements [store.Store].
func (f *Faulty) Delete(ctx context.Context, docID string) error {
	return f.write(func() error { return f.Store.Delete(ctx, docID) })
}
