package replica

import (
	"strconv"
)

// SegmentKind is the role of a path segment.
type SegmentKind uint8

// Path segment roles, as in the reference's serialized paths.
const (
	// SegField addresses a fixed field of a record ({"type":"field"}).
	SegField SegmentKind = iota + 1
	// SegEntry addresses a key of a map, or a node id of a tree
	// ({"type":"entry"}).
	SegEntry
	// SegIndex addresses a position in a list ({"type":"index"}).
	SegIndex
)

// Segment is one step of a path.
type Segment struct {
	Kind  SegmentKind
	Key   string // SegField, SegEntry
	Index int    // SegIndex
}

// Field returns a field segment.
func Field(name string) Segment { return Segment{Kind: SegField, Key: name} }

// Entry returns a map-entry segment.
func Entry(key string) Segment { return Segment{Kind: SegEntry, Key: key} }

// Index returns a list-index segment.
func Index(i int) Segment { return Segment{Kind: SegIndex, Index: i} }

// key is the property name the segment reads in a JavaScript object.
func (s Segment) key() string {
	if s.Kind == SegIndex {
		return strconv.Itoa(s.Index)
	}
	return s.Key
}

// String renders the segment for messages.
func (s Segment) String() string {
	if s.Kind == SegIndex {
		return "[" + strconv.Itoa(s.Index) + "]"
	}
	return s.Key
}

// Path addresses a value inside a document; the empty path is the root.
type Path []Segment

// String renders the path like "todos[2].done" ("root" when empty).
func (p Path) String() string {
	if len(p) == 0 {
		return "root"
	}
	s := ""
	for _, seg := range p {
		if seg.Kind == SegIndex {
			s += seg.String()
			continue
		}
		if s != "" {
			s += "."
		}
		s += seg.Key
	}
	return s
}

// Op is one change applied at one path.
type Op struct {
	Path   Path
	Change Change
}

// ChangeSet is what a replica reports after each version step: the ops
// applied and whether they came from elsewhere (Remote: a merge or reset,
// never to be pushed back — the echo guard is this structural flag, never
// a label).
type ChangeSet struct {
	Ops    []Op
	Remote bool
}

// Document is a replica the exchange interprets: it can author local
// transactions, expose its materialized state and report applied changes.
// Plain, LWW and state replicas implement it.
type Document interface {
	Replica
	// Apply commits a local transaction: one call is one version step (no
	// step at all when ops is empty). Invalid or unknown changes reject the
	// whole transaction and leave the replica untouched.
	Apply(ops []Op) error
	// JSON returns the materialized state as JSON text (JSON.stringify
	// compatible).
	JSON() ([]byte, error)
	// Value returns a deep copy of the materialized state in the value
	// model (an *Object at the root).
	Value() (any, error)
	// SetDefaults sets structural defaults (a JSON object; nil clears):
	// top-level keys the state lacks are filled locally without a version
	// step; defaults are never versioned or synced.
	SetDefaults(v any) error
	// SetChangeHook installs f to be called synchronously after every
	// version step (local Apply, Merge, ResetFromEntirety); nil removes it.
	// f must not call back into the replica.
	SetChangeHook(f func(ChangeSet))
}

// DocumentFactory is implemented by factories that can create interpreted
// documents. A document is strict: a merged change it cannot materialize
// is rejected with reason "unknown-change" instead of being kept for
// forwarding, as headless replicas from CreateEmpty do.
type DocumentFactory interface {
	Factory
	CreateDocument() Document
}

// Change is one change of the reference's change vocabulary ("replace",
// "map", "sequence", "text", "increment", "set-op", "tree", "richtext", or
// a third-party type). It keeps the JSON object it was built from so it
// re-encodes byte for byte. The zero Change is invalid.
type Change struct {
	d *changeData
}

// changeData is immutable once built: the change is decoded eagerly so a
// Change can be shared between goroutines (hooks, subscribers) freely.
type changeData struct {
	obj *Object
	typ string
	dec stepper // decoded form
	err error   // decoding error (unknown or invalid change)
}

// NewChange wraps a change object. It must have a string "type"; the rest
// is only checked when the change is materialized. The object is cloned.
func NewChange(obj *Object) (Change, error) {
	if obj == nil {
		return Change{}, newError(reasonMalformed, "change is not an object", nil)
	}
	return newChange(obj.Clone())
}

// parseChange parses a change from JSON.
func parseChange(data []byte) (Change, error) {
	v, err := ParseValue(data)
	if err != nil {
		return Change{}, err
	}
	obj, ok := v.(*Object)
	if !ok {
		return Change{}, newError(reasonMalformed, "change is not an object", nil)
	}
	return newChange(obj)
}

func newChange(obj *Object) (Change, error) {
	t, _ := obj.Get("type")
	ts, ok := t.(string)
	if !ok {
		return Change{}, newError(reasonMalformed, "change has no string type", nil)
	}
	return wrapChange(obj, ts), nil
}

func wrapChange(obj *Object, typ string) Change {
	dec, err := decodeChange(typ, obj)
	return Change{d: &changeData{obj: obj, typ: typ, dec: dec, err: err}}
}

// Type returns the change's type discriminant ("" for the zero Change).
func (c Change) Type() string {
	if c.d == nil {
		return ""
	}
	return c.d.typ
}

// Object returns a copy of the change's JSON object.
func (c Change) Object() *Object {
	if c.d == nil {
		return nil
	}
	return c.d.obj.Clone()
}

// MarshalJSON encodes the change as the reference does.
func (c Change) MarshalJSON() ([]byte, error) {
	if c.d == nil {
		return []byte("null"), nil
	}
	return appendValue(nil, c.d.obj), nil
}

// Validate reports whether the change can be materialized: nil, or an
// error with reason "unknown-change" or reason "invalid-change".
func (c Change) Validate() error {
	_, err := c.stepper()
	return err
}

func (c Change) stepper() (stepper, error) {
	if c.d == nil {
		return nil, newError(reasonInvalidChange, "zero Change", nil)
	}
	return c.d.dec, c.d.err
}

// mustChange wraps an object built by the constructors below, which always
// put a string "type" first.
func mustChange(obj *Object) Change {
	t, _ := obj.Get("type")
	ts, _ := t.(string)
	return wrapChange(obj, ts)
}

func obj2(k1 string, v1 any, k2 string, v2 any) *Object {
	o := newObject(2)
	o.Set(k1, v1)
	o.Set(k2, v2)
	return o
}
