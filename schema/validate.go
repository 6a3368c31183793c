package schema

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// Path addresses a value inside a document: each segment is a string (a
// struct field, a record key or a tree node id) or an int (a list
// index). The empty path is the root.
type Path []any

// String renders the path as errors show it: $.items[2].title.
func (p Path) String() string {
	s := "$"
	for _, seg := range p {
		switch seg := seg.(type) {
		case int:
			s = indexPath(s, seg)
		case string:
			s = fieldPath(s, seg)
		default:
			s += "[?]"
		}
	}
	return s
}

func (p Path) with(seg any) Path {
	return append(p[:len(p):len(p)], seg)
}

// ObjectReader is an ordered JSON object as other value models hold it
// (the exchange's document objects implement it). Validate reads objects
// through it; [Object] implements it too.
type ObjectReader interface {
	Get(key string) (any, bool)
	Range(f func(key string, v any) bool)
}

// mapObject reads a map[string]any as an ObjectReader, keys sorted so
// errors are deterministic.
type mapObject map[string]any

func (m mapObject) Get(k string) (any, bool) { v, ok := m[k]; return v, ok }

func (m mapObject) Range(f func(string, any) bool) {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if !f(k, m[k]) {
			return
		}
	}
}

// Validate checks that v is a complete value of schema s, as the
// reference's validate() does, and returns the first problem as an
// *Error naming its path:
//
//	schema: $.items[2].title: want string, got number
//
// v is in the JSON value model: nil, bool, any Go number or json.Number,
// string, []byte (for bytes), [UndefinedValue], []any, map[string]any,
// [Object] or any [ObjectReader]. Any other Go value (a struct, a typed
// slice or map, a pointer) is first converted with encoding/json, which is
// what a document stores when it is written from Go.
//
// A struct value must have every field, except fields that accept
// undefined (Schema.undefined(), Schema.any(), a union with such a
// variant), and no other keys; the reference ignores extra keys, but
// they would be invisible to every TypeScript reader, so here they are
// an error ("unknown-field"). Constrained scalars must hold one of
// their options; sets may not hold equal members; tree values must be
// well-formed flat forests ({"id","parent","index","data"} nodes);
// rich-text spans may only use declared marks.
func (s *Schema) Validate(v any) error {
	if err := s.Err(); err != nil {
		return err
	}
	return validate(s, v, nil)
}

