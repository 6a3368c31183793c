package replica

import (
	"math"
	"strconv"
	"strings"
)

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER: counters above it
// cannot be represented exactly by a TypeScript peer.
const maxSafeInteger = 1<<53 - 1

// PlainVersion is the version of a plain (authoritative) replica: a flush
// counter within a lineage, serialized "<lineage>:<n>". It compares by
// projecting to a version vector: genesis is the empty vector, any other
// lineage L is {L: n}; missing entries count as 0.
type PlainVersion struct {
	lineage string
	n       uint64
	// s is the serialized form, made once: a version is serialized for
	// every offer, import and store write, and made once per change.
	// Every PlainVersion but the zero value has it, so == still compares
	// lineage and counter.
	s string
}

// NewPlainVersion returns the version n of lineage.
func NewPlainVersion(lineage string, n uint64) PlainVersion {
	return PlainVersion{lineage: lineage, n: n, s: lineage + ":" + strconv.FormatUint(n, 10)}
}

// Lineage returns the lineage ([Genesis] before the first authored write).
func (v PlainVersion) Lineage() string { return v.lineage }

// Counter returns the flush count.
func (v PlainVersion) Counter() uint64 { return v.n }

// String returns "<lineage>:<n>".
func (v PlainVersion) String() string {
	if v.s != "" {
		return v.s
	}
	return v.lineage + ":" + strconv.FormatUint(v.n, 10)
}

// vv is the single-entry projection; ok=false means the empty vector.
func (v PlainVersion) vv() (string, uint64, bool) {
	if v.lineage == Genesis {
		return "", 0, false
	}
	return v.lineage, v.n, true
}

// Compare orders v relative to other (a PlainVersion).
func (v PlainVersion) Compare(other Version) (Order, error) {
	o, ok := asPlain(other)
	if !ok {
		return 0, mismatch("PlainVersion", other)
	}
	al, an, aok := v.vv()
	bl, bn, bok := o.vv()
	// Standard version-vector comparison over the union of keys.
	less, greater := false, false
	cmp := func(x, y uint64) {
		if x < y {
			less = true
		}
		if x > y {
			greater = true
		}
	}
	switch {
	case aok && bok && al == bl:
		cmp(an, bn)
	default:
		if aok {
			cmp(an, 0)
		}
		if bok {
			cmp(0, bn)
		}
	}
	return orderOf(less, greater), nil
}

// Meet returns the greatest common ancestor: the smaller counter of a
// shared lineage, otherwise genesis:0.
func (v PlainVersion) Meet(other Version) (Version, error) {
	o, ok := asPlain(other)
	if !ok {
		return nil, mismatch("PlainVersion", other)
	}
	al, an, aok := v.vv()
	bl, bn, bok := o.vv()
	if aok && bok && al == bl {
		if m := min(an, bn); m > 0 {
			return NewPlainVersion(al, m), nil
		}
	}
	return NewPlainVersion(Genesis, 0), nil
}

func asPlain(v Version) (PlainVersion, bool) {
	switch x := v.(type) {
	case PlainVersion:
		return x, true
	case *PlainVersion:
		if x != nil {
			return *x, true
		}
	}
	return PlainVersion{}, false
}

func orderOf(less, greater bool) Order {
	switch {
	case less && greater:
		return Concurrent
	case less:
		return Behind
	case greater:
		return Ahead
	}
	return Equal
}

func mismatch(kind string, other Version) error {
	return newError(reasonVersionMismatch, kind+" cannot be compared with "+typeName(other), nil)
}

func typeName(v Version) string {
	switch v.(type) {
	case PlainVersion, *PlainVersion:
		return "PlainVersion"
	case TimestampVersion, *TimestampVersion:
		return "TimestampVersion"
	case StateVersion, *StateVersion:
		return "StateVersion"
	case opaqueVersion:
		return "OpaqueVersion"
	case nil:
		return "nil"
	}
	return "another version kind"
}

// parsePlainVersion parses "<lineage>:<n>". The string must contain exactly
// one ':' and n must be decimal digits only, at most 2^53-1. (The reference
// also accepts anything JavaScript's Number() accepts, such as " 5" or
// "0x5"; no reference peer serializes those.)
func parsePlainVersion(s string) (PlainVersion, error) {
	if s == "" {
		return PlainVersion{}, newError(reasonVersionParse, "empty plain version", nil)
	}
	i := strings.IndexByte(s, ':')
	if i < 0 || strings.IndexByte(s[i+1:], ':') >= 0 {
		return PlainVersion{}, newError(reasonVersionParse, "plain version must be <lineage>:<n>: "+strconv.Quote(s), nil)
	}
	n, ok := parseCounter(s[i+1:])
	if !ok {
		return PlainVersion{}, newError(reasonVersionParse, "plain version counter must be a non-negative integer: "+strconv.Quote(s), nil)
	}
	if len(s)-i > 2 && s[i+1] == '0' {
		return NewPlainVersion(s[:i], n), nil // leading zeros: not the serialized form
	}
	return PlainVersion{lineage: s[:i], n: n, s: s}, nil
}

