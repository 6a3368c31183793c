package wire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
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
	b, err := appendJSONValue(make([]byte, 0, 64), v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

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

var (
	errJSONTrailing = errors.New("unexpected data after JSON value")
	errJSONTooDeep  = errors.New("JSON nesting too deep")
	errJSONNumber   = errors.New("invalid JSON number")
)

// parseJSONValue parses JSON text into the value model the way JSON.parse
// builds JavaScript values: objects become Maps with string keys in first
// appearance order (a repeated key keeps its first position and takes the
// last value), numbers are doubles (int64 when a safe integer other than -0;
// out-of-range exponents give ±Infinity). Invalid UTF-8 in the input is
// repaired first, and an escaped lone surrogate becomes U+FFFD since a Go
// string cannot hold it. Nesting is limited to maxNesting levels.
func parseJSONValue(text string) (any, error) {
	text = wellFormed(text)
	if !json.Valid([]byte(text)) {
		// Valid gives no position; run the decoder for a useful message.
		var discard any
		if err := json.Unmarshal([]byte(text), &discard); err != nil {
			return nil, err
		}
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := jsonTokenValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errJSONTrailing
	}
	return v, nil
}

func jsonTokenValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		if depth >= maxNesting {
			return nil, errJSONTooDeep
		}
		if tok == '[' {
			arr := []any{}
			for dec.More() {
				v, err := jsonTokenValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		var b mapBuilder
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := jsonTokenValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			b.set(k, v)
		}
		_, err := dec.Token()
		return b.m, err
	case json.Number:
		f, err := strconv.ParseFloat(string(tok), 64)
		if err != nil {
			var ne *strconv.NumError
			if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
				return nil, errJSONNumber
			}
		}
		return jsNumber(f), nil
	case string:
		if !utf8.ValidString(tok) {
			tok = wellFormed(tok)
		}
		return tok, nil
	}
	return tok, nil // bool or nil
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
