package storetest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestArmedFault(t *testing.T) {
	f := storetest.NewArmedFault(nil)
	if err := f.Tick(5); err != nil {
		t.Fatal("latent fault fired")
	}
	if err := f.Arm(0); err == nil {
		t.Fatal("Arm(0) accepted")
	}
	if err := f.Arm(3); err != nil {
		t.Fatal(err)
	}
	if f.Tick(1) != nil {
		t.Fatal("fired at 1")
	}
	// A batch of two covering the armed tick fails, before delegating.
	if err := f.Tick(2); !f.Fired(err) {
		t.Fatalf("batch reaching 3 = %v", err)
	}
	if f.Tick(1) != nil {
		t.Fatal("fault fired twice")
	}
}

// An armed fault fails the write whose running count reaches the armed
// value, once; a backend calls Tick before each low-level write.
func ExampleArmedFault() {
	ctx := context.Background()
	fault := storetest.NewArmedFault(nil)
	s := store.NewMemory(store.MemoryOptions{Seam: fault.Tick})
	_ = s.Append(ctx, "doc", storetest.MetaRecord("primer"))
	_ = fault.Arm(2) // the record insert of the next meta append
	err := s.Append(ctx, "doc", storetest.MetaRecord("injected"))
	m, _ := s.CurrentMeta(ctx, "doc")
	fmt.Println(fault.Fired(err), m.SchemaHash)
	// Output: true primer
}
