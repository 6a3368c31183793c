package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// Check runs the suite's core cases outside a test, for instance against
// a backend under development from a small command.
func ExampleCheck() {
	err := storetest.Check(func() (store.Store, error) {
		return store.NewMemory(store.MemoryOptions{}), nil
	})
	fmt.Println("conforms:", err == nil)
	// Output: conforms: true
}

// The suite passes on the memory store.
func TestMemoryConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory(store.MemoryOptions{}) })
}

// forgetful loses the last record of every stream it loads.
type forgetful struct{ store.Store }

func (f forgetful) LoadAll(ctx context.Context, docID string) ([]store.Record, error) {
	recs, err := f.Store.LoadAll(ctx, docID)
	if len(recs) > 0 {
		recs = recs[:len(recs)-1]
	}
	return recs, err
}

// Check names the cases a broken store fails, and closes every store it
// opened whether the case passed or not.
func TestCheckReportsViolations(t *testing.T) {
	opened, closed := 0, 0
	err := storetest.Check(func() (store.Store, error) {
		opened++
		return closeCounter{forgetful{store.NewMemory(store.MemoryOptions{})}, &closed}, nil
	})
	if err == nil {
		t.Fatal("a store that loses records conforms")
	}
	for _, c := range []string{"AppendLoadAllRoundTrip", "ReplaceSwapsStream"} {
		if !strings.Contains(err.Error(), c+": ") {
			t.Errorf("no failure of %s in:\n%v", c, err)
		}
	}
	if strings.Contains(err.Error(), "CurrentMetaOfUnknownDocIsNil") {
		t.Errorf("a case that does not load failed:\n%v", err)
	}
	if opened == 0 || opened != closed {
		t.Fatalf("opened %d stores, closed %d", opened, closed)
	}

	want := errors.New("no database")
	err = storetest.Check(func() (store.Store, error) { return nil, want })
	if err == nil || !strings.Contains(err.Error(), "new store: no database") {
		t.Fatalf("Check with a failing factory = %v", err)
	}
}

type closeCounter struct {
	store.Store
	n *int
}

func (c closeCounter) Close() error { *c.n++; return c.Store.Close() }
