package backoff

import (
	"fmt"
	"math"
	"time"

	"github.com/kyneta-go/kyneta"
)

// Jitter selects how randomness spreads the delay of one attempt.
type Jitter uint8

const (
	// JitterFull picks uniformly between 0 and min(raw, Max). It is the zero
	// value and the Go default: it spreads a reconnect storm the widest.
	JitterFull Jitter = iota
	// JitterAdditive adds up to 20 % on top of the raw delay, then caps at
	// Max: the reference implementation's default.
	JitterAdditive
	// JitterNone uses min(raw, Max) unchanged (deterministic schedules).
	JitterNone
)

// String names the jitter mode.
func (j Jitter) String() string {
	switch j {
	case JitterFull:
		return "full"
	case JitterAdditive:
		return "additive"
	case JitterNone:
		return "none"
	}
	return fmt.Sprintf("Jitter(%d)", uint8(j))
}

// jitterFraction is the largest share of the raw delay that additive jitter
// adds.
const jitterFraction = 0.2

// Unlimited is the MaxAttempts value that never gives up.
const Unlimited = -1

// Defaults of [Default]: base 1 s, at most 30 s, no attempt limit.
// A long-running service must not stop syncing after an outage of a few
// minutes, so the default retries until it is stopped (as nats.go and
// centrifuge-go clients do); a limit is opt-in.
const (
	defaultBase        = time.Second
	defaultMax         = 30 * time.Second
	defaultMaxAttempts = Unlimited
)

// Default is the Go client's reconnect policy: 1 s doubling up to 30 s, full
// jitter, no limit on the number of attempts.
var Default = Policy{
	Base:        defaultBase,
	Max:         defaultMax,
	MaxAttempts: defaultMaxAttempts,
	Jitter:      JitterFull,
}

// Policy is a reconnect configuration. It is a plain value; copy it freely.
type Policy struct {
	// Base is the raw delay of attempt 1. Zero means 1 s.
	Base time.Duration
	// Max caps every computed delay. Zero means 30 s.
	Max time.Duration
	// MaxAttempts bounds the number of attempts: 0 never retries, a
	// negative value ([Unlimited]) retries forever.
	MaxAttempts int
	// Jitter selects the randomisation; the zero value is JitterFull.
	Jitter Jitter
	// Delay, if set, replaces the built-in formula (Base, Max and Jitter
	// are then ignored). It receives the 1-based attempt and r in [0, 1].
	// A negative result counts as zero.
	Delay func(attempt int, r float64) time.Duration
}

// reasonInvalidPolicy is the reason of every error Validate returns.
const reasonInvalidPolicy = "invalid-policy"

// invalidPolicy returns Validate's error, a *kyneta.Error with code
// invalid-argument.
func invalidPolicy(format string, args ...any) error {
	return &kyneta.Error{Code: kyneta.CodeInvalidArgument, Reason: reasonInvalidPolicy, Pkg: "backoff", Detail: fmt.Sprintf(format, args...)}
}

// Validate reports a policy that cannot be used: negative Base or Max, or an
// unknown Jitter mode.
func (p Policy) Validate() error {
	switch {
	case p.Base < 0:
		return invalidPolicy("negative Base %v", p.Base)
	case p.Max < 0:
		return invalidPolicy("negative Max %v", p.Max)
	case p.Jitter > JitterNone:
		return invalidPolicy("unknown %v", p.Jitter)
	}
	return nil
}

// Next says what to do after current attempts have failed (0 when a
// connection that was up has just been lost; negative counts as 0): ok with
// the 1-based number of the next attempt and the delay before it, or not ok
// when the policy gives up (MaxAttempts is 0, or reached), with attempt =
// current. rand draws the random value r in [0, 1] (values outside are
// clamped, NaN counts as 0); it is called at most once and only when ok
// (the reference's shouldReconnect), and nil means r = 0. Next is pure
// apart from rand and never panics.
func (p Policy) Next(current int, rand func() float64) (attempt int, delay time.Duration, ok bool) {
	current = max(current, 0)
	if p.MaxAttempts == 0 || p.MaxAttempts > 0 && current >= p.MaxAttempts {
		return current, 0, false
	}
	next := current + 1
	if next < current { // overflow with Unlimited; stay at the cap
		next = current
	}
	r := 0.0
	if rand != nil {
		r = rand()
	}
	return next, p.DelayFor(next, r), true
}

// DelayFor returns the delay before the given 1-based attempt (values below
// 1 count as 1) for the random value r (clamped into [0, 1]).
func (p Policy) DelayFor(attempt int, r float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	r = clampUnit(r)
	if p.Delay != nil {
		return max(p.Delay(attempt, r), 0)
	}
	base, ceiling := p.Base, p.Max
	if base == 0 {
		base = defaultBase
	}
	if ceiling == 0 {
		ceiling = defaultMax
	}
	return compute(attempt, base, ceiling, r, p.Jitter)
}

// compute is the delay formula on its own: raw = base·2^(attempt−1), then
// the jitter mode. It works in float64 nanoseconds in the reference's
// operation order, so the reference's test values (1100 ms, 2200 ms, …)
// come out exact. Negative base or max count as zero; attempt below 1
// counts as 1; r is clamped into [0, 1].
func compute(attempt int, base, ceiling time.Duration, r float64, j Jitter) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	base, ceiling = max(base, 0), max(ceiling, 0)
	r = clampUnit(r)
	raw := float64(base) * math.Exp2(float64(attempt-1)) // +Inf for huge attempts; min() handles it
	limit := float64(ceiling)
	var d float64
	switch j {
	case JitterAdditive:
		d = math.Min(raw*(1+r*jitterFraction), limit)
	case JitterNone:
		d = math.Min(raw, limit)
	default:
		d = r * math.Min(raw, limit)
	}
	if d >= limit {
		return ceiling // exact, and avoids float→int overflow near MaxInt64
	}
	return time.Duration(d)
}

func clampUnit(r float64) float64 {
	switch {
	case !(r > 0): // also NaN
		return 0
	case r > 1:
		return 1
	}
	return r
}
