package replica

import (
	"encoding/json"
	"math"
	"sort"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// Document state and change values use a small JSON value model that
// mirrors what JSON.parse produces in JavaScript:
//
//	nil (null), bool, float64, string, []any, *Object
//
// Numbers are float64 like JavaScript numbers. *Object keeps JavaScript's
// property order (integer-like keys first in ascending order, then the
// other keys in insertion order) so encoded state is byte-identical with
// JSON.stringify in the TypeScript reference.

// maxDepth bounds the nesting depth of parsed JSON values; deeper input is
// rejected with reason "malformed-payload" instead of risking stack exhaustion.
const maxDepth = 512

// smallObject is the key count up to which an Object looks keys up by a
// linear scan instead of keeping a map.
const smallObject = 8

// Object is a JSON object with JavaScript property order. The zero value is
// an empty object ready to use. Objects are not safe for concurrent
// mutation.
type Object struct {
	m     []member
	index map[string]int // key -> position; nil while small
}

type member struct {
	k string
	v any
}

// newObject returns an empty object with room for n keys.
func newObject(n int) *Object {
	return &Object{m: make([]member, 0, n)}
}

// Len returns the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.m)
}

// Keys returns the keys in JavaScript enumeration order. The slice is a
// copy.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	ks := make([]string, len(o.m))
	for i, e := range o.m {
		ks[i] = e.k
	}
	return ks
}

// Range calls f for each key in enumeration order until f returns false.
func (o *Object) Range(f func(key string, v any) bool) {
	if o == nil {
		return
	}
	for _, e := range o.m {
		if !f(e.k, e.v) {
			return
		}
	}
}

func (o *Object) find(k string) int {
	if o.index != nil {
		if i, ok := o.index[k]; ok {
			return i
		}
		return -1
	}
	for i := range o.m {
		if o.m[i].k == k {
			return i
		}
	}
	return -1
}

// Get returns the value for k.
func (o *Object) Get(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	if i := o.find(k); i >= 0 {
		return o.m[i].v, true
	}
	return nil, false
}

// Has reports whether k is present.
func (o *Object) Has(k string) bool {
	if o == nil {
		return false
	}
	return o.find(k) >= 0
}

// Set sets k to v. A new key goes where JavaScript would enumerate it:
// array-index keys among the leading index keys in numeric order, other
// keys at the end.
func (o *Object) Set(k string, v any) {
	if i := o.find(k); i >= 0 {
		o.m[i].v = v
		return
	}
	pos := len(o.m)
	if n, ok := arrayIndex(k); ok {
		// Index keys form a sorted prefix; find the insertion point in it.
		end := sort.Search(len(o.m), func(i int) bool {
			_, isIdx := arrayIndex(o.m[i].k)
			return !isIdx
		})
		pos = sort.Search(end, func(i int) bool {
			m, _ := arrayIndex(o.m[i].k)
			return m > n
		})
	}
	o.m = append(o.m, member{})
	if pos < len(o.m)-1 {
		copy(o.m[pos+1:], o.m[pos:])
	}
	o.m[pos] = member{k: k, v: v}
	o.reindex(pos)
}

// Delete removes k and reports whether it was present.
func (o *Object) Delete(k string) bool {
	i := o.find(k)
	if i < 0 {
		return false
	}
	copy(o.m[i:], o.m[i+1:])
	o.m[len(o.m)-1] = member{}
	o.m = o.m[:len(o.m)-1]
	if o.index != nil {
		delete(o.index, k)
	}
	o.reindex(i)
	return true
}

// reindex refreshes the position map from position from on.
func (o *Object) reindex(from int) {
	if len(o.m) <= smallObject {
		o.index = nil
		return
	}
	if o.index == nil {
		o.index = make(map[string]int, len(o.m))
		from = 0
	}
	for i := from; i < len(o.m); i++ {
		o.index[o.m[i].k] = i
	}
}

// arrayIndex reports whether k is a canonical array index ("0", "17", not
// "017" or "-1") below 2^32-1, the keys JavaScript enumerates first.
func arrayIndex(k string) (uint64, bool) {
	n, ok := jsjson.ArrayIndex(k)
	return uint64(n), ok
}

// Clone returns a deep copy of the object.
func (o *Object) Clone() *Object {
	if o == nil {
		return nil
	}
	c := &Object{m: make([]member, len(o.m))}
	for i, e := range o.m {
		c.m[i] = member{k: e.k, v: cloneValue(e.v)}
	}
	c.reindex(0)
	return c
}

// MarshalJSON encodes the object like JSON.stringify.
func (o *Object) MarshalJSON() ([]byte, error) { return appendValue(nil, o), nil }

