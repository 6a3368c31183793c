package storetest_test

import (
	"testing"

	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A backend's conformance test: a fresh store per subtest, plus the
// optional tests its harnesses allow.
func ExampleRun() {
	conformance := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory(store.MemoryOptions{}) },
			storetest.WithIsolation(func(t *testing.T) (store.Store, store.Store) {
				// Two stores on one resource under different namespaces;
				// two memory stores share nothing, which passes too.
				return store.NewMemory(store.MemoryOptions{}), store.NewMemory(store.MemoryOptions{})
			}))
	}
	_ = conformance // func TestConformance(t *testing.T) { conformance(t) }
}

// The suite passes on the memory store.
func TestMemoryConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory(store.MemoryOptions{}) })
}
