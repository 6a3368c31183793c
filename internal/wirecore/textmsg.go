package wirecore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// The text form of a wire message is JSON.stringify of the same compact
// object the CBOR form encodes, with byte strings written as
// {"__bytes": "<standard padded base64>"}.

// encodeTextMessage returns the text (JSON) form of m, byte for byte what
// the reference's JSON.stringify produces: keys in the reference's order,
// no whitespace, '<', '>', '&', U+2028 and U+2029 left unescaped, \b and \f
// in short form, other control characters as \u00xx. It only fails for a nil
// message.
func encodeTextMessage(m wireMessage) (string, error) {
	v, err := messageValue(m)
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

// decodeTextMessage decodes the text form. Any JSON formatting and key
// order is accepted and unknown keys are ignored. An object with exactly one
// key "__bytes" holding a string becomes a byte string wherever it appears
// (base64 decoded like atob: padding optional, whitespace skipped). Text
// that is not JSON or holds invalid base64 gives a *kyneta.Error (reasons
// "json" and "base64"); an invalid message gives a *ValidationError,
// with the same rules as decodeMessage.
func decodeTextMessage(text string) (wireMessage, error) {
	v, err := parseJSONValue(text)
	if err != nil {
		return nil, newError(reasonDecodeJSON, "", err)
	}
	if v, err = unwrapBytes(v); err != nil {
		return nil, newError(reasonDecodeBase64, "", err)
	}
	return messageFromValue(v)
}

var errTopLevelUndefined = errors.New("wire: undefined has no JSON form")

// appendJSONValue appends v (value model) as JSON.stringify writes the
// equivalent JavaScript value: orderedMap entries in order with undefined values
// skipped (number keys written as their JavaScript string), undefined array
// elements as null, []byte as a {"__bytes": base64} object, NaN and
// ±Infinity as null. A bigint fails, as it does in JavaScript. Note that a
// JavaScript object would list array-index keys ("7") before the others;
// orderedMap entries are written in the order given.
func appendJSONValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case jsUndefined:
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
			if _, undef := e.(jsUndefined); undef {
				dst = append(dst, "null"...)
				continue
			}
			var err error
			if dst, err = appendJSONValue(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case orderedMap:
		dst = append(dst, '{')
		first := true
		for _, e := range v {
			if _, undef := e.Value.(jsUndefined); undef {
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
				var buf [32]byte
				dst = appendJSONString(dst, string(appendJSNumber(buf[:0], k)))
			default:
				return dst, fmt.Errorf("%w: map key %T", errUnsupportedValue, e.Key)
			}
			dst = append(dst, ':')
			var err error
			if dst, err = appendJSONValue(dst, e.Value); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case *big.Int:
		return dst, fmt.Errorf("%w: bigint has no JSON form", errUnsupportedValue)
	}
	return dst, fmt.Errorf("%w: %T", errUnsupportedValue, v)
}

// textJSON parses text messages as JSON.parse does into the value model:
// objects become Maps with string keys in first appearance order (a
// repeated key keeps its first position and takes the last value), numbers
// are jsNumber values, and the wire's key names and common values are
// shared rather than allocated. Nesting is limited to maxNesting levels, as
// for CBOR.
var textJSON = jsjson.Options{
	MaxDepth: maxNesting,
	KeyOrder: jsjson.InsertionOrder,
	Intern:   internedText,
	Number:   jsNumber,
	Object:   textMap,
}

// parseJSONValue parses JSON text into the value model (see textJSON).
// Invalid UTF-8 in the input is repaired first, and an escaped lone
// surrogate becomes U+FFFD since a Go string cannot hold it. Strings in the
// result may share memory with text. Errors are *jsjson.SyntaxError.
func parseJSONValue(text string) (any, error) { return jsjson.Parse(text, &textJSON) }

// textMap builds a parsed object's orderedMap.
func textMap(keys []string, vals []any) any {
	m := make(orderedMap, len(keys))
	for i, k := range keys {
		key, ok := internedText[k] // boxed once, not per message
		if !ok {
			key = k
		}
		m[i] = mapEntry{Key: key, Value: vals[i]}
	}
	return m
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
	case orderedMap:
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
