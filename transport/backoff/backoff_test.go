package backoff

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ms = time.Millisecond

// The reference's exact values (base 1000 ms, max 30000 ms), ported from its
// reconnect tests.
func TestComputeReferenceValues(t *testing.T) {
	tests := []struct {
		name    string
		attempt int
		r       float64
		j       Jitter
		want    time.Duration
	}{
		{"additive r=0 attempt 1", 1, 0, JitterAdditive, 1000 * ms},
		{"additive r=0 attempt 2", 2, 0, JitterAdditive, 2000 * ms},
		{"additive r=0 attempt 3", 3, 0, JitterAdditive, 4000 * ms},
		{"additive r=0 attempt 4", 4, 0, JitterAdditive, 8000 * ms},
		{"additive r=0.5 attempt 1", 1, 0.5, JitterAdditive, 1100 * ms},
		{"additive r=0.5 attempt 2", 2, 0.5, JitterAdditive, 2200 * ms},
		{"additive r=0.5 attempt 3", 3, 0.5, JitterAdditive, 4400 * ms},
		{"additive r=1 attempt 1", 1, 1, JitterAdditive, 1200 * ms},
		{"additive clamp attempt 10", 10, 0, JitterAdditive, 30000 * ms},
		{"additive clamp attempt 6", 6, 0, JitterAdditive, 30000 * ms},
		{"additive clamp after jitter attempt 5", 5, 1, JitterAdditive, 19200 * ms},
		{"full r=0", 1, 0, JitterFull, 0},
		{"full r=0.5 attempt 3", 3, 0.5, JitterFull, 2000 * ms},
		{"full r=0.99 attempt 1", 1, 0.99, JitterFull, 990 * ms},
		{"full cap before jitter r=1", 10, 1, JitterFull, 30000 * ms},
		{"full cap before jitter r=0.5", 10, 0.5, JitterFull, 15000 * ms},
		{"none attempt 1", 1, 0.7, JitterNone, 1000 * ms},
		{"none attempt 5", 5, 0.7, JitterNone, 16000 * ms},
		{"none attempt 6", 6, 0.7, JitterNone, 30000 * ms},
		{"attempt 0 counts as 1", 0, 0, JitterNone, 1000 * ms},
		{"huge attempt caps", 5000, 0, JitterAdditive, 30000 * ms},
		{"negative r counts as 0", 3, -4, JitterFull, 0},
		{"NaN r counts as 0", 3, math.NaN(), JitterAdditive, 4000 * ms},
		{"r above 1 counts as 1", 1, 7, JitterAdditive, 1200 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compute(tt.attempt, time.Second, 30*time.Second, tt.r, tt.j)
			if got != tt.want {
				t.Fatalf("compute(%d, r=%v, %v) = %v, want %v", tt.attempt, tt.r, tt.j, got, tt.want)
			}
		})
	}
}

// base > max: every delay is max (additive) or r·max (full jitter).
func TestComputeBaseAboveMax(t *testing.T) {
	for attempt := 1; attempt < 5; attempt++ {
		if got := compute(attempt, 10*time.Second, 3*time.Second, 0.5, JitterAdditive); got != 3*time.Second {
			t.Fatalf("additive attempt %d = %v, want 3s", attempt, got)
		}
		if got := compute(attempt, 10*time.Second, 3*time.Second, 0.5, JitterFull); got != 1500*ms {
			t.Fatalf("full attempt %d = %v, want 1.5s", attempt, got)
		}
	}
}

func TestComputeExtremeMaxDoesNotOverflow(t *testing.T) {
	huge := time.Duration(math.MaxInt64)
	if got := compute(200, time.Second, huge, 0, JitterNone); got != huge {
		t.Fatalf("got %v, want %v", got, huge)
	}
	if got := compute(200, time.Second, huge, 1, JitterFull); got < 0 {
		t.Fatalf("negative delay %v", got)
	}
}

// decision is the outcome of Next in one value, with why it came out so,
// for tables.
type decision struct {
	Reconnect bool
	Attempt   int
	Delay     time.Duration
	Cause     string // "" (retry), "disabled" or "max-attempts"
}

const (
	causeDisabled    = "disabled"
	causeMaxAttempts = "max-attempts"
)

// decide runs Next with the fixed random value r.
func decide(p Policy, current int, r float64) decision {
	attempt, delay, ok := p.Next(current, func() float64 { return r })
	d := decision{Reconnect: ok, Attempt: attempt, Delay: delay}
	switch {
	case ok:
	case p.MaxAttempts == 0:
		d.Cause = causeDisabled
	default:
		d.Cause = causeMaxAttempts
	}
	return d
}

func withMax(p Policy, n int) Policy {
	p.MaxAttempts = n
	return p
}

