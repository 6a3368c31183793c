package wirecore

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// The generic CBOR value codec mirrors the reference's small CBOR module:
// the message codec is built on it, and the same values describe the text
// (JSON) form. Values use a JavaScript-shaped model so that accept/reject
// and number handling match the reference exactly:
//
//	Go value        CBOR / JavaScript
//	nil             null
//	jsUndefined{}     undefined (simple value 23)
//	bool            false / true
//	int64           a number that is a safe integer (|v| <= 2^53-1)
//	float64         any other number: non-integers, NaN, ±Infinity, -0,
//	                and integral values beyond 2^53-1 that arrived as floats
//	*big.Int        a bigint: an integer beyond ±(2^53-1) encoded as a CBOR integer
//	string          text string (always well-formed UTF-8 after decoding)
//	[]byte          byte string
//	[]any           array
//	orderedMap             map, entries in wire order
//
// decodeValue returns only these types. encodeValue also accepts the other
// Go integer kinds (encoded exactly as CBOR integers) and float32.

// jsUndefined is the JavaScript undefined value, CBOR simple value 23 (0xf7).
// Inside a wire message it counts as an absent field.
type jsUndefined struct{}

// mapEntry is one key/value pair of an orderedMap.
type mapEntry struct {
	Key   any // string, int64 or float64 after decoding
	Value any
}

// orderedMap is a CBOR map that keeps its entries in order: the reference writes
// map entries in insertion order, and that order is the byte order on the
// wire.
type orderedMap []mapEntry

// Get returns the value stored under the string key k.
func (m orderedMap) Get(k string) (any, bool) {
	for _, e := range m {
		if s, ok := e.Key.(string); ok && s == k {
			return e.Value, true
		}
	}
	return nil, false
}

// Errors from the CBOR walker, for the rules the reference adds on top of
// well-formedness. They reach callers wrapped in a *kyneta.Error.
var (
	errNoData         = errors.New("no data")
	errTruncated      = errors.New("unexpected end of data")
	errNonMinimal     = errors.New("length not supported or not well formed")
	errUnsupported    = errors.New("unsupported CBOR type")
	errFloat16        = errors.New("float16 values other than ±Infinity and NaN are not supported")
	errLengthTooLarge = errors.New("string length too large")
	errMapKeyType     = errors.New("map key must be string or number")
	errDuplicateKey   = errors.New("map has duplicate key")
	errTooDeep        = errors.New("nesting too deep")
	errExtraData      = errors.New("extraneous data after the message")
)

// Encode errors.
var (
	// errNumberOutOfRange: an integer outside [-2^64, 2^64-1] has no CBOR
	// integer form (the reference throws "CBOR number out of range").
	errNumberOutOfRange = errors.New("wire: CBOR number out of range")
	// errUnsupportedValue: the value is not part of the value model.
	errUnsupportedValue = errors.New("wire: unsupported value type")
)

// maxNesting bounds how deep arrays and maps may nest. The reference has no
// limit besides the JavaScript stack; real messages nest four levels.
const maxNesting = 32

var (
	decMode cbor.DecMode
	encMode cbor.UserBufferEncMode
)

func init() {
	// Reject every simple value except false/true/null/undefined, like the
	// reference. 24..31 are reserved (and malformed as f8 xx anyway).
	var rejects []func(*cbor.SimpleValueRegistry) error
	for sv := range 256 {
		if sv <= 19 || sv >= 32 {
			rejects = append(rejects, cbor.WithRejectedSimpleValue(cbor.SimpleValue(sv)))
		}
	}
	simple, err := cbor.NewSimpleValueRegistryFromDefaults(rejects...)
	if err != nil {
		panic(err)
	}
	// This mode is used for the well-formedness pass: it bounds nesting,
	// forbids indefinite lengths and tags, and rejects trailing bytes, so the
	// walker below only ever sees a well-formed item. Counts are limited by
	// the input size instead of a fixed cap (each element takes a byte).
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:  maxNesting,
		MaxArrayElements: 2147483647,
		MaxMapPairs:      2147483647,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		SimpleValues:     simple,
		// UTF-8 validity and duplicate keys are not well-formedness
		// questions; the walker applies the reference's rules for both
		// (TextDecoder repair, SameValueZero keys).
	}.DecMode()
	if err != nil {
		panic(err)
	}
	encMode, err = cbor.EncOptions{
		ShortestFloat: cbor.ShortestFloatNone, // width chosen by encodeNumber
		NaNConvert:    cbor.NaNConvertNone,
		InfConvert:    cbor.InfConvertNone,
		BigIntConvert: cbor.BigIntConvertShortest,
		NilContainers: cbor.NilContainerAsEmpty,
		IndefLength:   cbor.IndefLengthForbidden,
		TagsMd:        cbor.TagsForbidden,
	}.UserBufferEncMode()
	if err != nil {
		panic(err)
	}
}

