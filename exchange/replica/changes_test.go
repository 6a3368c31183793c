package replica

// The reference's writers' change shapes, for this package's tests (the
// exchange builds them in exchange/internal/changes).

// replaceChange replaces the value at the path with v (any Go value that
// encodes as JSON, or a value-model value).
func replaceChange(v any) (Change, error) {
	mv, err := ValueOf(v)
	if err != nil {
		return Change{}, err
	}
	return mustChange(obj2("type", "replace", "value", mv)), nil
}

// mapSetChange sets key to v in the map at the path.
func mapSetChange(key string, v any) (Change, error) {
	mv, err := ValueOf(v)
	if err != nil {
		return Change{}, err
	}
	return mustChange(obj2("type", "map", "set", one(key, mv))), nil
}

// mapDeleteChange deletes keys from the map at the path.
func mapDeleteChange(keys ...string) Change {
	ks := make([]any, len(keys))
	for i, k := range keys {
		ks[i] = k
	}
	return mustChange(obj2("type", "map", "delete", ks))
}

// sequenceInsertChange inserts items into the list at the path before
// position index.
func sequenceInsertChange(index int, items ...any) (Change, error) {
	vs := make([]any, len(items))
	for i, it := range items {
		mv, err := ValueOf(it)
		if err != nil {
			return Change{}, err
		}
		vs[i] = mv
	}
	return mustChange(obj2("type", "sequence", "instructions", at(index, one("insert", vs)))), nil
}

// sequenceDeleteChange deletes count items of the list at the path from
// position index.
func sequenceDeleteChange(index, count int) Change {
	return mustChange(obj2("type", "sequence", "instructions", at(index, one("delete", float64(count)))))
}

// textInsertChange inserts s into the text at the path. index counts UTF-16
// code units, as JavaScript strings do.
func textInsertChange(index int, s string) Change {
	return mustChange(obj2("type", "text", "instructions", at(index, one("insert", s))))
}

// textDeleteChange deletes count UTF-16 code units of the text at the path
// from index.
func textDeleteChange(index, count int) Change {
	return mustChange(obj2("type", "text", "instructions", at(index, one("delete", float64(count)))))
}

// incrementChange adds n to the counter at the path.
func incrementChange(n float64) Change {
	return mustChange(obj2("type", "increment", "amount", n))
}

// setAddChange adds members to the set at the path.
func setAddChange(members ...any) (Change, error) {
	vs, err := valuesOf(members)
	if err != nil {
		return Change{}, err
	}
	return mustChange(obj2("type", "set-op", "add", vs)), nil
}

// setRemoveChange removes members from the set at the path.
func setRemoveChange(members ...any) (Change, error) {
	vs, err := valuesOf(members)
	if err != nil {
		return Change{}, err
	}
	return mustChange(obj2("type", "set-op", "remove", vs)), nil
}

// at positions a cursor instruction at index, as the reference's writers
// do: [{retain:index}, op] or just [op] at 0.
func at(index int, op *Object) []any {
	if index > 0 {
		r := newObject(1)
		r.Set("retain", float64(index))
		return []any{r, op}
	}
	return []any{op}
}

func one(k string, v any) *Object {
	o := newObject(1)
	o.Set(k, v)
	return o
}

func valuesOf(in []any) ([]any, error) {
	out := make([]any, len(in))
	for i, v := range in {
		mv, err := ValueOf(v)
		if err != nil {
			return nil, err
		}
		out[i] = mv
	}
	return out, nil
}
