package storekit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestArmedFault(t *testing.T) {
	f := storekit.NewArmedFault(nil)
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
	fault := storekit.NewArmedFault(nil)
	s := store.NewMemory(store.MemoryOptions{Seam: fault.Tick})
	_ = s.Append(ctx, "doc", storekit.MetaRecord("primer"))
	_ = fault.Arm(2) // the record insert of the next meta append
	err := s.Append(ctx, "doc", storekit.MetaRecord("injected"))
	m, _ := s.CurrentMeta(ctx, "doc")
	fmt.Println(fault.Fired(err), m.SchemaHash)
	// Output: true primer
}

// A Faulty store fails calls at seeded random points: before they reach
// the store (nothing written) or after (written, result lost).
func ExampleFaulty() {
	ctx := context.Background()
	s := storekit.NewFaulty(store.NewMemory(store.MemoryOptions{}), 1, 0.5)
	defer s.Close()
	for range 20 {
		_ = s.Append(ctx, "doc", storekit.MetaRecord(""))
	}
	ok, before, after := s.Counts()
	recs, _ := s.LoadAll(ctx, "doc")
	fmt.Println(ok+before+after, len(recs) == ok+after)
	// Output: 20 true
}

func TestRandomFaultIsSeeded(t *testing.T) {
	run := func(seed uint64) []bool {
		f := storekit.NewRandomFault(seed, 0.3)
		out := make([]bool, 200)
		for i := range out {
			out[i] = f.Tick(1) != nil
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different faults")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds, same faults")
	}
	n := 0
	for _, fired := range a {
		if fired {
			n++
		}
	}
	if n == 0 || n == len(a) {
		t.Fatalf("%d of %d ticks failed at rate 0.3", n, len(a))
	}
	if err := storekit.NewRandomFault(1, 1).Tick(1); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Injected}) {
		t.Fatalf("rate 1 tick = %v", err)
	}
}

func TestFaultyModes(t *testing.T) {
	ctx := context.Background()
	inner := store.NewMemory(store.MemoryOptions{})
	f := storekit.NewFaulty(inner, 3, 1)
	for range 40 {
		err := f.Append(ctx, "doc", storekit.MetaRecord(""))
		if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Injected}) {
			t.Fatalf("rate 1 append = %v", err)
		}
	}
	ok, before, after := f.Counts()
	recs, err := inner.LoadAll(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	if ok != 0 || before == 0 || after == 0 || len(recs) != after {
		t.Fatalf("ok/before/after = %d/%d/%d, %d records stored", ok, before, after, len(recs))
	}
	f.Disable(true)
	if err := f.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
		t.Fatalf("disabled: %v", err)
	}
}
