package schema

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// UndefinedValue is JavaScript's undefined as a value: in an [Object] it is a
// key that is present but that JSON leaves out. It is the zero of
// Schema.undefined() and Schema.any().
type UndefinedValue struct{}

// Member is one key of an [Object].
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its key order. [Schema.Zero] returns
// its objects in JavaScript property order, the order a TypeScript reader
// enumerates (and JSON.stringify writes) them in.
type Object []Member

// Get returns the value of key.
func (o Object) Get(key string) (any, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// Range calls f for each member in order until f returns false.
func (o Object) Range(f func(key string, v any) bool) {
	for _, m := range o {
		if !f(m.Key, m.Value) {
			return
		}
	}
}

// MarshalJSON writes o as JSON.stringify would (see [AppendJSON]).
func (o Object) MarshalJSON() ([]byte, error) { return AppendJSON(nil, o) }

// Zero returns the state a TypeScript reader sees for s in a fresh,
// never-written document bound with b (Zero.structural in the
// reference):
//
//   - string, text: ""; number, counter: 0; boolean: false; null: nil
//   - undefined, any: [UndefinedValue]{} (the key exists, JSON omits it)
//   - bytes: []byte{} (JSON: {}); on [BindingState] an empty [Object]
//   - a constrained scalar: its first option
//   - struct: an [Object] of every field's zero, in JavaScript property order
//   - list, movable list, set, tree, rich text: []any{}; record: Object{}
//   - union: the first variant's zero; nullable: nil
//   - discriminated union: the zero of the variant whose tag JavaScript
//     enumerates first (the smallest array-index-like tag if any, else the
//     first declared variant)
//
// Unlike the reference on the plain-backed bindings, fields named after
// Object.prototype members ("constructor", "toString", ...) and a field
// named "__proto__" get their zero like any other field.
//
// Zero fails when s is invalid, b is unknown, or a union has no variants.
func (s *Schema) Zero(b Binding) (any, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	if !b.valid() {
		return nil, &Error{Reason: reasonBindingRejects, Msg: "unknown binding " + quote(string(b))}
	}
	return zeroOf(s, b, "$")
}

// ZeroJSON returns JSON.stringify of [Schema.Zero]: the exact text a
// TypeScript reader of a fresh document prints.
func (s *Schema) ZeroJSON(b Binding) ([]byte, error) {
	z, err := s.Zero(b)
	if err != nil {
		return nil, err
	}
	return AppendJSON(nil, z)
}

func zeroOf(s *Schema, b Binding, path string) (any, error) {
	if len(s.options) > 0 {
		return s.options[0], nil
	}
	switch s.kind {
	case KindString, KindText:
		return "", nil
	case KindNumber, KindCounter:
		return 0.0, nil
	case KindBoolean:
		return false, nil
	case KindNull:
		return nil, nil
	case KindUndefined, KindAny:
		return UndefinedValue{}, nil
	case KindBytes:
		if b == BindingState {
			return Object{}, nil // the state substrate stores it as a plain object
		}
		return []byte{}, nil
	case KindStruct:
		o := make(Object, 0, len(s.fields))
		for _, i := range s.order {
			f := s.fields[i]
			z, err := zeroOf(f.Schema, b, fieldPath(path, f.Name))
			if err != nil {
				return nil, err
			}
			o = append(o, Member{Key: f.Name, Value: z})
		}
		return o, nil
	case KindRecord:
		return Object{}, nil
	case KindList, KindSet, KindTree, KindMovableList, KindRichText:
		return []any{}, nil
	case KindUnion:
		if len(s.variants) == 0 {
			return nil, invalid(path, "a union with no variants has no zero")
		}
		return zeroOf(s.variants[0], b, path)
	case KindDiscriminatedUnion:
		v := firstVariant(s)
		if v == nil {
			return nil, invalid(path, "a discriminated union with no variants has no zero")
		}
		return zeroOf(v, b, path)
	}
	return nil, invalid(path, "unknown kind "+quote(string(s.kind)))
}

// firstVariant returns the variant whose tag is the first key of the
// reference's variantMap in JavaScript property order.
func firstVariant(s *Schema) *Schema {
	tags := make([]string, len(s.variants))
	for i, v := range s.variants {
		tags[i] = tagOf(s, v)
	}
	order := propertyOrder(tags)
	if len(order) == 0 {
		return nil
	}
	return s.variants[order[0]]
}

// tagOf returns a discriminated union variant's tag (valid schemas only).
func tagOf(u, v *Schema) string {
	f, _ := v.Field(u.disc)
	return f.options[0].(string)
}

// AppendJSON appends v as JavaScript's JSON.stringify writes it, for the
// values [Schema.Zero] returns and the JSON value model [Schema.Validate]
// reads: nil, bool, any Go number, string, []byte (a Uint8Array: an
// object of index keys, so {} when empty), []any, [Object] (in its
// order), map[string]any (in JavaScript property order, other keys
// sorted), any other [ObjectReader] (in its Range order), json.Number and [UndefinedValue] (left out of objects, null in
// arrays). Numbers use JavaScript's formatting; NaN and ±Inf become null.
// Other values are an error.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	return appendJS(dst, v, 0)
}

