package jsjson

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/kyneta-go/kyneta/internal/rawbuf"
)

const hexDigits = "0123456789abcdef"

// plain[c] reports whether byte c stands for itself inside a JSON string
// literal: everything but '"', '\\' and the C0 controls. That one set
// decides both what JSON.parse accepts unescaped and what JSON.stringify
// escapes.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as JSON.stringify quotes a string: only '"', '\\'
// and the C0 controls are escaped, \b \t \n \f \r in short form and the
// others as \u00xx; '<', '>', '&', DEL, U+2028 and U+2029 stay literal.
// Invalid UTF-8 is first repaired as [AppendWellFormed] does, since a
// JavaScript string cannot hold it.
func AppendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = WellFormed(s)
	}
	if len(s) >= rawbuf.PrefaultSize {
		// One buffer for the quoted string and what usually follows it
		// in a batch, taken whole (see rawbuf) rather than by append's
		// doublings.
		dst = rawbuf.Grow(dst, len(s)+64)
	}
	dst = append(dst, '"')
	start := 0
	for i := skipPlain(s, 0); i < len(s); i = skipPlain(s, i+1) {
		dst = append(dst, s[start:i]...)
		dst = appendEscape(dst, rune(s[i]))
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Verbatim reports whether AppendString writes s as it is between its
// quotes: well-formed UTF-8 with nothing to escape. Such a string's JSON
// text can be written from the string's own memory.
func Verbatim(s string) bool {
	// An ASCII prefix with nothing to escape is settled in one scan; the
	// rest, from its first non-ASCII byte, needs both tests.
	k := asciiPlainPrefix(asBytes(s))
	return k == len(s) || skipPlain(s, k) == len(s) && utf8.ValidString(s[k:])
}

// SWAR constants: every byte 0x01, every byte 0x80.
const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// skipPlain returns the index of the first byte at or after i that is not
// plain (a C0 control, '"' or '\\'), or len(s). Large strings are mostly
// plain, and a byte-by-byte table lookup made string scanning the slowest
// pass over a large value. The first 64 bytes are tested eight at a time
// for all three kinds (most strings are short); longer runs go to
// skipRun, which is vectorized where the platform allows (plain_*.go).
func skipPlain[T Text](s T, i int) int {
	b := asBytes(s)
	for n := min(len(b), i+64); i+8 <= n; i += 8 {
		if special(binary.LittleEndian.Uint64(b[i:])) != 0 {
			return skipPlainBytewise(b, i)
		}
	}
	if i+8 <= len(b) {
		return skipRun(b, i)
	}
	return skipPlainBytewise(b, i)
}

// skipPlainWindows is skipRun without vector instructions: windows that
// double from 128 bytes (up to 64 KiB), each searched for '"' and '\\'
// with bytes.IndexByte (vectorized) and for controls eight bytes at a
// time, the cheapest of the three tests. A window is searched beyond the
// stop by at most its size, and every earlier window was plain, so the
// work stays within a small factor of the run's length.
func skipPlainWindows(b []byte, i int) int {
	for w := 128; i+8 <= len(b); w = min(2*w, 64<<10) {
		win := b[i:min(len(b), i+w)]
		n := len(win)
		if k := bytes.IndexByte(win, '"'); k >= 0 {
			win = win[:k]
		}
		if k := bytes.IndexByte(win, '\\'); k >= 0 {
			win = win[:k]
		}
		if k := controlFree(win); k < n {
			return i + k
		}
		i += n
	}
	return skipPlainBytewise(b, i)
}

// skipPlainBytewise is skipPlain one byte at a time.
func skipPlainBytewise(b []byte, i int) int {
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// controlFree returns the index of the first C0 control in b, or len(b).
func controlFree(b []byte) int {
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w := (*[32]byte)(b[i:])
		x0 := binary.LittleEndian.Uint64(w[:8])
		x1 := binary.LittleEndian.Uint64(w[8:16])
		x2 := binary.LittleEndian.Uint64(w[16:24])
		x3 := binary.LittleEndian.Uint64(w[24:])
		if ((x0-lo8*0x20)&^x0|(x1-lo8*0x20)&^x1|(x2-lo8*0x20)&^x2|(x3-lo8*0x20)&^x3)&hi8 != 0 {
			break
		}
	}
	for ; i < len(b) && b[i] >= 0x20; i++ {
	}
	return i
}

// special has the high bit set in some byte when one of the eight bytes
// in x is below 0x20, '"' or '\\' (exact for "some byte is", not for
// which one).
func special(x uint64) uint64 {
	q := x ^ (lo8 * '"')
	b := x ^ (lo8 * '\\')
	return ((x-lo8*0x20)&^x | (q-lo8)&^q | (b-lo8)&^b) & hi8
}

// asBytes views s as bytes without copying, for the scans here, which
// only read. Loading eight bytes at once needs a byte slice: on a
// generic T the compiler loads them one by one.
func asBytes[T Text](s T) []byte {
	switch v := any(s).(type) {
	case string:
		return unsafe.Slice(unsafe.StringData(v), len(v))
	case []byte:
		return v
	}
	panic("unreachable")
}

// appendEscape writes the escape JSON.stringify uses for a code point that
// may not appear literally: '"', '\\', a C0 control or a lone surrogate.
func appendEscape(dst []byte, cp rune) []byte {
	switch cp {
	case '"', '\\':
		return append(dst, '\\', byte(cp))
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', hexDigits[cp>>12&0xF], hexDigits[cp>>8&0xF], hexDigits[cp>>4&0xF], hexDigits[cp&0xF])
}

// appendChar writes one decoded UTF-16 code point (a scalar value or a lone
// surrogate) inside a string literal as JSON.stringify writes it.
func appendChar(dst []byte, cp rune) []byte {
	if cp < utf8.RuneSelf && plain[cp] || cp >= utf8.RuneSelf && !isSurrogate(cp) {
		return utf8.AppendRune(dst, cp)
	}
	return appendEscape(dst, cp)
}

// AppendNumber appends f as JSON.stringify writes a number: the shortest
// digits that round-trip, written plainly for magnitudes in [1e-6, 1e21)
// and in exponent form ("1e+21", "1.5e-7") otherwise, -0 as "0", and NaN
// and ±Infinity as null.
func AppendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return appendFinite(dst, f)
}

// AppendJSNumber appends f as JavaScript's String(f) writes it: like
// [AppendNumber], but NaN, Infinity and -Infinity are spelled out.
func AppendJSNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return appendFinite(dst, f)
}

