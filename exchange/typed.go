package exchange

import (
	"encoding/json"
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/schema"
)

// TypeOf returns the document type of a schema bound to a binding: its
// hash is the one the TypeScript stack computes for the same schema (so
// typed TS documents sync with it, no pasted hash), readers see the
// schema's zero values for fields nobody wrote (as TS readers do), and
// every transaction is validated against the schema before it is applied
// (a *kyneta.Error with reason "invalid-change" wrapping the *schema.Error that names
// the path). Bindings: schema.BindingJSON (JSONDoc), BindingEphemeral
// (EphemeralDoc) and BindingState (StateDoc).
func TypeOf(b *schema.Bound) (DocType, error) {
	var t DocType
	switch b.Binding() {
	case schema.BindingJSON:
		t = JSONDoc(b.Hash())
	case schema.BindingEphemeral:
		t = EphemeralDoc(b.Hash())
	case schema.BindingState:
		t = StateDoc(b.Hash())
	default:
		return DocType{}, newError(reasonInvalidDocType, "", fmt.Sprintf("binding %q has no Go replica (loro and yjs documents are relayed opaquely)", b.Binding()), nil)
	}
	t.Name = string(b.Binding()) + ":" + b.Hash()
	t.Schema = b
	if b.Binding() != schema.BindingState {
		// State replicas export their defaults with the tree; a peer with
		// other defaults would never look synced.
		t.Defaults = json.RawMessage(b.ZeroJSON())
	}
	return t, nil
}

// Typed is a document bound to the Go type T: the schema is derived from T
// (schema.For: json tags, `kyneta` tags), and the value is read into and
// written from T.
type Typed[T any] struct {
	*Doc
	bound *schema.Bound
}

// Bind gets docID as a document of Go type T, with binding b.
func Bind[T any](ex *Exchange, docID string, b schema.Binding) (*Typed[T], error) {
	s, err := schema.For[T]()
	if err != nil {
		return nil, newError(reasonInvalidDocType, docID, "schema of the Go type", err)
	}
	bound, err := schema.Bind(b, s)
	if err != nil {
		return nil, newError(reasonInvalidDocType, docID, "binding", err)
	}
	t, err := TypeOf(bound)
	if err != nil {
		return nil, err
	}
	d, err := ex.Get(docID, t)
	if err != nil {
		return nil, err
	}
	return &Typed[T]{Doc: d, bound: bound}, nil
}

// Schema returns the bound schema.
func (t *Typed[T]) Schema() *schema.Bound { return t.bound }

// Value decodes the document into a T.
func (t *Typed[T]) Value() (T, error) {
	var v T
	err := t.Decode(&v)
	return v, err
}

// Set writes v as the document's value: fields v leaves out (omitempty,
// nil slices) get their zero, the result is validated against the schema,
// and every top-level field is written in one transaction.
func (t *Typed[T]) Set(v T) error {
	complete, err := t.bound.Schema().Complete(v)
	if err != nil {
		return newError(reasonInvalidChange, t.ID(), "", err)
	}
	raw, err := json.Marshal(complete)
	if err != nil {
		return newError(reasonInvalidChange, t.ID(), "", err)
	}
	val, err := replica.ParseValue(raw)
	if err != nil {
		return newError(reasonInvalidChange, t.ID(), "", err)
	}
	obj, ok := val.(*replica.Object)
	if !ok {
		return newError(reasonInvalidChange, t.ID(), "a typed document's value must be an object", nil)
	}
	return t.Update(func(tx *Tx) error {
		obj.Range(func(k string, fv any) bool {
			tx.Set(P(k), fv)
			return true
		})
		return nil
	})
}

// Modify reads the value, lets fn change it and writes it back (Set).
func (t *Typed[T]) Modify(fn func(*T) error) error {
	v, err := t.Value()
	if err != nil {
		return err
	}
	if err := fn(&v); err != nil {
		return err
	}
	return t.Set(v)
}

// validateOps checks a transaction against a document's schema.
func validateOps(b *schema.Bound, ops []replica.Op) error {
	for _, op := range ops {
		path := make(schema.Path, 0, len(op.Path))
		for _, seg := range op.Path {
			if seg.Kind == replica.SegIndex {
				path = append(path, seg.Index)
			} else {
				path = append(path, seg.Key)
			}
		}
		if err := b.Schema().ValidateChange(path, op.Change.Object()); err != nil {
			return err
		}
	}
	return nil
}
