package replica

import (
	"math"
	"slices"
	"strconv"
)

// packedList is a list the state holds in a form only one kind of change
// edits in place (richText, keyedList). Everything else sees its items as
// a plain list: Value, JSON, cloneValue and equality read them, another
// kind of change gets them as a []any, and a path into the list turns it
// into that list in the state first.
type packedList interface {
	items() []any
	// owns reports whether s edits this form in place.
	owns(s stepper) bool
}

func (rt *richText) owns(s stepper) bool { _, ok := s.(richTextStep); return ok }

// keyedList is how the state holds a list once a set-op or tree change has
// touched it: the items in order with an index from a key to the slots
// that hold it, so a change finds the members it removes, moves or
// de-duplicates against without scanning the list. For a set the key is
// a canonical encoding of the member (equal keys exactly when equalValues
// holds); for a tree it is the node's id. Removed slots are left as holes
// and squeezed out once they outnumber the items, so every edit costs
// O(1) amortized, not O(n).
type keyedList struct {
	tree  bool // a tree (key: node id), else a set (key: the member)
	slots []keyedSlot
	index map[string]int // key → the first slot holding it
	// dups holds the further slots of a key, in list order: equal members
	// a replace put in a list, nodes sharing an id. Usually empty.
	dups map[string][]int
	live int
}

type keyedSlot struct {
	v     any
	key   string
	keyed bool // false: a tree item that is not a node with an id
	gone  bool
}

func (l *keyedList) owns(s stepper) bool {
	if l.tree {
		_, ok := s.(treeStep)
		return ok
	}
	_, ok := s.(setStep)
	return ok
}

func (l *keyedList) items() []any {
	out := make([]any, 0, l.live)
	for _, s := range l.slots {
		if !s.gone {
			out = append(out, s.v)
		}
	}
	return out
}

// newKeyedList indexes items (taking ownership); nil if a set member has
// no canonical key (a NaN inside it), in which case the step stays linear.
func newKeyedList(items []any, tree bool) *keyedList {
	l := &keyedList{tree: tree, slots: make([]keyedSlot, 0, len(items)), index: make(map[string]int, len(items))}
	for _, v := range items {
		k, ok := l.keyOf(v)
		if !ok && !tree {
			return nil
		}
		l.add(v, k, ok)
	}
	return l
}

func (l *keyedList) keyOf(v any) (string, bool) {
	if l.tree {
		return nodeID(v)
	}
	b, ok := appendSetKey(nil, v)
	return string(b), ok
}

func (l *keyedList) add(v any, key string, keyed bool) {
	if keyed {
		l.indexSlot(key, len(l.slots))
	}
	l.slots = append(l.slots, keyedSlot{v: v, key: key, keyed: keyed})
	l.live++
}

func (l *keyedList) indexSlot(key string, i int) {
	if _, ok := l.index[key]; !ok {
		l.index[key] = i
		return
	}
	if l.dups == nil {
		l.dups = make(map[string][]int)
	}
	l.dups[key] = append(l.dups[key], i)
}

func (l *keyedList) has(key string) bool { _, ok := l.index[key]; return ok }

// each calls f with every slot holding key, in list order.
func (l *keyedList) each(key string, f func(i int)) {
	i, ok := l.index[key]
	if !ok {
		return
	}
	f(i)
	for _, i := range l.dups[key] {
		f(i)
	}
}

// removeKey removes every item with the key.
func (l *keyedList) removeKey(key string) {
	l.each(key, func(i int) {
		l.slots[i] = keyedSlot{gone: true}
		l.live--
	})
	delete(l.index, key)
	delete(l.dups, key)
	if dead := len(l.slots) - l.live; dead > keyedSqueezeMin && dead > l.live {
		l.squeeze()
	}
}

// keyedSqueezeMin is how many holes a keyedList keeps at least (a
// variable so tests squeeze small lists).
var keyedSqueezeMin = 32

// squeeze drops the holes and rebuilds the index.
func (l *keyedList) squeeze() {
	l.slots = slices.DeleteFunc(l.slots, func(s keyedSlot) bool { return s.gone })
	clear(l.index)
	clear(l.dups)
	for i, s := range l.slots {
		if s.keyed {
			l.indexSlot(s.key, i)
		}
	}
}

// appendSetKey appends a canonical encoding of v: equal encodings exactly
// when equalValues holds (object members sorted by key, numbers with the
// sign of zero and infinities kept). ok=false for NaN, which equalValues
// never finds equal, not even to itself.
func appendSetKey(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, 'n'), true
	case bool:
		if x {
			return append(b, 't'), true
		}
		return append(b, 'f'), true
	case float64:
		if math.IsNaN(x) {
			return b, false
		}
		b = append(b, 'd')
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
		return append(b, ';'), true
	case string, *textRope:
		s, _ := asText(x)
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		return append(b, s...), true
	case *Object:
		keys := make([]string, 0, x.Len())
		x.Range(func(k string, _ any) bool { keys = append(keys, k); return true })
		slices.Sort(keys)
		b = append(b, '{')
		for _, k := range keys {
			b, _ = appendSetKey(b, k)
			e, _ := x.Get(k)
			var ok bool
			if b, ok = appendSetKey(b, e); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	if items, ok := listItems(v); ok {
		b = append(b, '[')
		for _, e := range items {
			if b, ok = appendSetKey(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	// Outside the value model: never equal to anything.
	return b, false
}
