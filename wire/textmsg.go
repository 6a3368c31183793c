package wire

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// The text form of a wire message is JSON.stringify of the same compact
// object the CBOR form encodes, with byte strings written as
// {"__bytes": "<standard padded base64>"}.

// EncodeTextMessage returns the text (JSON) form of m, byte for byte what
// the reference's JSON.stringify produces: keys in the reference's order,
// no whitespace, '<', '>', '&', U+2028 and U+2029 left unescaped, \b and \f
// in short form, other control characters as \u00xx. It only fails for a nil
// message.
func EncodeTextMessage(m WireMessage) (string, error) {
	v, err := MessageValue(m)
	if err != nil {
		return "", err
	}
	bp := textBufPool.Get().(*[]byte)
	b, err := appendJSONValue((*bp)[:0], v)
	if err == nil {
		s := string(b)
		if cap(b) <= maxPooledTextBuf {
			*bp = b
			textBufPool.Put(bp)
		}
		return s, nil
	}
	return "", err
}

// textBufPool recycles text encoding buffers, so encoding allocates only the
// returned string. Buffers that grew past maxPooledTextBuf are dropped.
var textBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledTextBuf = 256 << 10

// DecodeTextMessage decodes the text form. Any JSON formatting and key
// order is accepted and unknown keys are ignored. An object with exactly one
// key "__bytes" holding a string becomes a byte string wherever it appears
// (base64 decoded like atob: padding optional, whitespace skipped). Text
// that is not JSON or holds invalid base64 gives a *DecodeError (codes
// DecodeJSON and DecodeBase64); an invalid message gives a *ValidationError,
// with the same rules as [DecodeMessage].
func DecodeTextMessage(text string) (WireMessage, error) {
	v, err := parseJSONValue(text)
	if err != nil {
		return nil, &DecodeError{Code: DecodeJSON, Err: err}
	}
	if v, err = unwrapBytes(v); err != nil {
		return nil, &DecodeError{Code: DecodeBase64, Err: err}
	}
	return messageFromValue(v)
}

var errTopLevelUndefined = errors.New("wire: undefined has no JSON form")

// appendJSONValue appends v (value model) as JSON.stringify writes the
// equivalent JavaScript value: Map entries in order with undefined values
// skipped (number keys written as their JavaScript string), undefined array
// elements as null, []byte as a {"__bytes": base64} object, NaN and
// ±Infinity as null. A bigint fails, as it does in JavaScript. Note that a
// JavaScript object would list array-index keys ("7") before the others;
// Map entries are written in the order given.
func appendJSONValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case Undefined:
		return dst, errTopLevelUndefined
	case bool:
		return strconv.AppendBool(dst, v), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case float64:
		return appendJSONNumber(dst, v), nil
	case string:
		return appendJSONString(dst, v), nil
	case []byte:
		dst = append(dst, `{"__bytes":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, `"}`...), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			if _, undef := e.(Undefined); undef {
				dst = append(dst, "null"...)
				continue
			}
			var err error
			if dst, err = appendJSONValue(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case Map:
		dst = append(dst, '{')
		first := true
		for _, e := range v {
			if _, undef := e.Value.(Undefined); undef {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			switch k := e.Key.(type) {
			case string:
				dst = appendJSONString(dst, k)
			case int64:
				dst = appendJSONString(dst, strconv.FormatInt(k, 10))
			case float64:
				dst = appendJSONString(dst, string(appendJSNumber(nil, k)))
			default:
				return dst, fmt.Errorf("%w: map key %T", ErrUnsupportedValue, e.Key)
			}
			dst = append(dst, ':')
			var err error
			if dst, err = appendJSONValue(dst, e.Value); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case *big.Int:
		return dst, fmt.Errorf("%w: bigint has no JSON form", ErrUnsupportedValue)
	}
	return dst, fmt.Errorf("%w: %T", ErrUnsupportedValue, v)
}

// parseJSONValue parses JSON text into the value model the way JSON.parse
// builds JavaScript values: objects become Maps with string keys in first
// appearance order (a repeated key keeps its first position and takes the
// last value), numbers are doubles (int64 when a safe integer other than -0;
// out-of-range exponents give ±Infinity). Invalid UTF-8 in the input is
// repaired first, and an escaped lone surrogate becomes U+FFFD since a Go
// string cannot hold it. Nesting is limited to maxNesting levels. Strings in
// the result may share memory with text.
func parseJSONValue(text string) (any, error) {
	p := jsonParser{s: wellFormed(text)}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, p.fail("unexpected data after JSON value")
	}
	return v, nil
}