// appendFinite is Number.prototype.toString for finite f. Go's shortest
// formatting picks the same digits as ECMAScript's; only the choice between
// plain and exponent form and the exponent's spelling differ.
func appendFinite(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	switch {
	case f == 0:
		return append(dst, '0')
	case abs < 1<<53 && f == math.Trunc(f):
		return strconv.AppendInt(dst, int64(f), 10) // exact, and the common case
	case abs < 1e-6 || abs >= 1e21:
		dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
		// Go pads the exponent to two digits ("1e-07"); JavaScript does not.
		// Positive exponents are at least 21 here, so only e-0d needs it.
		if n := len(dst); dst[n-4] == 'e' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
		return dst
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// StringEnd returns the index just past the closing quote of the string
// literal whose opening quote is at s[i], or -1 when it does not end. A
// backslash skips the byte after it; nothing else is checked, so it is a
// scanner for text already known to be (or about to be) parsed. It looks
// for the two bytes that matter with bytes.IndexByte (vectorized), and
// searches for a quote again only once the last one found is passed, so
// it stays linear however many backslashes there are.
func StringEnd[T Text](s T, i int) int {
	b := asBytes(s)
	i++
	q := -1 // the first '"' at or after i, while q >= i
	for {
		if q < i {
			if i >= len(b) {
				return -1
			}
			k := bytes.IndexByte(b[i:], '"')
			if k < 0 {
				return -1
			}
			q = i + k
		}
		k := bytes.IndexByte(b[i:q], '\\')
		if k < 0 {
			return q + 1
		}
		i += k + 2
	}
}
