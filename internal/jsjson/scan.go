package jsjson

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Text is what the readers read: a string, or bytes, which they never
// retain (strings taken from bytes are copies).
type Text interface{ string | []byte }

// SyntaxError reports where a text stops being one JSON.parse accepts.
type SyntaxError struct {
	Offset int // byte offset into the text (after UTF-8 repair, see Parse)
	Msg    string
}

// Error returns the message and the offset.
// Error returns the message and the offset.
func (e *SyntaxError) Error() string { return e.Msg + " at offset " + strconv.Itoa(e.Offset) }

func syntaxError(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// SkipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace. JSON.parse knows only space, tab, LF and CR as
// whitespace (no BOM, no NBSP, no form feed).
func SkipSpace[T Text](s T, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Literal reads the literal lit ("true", "false" or "null") at s[i] and
// returns the offset after it.
func Literal[T Text](s T, i int, lit string) (int, error) {
	if len(s)-i < len(lit) || string(s[i:i+len(lit)]) != lit {
		return i, syntaxError(i, "unexpected character")
	}
	return i + len(lit), nil
}

func skipDigits[T Text](s T, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// Number reads the number at s[i] with JSON's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns its value as
// JSON.parse computes it (correctly rounded; ±Infinity beyond the float64
// range and ±0 below it) and the offset after it.
func Number[T Text](s T, i int) (float64, int, error) {
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && isDigit(s[i]):
		i = skipDigits(s, i)
	default:
		return 0, i, syntaxError(i, "no digits in number")
	}
	intEnd := i
	if i < len(s) && s[i] == '.' {
		if i++; i >= len(s) || !isDigit(s[i]) {
			return 0, i, syntaxError(i, "no digits after decimal point")
		}
		i = skipDigits(s, i)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		if i++; i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return 0, i, syntaxError(i, "no digits in exponent")
		}
		i = skipDigits(s, i)
	}
	if i == intEnd && i-start <= 15 {
		// A plain integer of at most 15 digits is exact as a float64.
		neg := s[start] == '-'
		var n int64
		for j := start; j < i; j++ {
			if s[j] != '-' {
				n = n*10 + int64(s[j]-'0')
			}
		}
		if neg {
			return -float64(n), i, nil // "-0" is -0, as in JavaScript
		}
		return float64(n), i, nil
	}
	// The grammar is checked, so ParseFloat can only report a range error,
	// and then it has already rounded to ±Inf or ±0 as JavaScript does.
	f, err := strconv.ParseFloat(string(s[start:i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, start, syntaxError(start, "invalid number")
	}
	return f, i, nil
}

// StringReader reads JSON string literals for the readers built on this
// package. The zero value is ready to use.
type StringReader struct {
	// Out receives the JSON.stringify form of each literal read while Emit
	// is set.
	Out  []byte
	Emit bool
	// MaxReserve caps the buffer set aside when a literal turns out to
	// need decoding. It is the rest of the input, which bounds the decoded
	// text, up to MaxReserve bytes (0: no cap); longer text grows the
	// buffer as it goes. A reader whose input is mostly one long string
	// wants no cap, a parser of many short strings a small one.
	MaxReserve int
	dec        []byte // decoded text of the last literal with escapes
}

// Decoded returns the text of the last literal that [ReadString] decoded
// and reported as escaped. It is overwritten by the next call.
func (r *StringReader) Decoded() []byte { return r.dec }

// ReadString reads the string literal whose opening quote is at s[i] and
// returns the offset after its closing quote. s must be valid UTF-8.
//
// With decode set it decodes the literal as JSON.parse does, except that a
// lone surrogate escape, which a Go string cannot hold, becomes U+FFFD: if
// escaped is false the text is s[i+1:end-1] as it stands, otherwise it is
// r.Decoded(). While r.Emit is set it appends to r.Out the literal as
// JSON.stringify writes the decoded JavaScript string: escapes re-spelled
// in their canonical form and lone surrogates kept, as \udxxx.
func ReadString[T Text](r *StringReader, s T, i int, decode bool) (end int, escaped bool, err error) {
	// Locals keep the per-byte loop free of stores through r.
	emit, out := r.Emit, r.Out
	var dec []byte
	if emit {
		out = append(out, '"')
	}
	i++
	first := i
	for {
		run := i
		i = skipPlain(s, i)
		if emit {
			out = append(out, s[run:i]...)
		}
		if decode && escaped {
			dec = append(dec, s[run:i]...)
		}
		switch {
		case i >= len(s):
			r.Out = out
			return i, escaped, syntaxError(i, "unterminated string")
		case s[i] == '"':
			if emit {
				out = append(out, '"')
			}
			r.Out = out
			if decode && escaped {
				r.dec = dec
			}
			return i + 1, escaped, nil
		case s[i] != '\\':
			r.Out = out
			return i, escaped, syntaxError(i, "control character in string")
		}
		if decode && !escaped {
			// The decoded text is never longer than the rest of the input,
			// so reserving that much means never regrowing.
			dec = r.dec[:0]
			need := len(s) - first
			if r.MaxReserve > 0 {
				need = min(need, r.MaxReserve)
			}
			if cap(dec) < need {
				dec = make([]byte, 0, need)
			}
			dec = append(dec, s[first:i]...)
		}
		escaped = true
		// The two-character escapes are decoded here, without a call.
		var cp rune
		ok := i+1 < len(s)
		if ok {
			if c := unescape[s[i+1]]; c != 0 {
				cp, i = rune(c), i+2
			} else {
				cp, i, ok = decodeUnicodeEscape(s, i)
			}
		}
		if !ok {
			r.Out = out
			return i, true, syntaxError(i, "bad escape sequence")
		}
		if emit {
			out = appendChar(out, cp)
		}
		if decode {
			if isSurrogate(cp) {
				cp = utf8.RuneError
			}
			dec = utf8.AppendRune(dec, cp)
		}
	}
}

// unescape maps the character after a backslash to what a two-character
// escape stands for; 0 marks \u (see decodeUnicodeEscape) and invalid
// escapes.
var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// decodeUnicodeEscape decodes the \uXXXX escape at s[i] (a backslash) into
// a UTF-16 code point, joining an escaped surrogate pair into one scalar
// value; a surrogate without its partner is returned as it is. Anything
// else at s[i] is not a valid escape.
func decodeUnicodeEscape[T Text](s T, i int) (rune, int, bool) {
	if i+1 >= len(s) || s[i+1] != 'u' {
		return 0, i, false
	}
	cp, ok := hex4(s, i+2)
	if !ok {
		return 0, i, false
	}
	if isHighSurrogate(cp) && len(s)-i >= 12 && s[i+6] == '\\' && s[i+7] == 'u' {
		if lo, ok := hex4(s, i+8); ok && isLowSurrogate(lo) {
			return (cp-0xD800)<<10 | (lo - 0xDC00) + 0x10000, i + 12, true
		}
	}
	return cp, i + 6, true
}

// hex4 reads the four hex digits of a \u escape at s[i].
func hex4[T Text](s T, i int) (rune, bool) {
	if len(s)-i < 4 {
		return 0, false
	}
	var v rune
	for j := i; j < i+4; j++ {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}
