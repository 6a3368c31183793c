package replica

import (
	"math"
	"time"

	"github.com/kyneta-go/kyneta/wire"
)

// StateOptions configure the state factory.
type StateOptions struct {
	// Now is the clock leaf timestamps and versions come from; nil means
	// time.Now.
	Now func() time.Time
}

// StateFactory builds state replicas: field-level last-writer-wins trees,
// replica type ("state", 1, 0), bound to EPHEMERAL.
type stateFactory struct {
	now func() time.Time
}

// NewStateFactory returns a state factory.
func NewStateFactory(opts StateOptions) DocumentFactory { return newStateFactory(opts) }

func newStateFactory(opts StateOptions) *stateFactory {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &stateFactory{now: now}
}

// Type returns ("state", 1, 0).
func (f *stateFactory) Type() wire.ReplicaType { return StateType }

// CreateEmpty returns an empty state replica at version 0.
func (f *stateFactory) CreateEmpty() Replica { return f.newState() }

// CreateDocument returns an empty state replica for an interpreted
// document.
func (f *stateFactory) CreateDocument() Document { return f.newState() }

func (f *stateFactory) newState() *stateReplica {
	return &stateReplica{tree: &Object{}, now: f.now}
}

// FromEntirety returns a replica that merged p.
func (f *stateFactory) FromEntirety(p Payload) (Replica, error) {
	s := f.newState()
	if err := s.Merge(p); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseVersion parses decimal milliseconds.
func (f *stateFactory) ParseVersion(s string) (Version, error) {
	v, err := parseStateVersion(s)
	if err != nil {
		return nil, err
	}
	return v, nil
}

var (
	_ StampedMerger   = (*stateReplica)(nil)
	_ Document        = (*stateReplica)(nil)
	_ DocumentFactory = (*stateFactory)(nil)
	_ DocumentFactory = (*lwwFactory)(nil)
)

// State is the field-level LWW replica (a state-based CRDT). Its tree
// mirrors the document, except that every scalar leaf (and every list) is a
// [value, timestampMs] pair. Merging takes the union of keys and, per leaf,
// the higher timestamp (ties broken by value), so concurrent writes to
// different fields all survive. The entirety payload is the tree; there
// are no deltas (ExportSince always reports ok=false).
type stateReplica struct {
	tree *Object
	now  func() time.Time
	ver  StateVersion
	hook func(ChangeSet)
}

// isTuple recognizes a leaf: a two-element list whose second element is a
// number.
func isTuple(v any) ([]any, bool) {
	a, ok := v.([]any)
	if !ok || len(a) != 2 {
		return nil, false
	}
	_, ok = a[1].(float64)
	return a, ok
}

// validTree checks that every node is a container or a leaf.
func validTree(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	if _, ok := isTuple(v); ok {
		return true
	}
	o, ok := v.(*Object)
	if !ok {
		return false
	}
	valid := true
	o.Range(func(_ string, c any) bool {
		valid = validTree(c, depth+1)
		return valid
	})
	return valid
}

// mergeTree joins remote into local (in place) and returns the result and
// whether local changed. It is a join: commutative, associative and
// idempotent, so every peer that merged the same writes holds the same
// tree whatever the order. Per leaf the higher timestamp wins; equal
// timestamps are broken by the encoded value (the reference let the
// incoming side win, so two peers with different values at one timestamp
// swapped them forever). A leaf against a container: the newer side (the
// container's newest leaf) wins, the container on a tie.
func mergeTree(local, remote any) (any, bool) {
	lt, lok := isTuple(local)
	rt, rok := isTuple(remote)
	switch {
	case lok && rok:
		ls, rs := lt[1].(float64), rt[1].(float64)
		if rs > ls || (rs == ls && string(encodeValue(rt[0])) > string(encodeValue(lt[0]))) {
			lt[0] = cloneValue(rt[0])
			lt[1] = rt[1]
			return lt, true
		}
		return lt, false
	case lok:
		if newest(remote) >= lt[1].(float64) {
			return cloneValue(remote), true
		}
		return local, false
	case rok:
		if rt[1].(float64) > newest(local) {
			return cloneValue(remote), true
		}
		return local, false
	}
	lo, ro := local.(*Object), remote.(*Object)
	changed := false
	ro.Range(func(k string, rv any) bool {
		if lv, ok := lo.Get(k); ok {
			v, c := mergeTree(lv, rv)
			if c {
				lo.Set(k, v)
				changed = true
			}
		} else {
			lo.Set(k, cloneValue(rv))
			changed = true
		}
		return true
	})
	return lo, changed
}

// newest is the highest leaf timestamp in a tree (-1 for an empty one).
func newest(v any) float64 {
	if t, ok := isTuple(v); ok {
		return t[1].(float64)
	}
	best := -1.0
	if o, ok := v.(*Object); ok {
		o.Range(func(_ string, c any) bool {
			best = max(best, newest(c))
			return true
		})
	}
	return best
}

// plainOf strips timestamps: the document as users see it.
func plainOf(tree *Object) *Object {
	out := newObject(tree.Len())
	tree.Range(func(k string, v any) bool {
		if t, ok := isTuple(v); ok {
			out.Set(k, cloneValue(t[0]))
		} else if o, ok := v.(*Object); ok {
			out.Set(k, plainOf(o))
		}
		return true
	})
	return out
}

// stamp turns a plain value into a tree node: objects become containers,
// anything else a leaf.
func stamp(v any, ts float64) any {
	if o, ok := v.(*Object); ok {
		c := newObject(o.Len())
		o.Range(func(k string, cv any) bool {
			c.Set(k, stamp(cv, ts))
			return true
		})
		return c
	}
	return []any{cloneValue(v), ts}
}

// Version returns the time of the last flush or merge.
func (s *stateReplica) Version() Version { return s.ver }

// BaseVersion equals Version: there is no history.
func (s *stateReplica) BaseVersion() Version { return s.ver }

// Advance has nothing to trim; it accepts any StateVersion and changes
// nothing.
func (s *stateReplica) Advance(to Version) error {
	if _, ok := to.(StateVersion); !ok {
		return mismatch("StateVersion", to)
	}
	return nil
}

// ExportEntirety returns the tree, with the genesis lineage as the
// reference sends it.
func (s *stateReplica) ExportEntirety() (Payload, error) {
	return Payload{Kind: "entirety", Encoding: "json", Data: appendValue(nil, s.tree), Lineage: Genesis}, nil
}

// SetUnion reports true: merging is a join, so an offer is merged even
// when its version looks equal to ours (versions are merge times and two
// peers can reach one with different fields).
func (s *stateReplica) SetUnion() bool { return true }

// ExportSince reports ok=false: state documents only travel as entireties.
func (s *stateReplica) ExportSince(Version) (Payload, bool, error) { return Payload{}, false, nil }

// tick moves the version for a merge (to now) or a local write, and
// returns the timestamp a local write stamps its leaves with: now, or one
// past the current version when the clock is not ahead of it. The version
// of a local write is that stamp plus half a millisecond: the reference
// moves a state document's version to the whole millisecond of every merge
// and drops an offer whose version equals its own, so a write made in the
// very millisecond in which the reference merged something else was lost
// (1 in 8 runs of a put that followed a watch). Half milliseconds never
// equal a version the reference makes.
func (s *stateReplica) tick(local bool) float64 {
	ms := float64(s.now().UnixMilli())
	if !local {
		s.ver = StateVersion{ms: ms}
		return ms
	}
	ms = max(ms, math.Floor(s.ver.ms)+1)
	s.ver = StateVersion{ms: ms + 0.5}
	return ms
}

// Merge joins an entirety tree field by field and stamps the version with
// the local clock. Since payloads carry nothing for a state replica and are
// ignored, as in the reference.
func (s *stateReplica) Merge(p Payload) error { return s.merge(p, -1) }

// MergeStamped joins like Merge, but the version travels with the data: a
// merge that changed something moves the version to the offer's stamp, or
// one past the current version if that is not below it. Replaying a stored
// stream therefore lands on the stored versions, and a merge that changed
// nothing leaves the version alone (so it is not pushed on).
func (s *stateReplica) MergeStamped(p Payload, stamp, _ string) error {
	ms := -1.0
	if v, err := parseStateVersion(stamp); err == nil {
		ms = v.ms
	}
	return s.merge(p, ms)
}

func (s *stateReplica) merge(p Payload, stamp float64) error {
	if err := jsonOnly(p, "state replica merge"); err != nil {
		return err
	}
	if p.Kind != "entirety" {
		return nil
	}
	v, err := ParseValue(p.Data)
	if err != nil {
		return err
	}
	remote, ok := v.(*Object)
	if !ok || !validTree(remote, 0) {
		return malformed("state payload must be a tree of objects and [value, timestamp] leaves")
	}
	if _, changed := mergeTree(s.tree, remote); !changed {
		return nil // nothing new: the version stays, so nothing is pushed on
	}
	if stamp < 0 {
		s.tick(false)
	} else {
		s.ver = StateVersion{ms: max(stamp, s.ver.ms+1)}
	}
	if s.hook != nil {
		s.hook(ChangeSet{Ops: []Op{{Change: mustChange(obj2("type", "replace", "value", plainOf(s.tree)))}}, Remote: true})
	}
	return nil
}

// ResetFromEntirety merges: a state document has a single lineage, and
// discarding local fields would lose concurrent writes the peer lacks.
func (s *stateReplica) ResetFromEntirety(p Payload, _ Version) error {
	if p.Encoding != "json" || p.Kind != "entirety" {
		return newError(reasonEncoding, "state reset expects a JSON entirety payload", nil)
	}
	return s.Merge(p)
}

// Apply commits a local transaction, stamping every written leaf with the
// transaction's time. replace writes (objects deep), map changes set and
// delete single keys (so untouched keys keep their timestamps), and any
// other change type is computed on the plain value and written as a
// replace of that path.
func (s *stateReplica) Apply(ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	for _, op := range ops {
		if err := validateOp(op); err != nil {
			return err
		}
	}
	ts := s.tick(true)
	own := cloneOps(ops)
	for _, op := range own {
		s.applyOne(op, ts)
	}
	if s.hook != nil {
		s.hook(ChangeSet{Ops: own})
	}
	return nil
}

// container walks to the container holding path's last segment, creating
// containers (and replacing leaves) on the way.
func (s *stateReplica) container(path Path) *Object {
	cur := s.tree
	for _, seg := range path {
		k := seg.key()
		next, ok := cur.Get(k)
		o, isObj := next.(*Object)
		if !ok || !isObj {
			o = &Object{}
			cur.Set(k, o)
		}
		cur = o
	}
	return cur
}

func (s *stateReplica) applyOne(op Op, ts float64) {
	st, _ := op.Change.stepper()
	if ms, ok := st.(mapStep); ok {
		c := s.container(op.Path)
		for _, k := range ms.del {
			c.Delete(k)
		}
		ms.set.Range(func(k string, v any) bool {
			c.Set(k, stamp(v, ts))
			return true
		})
		return
	}
	if len(op.Path) == 0 {
		// A root change rewrites the whole tree from the new plain value;
		// a non-object result is ignored, as at the root of a plain doc.
		root := plainOf(s.tree)
		applyOp(root, nil, st)
		next := stamp(root, ts).(*Object)
		*s.tree = *next
		return
	}
	// Compute the new value on the plain view, then write it stamped.
	plain := plainOf(s.tree)
	cur, present := readPath(plain, op.Path)
	next, np := st.step(cur, present)
	parent := s.container(op.Path[:len(op.Path)-1])
	k := op.Path[len(op.Path)-1].key()
	if !np {
		parent.Delete(k)
		return
	}
	parent.Set(k, stamp(next, ts))
}

// JSON returns the document without timestamps.
func (s *stateReplica) JSON() ([]byte, error) { return appendValue(nil, plainOf(s.tree)), nil }

// Value returns a copy of the document without timestamps.
func (s *stateReplica) Value() (any, error) { return plainOf(s.tree), nil }

// Tree returns a copy of the timestamped tree.
func (s *stateReplica) Tree() *Object { return s.tree.Clone() }

// SetChangeHook installs the change hook.
func (s *stateReplica) SetChangeHook(f func(ChangeSet)) { s.hook = f }

// SetDefaults inserts missing fields with timestamp 0, so any real write
// wins over them (they do travel in the entirety, as in the reference).
func (s *stateReplica) SetDefaults(v any) error {
	if v == nil {
		return nil
	}
	mv, err := ValueOf(v)
	if err != nil {
		return err
	}
	o, ok := mv.(*Object)
	if !ok {
		return newError(reasonInvalidValue, "defaults must be a JSON object", nil)
	}
	insertZeros(s.tree, o)
	return nil
}

func insertZeros(tree, defaults *Object) {
	defaults.Range(func(k string, dv any) bool {
		cur, ok := tree.Get(k)
		dob, isObj := dv.(*Object)
		switch {
		case !ok:
			tree.Set(k, stamp(dv, 0))
		case isObj:
			if c, ok := cur.(*Object); ok {
				insertZeros(c, dob)
			}
		}
		return true
	})
}
