package wire

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// This file holds the few JavaScript behaviours the wire format inherits from
// the reference implementation: how TextDecoder repairs bad UTF-8, how
// JSON.stringify quotes strings and prints numbers, and how atob decodes
// base64. They are small, so they are written out here rather than pulled in.

const replacementChar = "\uFFFD"

// appendWellFormed appends b to dst as well-formed UTF-8, replacing each
// maximal ill-formed subsequence with one U+FFFD. That is the WHATWG
// "replacement" error mode used by TextDecoder, which differs from
// Go's range loop (one U+FFFD per bad byte) for truncated sequences.
func appendWellFormed(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		need := 0
		lo, hi := byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
			need = 2
		case c == 0xED:
			need, hi = 2, 0x9F
		case c == 0xF0:
			need, lo = 3, 0x90
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		case c == 0xF4:
			need, hi = 3, 0x8F
		default:
			dst = append(dst, replacementChar...)
			i++
			continue
		}
		j := i + 1
		ok := true
		for range need {
			if j >= len(b) || b[j] < lo || b[j] > hi {
				ok = false
				break
			}
			lo, hi = 0x80, 0xBF
			j++
		}
		if ok {
			dst = append(dst, b[i:j]...)
		} else {
			dst = append(dst, replacementChar...)
		}
		i = j
	}
	return dst
}

// wellFormed returns s unchanged when it is valid UTF-8, otherwise a copy
// repaired like TextDecoder would repair it.
func wellFormed(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendWellFormed(make([]byte, 0, len(s)+8), []byte(s)))
}

// decodeTextBytes turns the bytes of a CBOR text string into a Go string the
// way the reference's TextDecoder does: a leading byte-order mark is dropped
// and ill-formed sequences become U+FFFD.
func decodeTextBytes(b []byte) string {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		b = b[3:]
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendWellFormed(make([]byte, 0, len(b)+8), b))
}

// utf8Len is the length of s once encoded by a TextEncoder, which writes
// U+FFFD for anything that is not a scalar value.
func utf8Len(s string) int {
	if utf8.ValidString(s) {
		return len(s)
	}
	return len(wellFormed(s))
}

const hexLower = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal exactly as
// JSON.stringify writes it: only '"', '\\' and C0 controls are escaped
// (\b \t \n \f \r in short form, the rest as \u00xx); '<', '>', '&',
// U+2028 and U+2029 stay literal. Invalid UTF-8 is repaired first, since a
// JavaScript string cannot hold it.
func appendJSONString(dst []byte, s string) []byte {
	s = wellFormed(s)
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSNumber appends f formatted like JavaScript's Number.prototype.toString
// (radix 10): the shortest digits that round-trip, written plainly for
// decimal exponents in [-6, 21) and in exponent form ("1e+21", "1.5e-7")
// otherwise. Negative zero prints as "0".
func appendJSNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d[.ddd]e±XX
	var digits [24]byte
	k := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	n := exp + 1 // position of the decimal point relative to the digits
	d := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendJSONNumber appends f as JSON.stringify does: like appendJSNumber, but
// NaN and the infinities become null.
func appendJSONNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return appendJSNumber(dst, f)
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