func TestNext(t *testing.T) {
	additive := Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 10, Jitter: JitterAdditive}
	full := additive
	full.Jitter = JitterFull
	never := additive
	never.MaxAttempts = 0
	forever := additive
	forever.MaxAttempts = Unlimited
	tests := []struct {
		name    string
		p       Policy
		current int
		r       float64
		want    decision
	}{
		{"disabled at 0", never, 0, 0, decision{Attempt: 0, Cause: causeDisabled}},
		{"disabled at 5", never, 5, 0, decision{Attempt: 5, Cause: causeDisabled}},
		{"max exceeded at 10", additive, 10, 0, decision{Attempt: 10, Cause: causeMaxAttempts}},
		{"max exceeded at 12", additive, 12, 0, decision{Attempt: 12, Cause: causeMaxAttempts}},
		{"normal 0 -> 1", additive, 0, 0, decision{Reconnect: true, Attempt: 1, Delay: 1000 * ms}},
		{"normal 1 -> 2", additive, 1, 0, decision{Reconnect: true, Attempt: 2, Delay: 2000 * ms}},
		{"normal 2 -> 3", additive, 2, 0, decision{Reconnect: true, Attempt: 3, Delay: 4000 * ms}},
		{"last allowed 9 -> 10", additive, 9, 0, decision{Reconnect: true, Attempt: 10, Delay: 30000 * ms}},
		{"random threaded", additive, 0, 0.5, decision{Reconnect: true, Attempt: 1, Delay: 1100 * ms}},
		{"full jitter threaded", full, 0, 0.5, decision{Reconnect: true, Attempt: 1, Delay: 500 * ms}},
		{"unlimited keeps going", forever, 1_000_000, 0, decision{Reconnect: true, Attempt: 1_000_001, Delay: 30000 * ms}},
		{"unlimited at MaxInt stays", forever, math.MaxInt, 0, decision{Reconnect: true, Attempt: math.MaxInt, Delay: 30000 * ms}},
		{"negative current counts as 0", additive, -3, 0, decision{Reconnect: true, Attempt: 1, Delay: 1000 * ms}},
		{"zero base and max use defaults", Policy{MaxAttempts: 3, Jitter: JitterNone}, 1, 0, decision{Reconnect: true, Attempt: 2, Delay: 2 * time.Second}},
		{"zero policy never retries", Policy{}, 0, 0, decision{Cause: causeDisabled}},
		{"default policy full jitter", Default, 1, 0.25, decision{Reconnect: true, Attempt: 2, Delay: 500 * ms}},
		{"default policy never gives up", Default, 10_000, 0.25, decision{Reconnect: true, Attempt: 10_001, Delay: 7500 * ms}},
		{"bounded default gives up at its limit", withMax(Default, 10), 10, 0.25, decision{Attempt: 10, Cause: causeMaxAttempts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(tt.p, tt.current, tt.r); got != tt.want {
				t.Fatalf("Next(%d, %v) = %+v, want %+v", tt.current, tt.r, got, tt.want)
			}
		})
	}
}

func TestCustomDelay(t *testing.T) {
	var gotAttempt int
	var gotR float64
	p := Policy{MaxAttempts: 3, Delay: func(attempt int, r float64) time.Duration {
		gotAttempt, gotR = attempt, r
		return time.Duration(attempt) * time.Minute
	}}
	if d := decide(p, 1, 0.25); d != (decision{Reconnect: true, Attempt: 2, Delay: 2 * time.Minute}) {
		t.Fatalf("Next = %+v", d)
	}
	if gotAttempt != 2 || gotR != 0.25 {
		t.Fatalf("Delay called with (%d, %v), want (2, 0.25)", gotAttempt, gotR)
	}
	neg := Policy{MaxAttempts: 1, Delay: func(int, float64) time.Duration { return -time.Second }}
	if d := decide(neg, 0, 0); d.Delay != 0 {
		t.Fatalf("negative custom delay = %v, want 0", d.Delay)
	}
	if d := decide(p, 3, 0); d.Reconnect || d.Cause != causeMaxAttempts {
		t.Fatalf("custom delay still bounded by MaxAttempts: %+v", d)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []Policy{Default, {}, {Base: 1, Max: 1, MaxAttempts: Unlimited, Jitter: JitterNone}} {
		if err := p.Validate(); err != nil {
			t.Fatalf("Validate(%+v) = %v", p, err)
		}
	}
	for _, p := range []Policy{{Base: -1}, {Max: -1}, {Jitter: JitterNone + 1}} {
		if err := p.Validate(); !errors.Is(err, &kyneta.Error{Code: kyneta.CodeInvalidArgument, Pkg: "backoff", Reason: reasonInvalidPolicy}) {
			t.Fatalf("Validate(%+v) = %v, want invalid-policy", p, err)
		}
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		JitterFull: "full", JitterAdditive: "additive", JitterNone: "none", Jitter(9): "Jitter(9)",
	} {
		if got := v.String(); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	}
}

func genPolicy(t *rapid.T) Policy {
	return Policy{
		Base:        time.Duration(rapid.Int64Range(1, int64(time.Hour)).Draw(t, "base")),
		Max:         time.Duration(rapid.Int64Range(1, int64(24*time.Hour)).Draw(t, "max")),
		MaxAttempts: rapid.IntRange(-1, 50).Draw(t, "maxAttempts"),
		Jitter:      Jitter(rapid.IntRange(0, int(JitterNone)).Draw(t, "jitter")),
	}
}

// Property: every delay lies within the documented bounds of its jitter mode.
func TestPropertyDelayBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPolicy(t)
		attempt := rapid.IntRange(1, 200).Draw(t, "attempt")
		r := rapid.Float64Range(0, 1).Draw(t, "r")
		d := p.DelayFor(attempt, r)
		raw := float64(p.Base) * math.Exp2(float64(attempt-1))
		capped := time.Duration(math.Min(raw, float64(p.Max)))
		var lo, hi time.Duration
		switch p.Jitter {
		case JitterFull:
			lo, hi = 0, capped
		case JitterAdditive:
			lo, hi = capped, time.Duration(math.Min(raw*1.2, float64(p.Max)))
		case JitterNone:
			lo, hi = capped, capped
		}
		if d < lo || d > hi {
			t.Fatalf("%v attempt %d r=%v: delay %v outside [%v, %v]", p.Jitter, attempt, r, d, lo, hi)
		}
		if d > p.Max {
			t.Fatalf("delay %v above Max %v", d, p.Max)
		}
	})
}

