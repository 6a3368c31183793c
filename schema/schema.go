package schema

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// Kind names a schema node's constructor. The values are the "kind" strings
// of the neutral JSON form. Nullable is not a kind of its own: it is a
// [KindUnion] of null and the item, exactly as in the reference.
type Kind string

// Schema kinds.
const (
	KindString             Kind = "string"
	KindNumber             Kind = "number"
	KindBoolean            Kind = "boolean"
	KindNull               Kind = "null"
	KindUndefined          Kind = "undefined"
	KindBytes              Kind = "bytes"
	KindAny                Kind = "any"
	KindText               Kind = "text"
	KindCounter            Kind = "counter"
	KindStruct             Kind = "struct"
	KindList               Kind = "list"
	KindRecord             Kind = "record"
	KindUnion              Kind = "union"
	KindDiscriminatedUnion Kind = "discriminatedUnion"
	KindSet                Kind = "set"
	KindTree               Kind = "tree"
	KindMovableList        Kind = "movableList"
	KindRichText           Kind = "richText"
)

// maxDepth is the deepest schema nesting accepted: the root is at depth 0
// and no node may sit deeper than maxDepth. The reference refuses to hash
// deeper schemas, so such a schema could never sync with it.
const maxDepth = 1000

// Expand says how a rich-text mark grows when text is inserted at its
// edge.
type Expand string

// Mark expand behaviours.
const (
	ExpandBefore Expand = "before"
	ExpandAfter  Expand = "after"
	ExpandNone   Expand = "none"
	ExpandBoth   Expand = "both"
)

// Mark declares one rich-text mark.
type Mark struct {
	Name   string
	Expand Expand
}

// Field is one named field of a struct schema.
type Field struct {
	Name   string
	Schema *Schema
}

// F is shorthand for Field{Name: name, Schema: s}.
func F(name string, s *Schema) Field { return Field{Name: name, Schema: s} }

// Schema is an immutable schema node. Build one with the constructors of
// this package or with [ParseJSON]; the zero Schema is not valid.
//
// Constructors never panic. A construction mistake (a nil child, a
// discriminated union whose variants lack the tag, a duplicate field
// name, nesting deeper than 1000 levels) is kept in the node, reported by
// [Schema.Err], and makes every schema built on top of it invalid too, so
// the error surfaces once at Hash or Bind time.
type Schema struct {
	kind     Kind
	options  []any // string, float64 or bool, by kind; nil: unconstrained
	fields   []Field
	order    []int // fields in JavaScript property order
	item     *Schema
	variants []*Schema
	disc     string
	marks    []Mark
	json     bool
	decayMs  float64
	hasDecay bool
	height   int // nodes on the longest path down from here, this one included
	err      error
}

// Err reports why the schema is invalid, or nil. The error is an *Error
// with "invalid-schema".
func (s *Schema) Err() error {
	if s == nil {
		return invalid("", "nil schema")
	}
	if s.kind == "" {
		return invalid("", "zero Schema value; use a constructor")
	}
	return s.err
}

// Kind returns the node's kind.
func (s *Schema) Kind() Kind { return s.kind }

// Options returns the allowed values of a constrained string, number or
// boolean scalar in declared order (string, float64 or bool values), or
// nil when the scalar is unconstrained.
func (s *Schema) Options() []any { return append([]any(nil), s.options...) }

// Fields returns a struct's fields in declaration order.
func (s *Schema) Fields() []Field { return append([]Field(nil), s.fields...) }

// Field returns the struct field called name.
func (s *Schema) Field(name string) (*Schema, bool) {
	for _, f := range s.fields {
		if f.Name == name {
			return f.Schema, true
		}
	}
	return nil, false
}

// Item returns the element schema of a list, record, set, tree or movable
// list, and nil for other kinds.
func (s *Schema) Item() *Schema { return s.item }

// Variants returns a union's or discriminated union's variants in declared
// order.
func (s *Schema) Variants() []*Schema { return append([]*Schema(nil), s.variants...) }

// Discriminant returns a discriminated union's tag field name.
func (s *Schema) Discriminant() string { return s.disc }

// Marks returns a rich text's marks in declared order.
func (s *Schema) Marks() []Mark { return append([]Mark(nil), s.marks...) }

// IsJSON reports whether the node is a .json() merge boundary (see
// [StructJSON], [ListJSON], [RecordJSON]).
func (s *Schema) IsJSON() bool { return s.json }

// DecayMs returns the node's .decay() period in milliseconds, if it has one.
func (s *Schema) DecayMs() (float64, bool) { return s.decayMs, s.hasDecay }

// IsNullable reports whether s is the nullable pattern: a union of exactly
// null and one other schema, in that order, as [Schema.Nullable] builds it.
func (s *Schema) IsNullable() bool {
	return s.kind == KindUnion && len(s.variants) == 2 && s.variants[0].kind == KindNull &&
		len(s.variants[0].options) == 0 && !s.variants[0].hasDecay
}

