package jsjson

import "unicode/utf8"

const replacementChar = "\uFFFD"

// AppendWellFormed appends s to dst as well-formed UTF-8, replacing each
// maximal ill-formed subsequence with one U+FFFD. That is the WHATWG
// "replacement" error mode of TextDecoder, which is how bytes become a
// JavaScript string on the reference side. It differs from Go's range loop
// (one U+FFFD per bad byte) for truncated sequences: "\xe2\x82A" gives
// "\uFFFDA". An ill-formed subsequence never contains an ASCII byte, so
// repairing a JSON text never changes its structure.
func AppendWellFormed[T Text](dst []byte, s T) []byte {
	for i := 0; i < len(s); {
		c := s[i]
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
		for range need {
			if j >= len(s) || s[j] < lo || s[j] > hi {
				break
			}
			lo, hi = 0x80, 0xBF
			j++
		}
		if j-i == need+1 {
			dst = append(dst, s[i:j]...)
		} else {
			dst = append(dst, replacementChar...)
		}
		i = j
	}
	return dst
}

// WellFormed returns s unchanged when it is valid UTF-8, otherwise a copy
// repaired as [AppendWellFormed] repairs it.
func WellFormed(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(AppendWellFormed(make([]byte, 0, len(s)+8), s))
}

// valid reports whether s is valid UTF-8.
func valid[T Text](s T) bool { return ValidUTF8(asBytes(s)) }

// ValidUTF8 is utf8.Valid, with a long ASCII run checked 64 bytes at a
// time where the CPU allows (a large value is usually such a run, and is
// validated on each side of the wire).
func ValidUTF8(b []byte) bool {
	if len(b) < 256 {
		return utf8.Valid(b)
	}
	return utf8.Valid(b[asciiPrefix(b):])
}

func isSurrogate(r rune) bool     { return r >= 0xD800 && r <= 0xDFFF }
func isHighSurrogate(r rune) bool { return r >= 0xD800 && r <= 0xDBFF }
func isLowSurrogate(r rune) bool  { return r >= 0xDC00 && r <= 0xDFFF }
