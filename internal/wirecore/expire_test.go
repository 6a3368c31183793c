package wirecore

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/clock"
)

// TestCollectorExpire: Expire drops exactly the partial messages whose
// deadline (first fragment + timeout) is at or before the time given, in
// creation order, reports them, and releases their memory to the budget
// and its pool; NextDeadline is the earliest deadline left.
func TestCollectorExpire(t *testing.T) {
	old := poolMinSize
	poolMinSize = 4
	t.Cleanup(func() { poolMinSize = old })
	const never = time.Duration(-1)
	type fragment struct {
		at                time.Duration // since the start
		seq, index, total float64
	}
	cases := []struct {
		name     string
		timeout  time.Duration // 0: the default 10 s
		frags    []fragment
		nextAt   time.Duration // before Expire; never: none
		expireAt time.Duration
		expired  []float64
		next     time.Duration // after Expire; never: none
		pending  int
	}{
		{name: "nothing pending", nextAt: never, expireAt: time.Hour, next: never},
		{name: "several deadlines, two due",
			frags:  []fragment{{0, 1, 0, 2}, {2 * time.Second, 2, 0, 3}, {5 * time.Second, 3, 1, 2}},
			nextAt: 10 * time.Second, expireAt: 12 * time.Second, expired: []float64{1, 2}, next: 15 * time.Second, pending: 1},
		{name: "just before the deadline",
			frags:  []fragment{{0, 1, 0, 2}},
			nextAt: 10 * time.Second, expireAt: 10*time.Second - time.Nanosecond, next: 10 * time.Second, pending: 1},
		{name: "exactly at the deadline",
			frags:  []fragment{{0, 1, 0, 2}},
			nextAt: 10 * time.Second, expireAt: 10 * time.Second, expired: []float64{1}, next: never},
		{name: "completed before its deadline is not reported",
			frags:  []fragment{{0, 1, 0, 2}, {time.Second, 2, 0, 2}, {2 * time.Second, 1, 1, 2}},
			nextAt: 11 * time.Second, expireAt: time.Minute, expired: []float64{2}, next: never},
		{name: "all due, in creation order",
			frags:  []fragment{{0, 7, 0, 2}, {0, 3, 1, 3}, {time.Second, 5, 0, 2}},
			nextAt: 10 * time.Second, expireAt: 11 * time.Second, expired: []float64{7, 3, 5}, next: never},
		{name: "custom timeout", timeout: time.Second,
			frags:  []fragment{{0, 1, 0, 2}, {500 * time.Millisecond, 2, 0, 2}},
			nextAt: time.Second, expireAt: time.Second, expired: []float64{1}, next: 1500 * time.Millisecond, pending: 1},
		{name: "timeout disabled", timeout: NoLimit,
			frags:  []fragment{{0, 1, 0, 2}},
			nextAt: never, expireAt: 24 * time.Hour, next: never, pending: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(100, 0)
			clk := newRecordingClock()
			clk.Advance(start.Sub(clk.Now()))
			budget := NewReassemblyBudget(1 << 20)
			var reported []ReassemblyEvent
			c := newFragmentCollector[[]byte](ReassemblyConfig{Timeout: tc.timeout, Clock: clk, Budget: budget,
				OnEvent: func(e ReassemblyEvent) { reported = append(reported, e) }})
			for _, f := range tc.frags {
				clk.Advance(start.Add(f.at).Sub(clk.Now()))
				chunk := bytes.Repeat([]byte{byte(f.seq)}, 8)
				if _, _, err := c.Add(f.seq, f.index, f.total, 8*f.total, chunk); err != nil {
					t.Fatal(err)
				}
			}
			checkNext := func(when string, want time.Duration) {
				t.Helper()
				at, ok := c.NextDeadline()
				if ok != (want != never) || (ok && !at.Equal(start.Add(want))) {
					t.Fatalf("%s: NextDeadline %v %v, want %v after the start", when, at.Sub(start), ok, want)
				}
			}
			checkNext("before Expire", tc.nextAt)
			reservedBefore, idleBefore := c.Reserved(), budget.pool.idleBytes()
			events := c.Expire(start.Add(tc.expireAt))
			var seqs []float64
			for _, e := range events {
				if e.Reason != reasonTimeout || e.PartialCount != 1 {
					t.Fatalf("event %+v", e)
				}
				seqs = append(seqs, e.Seq)
			}
			if !slices.Equal(seqs, tc.expired) || !slices.Equal(reported, events) {
				t.Fatalf("expired %v (reported %v), want %v", events, reported, tc.expired)
			}
			checkNext("after Expire", tc.next)
			if c.Len() != tc.pending || budget.Used() != c.Reserved() {
				t.Fatalf("%d pending (want %d), budget used %d, reserved %d", c.Len(), tc.pending, budget.Used(), c.Reserved())
			}
			if len(tc.expired) > 0 && (c.Reserved() >= reservedBefore || budget.pool.idleBytes() <= idleBefore) {
				t.Fatalf("reserved %d → %d, idle %d → %d: the expired buffers were not released", reservedBefore, c.Reserved(), idleBefore, budget.pool.idleBytes())
			}
			if c.Len() == 0 && (c.Reserved() != 0 || c.PendingSize() != 0) {
				t.Fatalf("nothing pending but %d reserved, %d size", c.Reserved(), c.PendingSize())
			}
			if again := c.Expire(start.Add(tc.expireAt)); len(again) != 0 {
				t.Fatalf("second Expire dropped %v", again)
			}
			if armed := clk.take(); len(armed) != 0 {
				t.Fatalf("timers armed %v", armed)
			}
		})
	}
}

// TestReassemblerExpire: the Reassembler passes Expire and NextDeadline
// through, and a disposed one has no deadline.
func TestReassemblerExpire(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	r := NewReassembler[string](ReassemblyConfig{Timeout: time.Second, Clock: clk})
	frames, err := FragmentText(`{"t":1,"id":"peer"}`, 4, 9)
	if err != nil || len(frames) < 2 {
		t.Fatal(frames, err)
	}
	if _, done, err := r.Receive(frames[0]); done || err != nil {
		t.Fatal(done, err)
	}
	if at, ok := r.NextDeadline(); !ok || !at.Equal(time.Unix(1, 0)) {
		t.Fatalf("NextDeadline %v %v", at, ok)
	}
	if ev := r.Expire(time.Unix(1, 0)); len(ev) != 1 || ev[0].Seq != 9 || ev[0].Reason != reasonTimeout || r.Len() != 0 {
		t.Fatalf("Expire %v, %d pending", ev, r.Len())
	}
	_, _, _ = r.Receive(frames[1])
	r.Dispose()
	if _, ok := r.NextDeadline(); ok || len(r.Expire(time.Unix(99, 0))) != 0 {
		t.Fatal("deadline left after Dispose")
	}
}
