package schema

import (
	"strconv"
)

// Binding names one of the reference's binding targets: which substrate
// holds the document and how it syncs. The binding never changes the
// hash; it decides which schemas are accepted and, for bytes on
// [BindingState], the zero.
type Binding string

// The reference's five binding targets.
const (
	// BindingJSON is json.bind: the authoritative plain JSON document.
	// It accepts every schema.
	BindingJSON Binding = "json"
	// BindingEphemeral is ephemeral.bind: a whole-document LWW register
	// (presence). LWW laws only: scalars, structs, records, unions and
	// .json() boundaries; .decay() is allowed.
	BindingEphemeral Binding = "ephemeral"
	// BindingState is state.bind: field-level LWW. Same schemas as
	// BindingEphemeral.
	BindingState Binding = "state"
	// BindingLoro is loro.bind: a Loro CRDT document. Everything but sets.
	BindingLoro Binding = "loro"
	// BindingYjs is yjs.bind: a Yjs document. No counters, sets, trees or
	// movable lists.
	BindingYjs Binding = "yjs"
)

// bindings returns every binding, in the order of the constants.
func bindings() []Binding {
	return []Binding{BindingJSON, BindingEphemeral, BindingState, BindingLoro, BindingYjs}
}

func (b Binding) valid() bool {
	switch b {
	case BindingJSON, BindingEphemeral, BindingState, BindingLoro, BindingYjs:
		return true
	}
	return false
}

// ParseBinding returns the binding called name ("json", "ephemeral",
// "state", "loro", "yjs").
func ParseBinding(name string) (Binding, error) {
	b := Binding(name)
	if !b.valid() {
		return "", &Error{Reason: reasonBindingRejects, Msg: "unknown binding " + quote(name) + " (want json, ephemeral, state, loro or yjs)"}
	}
	return b, nil
}

// law is a composition law: how concurrent operations on a node compose.
// A binding supports a fixed set of laws; a schema needs the laws of all
// its nodes (a .json() boundary needs only lww, whatever is below it).
type law uint16

const (
	lawLWW law = 1 << iota
	lawAdditive
	lawPositional
	lawPositionalMove
	lawLWWPerKey
	lawAddWinsPerKey
	lawTreeMove
	lawLWWTagReplaced
)

var lawNames = map[law]string{
	lawLWW: "lww", lawAdditive: "additive", lawPositional: "positional-ot",
	lawPositionalMove: "positional-ot-move", lawLWWPerKey: "lww-per-key",
	lawAddWinsPerKey: "add-wins-per-key", lawTreeMove: "tree-move", lawLWWTagReplaced: "lww-tag-replaced",
}

func (b Binding) laws() law {
	const all = ^law(0)
	switch b {
	case BindingEphemeral, BindingState:
		return lawLWW | lawLWWPerKey | lawLWWTagReplaced
	case BindingLoro:
		return all &^ lawAddWinsPerKey
	case BindingYjs:
		return lawLWW | lawPositional | lawLWWPerKey | lawLWWTagReplaced
	}
	return all
}

// ownLaw is the law a node adds by itself.
func ownLaw(s *Schema) law {
	if s.json {
		return lawLWW
	}
	switch s.kind {
	case KindStruct, KindRecord:
		return lawLWWPerKey
	case KindList, KindText, KindRichText:
		return lawPositional
	case KindMovableList:
		return lawPositionalMove
	case KindCounter:
		return lawAdditive
	case KindSet:
		return lawAddWinsPerKey
	case KindTree:
		return lawTreeMove
	case KindUnion, KindDiscriminatedUnion:
		return lawLWWTagReplaced
	}
	return lawLWW
}

// children returns a node's child schemas with the path step to each.
func children(s *Schema) ([]*Schema, []string) {
	switch s.kind {
	case KindStruct:
		cs, ps := make([]*Schema, len(s.fields)), make([]string, len(s.fields))
		for i, f := range s.fields {
			cs[i], ps[i] = f.Schema, fieldPath("", f.Name)
		}
		return cs, ps
	case KindList, KindSet, KindTree, KindMovableList:
		return []*Schema{s.item}, []string{"[]"}
	case KindRecord:
		return []*Schema{s.item}, []string{"{}"}
	case KindUnion, KindDiscriminatedUnion:
		ps := make([]string, len(s.variants))
		for i := range s.variants {
			ps[i] = "<" + strconv.Itoa(i) + ">"
		}
		return s.variants, ps
	}
	return nil, nil
}