// cloneValue deep-copies a value of the JSON value model.
func cloneValue(v any) any {
	switch x := v.(type) {
	case *Object:
		return x.Clone()
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = cloneValue(e)
		}
		return c
	case *seqList:
		c := make([]any, 0, x.n)
		x.each(func(e any) bool {
			c = append(c, cloneValue(e))
			return true
		})
		return c
	case *textRope:
		return x.String()
	case packedList:
		return cloneValue(x.items())
	}
	return v
}

// ValueOf converts a Go value to the JSON value model. Values already in
// the model are deep-copied; anything else goes through encoding/json
// (struct field order is kept, map keys are sorted as encoding/json does).
func ValueOf(v any) (any, error) {
	if ok := isModel(v, 0); ok {
		return cloneValue(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, newError(reasonInvalidValue, "value cannot be encoded as JSON", err)
	}
	return ParseValue(b)
}

func isModel(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := v.(type) {
	case nil, bool, string:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case []any:
		for _, e := range x {
			if !isModel(e, depth+1) {
				return false
			}
		}
		return true
	case *Object:
		if x == nil {
			return false
		}
		for _, e := range x.m {
			if !isModel(e.v, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// equalValues reports deep equality of two model values, the way the
// reference compares set members (arrays by position, objects by key set
// regardless of order).
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		// Object.is semantics: NaN equals NaN, +0 differs from -0. The
		// model never holds NaN (JSON has no NaN), so only the zero case
		// matters.
		return ok && x == y && math.Signbit(x) == math.Signbit(y)
	case string, *textRope:
		xs, _ := asText(x)
		ys, ok := asText(b)
		return ok && xs == ys
	case packedList:
		return equalValues(x.items(), b)
	case []any, *seqList:
		xl, _ := asList(x)
		yl, ok := asList(b)
		if !ok || xl.len() != yl.len() {
			return false
		}
		// Walk both in step; seqList.get would cost O(√n) per item.
		xs, _ := listItems(x)
		ys, _ := listItems(b)
		for i := range xs {
			if !equalValues(xs[i], ys[i]) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, e := range x.m {
			yv, ok := y.Get(e.k)
			if !ok || !equalValues(e.v, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// encodeValue encodes a model value like JSON.stringify.
func encodeValue(v any) []byte { return appendValue(nil, v) }

// appendValue appends the JSON.stringify encoding of v to b. Values outside
// the model encode as null, as JSON.stringify does for undefined array
// members.
func appendValue(b []byte, v any) []byte { return appendValueSplit(b, v, nil) }

// appendValueSplit is appendValue that may leave a large string out (see
// splitter): the returned buffer then holds only what follows it.
func appendValueSplit(b []byte, v any, sp *splitter) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case float64:
		return appendNumber(b, x)
	case string:
		if rest, ok := sp.split(b, x); ok {
			return rest
		}
		return appendString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValueSplit(b, e, sp)
		}
		return append(b, ']')
	case *Object:
		if x == nil {
			return append(b, "null"...)
		}
		b = append(b, '{')
		for i, e := range x.m {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e.k)
			b = append(b, ':')
			b = appendValueSplit(b, e.v, sp)
		}
		return append(b, '}')
	case *seqList:
		b = append(b, '[')
		first := true
		x.each(func(e any) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendValueSplit(b, e, sp)
			return true
		})
		return append(b, ']')
	case *textRope:
		return x.appendJSON(b)
	case packedList:
		return appendValueSplit(b, x.items(), sp)
	}
	return append(b, "null"...)
}

// splitMin is the smallest string a log entry holds by reference rather
// than by copy: below it the copy costs less than keeping three pieces.
const splitMin = 64 << 10

// splitter leaves the first string of at least splitMin bytes that JSON
// writes verbatim out of an encoding: head is the text up to and with its
// opening quote, body the string, and the encoding goes on in a new
// buffer from its closing quote. A nil splitter splits nothing.
type splitter struct {
	head []byte
	body string
}

func (sp *splitter) split(b []byte, s string) ([]byte, bool) {
	if sp == nil || sp.head != nil || len(s) < splitMin || !jsjson.Verbatim(s) {
		return b, false
	}
	sp.head, sp.body = append(b, '"'), s
	return append(make([]byte, 0, 64), '"'), true
}

// appendNumber formats like JavaScript's Number#toString as used by
// JSON.stringify: shortest round-trip digits, exponent form below 1e-6 and
// from 1e21, "-0" written as "0", non-finite numbers as null.
func appendNumber(b []byte, f float64) []byte { return jsjson.AppendNumber(b, f) }

// appendString quotes s like JSON.stringify: only '"', '\\' and control
// characters are escaped; invalid UTF-8 is repaired as TextDecoder does.
func appendString(b []byte, s string) []byte { return jsjson.AppendString(b, s) }