// decodeValue decodes one CBOR data item with the reference's rules: the
// whole input must be one item; integers and lengths of 24 or more may use a
// wider head than needed but smaller ones may not; float16 is accepted only
// for ±Infinity and NaN; tags, indefinite lengths and simple values other
// than false/true/null/undefined are rejected; map keys must be strings or
// numbers and unique; text is repaired like TextDecoder does (leading BOM
// dropped, ill-formed UTF-8 replaced by U+FFFD). Failures are *kyneta.Error.
// The result never aliases data.
func decodeValue(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, newError(reasonDecodeCBOR, "", errNoData)
	}
	if err := decMode.Wellformed(data); err != nil {
		return nil, newError(reasonDecodeCBOR, "", err)
	}
	r := cborReader{data: data}
	v, err := r.value(0)
	if err == nil && r.off != len(data) {
		err = errTruncated // unreachable after Wellformed; kept as a guard
	}
	if err != nil {
		return nil, newError(reasonDecodeCBOR, "", err)
	}
	return v, nil
}

// internedText holds the wire's key names and common short values, boxed
// once, so decoding them allocates nothing.
var internedText = func() map[string]any {
	m := map[string]any{}
	for _, s := range []string{
		"t", "id", "n", "y", "f", "a", "s", "d", "pv", "docs", "rt", "ms", "sh", "sa", "shx", "shs",
		"doc", "dx", "v", "r", "pk", "pe", "ln", "user", "bot", "service", "plain", "loro", "yjs", "",
	} {
		m[s] = s
	}
	return m
}()

// cborReader walks a well-formed CBOR item and builds values.
type cborReader struct {
	data []byte
	off  int
}

// arg reads the argument of a head whose additional information is ai.
// Arguments below 24 must use the one-byte form.
func (r *cborReader) arg(ai byte) (uint64, error) {
	if ai < 24 {
		return uint64(ai), nil
	}
	var n int
	switch ai {
	case 24:
		n = 1
	case 25:
		n = 2
	case 26:
		n = 4
	case 27:
		n = 8
	default:
		return 0, errNonMinimal
	}
	if len(r.data)-r.off < n {
		return 0, errTruncated
	}
	var v uint64
	for _, b := range r.data[r.off : r.off+n] {
		v = v<<8 | uint64(b)
	}
	r.off += n
	if v < 24 {
		return 0, errNonMinimal
	}
	return v, nil
}

