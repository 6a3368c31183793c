package pressure

import (
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMarks(t *testing.T) {
	rows := []struct {
		n, limit     int
		above, below bool
	}{
		{0, 100, false, true},
		{25, 100, false, true},
		{26, 100, false, false},
		{50, 100, false, false},
		{51, 100, true, false},
		{100, 100, true, false},
	}
	for _, r := range rows {
		if got := AboveHighWater(r.n, r.limit); got != r.above {
			t.Errorf("AboveHighWater(%d, %d) = %v", r.n, r.limit, got)
		}
		if got := BelowLowWater(r.n, r.limit); got != r.below {
			t.Errorf("BelowLowWater(%d, %d) = %v", r.n, r.limit, got)
		}
	}
}

// TestReportDeliversChangesInOrder: changes made while a report runs (the
// listener sending from inside it) are delivered by that reporter, after
// the one it is delivering, and a second reporter does not overtake it.
func TestReportDeliversChangesInOrder(t *testing.T) {
	var g Gauge
	var got []bool
	g.Set(true)
	g.Report(func(now bool) bool {
		got = append(got, now)
		if now {
			g.Set(false)                                                   // the queue drained meanwhile
			g.Report(func(bool) bool { t.Fatal("overtook"); return true }) // re-entered: left to us
		}
		return true
	})
	if len(got) != 2 || !got[0] || got[1] {
		t.Fatalf("reports %v, want [true false]", got)
	}
	g.Report(func(bool) bool { t.Fatal("nothing changed"); return true })
}

// TestReportWithoutListenerKeepsTheChange: a change nobody could be told
// about is reported later.
func TestReportWithoutListenerKeepsTheChange(t *testing.T) {
	var g Gauge
	g.Set(true)
	g.Report(func(bool) bool { return false })
	var got []bool
	g.Report(func(now bool) bool { got = append(got, now); return true })
	if len(got) != 1 || !got[0] {
		t.Fatalf("reports %v, want [true]", got)
	}
}

// TestReportConcurrent: whatever the interleaving, the listener ends up
// told the final state, and consecutive reports always differ.
func TestReportConcurrent(t *testing.T) {
	var g Gauge
	var mu sync.Mutex
	var got []bool
	deliver := func(now bool) bool {
		mu.Lock()
		got = append(got, now)
		mu.Unlock()
		return true
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				g.Set((i+j)%3 == 0)
				g.Report(deliver)
			}
		}()
	}
	wg.Wait()
	g.Report(deliver)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("report %d repeats %v", i, got[i])
		}
	}
	if final := g.Congested(); len(got) == 0 && final || len(got) > 0 && got[len(got)-1] != final {
		t.Fatalf("listener told %v, state %v", got, final)
	}
}
