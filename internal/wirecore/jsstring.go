package wirecore

import (
	"encoding/base64"
	"errors"
	"math"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// This file holds the JavaScript behaviours the wire format inherits from
// the reference implementation: how TextDecoder repairs bad UTF-8, how
// JSON.stringify quotes strings and prints numbers, and how atob decodes
// base64. The JSON and UTF-8 rules live in internal/jsjson, shared with
// package exchange/replica; the names below keep this package's call sites
// short.

// wellFormed returns s unchanged when it is valid UTF-8, otherwise a copy
// repaired like TextDecoder would repair it.
func wellFormed(s string) string { return jsjson.WellFormed(s) }

// appendJSONString appends s quoted exactly as JSON.stringify quotes it.
func appendJSONString(dst []byte, s string) []byte { return jsjson.AppendString(dst, s) }

// appendJSNumber appends f as JavaScript's String(f) writes it.
func appendJSNumber(dst []byte, f float64) []byte { return jsjson.AppendJSNumber(dst, f) }

// appendJSONNumber appends f as JSON.stringify writes it (NaN and the
// infinities as null).
func appendJSONNumber(dst []byte, f float64) []byte { return jsjson.AppendNumber(dst, f) }

// decodeTextBytes turns the bytes of a CBOR text string into a Go string the
// way the reference's TextDecoder does: a leading byte-order mark is dropped
// and ill-formed sequences become U+FFFD.
func decodeTextBytes(b []byte) string {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		b = b[3:]
	}
	if jsjson.ValidUTF8(b) {
		return string(b)
	}
	return string(jsjson.AppendWellFormed(make([]byte, 0, len(b)+8), b))
}

// utf8Len is the length of s once encoded by a TextEncoder, which writes
// U+FFFD for anything that is not a scalar value.
func utf8Len(s string) int {
	if utf8.ValidString(s) {
		return len(s)
	}
	return len(wellFormed(s))
}

// maxSafeInteger is Number.MAX_SAFE_INTEGER, 2^53 - 1.
const maxSafeInteger = 1<<53 - 1

// isSafeInteger reports Number.isSafeInteger(f). Note that -0 is one.
func isSafeInteger(f float64) bool {
	return f == math.Trunc(f) && math.Abs(f) <= maxSafeInteger
}

// errInvalidBase64 is what atob throws (InvalidCharacterError).
var errInvalidBase64 = errors.New("invalid character in base64 text")

// decodeForgivingBase64 decodes s with the WHATWG "forgiving-base64 decode"
// used by atob: ASCII whitespace is skipped, padding is optional, and
// non-zero trailing bits are ignored; any other character fails.
func decodeForgivingBase64(s string) ([]byte, error) {
	// Fast path: canonical padded base64 (what btoa writes) decodes the same
	// with the standard decoder, which skips only CR and LF (also ASCII
	// whitespace for atob).
	if len(s)%4 == 0 {
		out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		if n, err := base64.StdEncoding.Decode(out, []byte(s)); err == nil {
			return out[:n], nil
		}
	}
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\f', '\r':
		default:
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 0 {
		switch {
		case len(clean) >= 2 && clean[len(clean)-1] == '=' && clean[len(clean)-2] == '=':
			clean = clean[:len(clean)-2]
		case len(clean) >= 1 && clean[len(clean)-1] == '=':
			clean = clean[:len(clean)-1]
		}
	}
	if len(clean)%4 == 1 {
		return nil, errInvalidBase64
	}
	for _, c := range clean {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return nil, errInvalidBase64
		}
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		return nil, errInvalidBase64
	}
	return out[:n], nil
}