// ValidateAt checks that v may be written at path: that the path exists
// in s and v is a complete value of the schema found there. Through a
// union the path may lead into any variant; v then has to fit one of
// them. Below Schema.any() every path and value is accepted.
func (s *Schema) ValidateAt(path Path, v any) error {
	if err := s.Err(); err != nil {
		return err
	}
	cands, err := resolve(s, path)
	if err != nil {
		return err
	}
	var first error
	for _, c := range cands {
		err := validate(c, v, path)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// ValidateChange checks a change, in the reference's change vocabulary,
// before it is applied at path. change is a JSON object (map[string]any,
// [Object], an [ObjectReader], or a Go value encoding/json turns into
// one) with a "type":
//
//   - "replace" {value}: ValidateAt(path, value)
//   - "map" {set?, delete?}: on a record any key (values checked against
//     the item); on a struct only declared fields, and delete only of
//     fields that accept undefined
//   - "sequence" {instructions}: on a list or movable list; inserted
//     items are checked against the item schema
//   - "text" {instructions}: on text; "richtext" {instructions}: on rich
//     text, with declared marks only
//   - "increment" {amount}: on a counter
//   - "set-op" {add?, remove?}: on a set
//   - "tree" {instructions}: on a tree
//
// Instructions are {retain:n}, {insert:…} and {delete:n} (and {format:n,
// marks} for rich text) with non-negative integer counts; tree
// instructions are {action:"create"|"move", target, parent, index} and
// {action:"delete", target}. Below Schema.any() every change is accepted.
// A type outside this vocabulary is "unknown-change"; a change that
// does not fit the schema at path is "bad-change" (or the value
// error of what it writes).
func (s *Schema) ValidateChange(path Path, change any) error {
	if err := s.Err(); err != nil {
		return err
	}
	c, err := toModel(change)
	if err != nil {
		return &Error{Reason: reasonBadChange, Path: path.String(), Msg: "change is not a JSON value", Err: err}
	}
	obj, ok := model(c).(ObjectReader)
	if !ok {
		return &Error{Reason: reasonBadChange, Path: path.String(), Want: "a change object", Got: typeName(c)}
	}
	tv, _ := obj.Get("type")
	typ, ok := model(tv).(string)
	if !ok {
		return &Error{Reason: reasonBadChange, Path: path.String(), Msg: `change has no string "type"`}
	}
	if _, known := changeKinds[typ]; !known {
		return &Error{Reason: reasonUnknownChange, Path: path.String(), Msg: "unknown change type " + quote(typ)}
	}
	cands, err := resolve(s, path)
	if err != nil {
		return err
	}
	// Through a union, only the variants the change type applies to count
	// (the struct of a nullable struct, not its null).
	var applicable []*Schema
	for _, c := range expand(cands) {
		if applies(c, typ) {
			applicable = append(applicable, c)
		}
	}
	if len(applicable) == 0 {
		return &Error{Reason: reasonBadChange, Path: path.String(), Msg: quote(typ) + " change does not apply to " + describe(cands[0])}
	}
	var first error
	for _, c := range applicable {
		err := checkChange(c, path, typ, obj)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// changeKinds maps each change type to the kinds it applies to.
var changeKinds = map[string][]Kind{
	"replace":   nil, // any kind
	"map":       {KindStruct, KindRecord},
	"sequence":  {KindList, KindMovableList},
	"text":      {KindText},
	"richtext":  {KindRichText},
	"increment": {KindCounter},
	"set-op":    {KindSet},
	"tree":      {KindTree},
}

// expand replaces unions by their variants, recursively.
func expand(cands []*Schema) []*Schema {
	var out []*Schema
	for _, c := range cands {
		if c.kind == KindUnion || c.kind == KindDiscriminatedUnion {
			out = append(out, expand(c.variants)...)
			continue
		}
		out = append(out, c)
	}
	return out
}

// resolve returns the schemas path may lead to (several through unions).
func resolve(s *Schema, path Path) ([]*Schema, error) {
	cands := []*Schema{s}
	for i, seg := range path {
		var next []*Schema
		var why string
		for _, c := range expand(cands) {
			n, reason := step(c, seg)
			if n != nil {
				next = append(next, n)
			} else if why == "" {
				why = reason
			}
		}
		if len(next) == 0 {
			return nil, &Error{Reason: reasonBadPath, Path: path[:i+1].String(), Msg: why}
		}
		cands = next
	}
	return cands, nil
}

// step follows one path segment from a non-union schema.
func step(s *Schema, seg any) (*Schema, string) {
	key, isKey := seg.(string)
	idx, isIdx := seg.(int)
	if !isKey && !isIdx {
		return nil, "a path segment must be a string or an int"
	}
	if isIdx {
		key = strconv.Itoa(idx)
	} else if n, ok := jsjson.ArrayIndex(key); ok {
		idx, isIdx = int(n), true
	}
	switch s.kind {
	case KindAny:
		return s, ""
	case KindStruct:
		if f, ok := s.Field(key); ok {
			return f, ""
		}
		return nil, "the schema has no field " + quote(key)
	case KindRecord:
		return s.item, ""
	case KindList, KindMovableList:
		if isIdx && idx >= 0 {
			return s.item, ""
		}
		return nil, "a list is indexed by a non-negative int"
	case KindTree:
		if isKey {
			return s.item, ""
		}
		return nil, "a tree node is addressed by its id"
	}
	return nil, "a " + string(s.kind) + " has no parts to address"
}

func checkChange(s *Schema, path Path, typ string, c ObjectReader) error {
	at := path.String()
	if s.kind == KindAny {
		return nil
	}
	if typ == "replace" {
		v, ok := c.Get("value")
		if !ok {
			return &Error{Reason: reasonBadChange, Path: at, Msg: `replace change has no "value"`}
		}
		return validateModel(s, v, path)
	}
	switch typ {
	case "map":
		return checkMap(s, path, c)
	case "sequence", "text", "richtext":
		return checkInstructions(s, path, typ, c)
	case "increment":
		a, _ := c.Get("amount")
		if _, ok := model(a).(float64); !ok {
			return &Error{Reason: reasonBadChange, Path: at, Want: "a number amount", Got: typeName(a)}
		}
		return nil
	case "set-op":
		for _, k := range []string{"add", "remove"} {
			v, ok := c.Get(k)
			if !ok {
				continue
			}
			items, ok := model(v).([]any)
			if !ok {
				return &Error{Reason: reasonBadChange, Path: at, Want: "an array of " + k + " members", Got: typeName(v)}
			}
			for i, it := range items {
				if err := validateModel(s.item, it, path.with(i)); err != nil {
					return err
				}
			}
		}
		return nil
	case "tree":
		return checkTreeChange(path, c)
	}
	return nil
}

// applies reports whether a change of type typ can target a node of s's
// kind (any kind for replace; everything below Schema.any()).
func applies(s *Schema, typ string) bool {
	if typ == "replace" || s.kind == KindAny {
		return true
	}
	for _, k := range changeKinds[typ] {
		if s.kind == k {
			return true
		}
	}
	return false
}

func checkMap(s *Schema, path Path, c ObjectReader) error {
	at := path.String()
	if v, ok := c.Get("set"); ok {
		set, ok := model(v).(ObjectReader)
		if !ok {
			return &Error{Reason: reasonBadChange, Path: at, Want: `an object "set"`, Got: typeName(v)}
		}
		var err error
		set.Range(func(k string, x any) bool {
			child := s.item
			if s.kind == KindStruct {
				f, ok := s.Field(k)
				if !ok {
					err = &Error{Reason: reasonUnknownField, Path: path.with(k).String(), Msg: "the schema has no such field"}
					return false
				}
				child = f
			}
			err = validate(child, x, path.with(k))
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	if v, ok := c.Get("delete"); ok {
		keys, ok := model(v).([]any)
		if !ok {
			return &Error{Reason: reasonBadChange, Path: at, Want: `an array "delete"`, Got: typeName(v)}
		}
		for _, k := range keys {
			name, ok := model(k).(string)
			if !ok {
				return &Error{Reason: reasonBadChange, Path: at, Want: "string keys to delete", Got: typeName(k)}
			}
			if s.kind != KindStruct {
				continue
			}
			f, ok := s.Field(name)
			if !ok {
				return &Error{Reason: reasonUnknownField, Path: path.with(name).String(), Msg: "the schema has no such field"}
			}
			if !acceptsUndefined(f) {
				return &Error{Reason: reasonBadChange, Path: path.with(name).String(), Msg: "cannot delete a field of type " + describe(f)}
			}
		}
	}
	return nil
}

// count reads a non-negative integer instruction operand.
func count(v any) bool {
	f, ok := model(v).(float64)
	return ok && f >= 0 && f == math.Trunc(f) && !math.IsInf(f, 0)
}

func checkInstructions(s *Schema, path Path, typ string, c ObjectReader) error {
	at := path.String()
	v, _ := c.Get("instructions")
	ins, ok := model(v).([]any)
	if !ok {
		return &Error{Reason: reasonBadChange, Path: at, Want: "an instructions array", Got: typeName(v)}
	}
	cursor := 0
	for n, x := range ins {
		op, ok := model(x).(ObjectReader)
		if !ok {
			return &Error{Reason: reasonBadChange, Path: at, Msg: "instruction " + strconv.Itoa(n) + " is not an object"}
		}
		bad := func(msg string) error {
			return &Error{Reason: reasonBadChange, Path: at, Msg: "instruction " + strconv.Itoa(n) + ": " + msg}
		}
		var keys []string
		op.Range(func(k string, _ any) bool { keys = append(keys, k); return true })
		switch {
		case has(op, "retain"):
			r, _ := op.Get("retain")
			if !count(r) {
				return bad("retain must be a non-negative integer")
			}
			cursor += int(model(r).(float64))
		case has(op, "delete"):
			d, _ := op.Get("delete")
			if !count(d) {
				return bad("delete must be a non-negative integer")
			}
		case has(op, "insert"):
			x, _ := op.Get("insert")
			if typ == "sequence" {
				items, ok := model(x).([]any)
				if !ok {
					return bad("insert must be an array of items")
				}
				for i, it := range items {
					if err := validateModel(s.item, it, path.with(cursor+i)); err != nil {
						return err
					}
				}
				cursor += len(items)
				continue
			}
			if _, ok := model(x).(string); !ok {
				return bad("insert must be a string")
			}
			if err := checkMarks(s, op, path, n); err != nil {
				return err
			}
		case has(op, "format") && typ == "richtext":
			f, _ := op.Get("format")
			if !count(f) {
				return bad("format must be a non-negative integer")
			}
			if err := checkMarks(s, op, path, n); err != nil {
				return err
			}
		default:
			return bad("want one of retain, insert, delete" + map[bool]string{true: ", format"}[typ == "richtext"] + "; got keys " + strings.Join(keys, ","))
		}
	}
	return nil
}

func has(o ObjectReader, k string) bool { _, ok := o.Get(k); return ok }

// checkMarks checks the marks of a rich-text insert or format.
func checkMarks(s *Schema, op ObjectReader, path Path, n int) error {
	m, ok := op.Get("marks")
	if !ok {
		return nil
	}
	marks, ok := model(m).(ObjectReader)
	if !ok {
		return &Error{Reason: reasonBadChange, Path: path.String(), Msg: "instruction " + strconv.Itoa(n) + ": marks must be an object"}
	}
	return checkMarkNames(s, marks, path)
}

func checkMarkNames(s *Schema, marks ObjectReader, path Path) error {
	var err error
	marks.Range(func(k string, _ any) bool {
		for _, m := range s.marks {
			if m.Name == k {
				return true
			}
		}
		err = &Error{Reason: reasonUnknownField, Path: path.String(), Msg: "mark " + quote(k) + " is not declared"}
		return false
	})
	return err
}

func checkTreeChange(path Path, c ObjectReader) error {
	at := path.String()
	v, _ := c.Get("instructions")
	ins, ok := model(v).([]any)
	if !ok {
		return &Error{Reason: reasonBadChange, Path: at, Want: "an instructions array", Got: typeName(v)}
	}
	for n, x := range ins {
		bad := func(msg string) error {
			return &Error{Reason: reasonBadChange, Path: at, Msg: "tree instruction " + strconv.Itoa(n) + ": " + msg}
		}
		op, ok := model(x).(ObjectReader)
		if !ok {
			return bad("not an object")
		}
		a, _ := op.Get("action")
		t, _ := op.Get("target")
		if _, ok := model(t).(string); !ok {
			return bad("target must be a string node id")
		}
		switch a {
		case "delete":
		case "create", "move":
			p, _ := op.Get("parent")
			if _, ok := model(p).(string); !ok && p != nil {
				return bad("parent must be a node id or null")
			}
			i, _ := op.Get("index")
			if !count(i) {
				return bad("index must be a non-negative integer")
			}
		default:
			return bad(`action must be "create", "move" or "delete"`)
		}
	}
	return nil
}

// model converts one value to the value model (see toModel), leaving it as
// it is when it cannot be converted: the type checks then reject it.
func model(v any) any {
	m, err := toModel(v)
	if err != nil {
		return v
	}
	return m
}

// validate converts v to the value model, then checks it.
func validate(s *Schema, v any, path Path) error {
	m, err := toModel(v)
	if err != nil {
		return &Error{Reason: reasonTypeMismatch, Path: path.String(), Msg: "value is not JSON", Err: err}
	}
	return validateModel(s, m, path)
}

// toModel converts a Go value to the JSON value model, leaving model
// values (and ObjectReaders) as they are: their children are converted
// when the walk reaches them.
func toModel(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, float64, string, []byte, UndefinedValue, []any, ObjectReader:
		return v, nil
	case map[string]any:
		return mapObject(v), nil
	case json.RawMessage:
		return parseModel(v)
	}
	if f, ok := number(v); ok {
		return f, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return parseModel(b)
}

// parseModel parses JSON text into the value model, objects as Object.
func parseModel(b []byte) (any, error) {
	return jsjson.Parse(b, &jsjson.Options{Object: func(keys []string, values []any) any {
		o := make(Object, len(keys))
		for i := range keys {
			o[i] = Member{keys[i], values[i]}
		}
		return o
	}})
}

func validateModel(s *Schema, v any, path Path) error {
	v, err := toModel(v)
	if err != nil {
		return &Error{Reason: reasonTypeMismatch, Path: path.String(), Msg: "value is not JSON", Err: err}
	}
	mismatch := func() error {
		return &Error{Reason: reasonTypeMismatch, Path: path.String(), Want: describe(s), Got: typeName(v)}
	}
	switch s.kind {
	case KindAny:
		return nil
	case KindString, KindNumber, KindBoolean, KindNull, KindUndefined, KindBytes:
		if typeName(v) != string(s.kind) {
			return mismatch()
		}
		if len(s.options) > 0 && !isOption(s, v) {
			got, _ := AppendJSON(nil, v)
			return &Error{Reason: reasonNotAllowed, Path: path.String(), Want: describe(s), Got: string(got)}
		}
		return nil
	case KindText:
		if _, ok := v.(string); !ok {
			return mismatch()
		}
		return nil
	case KindCounter:
		if _, ok := v.(float64); !ok {
			return mismatch()
		}
		return nil
	case KindStruct:
		obj, ok := model(v).(ObjectReader)
		if !ok {
			return mismatch()
		}
		for _, i := range s.order {
			f := s.fields[i]
			x, ok := obj.Get(f.Name)
			if !ok {
				if acceptsUndefined(f.Schema) {
					continue
				}
				return &Error{Reason: reasonMissingField, Path: path.with(f.Name).String(), Want: describe(f.Schema), Got: "missing"}
			}
			if err := validateModel(f.Schema, x, path.with(f.Name)); err != nil {
				return err
			}
		}
		var err error
		obj.Range(func(k string, _ any) bool {
			if _, ok := s.Field(k); !ok {
				err = &Error{Reason: reasonUnknownField, Path: path.with(k).String(), Msg: "the schema has no such field"}
			}
			return err == nil
		})
		return err
	case KindRecord:
		obj, ok := model(v).(ObjectReader)
		if !ok {
			return mismatch()
		}
		var err error
		obj.Range(func(k string, x any) bool {
			err = validateModel(s.item, x, path.with(k))
			return err == nil
		})
		return err
	case KindList, KindMovableList, KindSet:
		arr, ok := model(v).([]any)
		if !ok {
			return mismatch()
		}
		for i, x := range arr {
			if err := validateModel(s.item, x, path.with(i)); err != nil {
				return err
			}
		}
		if s.kind == KindSet {
			for i := range arr {
				for j := i + 1; j < len(arr); j++ {
					if sameValue(arr[i], arr[j]) {
						return &Error{Reason: reasonDuplicate, Path: path.String(), Msg: "set members [" + strconv.Itoa(i) + "] and [" + strconv.Itoa(j) + "] are equal"}
					}
				}
			}
		}
		return nil
	case KindUnion:
		var errs []error
		for _, variant := range s.variants {
			err := validateModel(variant, v, path)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		}
		if s.IsNullable() && v != nil {
			return errs[1] // the more useful message: what is wrong with the non-null value
		}
		return &Error{Reason: reasonNoVariant, Path: path.String(), Want: describe(s), Got: typeName(v)}
	case KindDiscriminatedUnion:
		obj, ok := model(v).(ObjectReader)
		if !ok {
			return mismatch()
		}
		t, present := obj.Get(s.disc)
		tag, ok := model(t).(string)
		if !ok {
			got := typeName(t)
			if !present {
				got = "missing"
			}
			return &Error{Reason: reasonTypeMismatch, Path: path.with(s.disc).String(), Want: "string (discriminant)", Got: got}
		}
		for _, variant := range s.variants {
			if tagOf(s, variant) == tag {
				return validateModel(variant, v, path)
			}
		}
		return &Error{Reason: reasonUnknownVariant, Path: path.with(s.disc).String(), Want: describeTags(s), Got: quote(tag)}
	case KindTree:
		return validateTree(s, v, path)
	case KindRichText:
		arr, ok := model(v).([]any)
		if !ok {
			return mismatch()
		}
		for i, x := range arr {
			span, ok := model(x).(ObjectReader)
			if ok {
				text, _ := span.Get("text")
				_, ok = model(text).(string)
			}
			if !ok {
				return &Error{Reason: reasonTypeMismatch, Path: path.with(i).String(), Want: "a span {text: string, marks?: object}", Got: typeName(x)}
			}
			if m, ok := span.Get("marks"); ok {
				marks, ok := model(m).(ObjectReader)
				if !ok {
					return &Error{Reason: reasonTypeMismatch, Path: path.with(i).with("marks").String(), Want: "object", Got: typeName(m)}
				}
				if err := checkMarkNames(s, marks, path.with(i).with("marks")); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return mismatch()
}

// validateTree checks a flat forest: [{id, parent, index, data}, ...].
func validateTree(s *Schema, v any, path Path) error {
	arr, ok := model(v).([]any)
	if !ok {
		return &Error{Reason: reasonTypeMismatch, Path: path.String(), Want: describe(s), Got: typeName(v)}
	}
	parents := make(map[string]any, len(arr))
	ids := make([]string, len(arr))
	for i, x := range arr {
		at := path.with(i)
		n, ok := model(x).(ObjectReader)
		if !ok {
			return &Error{Reason: reasonTypeMismatch, Path: at.String(), Want: "a tree node {id, parent, index, data}", Got: typeName(x)}
		}
		id, _ := n.Get("id")
		parent, _ := n.Get("parent")
		index, _ := n.Get("index")
		sid, ok := model(id).(string)
		if !ok {
			return &Error{Reason: reasonTypeMismatch, Path: at.with("id").String(), Want: "string", Got: typeName(id)}
		}
		parent = model(parent)
		if _, ok := parent.(string); !ok && parent != nil {
			return &Error{Reason: reasonTypeMismatch, Path: at.with("parent").String(), Want: "string or null", Got: typeName(parent)}
		}
		if f, ok := model(index).(float64); !ok || f < 0 {
			return &Error{Reason: reasonInvalidTree, Path: at.with("index").String(), Want: "a non-negative number", Got: typeName(index)}
		}
		if _, dup := parents[sid]; dup {
			return &Error{Reason: reasonInvalidTree, Path: at.with("id").String(), Msg: "duplicate node id " + quote(sid)}
		}
		var err error
		n.Range(func(k string, _ any) bool {
			if k != "id" && k != "parent" && k != "index" && k != "data" {
				err = &Error{Reason: reasonUnknownField, Path: at.with(k).String(), Msg: "a tree node has only id, parent, index and data"}
			}
			return err == nil
		})
		if err != nil {
			return err
		}
		data, ok := n.Get("data")
		if !ok {
			data = UndefinedValue{}
		}
		if err := validateModel(s.item, data, at.with("data")); err != nil {
			return err
		}
		parents[sid] = parent
		ids[i] = sid
	}
	for i, id := range ids {
		p := parents[id]
		for steps := 0; p != nil; steps++ {
			ps := p.(string)
			next, ok := parents[ps]
			switch {
			case !ok:
				return &Error{Reason: reasonInvalidTree, Path: path.with(i).with("parent").String(), Msg: "parent " + quote(ps) + " does not exist"}
			case ps == id || steps > len(ids):
				return &Error{Reason: reasonInvalidTree, Path: path.with(i).String(), Msg: "node " + quote(id) + " is in a parent cycle"}
			}
			p = next
		}
	}
	return nil
}

// acceptsUndefined reports whether an absent value fits s.
func acceptsUndefined(s *Schema) bool {
	switch s.kind {
	case KindUndefined, KindAny:
		return true
	case KindUnion:
		for _, v := range s.variants {
			if acceptsUndefined(v) {
				return true
			}
		}
	}
	return false
}

// acceptsNull reports whether null fits s.
func acceptsNull(s *Schema) bool {
	switch s.kind {
	case KindNull, KindAny:
		return len(s.options) == 0
	case KindUnion:
		for _, v := range s.variants {
			if acceptsNull(v) {
				return true
			}
		}
	}
	return false
}

func isOption(s *Schema, v any) bool {
	for _, o := range s.options {
		// Array.prototype.includes: SameValueZero (NaN equals NaN, -0 equals 0).
		if o == v {
			return true
		}
		if f, ok := o.(float64); ok && math.IsNaN(f) {
			if g, ok := v.(float64); ok && math.IsNaN(g) {
				return true
			}
		}
	}
	return false
}

// typeName names a model value's type for "got ...".
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case UndefinedValue:
		return "undefined"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []byte:
		return "bytes"
	case []any:
		return "array"
	case ObjectReader, map[string]any:
		return "object"
	}
	if _, ok := number(v); ok {
		return "number"
	}
	return "object"
}

// describe says what a schema expects, for "want ...".
func describe(s *Schema) string {
	if len(s.options) > 0 {
		parts := make([]string, len(s.options))
		for i, o := range s.options {
			parts[i] = string(appendOption(nil, o))
		}
		if len(parts) == 1 {
			return parts[0]
		}
		return "one of " + strings.Join(parts, " | ")
	}
	switch s.kind {
	case KindText:
		return "string (text)"
	case KindCounter:
		return "number (counter)"
	case KindStruct, KindRecord:
		return "object"
	case KindDiscriminatedUnion:
		return "object with " + quote(s.disc) + " " + describeTags(s)
	case KindList, KindMovableList, KindSet:
		return "array"
	case KindTree:
		return "array of tree nodes"
	case KindRichText:
		return "array of rich-text spans"
	case KindUnion:
		if s.IsNullable() {
			return describe(s.variants[1]) + " or null"
		}
		parts := make([]string, len(s.variants))
		for i, v := range s.variants {
			parts[i] = describe(v)
		}
		return "one of " + strings.Join(parts, " | ")
	}
	return string(s.kind)
}

func describeTags(s *Schema) string {
	parts := make([]string, len(s.variants))
	for i, v := range s.variants {
		parts[i] = quote(tagOf(s, v))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "one of " + strings.Join(parts, " | ")
}

// sameValue is the reference's set-member equality: structural equality
// of JSON values (object key order does not matter).
func sameValue(a, b any) bool {
	a, _ = toModel(a)
	b, _ = toModel(b)
	switch x := a.(type) {
	case []any:
		y, ok := model(b).([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case ObjectReader:
		y, ok := model(b).(ObjectReader)
		if !ok {
			return false
		}
		nx, ny := 0, 0
		eq := true
		x.Range(func(k string, v any) bool {
			nx++
			w, ok := y.Get(k)
			eq = ok && sameValue(v, w)
			return eq
		})
		y.Range(func(string, any) bool { ny++; return true })
		return eq && nx == ny
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	}
	return a == b
}
