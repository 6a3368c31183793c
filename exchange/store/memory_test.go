package store_test

import (
	"testing"

	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store { return store.NewMemory(store.MemoryOptions{}) },
		storetest.WithFault(func(t *testing.T) storetest.FaultHarness {
			data := store.NewMemoryData()
			fault := storekit.NewArmedFault(nil)
			s := store.NewMemory(store.MemoryOptions{Data: data, Seam: fault.Tick})
			t.Cleanup(func() { _ = s.Close() })
			return storetest.FaultHarness{
				Store: s,
				Arm:   fault.Arm,
				Fresh: func() (store.Store, error) { return store.NewMemory(store.MemoryOptions{Data: data}), nil },
			}
		}),
		storetest.WithDurability(200, func(t *testing.T) storetest.DurabilityHarness {
			data := store.NewMemoryData()
			return storetest.DurabilityHarness{Open: func(seam func(int) error) (store.Store, error) {
				return store.NewMemory(store.MemoryOptions{Data: data, Seam: seam}), nil
			}}
		}),
	)
}
