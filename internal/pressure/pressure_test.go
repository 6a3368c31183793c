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

// TestReportDeliversChangesInOrder: a change made while a report runs is
// delivered after it, by the next report.
func TestReportDeliversChangesInOrder(t *testing.T) {
	var g Gauge
	var got []bool
	g.Set(true)
	g.Report(func(now bool) bool {
		got = append(got, now)
		g.Set(false) // the queue drained meanwhile
		return true
	})
	if len(got) != 2 || !got[0] || got[1] {
		t.Fatalf("reports %v, want [true false]", got)
	}
	g.Report(func(bool) bool { t.Fatal("nothing changed"); return true })
}

// TestReportWaitsForTheReportUnderWay: a sender whose send congested the
// queue while another goroutine reports the queue drained returns only
// once the listener was told it is congested.
func TestReportWaitsForTheReportUnderWay(t *testing.T) {
	var g Gauge
	g.Set(true)
	g.Report(func(bool) bool { return true }) // told: congested
	var mu sync.Mutex
	var told []bool
	inFlight, unblock := make(chan struct{}), make(chan struct{})
	deliver := func(now bool) bool {
		mu.Lock()
		told = append(told, now)
		n := len(told)
		mu.Unlock()
		if n == 1 {
			close(inFlight)
			<-unblock
		}
		return true
	}
	g.Set(false) // the writer drained the queue and reports it
	drained := make(chan struct{})
	go func() { g.Report(deliver); close(drained) }()
	<-inFlight
	g.Set(true) // a send fills it again while the drain is being told
	sent := make(chan struct{})
	go func() { g.Report(deliver); close(sent) }()
	select {
	case <-sent:
		t.Fatal("the sender's report returned while the listener still thought the queue drained")
	default:
	}
	close(unblock)
	<-sent
	<-drained
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 2 || told[0] || !told[1] {
		t.Fatalf("listener told %v, want [false true]", told)
	}
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
