package clock

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Unix(1_700_000_000, 0)

func TestFakeFiresInDueOrder(t *testing.T) {
	c := NewFake(epoch)
	var got []string
	c.AfterFunc(30*time.Millisecond, func() { got = append(got, "c") })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, "a") })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, "b") })
	c.AfterFunc(40*time.Millisecond, func() { got = append(got, "late") })
	c.Advance(30 * time.Millisecond)
	if want := "a,b,c"; join(got) != want {
		t.Fatalf("fired %q, want %q", join(got), want)
	}
	if c.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", c.Pending())
	}
	if !c.Now().Equal(epoch.Add(30 * time.Millisecond)) {
		t.Fatalf("now = %v", c.Now())
	}
}

func TestFakeCallbackSeesDueTimeAndCanReschedule(t *testing.T) {
	c := NewFake(epoch)
	var seen []time.Duration
	var tick func()
	tick = func() {
		seen = append(seen, c.Now().Sub(epoch))
		if len(seen) < 3 {
			c.AfterFunc(10*time.Millisecond, tick)
		}
	}
	c.AfterFunc(10*time.Millisecond, tick)
	c.Advance(time.Second)
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}
	if len(seen) != len(want) {
		t.Fatalf("seen %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("seen %v, want %v", seen, want)
		}
	}
}

func TestFakeStop(t *testing.T) {
	c := NewFake(epoch)
	fired := false
	stop := c.AfterFunc(time.Second, func() { fired = true })
	if !stop() {
		t.Fatal("first stop should report it cancelled the timer")
	}
	if stop() {
		t.Fatal("second stop should report false")
	}
	c.Advance(2 * time.Second)
	if fired {
		t.Fatal("stopped timer fired")
	}
	stop2 := c.AfterFunc(time.Second, func() {})
	c.Advance(time.Second)
	if stop2() {
		t.Fatal("stop after firing should report false")
	}
}

func TestFakeChangedSignalsNewTimer(t *testing.T) {
	c := NewFake(epoch)
	ch := c.Changed()
	select {
	case <-ch:
		t.Fatal("changed before any timer")
	default:
	}
	c.AfterFunc(time.Second, func() {})
	select {
	case <-ch:
	default:
		t.Fatal("changed not closed after AfterFunc")
	}
	if got := c.Durations(); len(got) != 1 || got[0] != time.Second {
		t.Fatalf("durations = %v", got)
	}
}

func TestRealAfterFuncStops(t *testing.T) {
	stop := Real.AfterFunc(time.Hour, func() { t.Error("fired") })
	if !stop() {
		t.Fatal("stop reported false on an armed timer")
	}
	if OrReal(nil) != Real {
		t.Fatal("OrReal(nil) is not Real")
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}