// Property: for a fixed r, delays never shrink as the attempt grows.
func TestPropertyMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPolicy(t)
		r := rapid.Float64Range(0, 1).Draw(t, "r")
		prev := time.Duration(-1)
		for attempt := 1; attempt <= 80; attempt++ {
			d := p.DelayFor(attempt, r)
			if d < prev {
				t.Fatalf("attempt %d: delay %v < previous %v", attempt, d, prev)
			}
			prev = d
		}
	})
}

// Property: following Next from a drop never makes more than MaxAttempts
// attempts, and always stops exactly there.
func TestPropertyAttemptsBounded(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPolicy(t)
		if p.MaxAttempts < 0 {
			p.MaxAttempts = rapid.IntRange(0, 50).Draw(t, "bounded")
		}
		start := rapid.IntRange(0, 60).Draw(t, "start")
		n := start
		retries := 0
		for {
			d := decide(p, n, rapid.Float64Range(0, 1).Draw(t, "r"))
			if !d.Reconnect {
				if d.Attempt != n {
					t.Fatalf("stop decision reports %d attempts, want %d", d.Attempt, n)
				}
				want := causeMaxAttempts
				if p.MaxAttempts == 0 {
					want = causeDisabled
				}
				if d.Cause != want {
					t.Fatalf("cause %v, want %v", d.Cause, want)
				}
				break
			}
			if d.Attempt != n+1 || d.Attempt > p.MaxAttempts {
				t.Fatalf("attempt %d after %d (max %d)", d.Attempt, n, p.MaxAttempts)
			}
			n = d.Attempt
			retries++
		}
		if want := max(p.MaxAttempts-start, 0); p.MaxAttempts > 0 && retries != want {
			t.Fatalf("%d retries from %d, want %d", retries, start, want)
		}
	})
}

func BenchmarkNext(b *testing.B) {
	b.ReportAllocs()
	p := Default
	rnd := func() float64 { return 0.5 }
	var sink time.Duration
	for i := 0; b.Loop(); i++ {
		_, d, _ := p.Next(i%10, rnd)
		sink += d
	}
	_ = sink
}

func TestNextDrawsOnlyWhenRetrying(t *testing.T) {
	calls := 0
	rnd := func() float64 { calls++; return 0.5 }
	p := Policy{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 2, Jitter: JitterAdditive}
	if a, d, ok := p.Next(0, rnd); !ok || a != 1 || d != 1100*ms || calls != 1 {
		t.Fatalf("retry: %d %v %v after %d draws", a, d, ok, calls)
	}
	if a, d, ok := p.Next(2, rnd); ok || a != 2 || d != 0 || calls != 1 {
		t.Fatalf("exceeded: %d %v %v after %d draws", a, d, ok, calls)
	}
	p.MaxAttempts = 0
	if _, _, ok := p.Next(0, rnd); ok || calls != 1 {
		t.Fatalf("disabled: %v after %d draws", ok, calls)
	}
	p.MaxAttempts = 1
	if a, d, ok := p.Next(0, nil); !ok || a != 1 || d != time.Second {
		t.Fatalf("nil rand: %d %v %v", a, d, ok)
	}
}