func (r *cborReader) value(depth int) (any, error) {
	if r.off >= len(r.data) {
		return nil, errTruncated
	}
	ib := r.data[r.off]
	r.off++
	major, ai := ib>>5, ib&0x1f
	switch major {
	case 6:
		return nil, errUnsupported
	case 7:
		return r.simple(ai)
	}
	a, err := r.arg(ai)
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		if a <= maxSafeInteger {
			return int64(a), nil
		}
		return new(big.Int).SetUint64(a), nil
	case 1:
		if a <= maxSafeInteger {
			// -1-a; at a = 2^53-1 this is -2^53, a number but not a safe integer.
			return jsNumber(-1 - float64(a)), nil
		}
		v := new(big.Int).SetUint64(a)
		return v.Neg(v).Sub(v, big.NewInt(1)), nil
	case 2, 3:
		if a > maxSafeInteger {
			return nil, errLengthTooLarge
		}
		if uint64(len(r.data)-r.off) < a {
			return nil, errTruncated
		}
		b := r.data[r.off : r.off+int(a)]
		r.off += int(a)
		if major == 2 {
			return bytes.Clone(b), nil
		}
		if v, ok := internedText[string(b)]; ok {
			return v, nil
		}
		return decodeTextBytes(b), nil
	case 4:
		if depth >= maxNesting {
			return nil, errTooDeep
		}
		if a > uint64(len(r.data)-r.off) { // every element takes at least one byte
			return nil, errTruncated
		}
		arr := make([]any, int(a))
		for i := range arr {
			if arr[i], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return arr, nil
	default: // 5
		if depth >= maxNesting {
			return nil, errTooDeep
		}
		if a > uint64(len(r.data)-r.off)/2 {
			return nil, errTruncated
		}
		m := make(orderedMap, 0, int(a))
		var seen map[mapKey]struct{}
		for range int(a) {
			k, err := r.value(depth + 1)
			if err != nil {
				return nil, err
			}
			key, ok := keyOf(k)
			if !ok {
				return nil, errMapKeyType
			}
			if seen != nil {
				if _, dup := seen[key]; dup {
					return nil, errDuplicateKey
				}
				seen[key] = struct{}{}
			} else {
				for _, e := range m {
					if ek, _ := keyOf(e.Key); ek == key {
						return nil, errDuplicateKey
					}
				}
				if len(m) == 16 { // switch to a set for large maps
					seen = make(map[mapKey]struct{}, a)
					for _, e := range m {
						ek, _ := keyOf(e.Key)
						seen[ek] = struct{}{}
					}
					seen[key] = struct{}{}
				}
			}
			v, err := r.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m = append(m, mapEntry{Key: k, Value: v})
		}
		return m, nil
	}
}

func (r *cborReader) simple(ai byte) (any, error) {
	switch ai {
	case 20:
		return false, nil
	case 21:
		return true, nil
	case 22:
		return nil, nil
	case 23:
		return jsUndefined{}, nil
	case 25:
		if len(r.data)-r.off < 2 {
			return nil, errTruncated
		}
		bits := uint16(r.data[r.off])<<8 | uint16(r.data[r.off+1])
		r.off += 2
		switch bits {
		case 0x7c00:
			return math.Inf(1), nil
		case 0xfc00:
			return math.Inf(-1), nil
		case 0x7e00:
			return math.NaN(), nil
		}
		return nil, errFloat16
	case 26:
		if len(r.data)-r.off < 4 {
			return nil, errTruncated
		}
		d := r.data[r.off:]
		bits := uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])
		r.off += 4
		return jsNumber(float64(math.Float32frombits(bits))), nil
	case 27:
		if len(r.data)-r.off < 8 {
			return nil, errTruncated
		}
		var bits uint64
		for _, b := range r.data[r.off : r.off+8] {
			bits = bits<<8 | uint64(b)
		}
		r.off += 8
		return jsNumber(math.Float64frombits(bits)), nil
	}
	return nil, errUnsupported
}

// jsNumber returns a JavaScript number in the value model: int64 when it is
// a safe integer other than -0, float64 otherwise.
func jsNumber(f float64) any {
	if isSafeInteger(f) && !(f == 0 && math.Signbit(f)) {
		return int64(f)
	}
	return f
}

// numberOf reports whether v is a JavaScript number and returns its value.
func numberOf(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// mapKey identifies a map key under JavaScript's SameValueZero, which the
// reference's Map uses: strings and numbers never collide, +0 equals -0 and
// NaN equals NaN.
type mapKey struct {
	kind uint8 // 1 string, 2 number, 3 NaN
	s    string
	f    float64
}

func keyOf(k any) (mapKey, bool) {
	switch k := k.(type) {
	case string:
		return mapKey{kind: 1, s: k}, true
	case int64:
		return mapKey{kind: 2, f: float64(k)}, true
	case float64:
		if math.IsNaN(k) {
			return mapKey{kind: 3}, true
		}
		if k == 0 {
			k = 0 // fold -0 into +0
		}
		return mapKey{kind: 2, f: k}, true
	}
	return mapKey{}, false
}

// encodeValue encodes v (see the value model above) the way the reference
// encodes JavaScript values: numbers that are safe integers (including -0)
// become the shortest CBOR integer; other float64 values become float32 when
// that is exact (NaN and ±Infinity included) and float64 otherwise; Go
// integers and *big.Int become CBOR integers and fail with
// errNumberOutOfRange outside [-2^64, 2^64-1]; invalid UTF-8 in strings is
// replaced by U+FFFD; orderedMap entries are written in order.
func encodeValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	// One allocation of about the right size: the library encodes each leaf
	// into the buffer's free space, so a large byte string is copied once.
	buf.Grow(sizeHint(v))
	if err := encodeValueTo(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var (
	bigMaxUint64 = new(big.Int).SetUint64(math.MaxUint64)
	bigMinNeg    = new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 64)) // -2^64
	canonicalNaN = math.Float32frombits(0x7fc00000)
)

