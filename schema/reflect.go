package schema

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Provider is implemented by Go types that declare their own schema;
// [FromType] uses it instead of deriving one. It is the way to give a Go
// type a kind reflection cannot guess (a discriminated union, rich text,
// a tree).
type Provider interface {
	KynetaSchema() *Schema
}

// For derives the schema of T; see [FromType].
func For[T any]() (*Schema, error) { return FromType(reflect.TypeFor[T]()) }

var (
	providerType      = reflect.TypeFor[Provider]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	numberType        = reflect.TypeFor[json.Number]()
)

// FromType derives a schema from a Go type, following what encoding/json
// writes for its values, so that a document written from the type
// validates against the schema and a TypeScript app declaring the same
// shape gets the same hash:
//
//	Go type                                schema
//	bool                                   Boolean()
//	ints, uints, floats, json.Number       Number()
//	string                                 String()
//	[]byte                                 String() (encoding/json writes base64)
//	slices and arrays                      List(elem)
//	map with string or integer keys        Record(elem)
//	struct                                 Struct(fields)
//	pointer                                elem.Nullable()
//	interface, json.RawMessage             Any()
//	encoding.TextMarshaler (time.Time)     String()
//	other json.Marshaler                   Any()
//	a type implementing Provider           its KynetaSchema()
//
// Struct fields follow encoding/json: the json tag names a field ("-"
// drops it, ",string" makes it String()), unexported fields are left out,
// and the fields of embedded structs are promoted with encoding/json's
// rules for conflicting names. Fields appear in declaration order.
// omitempty and omitzero do not change the schema: a key missing from a
// written value is a "missing-field" error for Validate, so write such
// fields or fill them first.
//
// A kyneta tag picks a schema reflection cannot infer; its directives are
// comma-separated:
//
//	kyneta:"text"             a string field as Text()
//	kyneta:"counter"          a number field as Counter()
//	kyneta:"any"              Any()
//	kyneta:"bytes"            Bytes() (values must be []byte in the value model)
//	kyneta:"json"             a struct, slice or map as a .json() boundary
//	kyneta:"set"              a slice as Set(elem)
//	kyneta:"movable"          a slice as MovableList(elem)
//	kyneta:"options=a|b|c"    a constrained string, number or boolean
//
// For a pointer field the directives apply to the pointed-to type, and
// the result stays nullable.
//
// Recursive types, channels, functions and complex numbers are
// "unsupported-type" errors; the error's Path names the field.
func FromType(t reflect.Type) (*Schema, error) {
	if t == nil {
		return nil, &Error{Reason: reasonUnsupportedType, Path: "$", Msg: "nil type"}
	}
	d := deriver{active: map[reflect.Type]bool{}}
	s, err := d.derive(t, "$", "")
	if err != nil {
		return nil, err
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

type deriver struct {
	active map[reflect.Type]bool // struct types being derived: a cycle
}

func unsupported(path string, t reflect.Type, why string) error {
	return &Error{Reason: reasonUnsupportedType, Path: path, Msg: t.String() + ": " + why}
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(iface)
}

// derive returns the schema of t; tag holds the kyneta directives of the
// field being derived.
func (d *deriver) derive(t reflect.Type, path, tag string) (*Schema, error) {
	if t.Kind() == reflect.Pointer {
		inner, err := d.derive(t.Elem(), path, tag)
		if err != nil {
			return nil, err
		}
		return inner.Nullable(), nil
	}
	dirs, err := parseDirectives(tag, path)
	if err != nil {
		return nil, err
	}
	s, err := d.base(t, path, dirs)
	if err != nil {
		return nil, err
	}
	return applyDirectives(s, t, path, dirs)
}

// base derives t's schema before the kyneta directives other than the
// ones that replace it outright (any, bytes, set, movable).
func (d *deriver) base(t reflect.Type, path string, dirs directives) (*Schema, error) {
	switch {
	case dirs.any:
		return Any(), nil
	case dirs.bytes:
		return Bytes(), nil
	case implements(t, providerType):
		// *T has the methods of T too, and a pointer to a zero T is safe to
		// call either kind of receiver on.
		s := reflect.New(t).Interface().(Provider).KynetaSchema()
		if err := s.Err(); err != nil {
			return nil, rebase(err, path)
		}
		return s, nil
	case t == rawMessageType:
		return Any(), nil
	case t == numberType:
		return Number(), nil
	case implements(t, textMarshalerType):
		return String(), nil
	case implements(t, jsonMarshalerType):
		return Any(), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return Boolean(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return Number(), nil
	case reflect.String:
		return String(), nil
	case reflect.Interface:
		return Any(), nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 &&
			!implements(t.Elem(), jsonMarshalerType) && !implements(t.Elem(), textMarshalerType) {
			return String(), nil // base64, as encoding/json writes []byte
		}
		elem, err := d.derive(t.Elem(), path+"[]", "")
		if err != nil {
			return nil, err
		}
		switch {
		case dirs.set:
			return Set(elem), nil
		case dirs.movable:
			return MovableList(elem), nil
		}
		return List(elem), nil
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		default:
			if !implements(t.Key(), textMarshalerType) {
				return nil, unsupported(path, t, "map keys must be strings, integers or encoding.TextMarshaler")
			}
		}
		elem, err := d.derive(t.Elem(), path+"{}", "")
		if err != nil {
			return nil, err
		}
		return Record(elem), nil
	case reflect.Struct:
		return d.structOf(t, path)
	}
	return nil, unsupported(path, t, "has no JSON form")
}

func (d *deriver) structOf(t reflect.Type, path string) (*Schema, error) {
	if d.active[t] {
		return nil, unsupported(path, t, "recursive types have no schema; use Tree, Any or a Provider")
	}
	d.active[t] = true
	defer delete(d.active, t)
	var fields []Field
	for _, f := range jsonFields(t) {
		at := fieldPath(path, f.name)
		ft := f.typ
		tag := f.sf.Tag.Get("kyneta")
		var s *Schema
		var err error
		if f.quoted && isQuotable(ft) {
			s, err = applyDirectivesTo(String(), ft, at, tag)
		} else {
			s, err = d.derive(ft, at, tag)
		}
		if err != nil {
			return nil, err
		}
		fields = append(fields, F(f.name, s))
	}
	return Struct(fields...), nil
}

func applyDirectivesTo(s *Schema, t reflect.Type, path, tag string) (*Schema, error) {
	dirs, err := parseDirectives(tag, path)
	if err != nil {
		return nil, err
	}
	return applyDirectives(s, t, path, dirs)
}

// isQuotable reports whether encoding/json's ",string" option applies.
func isQuotable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

type directives struct {
	text, counter, any, bytes, json, set, movable bool
	options                                       []string
	hasOptions                                    bool
}

func parseDirectives(tag, path string) (directives, error) {
	var d directives
	if tag == "" {
		return d, nil
	}
	for _, part := range strings.Split(tag, ",") {
		switch part = strings.TrimSpace(part); {
		case part == "text":
			d.text = true
		case part == "counter":
			d.counter = true
		case part == "any":
			d.any = true
		case part == "bytes":
			d.bytes = true
		case part == "json":
			d.json = true
		case part == "set":
			d.set = true
		case part == "movable":
			d.movable = true
		case strings.HasPrefix(part, "options="):
			d.options = strings.Split(strings.TrimPrefix(part, "options="), "|")
			d.hasOptions = true
		default:
			return d, &Error{Reason: reasonUnsupportedType, Path: path, Msg: "unknown kyneta tag directive " + quote(part)}
		}
	}
	return d, nil
}

// applyDirectives turns the derived schema into the one the directives
// ask for, refusing directives that do not fit the type.
func applyDirectives(s *Schema, t reflect.Type, path string, d directives) (*Schema, error) {
	bad := func(what string) error {
		return &Error{Reason: reasonUnsupportedType, Path: path, Msg: "kyneta:\"" + what + "\" does not apply to " + t.String() + " (" + string(s.kind) + ")"}
	}
	switch {
	case d.text:
		if s.kind != KindString || len(s.options) > 0 {
			return nil, bad("text")
		}
		s = Text()
	case d.counter:
		if s.kind != KindNumber {
			return nil, bad("counter")
		}
		s = Counter()
	case (d.set || d.movable) && s.kind != KindSet && s.kind != KindMovableList:
		return nil, bad(map[bool]string{true: "set", false: "movable"}[d.set])
	}
	if d.hasOptions {
		var err error
		if s, err = withOptions(s, d.options); err != nil {
			return nil, &Error{Reason: reasonUnsupportedType, Path: path, Msg: err.Error()}
		}
	}
	if d.json {
		switch s.kind {
		case KindStruct:
			s = StructJSON(s.fields...)
		case KindList:
			s = ListJSON(s.item)
		case KindRecord:
			s = RecordJSON(s.item)
		default:
			return nil, bad("json")
		}
	}
	return s, nil
}

func withOptions(s *Schema, opts []string) (*Schema, error) {
	switch s.kind {
	case KindString:
		return String(opts...), nil
	case KindNumber:
		fs := make([]float64, len(opts))
		for i, o := range opts {
			f, err := strconv.ParseFloat(o, 64)
			if err != nil {
				return nil, &Error{Reason: reasonUnsupportedType, Msg: "option " + quote(o) + " is not a number"}
			}
			fs[i] = f
		}
		return Number(fs...), nil
	case KindBoolean:
		bs := make([]bool, len(opts))
		for i, o := range opts {
			b, err := strconv.ParseBool(o)
			if err != nil {
				return nil, &Error{Reason: reasonUnsupportedType, Msg: "option " + quote(o) + " is not a boolean"}
			}
			bs[i] = b
		}
		return Boolean(bs...), nil
	}
	return nil, &Error{Reason: reasonUnsupportedType, Msg: "options apply only to strings, numbers and booleans, not " + string(s.kind)}
}

// jsonField is one field encoding/json writes for a struct type.
type jsonField struct {
	name   string
	tagged bool
	quoted bool
	index  []int
	typ    reflect.Type
	sf     reflect.StructField
}

// jsonFields lists the fields encoding/json writes for struct type t, in
// its order, with its rules for embedded structs: promoted fields, the
// shallowest name wins, a tagged name wins over untagged ones at the same
// depth, and otherwise a conflict drops the name.
func jsonFields(t reflect.Type) []jsonField {
	type embedded struct {
		typ   reflect.Type
		index []int
	}
	var all []jsonField
	visited := map[reflect.Type]bool{}
	for next := []embedded{{typ: t}}; len(next) > 0; {
		current := next
		next = nil
		for _, e := range current {
			if visited[e.typ] {
				continue
			}
			visited[e.typ] = true
			for i := 0; i < e.typ.NumField(); i++ {
				sf := e.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(append([]int(nil), e.index...), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, embedded{typ: ft, index: index})
					continue
				}
				f := jsonField{name: name, tagged: name != "", index: index, typ: sf.Type, sf: sf}
				if name == "" {
					f.name = sf.Name
				}
				for _, o := range strings.Split(opts, ",") {
					f.quoted = f.quoted || o == "string"
				}
				all = append(all, f)
			}
		}
	}
	// Resolve conflicts per name.
	byName := map[string][]jsonField{}
	for _, f := range all {
		byName[f.name] = append(byName[f.name], f)
	}
	var out []jsonField
	for _, fs := range byName {
		depth := len(fs[0].index)
		for _, f := range fs {
			depth = min(depth, len(f.index))
		}
		var top, tagged []jsonField
		for _, f := range fs {
			if len(f.index) == depth {
				top = append(top, f)
				if f.tagged {
					tagged = append(tagged, f)
				}
			}
		}
		switch {
		case len(top) == 1:
			out = append(out, top[0])
		case len(tagged) == 1:
			out = append(out, tagged[0])
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].index, out[j].index
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	return out
}