func appendJS(b []byte, v any, depth int) ([]byte, error) {
	if depth > jsjson.DefaultMaxDepth {
		return nil, &Error{Reason: reasonTypeMismatch, Msg: "value nests too deep"}
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case UndefinedValue:
		return append(b, "null"...), nil // only reached inside arrays
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return jsjson.AppendString(b, v), nil
	case []byte:
		b = append(b, '{')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, int64(x), 10)
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJS(b, x, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case Object:
		return appendMembers(b, v, depth)
	case map[string]any:
		o := make(Object, 0, len(v))
		for k, x := range v {
			o = append(o, Member{k, x})
		}
		sort.Slice(o, func(i, j int) bool { return o[i].Key < o[j].Key })
		names := make([]string, len(o))
		for i := range o {
			names[i] = o[i].Key
		}
		ordered := make(Object, len(o))
		for i, j := range propertyOrder(names) {
			ordered[i] = o[j]
		}
		return appendMembers(b, ordered, depth)
	case mapObject:
		return appendJS(b, map[string]any(v), depth)
	case ObjectReader:
		// Complete and the exchange hand out objects through this interface;
		// Range gives their order.
		var o Object
		v.Range(func(k string, x any) bool {
			o = append(o, Member{k, x})
			return true
		})
		return appendMembers(b, o, depth)
	}
	if f, ok := number(v); ok {
		return jsjson.AppendNumber(b, f), nil
	}
	return nil, &Error{Reason: reasonTypeMismatch, Msg: fmt.Sprintf("cannot write %T as JSON", v)}
}

func appendMembers(b []byte, o Object, depth int) ([]byte, error) {
	b = append(b, '{')
	first := true
	for _, m := range o {
		if _, skip := m.Value.(UndefinedValue); skip {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsjson.AppendString(b, m.Key)
		b = append(b, ':')
		var err error
		if b, err = appendJS(b, m.Value, depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// number returns v as a float64 if it is a Go number (or json.Number).
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := v.Float64()
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		return f, true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// Complete returns v with every struct field it lacks filled in with that
// field's zero (see [Schema.Zero]; fields whose zero is undefined stay
// absent), at every level the schema describes: inside lists, records,
// sets, union variants, discriminated union variants (chosen by tag) and
// tree node data. Keys the schema does not declare are kept, so Validate
// still reports them. Objects come back as [Object] in the schema's field
// order followed by the undeclared keys, arrays as []any; v itself is not
// modified.
//
// A null where the schema does not accept null is replaced by the zero
// as well: encoding/json writes nil slices and maps as null.
//
// This is what a TypeScript reader does for a fresh document's missing
// fields, made explicit for written values: a Go value with omitempty
// fields, completed, validates and reads the same from every peer.
func (s *Schema) Complete(v any) (any, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	m, err := toModel(v)
	if err != nil {
		return nil, &Error{Reason: reasonTypeMismatch, Path: "$", Msg: "value is not JSON", Err: err}
	}
	return complete(s, m), nil
}

func complete(s *Schema, v any) any {
	if v = model(v); v == nil && !acceptsNull(s) {
		// encoding/json writes nil slices, maps and pointers as null.
		if z, err := zeroOf(s, BindingJSON, "$"); err == nil {
			if _, undef := z.(UndefinedValue); !undef {
				return z
			}
		}
		return v
	}
	switch s.kind {
	case KindStruct:
		obj, ok := v.(ObjectReader)
		if !ok {
			return v
		}
		out := make(Object, 0, len(s.fields))
		for _, i := range s.order {
			f := s.fields[i]
			if x, ok := obj.Get(f.Name); ok {
				out = append(out, Member{f.Name, complete(f.Schema, x)})
				continue
			}
			z, err := zeroOf(f.Schema, BindingJSON, "$")
			if _, undef := z.(UndefinedValue); err == nil && !undef {
				out = append(out, Member{f.Name, z})
			}
		}
		obj.Range(func(k string, x any) bool {
			if _, declared := s.Field(k); !declared {
				out = append(out, Member{k, x})
			}
			return true
		})
		return out
	case KindRecord:
		obj, ok := v.(ObjectReader)
		if !ok {
			return v
		}
		var out Object
		obj.Range(func(k string, x any) bool {
			out = append(out, Member{k, complete(s.item, x)})
			return true
		})
		if out == nil {
			out = Object{}
		}
		return out
	case KindList, KindSet, KindMovableList:
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(arr))
		for i, x := range arr {
			out[i] = complete(s.item, x)
		}
		return out
	case KindTree:
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(arr))
		for i, x := range arr {
			out[i] = x
			if n, ok := model(x).(ObjectReader); ok {
				var c Object
				n.Range(func(k string, y any) bool {
					if k == "data" {
						y = complete(s.item, y)
					}
					c = append(c, Member{k, y})
					return true
				})
				out[i] = c
			}
		}
		return out
	case KindUnion:
		for _, variant := range s.variants {
			c := complete(variant, v)
			if validateModel(variant, c, nil) == nil {
				return c
			}
		}
		return v
	case KindDiscriminatedUnion:
		obj, ok := v.(ObjectReader)
		if !ok {
			return v
		}
		t, _ := obj.Get(s.disc)
		for _, variant := range s.variants {
			if tag, ok := model(t).(string); ok && tagOf(s, variant) == tag {
				return complete(variant, v)
			}
		}
	}
	return v
}