func parseCounter(s string) (uint64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= maxSafeInteger
}

// TimestampVersion is the version of an LWW (ephemeral) replica: the
// wall-clock milliseconds of its last flush, "0" when never written. It is
// a total order (never concurrent) and its lineage is always genesis.
type TimestampVersion struct {
	ms float64
}

// NewTimestampVersion returns the version for ms milliseconds since the
// Unix epoch.
func NewTimestampVersion(ms int64) TimestampVersion { return TimestampVersion{ms: float64(ms)} }

// Millis returns the timestamp in milliseconds.
func (v TimestampVersion) Millis() float64 { return v.ms }

// Lineage is always [Genesis].
func (v TimestampVersion) Lineage() string { return Genesis }

// String returns the decimal milliseconds.
func (v TimestampVersion) String() string { return string(appendNumber(nil, v.ms)) }

// Compare orders timestamps numerically.
func (v TimestampVersion) Compare(other Version) (Order, error) {
	o, ok := other.(TimestampVersion)
	if p, isPtr := other.(*TimestampVersion); isPtr && p != nil {
		o, ok = *p, true
	}
	if !ok {
		return 0, mismatch("TimestampVersion", other)
	}
	return orderOf(v.ms < o.ms, v.ms > o.ms), nil
}

// Meet is the smaller timestamp.
func (v TimestampVersion) Meet(other Version) (Version, error) {
	o, ok := other.(TimestampVersion)
	if p, isPtr := other.(*TimestampVersion); isPtr && p != nil {
		o, ok = *p, true
	}
	if !ok {
		return nil, mismatch("TimestampVersion", other)
	}
	return TimestampVersion{ms: math.Min(v.ms, o.ms)}, nil
}

// parseTimestampVersion parses a non-negative finite decimal number.
func parseTimestampVersion(s string) (TimestampVersion, error) {
	f, err := parseTimestamp(s, "timestamp")
	return TimestampVersion{ms: f}, err
}

func parseTimestamp(s, what string) (float64, error) {
	if s == "" {
		return 0, newError(reasonVersionParse, "empty "+what+" version", nil)
	}
	// Only the JSON number grammar (no sign, hex, underscores, Inf, NaN or
	// spaces, which strconv.ParseFloat would take).
	p := parser{data: []byte(s)}
	if s[0] < '0' || s[0] > '9' {
		return 0, newError(reasonVersionParse, what+" version must be a non-negative number: "+strconv.Quote(s), nil)
	}
	v, err := p.number()
	if err != nil || p.pos != len(s) {
		return 0, newError(reasonVersionParse, what+" version must be a non-negative number: "+strconv.Quote(s), nil)
	}
	f := v.(float64)
	if math.IsInf(f, 0) {
		return 0, newError(reasonVersionParse, what+" version out of range: "+strconv.Quote(s), nil)
	}
	return f, nil
}

// StateVersion is the version of a state (field-LWW) replica: the
// milliseconds of its last flush or merge. Two different timestamps are
// concurrent, which makes every differing offer merge field by field;
// only 0 (never written) is below every other version.
type StateVersion struct {
	ms float64
}

// newStateVersion returns the version for ms milliseconds.
func newStateVersion(ms int64) StateVersion { return StateVersion{ms: float64(ms)} }

// Millis returns the timestamp in milliseconds.
func (v StateVersion) Millis() float64 { return v.ms }

// Lineage is always [Genesis].
func (v StateVersion) Lineage() string { return Genesis }

// String returns the decimal milliseconds.
func (v StateVersion) String() string { return string(appendNumber(nil, v.ms)) }

// Compare is Equal for equal timestamps, Behind/Ahead against the
// never-written 0, and Concurrent otherwise.
func (v StateVersion) Compare(other Version) (Order, error) {
	o, ok := other.(StateVersion)
	if p, isPtr := other.(*StateVersion); isPtr && p != nil {
		o, ok = *p, true
	}
	if !ok {
		return 0, mismatch("StateVersion", other)
	}
	switch {
	case v.ms == o.ms:
		return Equal, nil
	case o.ms == 0: // never written: below every other state
		return Ahead, nil
	case v.ms == 0:
		return Behind, nil
	}
	return Concurrent, nil
}

// Meet is the smaller timestamp.
func (v StateVersion) Meet(other Version) (Version, error) {
	o, ok := other.(StateVersion)
	if p, isPtr := other.(*StateVersion); isPtr && p != nil {
		o, ok = *p, true
	}
	if !ok {
		return nil, mismatch("StateVersion", other)
	}
	return StateVersion{ms: math.Min(v.ms, o.ms)}, nil
}

// parseStateVersion parses a non-negative finite decimal number.
func parseStateVersion(s string) (StateVersion, error) {
	f, err := parseTimestamp(s, "state")
	return StateVersion{ms: f}, err
}
