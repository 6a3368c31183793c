package storetest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/kyneta-go/kyneta/exchange/store"
)

// Check runs the suite's cases that need nothing but fresh stores (every
// case of [Run] without options) outside a test, as testing/fstest.TestFS
// does for file systems: newStore returns a fresh, empty store per case,
// which Check closes. The result lists every failing case, one per line,
// or is nil when the store conforms. Use [Run] in tests: it reports each
// case as a subtest and adds the optional fault, durability and isolation
// tests.
func Check(newStore func() (store.Store, error)) error {
	var failures []error
	core(&checkT{failures: &failures}, func(t tb) store.Store {
		s, err := newStore()
		if err != nil {
			t.Fatalf("new store: %v", err)
		}
		return s
	})
	return errors.Join(failures...)
}

// checkT is tb for Check: a case runs on its own goroutine, so that Fatal
// can end it (runtime.Goexit, as *testing.T does) with its cleanups run.
type checkT struct {
	name     string
	failures *[]error // shared by a Check's cases
	cleanups []func()
}

func (c *checkT) Helper() {}

func (c *checkT) Fatal(args ...any) { c.fail(strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }

func (c *checkT) Fatalf(format string, args ...any) { c.fail(fmt.Sprintf(format, args...)) }

func (c *checkT) fail(msg string) {
	*c.failures = append(*c.failures, fmt.Errorf("%s: %s", c.name, msg))
	runtime.Goexit()
}

func (c *checkT) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

// run runs one case to its end and then its cleanups, last registered
// first. A panic is a failure of the case, not of the caller.
func (c *checkT) run(name string, f func(t tb)) {
	if c.name != "" {
		name = c.name + "/" + name
	}
	t := &checkT{name: name, failures: c.failures}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(t.cleanups) - 1; i >= 0; i-- {
				t.cleanups[i]()
			}
		}()
		defer func() {
			if r := recover(); r != nil {
				*c.failures = append(*c.failures, fmt.Errorf("%s: panic: %v", name, r))
			}
		}()
		f(t)
	}()
	<-done
}