// node finishes a schema node: it takes over the first error of its
// children (with the path rebased onto this node) and checks the depth.
func node(s *Schema) *Schema {
	h := 0
	cs, steps := children(s)
	for i, c := range cs {
		if err := c.Err(); err != nil {
			if s.err == nil {
				s.err = rebase(err, "$"+steps[i])
			}
			continue
		}
		h = max(h, c.height)
	}
	s.height = h + 1
	if s.err == nil && s.height > maxDepth+1 {
		s.err = invalid("", "schema nesting exceeds "+strconv.Itoa(maxDepth)+" levels")
	}
	return s
}

// rebase puts an error of a child schema under the child's path.
func rebase(err error, prefix string) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	c := *e
	c.Path = prefix + strings.TrimPrefix(e.Path, "$")
	return &c
}

// String is Schema.string(): a string scalar, constrained to options when
// any are given. The first option is the zero value.
func String(options ...string) *Schema {
	s := &Schema{kind: KindString}
	for _, o := range options {
		s.options = append(s.options, o)
	}
	return node(s)
}

// Number is Schema.number(): a number scalar (a float64), constrained to
// options when any are given. The first option is the zero value.
//
// Options must be finite: NaN and ±Inf have no JSON spelling, so the
// neutral form could not carry them.
func Number(options ...float64) *Schema {
	s := &Schema{kind: KindNumber}
	for i, o := range options {
		if (math.IsNaN(o) || math.IsInf(o, 0)) && s.err == nil {
			s.err = invalid("", "number option "+strconv.Itoa(i)+" is not finite")
		}
		s.options = append(s.options, o)
	}
	return node(s)
}

// Boolean is Schema.boolean(), constrained to options when any are given.
func Boolean(options ...bool) *Schema {
	s := &Schema{kind: KindBoolean}
	for _, o := range options {
		s.options = append(s.options, o)
	}
	return node(s)
}

// Null is Schema.null().
func Null() *Schema { return node(&Schema{kind: KindNull}) }

// Undefined is Schema.undefined(): the value is absent.
func Undefined() *Schema { return node(&Schema{kind: KindUndefined}) }

// Bytes is Schema.bytes(): binary data ([]byte in Go).
func Bytes() *Schema { return node(&Schema{kind: KindBytes}) }

// Any is Schema.any(): any value at all.
func Any() *Schema { return node(&Schema{kind: KindAny}) }

// Text is Schema.text(): collaborative text, a string edited by position.
func Text() *Schema { return node(&Schema{kind: KindText}) }

// Counter is Schema.counter(): a number changed by increments.
func Counter() *Schema { return node(&Schema{kind: KindCounter}) }

// Struct is Schema.struct(): an object with fixed fields. Field names must
// be distinct. Declaration order does not change the hash except between
// names that collate as equal (see [Schema.Hash]).
func Struct(fields ...Field) *Schema { return structOf(false, fields) }

// StructJSON is Schema.struct.json(): a struct that is a merge boundary,
// written and merged as one JSON value.
func StructJSON(fields ...Field) *Schema { return structOf(true, fields) }

func structOf(json bool, fields []Field) *Schema {
	s := &Schema{kind: KindStruct, json: json, fields: append([]Field(nil), fields...)}
	names := make([]string, len(fields))
	seen := make(map[string]bool, len(fields))
	for i, f := range fields {
		names[i] = f.Name
		if seen[f.Name] && s.err == nil {
			s.err = invalid(fieldPath("$", f.Name), "duplicate field name")
		}
		seen[f.Name] = true
	}
	s.order = propertyOrder(names)
	return node(s)
}

// propertyOrder returns the indexes of names in JavaScript property order:
// array-index names ("0", "17", not "017") ascending, then the others in
// declaration order. That is the order a JavaScript object built from the
// fields enumerates them in.
func propertyOrder(names []string) []int {
	order := make([]int, 0, len(names))
	var idx []int
	for i, n := range names {
		if _, ok := jsjson.ArrayIndex(n); ok {
			idx = append(idx, i)
		}
	}
	// Insertion sort: index names are rare and few.
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0; j-- {
			a, _ := jsjson.ArrayIndex(names[idx[j-1]])
			b, _ := jsjson.ArrayIndex(names[idx[j]])
			if a <= b {
				break
			}
			idx[j-1], idx[j] = idx[j], idx[j-1]
		}
	}
	order = append(order, idx...)
	for i, n := range names {
		if _, ok := jsjson.ArrayIndex(n); !ok {
			order = append(order, i)
		}
	}
	return order
}

func container(k Kind, json bool, item *Schema) *Schema {
	return node(&Schema{kind: k, json: json, item: item})
}

