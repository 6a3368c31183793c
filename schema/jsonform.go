package schema

import (
	"math"
	"strconv"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// maxJSONDepth bounds the JSON nesting of a neutral form: a struct level
// costs three JSON levels (node object, fields array, [name, node] pair),
// so maxDepth schema levels fit.
const maxJSONDepth = 3*(maxDepth+1) + 4

// ParseJSON reads a schema in the neutral JSON form of the reference's
// schema vectors:
//
//	{"kind":"struct","fields":[["title",{"kind":"string"}],["tags",{"kind":"list","item":{"kind":"string"}}]]}
//
// Kinds: string, number, boolean (each with optional "options"), null,
// undefined, bytes, any, text, counter, struct ("fields": ordered
// [name, node] pairs), list, record ("item"; "json":true for the .json()
// boundary, also on struct), union ("variants"), nullable ("item"),
// discriminatedUnion ("discriminant", "variants"), set, tree, movableList
// ("item"), richText ("marks": {"name":"before|after|none|both"}), and
// "decayMs" on any plain node. Unknown kinds and keys are errors. The
// input is read as JSON.parse reads it (a repeated key keeps its last
// value).
//
// Errors are *Error with the reason "syntax" or "invalid-schema"; Path
// locates the bad node inside the description, e.g. "$.fields[1][1].item".
func ParseJSON(data []byte) (*Schema, error) {
	v, err := jsjson.Parse(data, &jsjson.Options{MaxDepth: maxJSONDepth})
	if err != nil {
		return nil, &Error{Reason: reasonSyntax, Msg: "neutral schema form is not valid JSON", Err: err}
	}
	s, err := parseNode(v, "$", 0)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// UnmarshalJSON parses the neutral JSON form into s (see [ParseJSON]).
func (s *Schema) UnmarshalJSON(data []byte) error {
	p, err := ParseJSON(data)
	if err != nil {
		return err
	}
	*s = *p
	return nil
}

// keys lists the members a node of each kind may have besides "kind" and
// "decayMs".
var keys = map[Kind][]string{
	KindString:             {"options"},
	KindNumber:             {"options"},
	KindBoolean:            {"options"},
	KindNull:               nil,
	KindUndefined:          nil,
	KindBytes:              nil,
	KindAny:                nil,
	KindText:               nil,
	KindCounter:            nil,
	KindStruct:             {"fields", "json"},
	KindList:               {"item", "json"},
	KindRecord:             {"item", "json"},
	KindUnion:              {"variants"},
	"nullable":             {"item"},
	KindDiscriminatedUnion: {"discriminant", "variants"},
	KindSet:                {"item"},
	KindTree:               {"item"},
	KindMovableList:        {"item"},
	KindRichText:           {"marks"},
}

func parseNode(v any, path string, depth int) (*Schema, error) {
	if depth > maxDepth {
		return nil, invalid(path, "schema nesting exceeds "+strconv.Itoa(maxDepth)+" levels")
	}
	obj, ok := v.([]jsjson.Member)
	if !ok {
		return nil, invalid(path, "want a schema node object, got "+jsType(v))
	}
	m := make(map[string]any, len(obj))
	for _, e := range obj {
		m[e.Key] = e.Value
	}
	kv, ok := m["kind"].(string)
	if !ok {
		return nil, invalid(path, `node needs a string "kind"`)
	}
	kind := Kind(kv)
	allowed, ok := keys[kind]
	if !ok {
		return nil, invalid(path, "unknown kind "+quote(kv))
	}
	for _, e := range obj {
		if e.Key == "kind" || e.Key == "decayMs" || contains(allowed, e.Key) {
			continue
		}
		return nil, invalid(path, "unexpected key "+quote(e.Key)+" on a "+kv+" node")
	}
	s, err := parseKind(kind, m, path, depth)
	if err != nil {
		return nil, err
	}
	if d, ok := m["decayMs"]; ok {
		ms, ok := d.(float64)
		if !ok {
			return nil, invalid(fieldPath(path, "decayMs"), "want a number, got "+jsType(d))
		}
		// Applied last, as in the vectors: nullable + decayMs is X.nullable().decay(N).
		s = s.decay(ms)
	}
	if err := s.Err(); err != nil {
		// Errors of Go constructors are relative to the node ("$<1>.type").
		return nil, rebase(err, path)
	}
	return s, nil
}

func parseKind(kind Kind, m map[string]any, path string, depth int) (*Schema, error) {
	item := func() (*Schema, error) {
		v, ok := m["item"]
		if !ok {
			return nil, invalid(path, string(kind)+` node needs "item"`)
		}
		return parseNode(v, fieldPath(path, "item"), depth+1)
	}
	json := false
	if j, ok := m["json"]; ok {
		b, ok := j.(bool)
		if !ok {
			return nil, invalid(fieldPath(path, "json"), "want a boolean, got "+jsType(j))
		}
		json = b
	}
	switch kind {
	case KindString, KindNumber, KindBoolean:
		s := &Schema{kind: kind}
		if o, ok := m["options"]; ok {
			arr, ok := o.([]any)
			if !ok {
				return nil, invalid(fieldPath(path, "options"), "want an array, got "+jsType(o))
			}
			for i, x := range arr {
				if jsType(x) != string(kind) {
					return nil, invalid(indexPath(fieldPath(path, "options"), i), "want a "+string(kind)+" option, got "+jsType(x))
				}
				if f, ok := x.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
					return nil, invalid(indexPath(fieldPath(path, "options"), i), "number option is out of range")
				}
				s.options = append(s.options, x)
			}
		}
		return node(s), nil
	case KindNull, KindUndefined, KindBytes, KindAny, KindText, KindCounter:
		return node(&Schema{kind: kind}), nil
	case KindStruct:
		fv, ok := m["fields"]
		if !ok {
			return nil, invalid(path, `struct node needs "fields"`)
		}
		arr, ok := fv.([]any)
		if !ok {
			return nil, invalid(fieldPath(path, "fields"), "want an array of [name, node] pairs, got "+jsType(fv))
		}
		fields := make([]Field, len(arr))
		seen := make(map[string]bool, len(arr))
		for i, p := range arr {
			at := indexPath(fieldPath(path, "fields"), i)
			pair, ok := p.([]any)
			if !ok || len(pair) != 2 {
				return nil, invalid(at, "want a [name, node] pair")
			}
			name, ok := pair[0].(string)
			if !ok {
				return nil, invalid(indexPath(at, 0), "want a string field name, got "+jsType(pair[0]))
			}
			if seen[name] {
				return nil, invalid(indexPath(at, 0), "duplicate field name "+quote(name))
			}
			seen[name] = true
			f, err := parseNode(pair[1], indexPath(at, 1), depth+1)
			if err != nil {
				return nil, err
			}
			fields[i] = Field{Name: name, Schema: f}
		}
		return structOf(json, fields), nil
	case KindList, KindRecord:
		it, err := item()
		if err != nil {
			return nil, err
		}
		return container(kind, json, it), nil
	case KindSet, KindTree, KindMovableList:
		it, err := item()
		if err != nil {
			return nil, err
		}
		return container(kind, false, it), nil
	case "nullable":
		it, err := item()
		if err != nil {
			return nil, err
		}
		return it.Nullable(), nil
	case KindUnion, KindDiscriminatedUnion:
		vv, ok := m["variants"]
		if !ok {
			return nil, invalid(path, string(kind)+` node needs "variants"`)
		}
		arr, ok := vv.([]any)
		if !ok {
			return nil, invalid(fieldPath(path, "variants"), "want an array, got "+jsType(vv))
		}
		vs := make([]*Schema, len(arr))
		for i, x := range arr {
			v, err := parseNode(x, indexPath(fieldPath(path, "variants"), i), depth+1)
			if err != nil {
				return nil, err
			}
			vs[i] = v
		}
		if kind == KindUnion {
			return Union(vs...), nil
		}
		d, ok := m["discriminant"].(string)
		if !ok {
			return nil, invalid(path, `discriminatedUnion node needs a string "discriminant"`)
		}
		return DiscriminatedUnion(d, vs...), nil
	case KindRichText:
		mv, ok := m["marks"]
		if !ok {
			return nil, invalid(path, `richText node needs "marks"`)
		}
		obj, ok := mv.([]jsjson.Member)
		if !ok {
			return nil, invalid(fieldPath(path, "marks"), "want an object, got "+jsType(mv))
		}
		marks := make([]Mark, len(obj))
		for i, e := range obj {
			x, ok := e.Value.(string)
			if !ok {
				return nil, invalid(fieldPath(fieldPath(path, "marks"), e.Key), "want an expand string, got "+jsType(e.Value))
			}
			marks[i] = Mark{Name: e.Key, Expand: Expand(x)}
		}
		return RichText(marks...), nil
	}
	return nil, invalid(path, "unknown kind "+quote(string(kind)))
}

// jsType names a parsed JSON value's type as JavaScript's typeof would,
// with "null" and "array" told apart.
func jsType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MarshalJSON writes s in the neutral JSON form that [ParseJSON] reads.
// A union of null and one schema is written as "nullable". It fails for
// an invalid schema.
func (s *Schema) MarshalJSON() ([]byte, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	return appendForm(nil, s), nil
}

func appendForm(b []byte, s *Schema) []byte {
	kind := s.kind
	if s.IsNullable() {
		kind = "nullable"
	}
	b = append(b, `{"kind":`...)
	b = jsjson.AppendString(b, string(kind))
	switch {
	case kind == "nullable":
		b = append(b, `,"item":`...)
		b = appendForm(b, s.variants[1])
	case len(s.options) > 0:
		b = append(b, `,"options":[`...)
		for i, o := range s.options {
			if i > 0 {
				b = append(b, ',')
			}
			if f, ok := o.(float64); ok && f == 0 && math.Signbit(f) {
				b = append(b, "-0"...) // keep -0 as the vectors write it
				continue
			}
			b = appendOption(b, o)
		}
		b = append(b, ']')
	case kind == KindStruct:
		b = append(b, `,"fields":[`...)
		for i, f := range s.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = jsjson.AppendString(b, f.Name)
			b = append(b, ',')
			b = appendForm(b, f.Schema)
			b = append(b, ']')
		}
		b = append(b, ']')
	case s.item != nil:
		b = append(b, `,"item":`...)
		b = appendForm(b, s.item)
	case kind == KindUnion || kind == KindDiscriminatedUnion:
		if kind == KindDiscriminatedUnion {
			b = append(b, `,"discriminant":`...)
			b = jsjson.AppendString(b, s.disc)
		}
		b = append(b, `,"variants":[`...)
		for i, v := range s.variants {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendForm(b, v)
		}
		b = append(b, ']')
	case kind == KindRichText:
		b = append(b, `,"marks":{`...)
		for i, m := range s.marks {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsjson.AppendString(b, m.Name)
			b = append(b, ':')
			b = jsjson.AppendString(b, string(m.Expand))
		}
		b = append(b, '}')
	}
	if s.json {
		b = append(b, `,"json":true`...)
	}
	if s.hasDecay {
		b = append(b, `,"decayMs":`...)
		b = jsjson.AppendNumber(b, s.decayMs)
	}
	return append(b, '}')
}