func encodeValueTo(buf *bytes.Buffer, v any) error {
	// Leaves are handed to the library as the interface value they arrived
	// in, so that no leaf is boxed a second time.
	switch x := v.(type) {
	case nil, bool, []byte, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return encMode.MarshalToBuffer(v, buf)
	case string:
		if !utf8.ValidString(x) {
			v = wellFormed(x)
		}
		return encMode.MarshalToBuffer(v, buf)
	case textBytes:
		if !utf8.Valid(x) {
			return encMode.MarshalToBuffer(wellFormed(string(x)), buf)
		}
		writeHead(buf, 3, uint64(len(x)))
		buf.Write(x)
		return nil
	case jsUndefined:
		buf.WriteByte(0xf7)
		return nil
	case float32:
		return encodeNumber(buf, float64(x))
	case float64:
		return encodeNumber(buf, x)
	case *big.Int:
		if x == nil {
			return fmt.Errorf("%w: nil *big.Int", errUnsupportedValue)
		}
		if x.Cmp(bigMaxUint64) > 0 || x.Cmp(bigMinNeg) < 0 {
			return errNumberOutOfRange
		}
		return encMode.MarshalToBuffer(v, buf)
	case []any:
		appendHead(buf, 4, uint64(len(x)))
		for _, e := range x {
			if err := encodeValueTo(buf, e); err != nil {
				return err
			}
		}
		return nil
	case orderedMap:
		appendHead(buf, 5, uint64(len(x)))
		for _, e := range x {
			if err := encodeValueTo(buf, e.Key); err != nil {
				return err
			}
			if err := encodeValueTo(buf, e.Value); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: %T", errUnsupportedValue, v)
}

// sizeHint is an upper estimate of v's encoded size (9 bytes per head).
func sizeHint(v any) int {
	switch v := v.(type) {
	case string:
		return 9 + len(v)
	case []byte:
		return 9 + len(v)
	case textBytes:
		return 9 + len(v)
	case []any:
		n := 9
		for _, e := range v {
			n += sizeHint(e)
		}
		return n
	case orderedMap:
		n := 9
		for _, e := range v {
			n += sizeHint(e.Key) + sizeHint(e.Value)
		}
		return n
	}
	return 9
}

// encodeNumber writes a JavaScript number: safe integers as integers, the
// rest as float32 when exact, else float64.
func encodeNumber(buf *bytes.Buffer, f float64) error {
	switch {
	case isSafeInteger(f):
		return encMode.MarshalToBuffer(int64(f), buf)
	case math.IsNaN(f):
		return encMode.MarshalToBuffer(canonicalNaN, buf)
	case math.IsInf(f, 0) || float64(float32(f)) == f:
		return encMode.MarshalToBuffer(float32(f), buf)
	}
	return encMode.MarshalToBuffer(f, buf)
}

// appendHead writes a CBOR head with the shortest argument encoding. The
// map and array heads are written here because the library has no ordered
// map type; everything inside them goes through the library's encoder.
func appendHead(buf *bytes.Buffer, major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		buf.WriteByte(m | byte(n))
	case n <= math.MaxUint8:
		buf.Write([]byte{m | 24, byte(n)})
	case n <= math.MaxUint16:
		buf.Write([]byte{m | 25, byte(n >> 8), byte(n)})
	case n <= math.MaxUint32:
		buf.Write([]byte{m | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	default:
		buf.Write([]byte{m | 27, byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32),
			byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
}

// writeHead writes a CBOR head: major type and argument, in the shortest
// form (as the library writes string heads).
func writeHead(buf *bytes.Buffer, major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		buf.WriteByte(m | byte(n))
	case n <= math.MaxUint8:
		buf.Write([]byte{m | 24, byte(n)})
	case n <= math.MaxUint16:
		buf.Write([]byte{m | 25, byte(n >> 8), byte(n)})
	case n <= math.MaxUint32:
		buf.Write([]byte{m | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	default:
		buf.Write([]byte{m | 27, byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
}
