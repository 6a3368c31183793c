// Package changes builds the changes of the reference's vocabulary the way
// its writers do, for the exchange's transactions (Tx). They are
// replica.NewChange of the objects below.
package changes

import "github.com/kyneta-go/kyneta/exchange/replica"

// Replace replaces the value at the path with v (any Go value that encodes
// as JSON, or a value-model value).
func Replace(v any) (replica.Change, error) {
	mv, err := replica.ValueOf(v)
	if err != nil {
		return replica.Change{}, err
	}
	return build(obj("type", "replace", "value", mv))
}

// MapSet sets key to v in the map at the path.
func MapSet(key string, v any) (replica.Change, error) {
	mv, err := replica.ValueOf(v)
	if err != nil {
		return replica.Change{}, err
	}
	return build(obj("type", "map", "set", obj(key, mv)))
}

// MapDelete deletes keys from the map at the path.
func MapDelete(keys ...string) replica.Change {
	ks := make([]any, len(keys))
	for i, k := range keys {
		ks[i] = k
	}
	return must(obj("type", "map", "delete", ks))
}

// SequenceInsert inserts items into the list at the path before position
// index.
func SequenceInsert(index int, items ...any) (replica.Change, error) {
	vs := make([]any, len(items))
	for i, it := range items {
		mv, err := replica.ValueOf(it)
		if err != nil {
			return replica.Change{}, err
		}
		vs[i] = mv
	}
	return build(obj("type", "sequence", "instructions", at(index, obj("insert", vs))))
}

// SequenceDelete deletes count items of the list at the path from position
// index.
func SequenceDelete(index, count int) replica.Change {
	return must(obj("type", "sequence", "instructions", at(index, obj("delete", float64(count)))))
}

// TextInsert inserts s into the text at the path. index counts UTF-16 code
// units, as JavaScript strings do.
func TextInsert(index int, s string) replica.Change {
	return must(obj("type", "text", "instructions", at(index, obj("insert", s))))
}

// TextDelete deletes count UTF-16 code units of the text at the path from
// index.
func TextDelete(index, count int) replica.Change {
	return must(obj("type", "text", "instructions", at(index, obj("delete", float64(count)))))
}

// Increment adds n to the counter at the path.
func Increment(n float64) replica.Change {
	return must(obj("type", "increment", "amount", n))
}

// obj builds an object from key, value pairs in order.
func obj(kv ...any) *replica.Object {
	o := &replica.Object{}
	for i := 0; i < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// at positions a cursor instruction at index, as the reference's writers
// do: [{retain:index}, op] or just [op] at 0.
func at(index int, op *replica.Object) []any {
	if index > 0 {
		return []any{obj("retain", float64(index)), op}
	}
	return []any{op}
}

func build(o *replica.Object) (replica.Change, error) { return replica.NewChange(o) }

// must builds a change from an object that always has a string type.
func must(o *replica.Object) replica.Change {
	c, err := replica.NewChange(o)
	if err != nil {
		panic("changes: " + err.Error())
	}
	return c
}