// Check reports whether binding b accepts s as a document's root schema,
// the checks the reference makes (at compile time or in bind()):
//
//   - s is valid ([Schema.Err]) and a struct
//   - every union has a variant
//   - every variant of a union and everything below a .json() boundary
//     is plain: no text, counter, set, tree, movable list or rich text
//   - every composition law s needs is one b supports (see [Binding])
//   - .decay() appears only on ephemeral and state
//
// Errors are *Error with the reason "binding-rejects" (or "invalid-schema")
// whose Path locates the node.
func (s *Schema) Check(b Binding) error {
	if err := s.Err(); err != nil {
		return err
	}
	if !b.valid() {
		return &Error{Reason: reasonBindingRejects, Msg: "unknown binding " + quote(string(b))}
	}
	if s.kind != KindStruct {
		return &Error{Reason: reasonBindingRejects, Path: "$", Msg: "the root of a document must be a struct, got " + string(s.kind)}
	}
	return check(s, b, "$", false)
}

func check(s *Schema, b Binding, path string, mustBePlain bool) error {
	reject := func(msg string) error {
		return &Error{Reason: reasonBindingRejects, Path: path, Msg: msg}
	}
	if mustBePlain && !plainKind(s.kind) {
		return reject(string(s.kind) + " cannot appear inside a union or a .json() boundary")
	}
	if s.hasDecay && b != BindingEphemeral && b != BindingState {
		return reject("the " + string(b) + " binding does not support .decay() (ephemeral and state do)")
	}
	if l := ownLaw(s); l&b.laws() == 0 {
		return reject("the " + string(b) + " binding does not support " + string(s.kind) + " (composition law " + lawNames[l] + ")")
	}
	if (s.kind == KindUnion || s.kind == KindDiscriminatedUnion) && len(s.variants) == 0 {
		return &Error{Reason: reasonInvalidSchema, Path: path, Msg: "a union needs at least one variant"}
	}
	// Below a .json() boundary everything is one LWW value: the laws of
	// the children do not count, but they must be plain.
	plain := mustBePlain || s.json || s.kind == KindUnion || s.kind == KindDiscriminatedUnion
	cs, ps := children(s)
	for i, c := range cs {
		var err error
		if s.json {
			err = checkPlain(c, b, path+ps[i])
		} else {
			err = check(c, b, path+ps[i], plain)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkPlain checks a subtree below a .json() boundary: plain kinds only
// and no decay outside ephemeral/state; composition laws do not apply.
func checkPlain(s *Schema, b Binding, path string) error {
	if !plainKind(s.kind) {
		return &Error{Reason: reasonBindingRejects, Path: path, Msg: string(s.kind) + " cannot appear inside a union or a .json() boundary"}
	}
	if s.hasDecay && b != BindingEphemeral && b != BindingState {
		return &Error{Reason: reasonBindingRejects, Path: path, Msg: "the " + string(b) + " binding does not support .decay() (ephemeral and state do)"}
	}
	if (s.kind == KindUnion || s.kind == KindDiscriminatedUnion) && len(s.variants) == 0 {
		return &Error{Reason: reasonInvalidSchema, Path: path, Msg: "a union needs at least one variant"}
	}
	cs, ps := children(s)
	for i, c := range cs {
		if err := checkPlain(c, b, path+ps[i]); err != nil {
			return err
		}
	}
	return nil
}

// Bound is a root schema bound to a binding: TypeScript's BoundSchema,
// what a typed document is declared with. It is immutable and safe for
// concurrent use.
type Bound struct {
	schema    *Schema
	binding   Binding
	hash      string
	canonical string
	zeroJSON  []byte
}

// Bind checks that b accepts root ([Schema.Check]) and computes its hash
// and zero once.
func Bind(b Binding, root *Schema) (*Bound, error) {
	if err := root.Check(b); err != nil {
		return nil, err
	}
	c, err := root.Canonical()
	if err != nil {
		return nil, err
	}
	h, err := root.Hash()
	if err != nil {
		return nil, err
	}
	zj, err := root.ZeroJSON(b)
	if err != nil {
		return nil, err
	}
	return &Bound{schema: root, binding: b, hash: h, canonical: c, zeroJSON: zj}, nil
}

// Schema returns the root schema.
func (d *Bound) Schema() *Schema { return d.schema }

// Binding returns the binding.
func (d *Bound) Binding() Binding { return d.binding }

// Hash returns the schema hash, as the reference's bound.schemaHash.
func (d *Bound) Hash() string { return d.hash }

// SupportedHashes returns the hashes this document syncs with. Without
// migration chains (which this package does not model) that is just Hash.
func (d *Bound) SupportedHashes() []string { return []string{d.hash} }

// Canonical returns the text the hash is computed over.
func (d *Bound) Canonical() string { return d.canonical }

// Zero returns the fresh document's state (see [Schema.Zero]).
func (d *Bound) Zero() any {
	z, _ := d.schema.Zero(d.binding) // cannot fail: Bind computed it
	return z
}

// ZeroJSON returns the fresh document's state as the JSON text a
// TypeScript reader prints. The slice is a copy.
func (d *Bound) ZeroJSON() []byte { return append([]byte(nil), d.zeroJSON...) }