// jsonParser is a small recursive-descent parser for RFC 8259 JSON, the
// grammar JSON.parse accepts.
type jsonParser struct {
	s string
	i int
}

// JSONSyntaxError reports where JSON text stopped being valid.
type jsonSyntaxError struct {
	Offset int
	Msg    string
}

func (e *jsonSyntaxError) Error() string {
	return e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

func (p *jsonParser) fail(msg string) error { return &jsonSyntaxError{Offset: p.i, Msg: msg} }

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.i >= len(p.s) {
		return nil, p.fail("unexpected end of JSON input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		if depth >= maxNesting {
			return nil, p.fail("JSON nesting too deep")
		}
		return p.object(depth)
	case c == '[':
		if depth >= maxNesting {
			return nil, p.fail("JSON nesting too deep")
		}
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false, nil
	case strings.HasPrefix(p.s[p.i:], "null"):
		p.i += 4
		return nil, nil
	}
	return nil, p.fail("unexpected character")
}

func (p *jsonParser) object(depth int) (any, error) {
	p.i++ // {
	var b mapBuilder
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return Map{}, nil
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.fail("expected property name")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.fail("expected ':' after property name")
		}
		p.i++
		p.ws()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		b.set(k.(string), v)
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.fail("unexpected end of JSON input")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case '}':
			p.i++
			return b.m, nil
		default:
			return nil, p.fail("expected ',' or '}' after property value")
		}
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.i++ // [
	arr := []any{}
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return arr, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.fail("unexpected end of JSON input")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			return arr, nil
		default:
			return nil, p.fail("expected ',' or ']' after array element")
		}
	}
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, p.fail("no number after minus sign")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("unterminated fractional number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("exponent part is missing a number")
		}
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
			return nil, p.fail("invalid number")
		}
		// Out of range: ParseFloat already gives ±Inf (or 0), as JavaScript does.
	}
	return jsNumber(f), nil
}

// str parses a string literal starting at the opening quote.
func (p *jsonParser) str() (any, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			raw := p.s[start:p.i]
			p.i++
			if v, ok := internedText[raw]; ok {
				return v, nil
			}
			return raw, nil
		case c == '\\':
			return p.escapedStr(start)
		case c < 0x20:
			return nil, p.fail("bad control character in string literal")
		}
		p.i++
	}
	return nil, p.fail("unterminated string")
}

// escapedStr finishes a string that contains escapes.
func (p *jsonParser) escapedStr(start int) (any, error) {
	buf := []byte(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return nil, p.fail("bad control character in string literal")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			break
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return nil, p.fail("bad Unicode escape")
			}
			if utf16.IsSurrogate(r) {
				// Pair a high surrogate with an escaped low one; anything
				// else is a lone surrogate, which Go strings cannot hold.
				if r < 0xDC00 && strings.HasPrefix(p.s[p.i:], "\\u") {
					save := p.i
					p.i += 2
					if lo, ok := p.hex4(); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						r = utf16.DecodeRune(r, lo)
					} else {
						p.i = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.i--
			return nil, p.fail("bad escaped character")
		}
	}
	return nil, p.fail("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// mapBuilder collects object members with JavaScript assignment semantics.
type mapBuilder struct {
	m     Map
	index map[string]int
}

func (b *mapBuilder) set(k string, v any) {
	if b.m == nil {
		b.m = Map{}
	}
	if b.index != nil {
		if i, ok := b.index[k]; ok {
			b.m[i].Value = v
			return
		}
	} else {
		for i := range b.m {
			if b.m[i].Key == k {
				b.m[i].Value = v
				return
			}
		}
		if len(b.m) == 16 {
			b.index = make(map[string]int, 32)
			for i, e := range b.m {
				b.index[e.Key.(string)] = i
			}
		}
	}
	if b.index != nil {
		b.index[k] = len(b.m)
	}
	b.m = append(b.m, MapEntry{Key: k, Value: v})
}

// unwrapBytes replaces every {"__bytes": string} object (exactly one key) by
// the decoded bytes, depth first in document order, as the reference does
// before validating. It works in place on a freshly parsed value.
func unwrapBytes(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		for i := range v {
			var err error
			if v[i], err = unwrapBytes(v[i]); err != nil {
				return nil, err
			}
		}
	case Map:
		if len(v) == 1 && v[0].Key == "__bytes" {
			if s, ok := v[0].Value.(string); ok {
				return decodeForgivingBase64(s)
			}
		}
		for i := range v {
			var err error
			if v[i].Value, err = unwrapBytes(v[i].Value); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}