// List is Schema.list(): an ordered list edited by position.
func List(item *Schema) *Schema { return container(KindList, false, item) }

// ListJSON is Schema.list.json(): a list that is a merge boundary.
func ListJSON(item *Schema) *Schema { return container(KindList, true, item) }

// Record is Schema.record(): an object with arbitrary string keys.
func Record(item *Schema) *Schema { return container(KindRecord, false, item) }

// RecordJSON is Schema.record.json(): a record that is a merge boundary.
func RecordJSON(item *Schema) *Schema { return container(KindRecord, true, item) }

// Set is Schema.set(): an unordered collection of distinct values.
func Set(item *Schema) *Schema { return container(KindSet, false, item) }

// Tree is Schema.tree(): a forest of nodes carrying item values.
func Tree(item *Schema) *Schema { return container(KindTree, false, item) }

// MovableList is Schema.movableList(): a list whose items can be moved.
func MovableList(item *Schema) *Schema { return container(KindMovableList, false, item) }

// Union is Schema.union(): a value matching one of the variants, tried in
// order. The zero value is the first variant's; variant order changes the
// hash.
func Union(variants ...*Schema) *Schema {
	return node(&Schema{kind: KindUnion, variants: append([]*Schema(nil), variants...)})
}

// Nullable is s.nullable(): exactly Union(Null(), s).
func (s *Schema) Nullable() *Schema { return Union(Null(), s) }

// DiscriminatedUnion is Schema.discriminatedUnion(discriminant, variants):
// each variant is a struct whose discriminant field is a constrained
// string; the field's first option is the variant's tag, and tags must be
// distinct. Variant order does not change the hash.
func DiscriminatedUnion(discriminant string, variants ...*Schema) *Schema {
	s := &Schema{kind: KindDiscriminatedUnion, disc: discriminant, variants: append([]*Schema(nil), variants...)}
	tags := make(map[string]int, len(variants))
	for i, v := range variants {
		if s.err != nil {
			break
		}
		at := "$<" + strconv.Itoa(i) + ">"
		switch {
		case v.Err() != nil:
			// taken over by node
		case v.kind != KindStruct:
			s.err = invalid(at, "discriminated union variant must be a struct, got "+string(v.kind))
		default:
			f, ok := v.Field(discriminant)
			switch {
			case !ok:
				s.err = invalid(at, "variant lacks the discriminant field "+quote(discriminant))
			case f.kind != KindString || len(f.options) == 0:
				s.err = invalid(fieldPath(at, discriminant), "discriminant field must be a constrained string")
			default:
				tag := f.options[0].(string)
				if j, dup := tags[tag]; dup {
					s.err = invalid(fieldPath(at, discriminant), "tag "+quote(tag)+" is also the tag of variant "+strconv.Itoa(j))
				}
				tags[tag] = i
			}
		}
	}
	return node(s)
}

// RichText is Schema.richText(marks): collaborative text with formatting
// marks. Mark names must be distinct and Expand one of the four values.
func RichText(marks ...Mark) *Schema {
	s := &Schema{kind: KindRichText, marks: append([]Mark(nil), marks...)}
	seen := make(map[string]bool, len(marks))
	for _, m := range marks {
		switch {
		case s.err != nil:
		case seen[m.Name]:
			s.err = invalid("", "duplicate mark "+quote(m.Name))
		case m.Expand != ExpandBefore && m.Expand != ExpandAfter && m.Expand != ExpandNone && m.Expand != ExpandBoth:
			s.err = invalid("", "mark "+quote(m.Name)+": expand must be before, after, none or both, got "+quote(string(m.Expand)))
		}
		seen[m.Name] = true
	}
	return node(s)
}

// Decay is .decay(ms): on the ephemeral and state bindings the field
// reverts to its zero when no write was seen for d. It does not change the
// hash, and other bindings refuse a schema that has it. Only plain nodes
// (scalars, structs, lists, records, unions) can decay.
func (s *Schema) Decay(d time.Duration) *Schema {
	return s.decay(float64(d) / float64(time.Millisecond))
}

func (s *Schema) decay(ms float64) *Schema {
	if s.Err() != nil {
		return s
	}
	c := *s
	c.decayMs, c.hasDecay = ms, true
	switch {
	case !plainKind(s.kind):
		c.err = invalid("", "decay applies only to plain schemas, not "+string(s.kind))
	case math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0:
		c.err = invalid("", "decay must be a finite, non-negative duration")
	}
	return &c
}

// plainKind reports whether a node of kind k may be plain (it still
// depends on its children).
func plainKind(k Kind) bool {
	switch k {
	case KindText, KindCounter, KindSet, KindTree, KindMovableList, KindRichText:
		return false
	}
	return true
}

func quote(s string) string { return string(jsjson.AppendString(nil, s)) }
