// Package backoff decides whether and when a lost connection is retried.
//
// It is pure: no clock, no randomness of its own. The caller passes the
// attempt counter and a source of random values r in [0, 1) to
// [Policy.Next] and gets the next attempt and its delay back (or learns that
// the policy gives up), so reconnect schedules are exact in tests and the
// client programs that use it stay pure functions.
//
// # Delays
//
// Attempts are numbered from 1. The un-jittered delay of attempt n is
// raw = Base·2^(n−1). Jitter then spreads retries so that many clients that
// lost the same server do not come back in lock step:
//
//   - [JitterFull] (the Go default): r·min(raw, Max), anywhere between 0
//     and the cap.
//   - [JitterAdditive] (the reference's default): min(raw·(1+0.2·r), Max),
//     never faster than min(raw, Max).
//   - [JitterNone]: min(raw, Max).
//
// A [Policy] may instead carry its own Delay function.
//
// # Attempts
//
// MaxAttempts bounds the retries: 0 means never retry, [Unlimited] (any
// negative value) means retry forever, which is what [Default] does. The
// zero Policy therefore never retries; start from [Default] and set
// MaxAttempts for an explicit limit.
package backoff
