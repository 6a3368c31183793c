package machine_test

import (
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta/machine"
)

// trivial is the smallest useful program: a counter with no effects.
type trivial struct{}

func (trivial) Init() (int, []struct{}) { return 0, nil }

func (trivial) Update(s int, m int) (int, []struct{}) { return s + m, nil }

// oneEffect returns one effect per message, which costs the slice it
// allocates; the runner should add nothing on top.
type oneEffect struct{}

func (oneEffect) Init() (int, []int) { return 0, nil }

func (oneEffect) Update(s int, m int) (int, []int) { return s + m, []int{m} }

// BenchmarkDispatch measures one Dispatch of a trivial program on an idle
// runner: the caller drains its own message.
func BenchmarkDispatch(b *testing.B) {
	r := machine.NewRunner(trivial{}, nil, machine.Options{})
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		r.Dispatch(1)
	}
}

// BenchmarkDispatchUnchanged is a message that leaves the state alone.
func BenchmarkDispatchUnchanged(b *testing.B) {
	r := machine.NewRunner(trivial{}, nil, machine.Options{})
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		r.Dispatch(0)
	}
}

// BenchmarkDispatchListener adds one transition listener.
func BenchmarkDispatchListener(b *testing.B) {
	r := machine.NewRunner(trivial{}, nil, machine.Options{})
	defer r.Close()
	n := 0
	r.Subscribe(func(machine.Transition[int]) { n++ })
	b.ReportAllocs()
	for b.Loop() {
		r.Dispatch(1)
	}
}

// BenchmarkDispatchEffect runs one effect per message through the executor.
// The program's []int{m} is the only allocation expected.
func BenchmarkDispatchEffect(b *testing.B) {
	sum := 0
	r := machine.NewRunner(oneEffect{}, func(f int, _ func(int)) { sum += f }, machine.Options{})
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		r.Dispatch(1)
	}
}

// BenchmarkDispatchQueued measures messages that an effect queues: one
// outer message fans out 1000 re-entrant dispatches, reported per message.
func BenchmarkDispatchQueued(b *testing.B) {
	const fan = 1000
	fanout := machine.NewRunner(oneEffect{}, func(f int, dispatch func(int)) {
		if f == fan {
			for range fan {
				dispatch(1)
			}
		}
	}, machine.Options{})
	defer fanout.Close()
	b.ReportAllocs()
	for b.Loop() {
		fanout.Dispatch(fan)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(fan+1)), "ns/msg")
}

// BenchmarkDispatchParallel dispatches from GOMAXPROCS goroutines at once.
// The budget is disabled: a saturated runner drains without ever idling,
// which the budget would read as a feedback loop.
func BenchmarkDispatchParallel(b *testing.B) {
	r := machine.NewRunner(trivial{}, nil, machine.Options{Budget: -1})
	defer r.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Dispatch(1)
		}
	})
}

// mutexCounter is the baseline: the cheapest correct way to serialise a
// state update from many goroutines, with no queue, listeners or effects.
type mutexCounter struct {
	mu sync.Mutex
	n  int
}

func (c *mutexCounter) add(d int) {
	c.mu.Lock()
	c.n += d
	c.mu.Unlock()
}

func BenchmarkBaselineMutexCounter(b *testing.B) {
	var c mutexCounter
	b.ReportAllocs()
	for b.Loop() {
		c.add(1)
	}
}

func BenchmarkBaselineMutexCounterParallel(b *testing.B) {
	var c mutexCounter
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.add(1)
		}
	})
}
