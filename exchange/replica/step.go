package replica

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// Materialization: each known change type decodes into a stepper that maps
// the value at a path to its next value, following the reference's step
// rules. Decoding validates the whole change, so applying never fails.
//
// Where the reference would throw or coerce on a target of the wrong type
// (a text change on a number, an increment on a string), the Go side
// treats the target as the empty value of the expected type; see
// docs/deviations.md.

// maxArrayGap bounds how far past the end of a list a path write may land;
// JavaScript would create holes (encoded as null), which unchecked would be
// unbounded memory for a hostile index. 64 nulls (1 KiB) from an op of
// about 80 bytes keeps a merge's allocation a small multiple of its size.
const maxArrayGap = 64

// stepper applies one decoded change to the value at a path.
type stepper interface {
	// step returns the next value given the current one (present=false
	// when the path holds nothing). The current value belongs to the
	// state and may be reused or mutated; the result must not alias the
	// change.
	step(cur any, present bool) (next any, nextPresent bool)
}

func invalid(typ, msg string) error {
	return newError(reasonInvalidChange, typ+": "+msg, nil)
}

func decodeChange(typ string, obj *Object) (stepper, error) {
	switch typ {
	case "replace":
		v, ok := obj.Get("value")
		return replaceStep{v: v, present: ok}, nil
	case "map":
		return decodeMap(obj)
	case "sequence":
		return decodeSequence(obj)
	case "text":
		return decodeText(obj)
	case "increment":
		a, _ := obj.Get("amount")
		f, ok := a.(float64)
		if !ok {
			return nil, invalid(typ, "amount must be a number")
		}
		return incrementStep(f), nil
	case "set-op":
		return decodeSetOp(obj)
	case "tree":
		return decodeTree(obj)
	case "richtext":
		return decodeRichText(obj)
	}
	return nil, newError(reasonUnknownChange, "change type "+quoteString(typ), nil)
}

func quoteString(s string) string { return string(appendString(nil, s)) }

// count reads a retain/delete/format count: a non-negative integer.
func count(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f < 0 || f != math.Trunc(f) || f > maxSafeInteger {
		return 0, false
	}
	return int(f), true
}

// optional reads an optional field; JSON null counts as absent, as the
// reference's truthiness checks do.
func optional(obj *Object, k string) (any, bool) {
	v, ok := obj.Get(k)
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// ---- replace ----

type replaceStep struct {
	v       any
	present bool
}

func (s replaceStep) step(any, bool) (any, bool) { return cloneValue(s.v), s.present }

// ---- map ----

type mapStep struct {
	set *Object
	del []string
}

func decodeMap(obj *Object) (stepper, error) {
	var s mapStep
	if v, ok := optional(obj, "set"); ok {
		o, ok := v.(*Object)
		if !ok {
			return nil, invalid("map", "set must be an object")
		}
		s.set = o
	}
	if v, ok := optional(obj, "delete"); ok {
		a, ok := v.([]any)
		if !ok {
			return nil, invalid("map", "delete must be a list of keys")
		}
		for _, k := range a {
			ks, ok := k.(string)
			if !ok {
				return nil, invalid("map", "delete keys must be strings")
			}
			s.del = append(s.del, ks)
		}
	}
	return s, nil
}

func (s mapStep) step(cur any, _ bool) (any, bool) {
	o := asObject(cur)
	for _, k := range s.del {
		o.Delete(k)
	}
	s.set.Range(func(k string, v any) bool {
		o.Set(k, cloneValue(v))
		return true
	})
	return o, true
}

// asObject views cur as an object the way {...cur} does: objects are used
// in place, lists become index-keyed objects, anything else an empty
// object.
func asObject(cur any) *Object {
	switch c := cur.(type) {
	case *Object:
		return c
	case []any, *seqList, packedList:
		l, _ := asList(c)
		o := newObject(l.len())
		i := 0
		l.each(func(v any) bool {
			o.Set(itoa(i), v)
			i++
			return true
		})
		return o
	}
	return &Object{}
}

// ---- sequence ----

type seqInstr struct {
	kind  byte // 'r' retain, 'i' insert, 'd' delete
	n     int
	items []any
}

type sequenceStep []seqInstr

func instructions(typ string, obj *Object) ([]*Object, error) {
	v, _ := obj.Get("instructions")
	a, ok := v.([]any)
	if !ok {
		return nil, invalid(typ, "instructions must be a list")
	}
	out := make([]*Object, 0, len(a))
	for _, e := range a {
		o, ok := e.(*Object)
		if !ok {
			return nil, invalid(typ, "instruction must be an object")
		}
		out = append(out, o)
	}
	return out, nil
}

// countField reads a non-negative integer instruction field (retain,
// delete, format) of a typ change.
func countField(typ string, in *Object, key string) (int, error) {
	v, _ := in.Get(key)
	n, ok := count(v)
	if !ok {
		return 0, invalid(typ, key+" must be a non-negative integer")
	}
	return n, nil
}

// stringInsert reads the string insert of a text-like change.
func stringInsert(typ string, in *Object) (string, error) {
	v, _ := in.Get("insert")
	str, ok := v.(string)
	if !ok {
		return "", invalid(typ, "insert must be a string")
	}
	return str, nil
}

func decodeSequence(obj *Object) (stepper, error) {
	ins, err := instructions("sequence", obj)
	if err != nil {
		return nil, err
	}
	s := make(sequenceStep, 0, len(ins))
	for _, in := range ins {
		switch {
		case in.Has("retain"):
			n, err := countField("sequence", in, "retain")
			if err != nil {
				return nil, err
			}
			s = append(s, seqInstr{kind: 'r', n: n})
		case in.Has("insert"):
			v, _ := in.Get("insert")
			items, ok := v.([]any)
			if !ok {
				return nil, invalid("sequence", "insert must be a list")
			}
			s = append(s, seqInstr{kind: 'i', items: items})
		case in.Has("delete"):
			n, err := countField("sequence", in, "delete")
			if err != nil {
				return nil, err
			}
			s = append(s, seqInstr{kind: 'd', n: n})
		}
	}
	return s, nil
}

// step edits the list in place: a list the state already holds as a
// seqList is edited where the instructions point; any other target is
// turned into one first (once, O(n)).
func (s sequenceStep) step(cur any, _ bool) (any, bool) {
	l, ok := cur.(*seqList)
	if !ok {
		src, _ := cur.([]any)
		l = newSeqList(src)
	}
	c := l.cursor()
	for _, in := range s {
		switch in.kind {
		case 'r':
			c.retain(in.n)
		case 'i':
			items := make([]any, len(in.items))
			for i, it := range in.items {
				items[i] = cloneValue(it)
			}
			c.insert(items)
		case 'd':
			c.delete(in.n)
		}
	}
	return l, true
}

// ---- text ----

type textInstr struct {
	kind byte // 'r', 'i', 'd'
	n    int
	s    string
}

type textStep []textInstr

func decodeText(obj *Object) (stepper, error) {
	ins, err := instructions("text", obj)
	if err != nil {
		return nil, err
	}
	s := make(textStep, 0, len(ins))
	for _, in := range ins {
		switch {
		case in.Has("retain"):
			n, err := countField("text", in, "retain")
			if err != nil {
				return nil, err
			}
			s = append(s, textInstr{kind: 'r', n: n})
		case in.Has("insert"):
			str, err := stringInsert("text", in)
			if err != nil {
				return nil, err
			}
			s = append(s, textInstr{kind: 'i', s: str})
		case in.Has("delete"):
			n, err := countField("text", in, "delete")
			if err != nil {
				return nil, err
			}
			s = append(s, textInstr{kind: 'd', n: n})
		}
	}
	return s, nil
}

// step edits the text in place as a textRope (a plain string target is
// turned into one first, once).
func (s textStep) step(cur any, _ bool) (any, bool) {
	r, ok := cur.(*textRope)
	if !ok {
		src, _ := cur.(string)
		r = newTextRope(src)
	}
	c := r.cursor()
	for _, in := range s {
		switch in.kind {
		case 'r':
			c.retain(in.n)
		case 'i':
			c.insert(jsjson.WellFormed(in.s))
		case 'd':
			c.delete(in.n)
		}
	}
	return r, true
}

// u16 indexes a string by UTF-16 code units, as JavaScript does. ASCII
// strings are indexed directly; others are converted once.
type u16 struct {
	s     string
	units []uint16 // nil when s is ASCII
}

func newU16(s string) u16 {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return u16{s: s, units: utf16.Encode([]rune(s))}
		}
	}
	return u16{s: s}
}

func (u u16) len() int {
	if u.units == nil {
		return len(u.s)
	}
	return len(u.units)
}

// appendSlice appends units [from, to) as UTF-8. A slice boundary inside a
// surrogate pair leaves a lone surrogate, which becomes U+FFFD (one code
// unit, so lengths stay as in JavaScript).
func (u u16) appendSlice(b []byte, from, to int) []byte {
	if from >= to {
		return b
	}
	if u.units == nil {
		return append(b, u.s[from:to]...)
	}
	for _, r := range utf16.Decode(u.units[from:to]) {
		b = utf8.AppendRune(b, r)
	}
	return b
}

func (u u16) slice(from, to int) string { return string(u.appendSlice(nil, from, to)) }

// ---- increment ----

type incrementStep float64

func (s incrementStep) step(cur any, _ bool) (any, bool) {
	f, _ := cur.(float64)
	return f + float64(s), true
}

// ---- set-op ----

type setStep struct {
	add, remove []any
}

func decodeSetOp(obj *Object) (stepper, error) {
	var s setStep
	for _, k := range []string{"add", "remove"} {
		v, ok := optional(obj, k)
		if !ok {
			continue
		}
		a, ok := v.([]any)
		if !ok {
			return nil, invalid("set-op", k+" must be a list")
		}
		if k == "add" {
			s.add = a
		} else {
			s.remove = a
		}
	}
	return s, nil
}

// step edits the set in place as a keyedList (a plain list is indexed
// first, once); a change or a member without a canonical key (NaN) takes
// the linear path.
func (s setStep) step(cur any, _ bool) (any, bool) {
	l, ok := cur.(*keyedList)
	if !ok || l.tree {
		src, _ := listItems(cur)
		if l = newKeyedList(src, false); l == nil {
			return s.linear(src), true
		}
	}
	keys := make([]string, 0, len(s.remove)+len(s.add))
	var buf []byte
	for _, v := range slices.Concat(s.remove, s.add) {
		var ok bool
		if buf, ok = appendSetKey(buf[:0], v); !ok {
			return s.linear(l.items()), true
		}
		keys = append(keys, string(buf))
	}
	removed, added := keys[:len(s.remove)], keys[len(s.remove):]
	for _, k := range removed {
		l.removeKey(k)
	}
	for i, k := range added {
		if !slices.Contains(removed, k) && !l.has(k) {
			l.add(cloneValue(s.add[i]), k, true)
		}
	}
	return l, true
}

// linear is the reference's step: filter the members, then append each
// added one not equal to a member. O(n) per member added or removed.
func (s setStep) linear(src []any) []any {
	removed := func(v any) bool {
		for _, r := range s.remove {
			if equalValues(r, v) {
				return true
			}
		}
		return false
	}
	out := make([]any, 0, len(src)+len(s.add))
	for _, m := range src {
		if !removed(m) {
			out = append(out, m)
		}
	}
	for _, c := range s.add {
		if removed(c) {
			continue
		}
		dup := false
		for _, m := range out {
			if equalValues(m, c) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, cloneValue(c))
		}
	}
	return out
}

// ---- tree ----

type treeInstr struct {
	action string // "create", "delete", "move"
	target string
	parent any // string or nil
	index  float64
}

type treeStep []treeInstr

func decodeTree(obj *Object) (stepper, error) {
	ins, err := instructions("tree", obj)
	if err != nil {
		return nil, err
	}
	s := make(treeStep, 0, len(ins))
	for _, in := range ins {
		a, _ := in.Get("action")
		action, _ := a.(string)
		if action != "create" && action != "delete" && action != "move" {
			continue // the reference ignores unknown actions
		}
		t, _ := in.Get("target")
		target, ok := t.(string)
		if !ok {
			return nil, invalid("tree", "target must be a string")
		}
		ti := treeInstr{action: action, target: target}
		if action != "delete" {
			p, _ := in.Get("parent")
			switch p.(type) {
			case nil, string:
				ti.parent = p
			default:
				return nil, invalid("tree", "parent must be a string or null")
			}
			ix, _ := in.Get("index")
			f, ok := ix.(float64)
			if !ok {
				return nil, invalid("tree", "index must be a number")
			}
			ti.index = f
		}
		s = append(s, ti)
	}
	return s, nil
}

func nodeID(n any) (string, bool) {
	o, ok := n.(*Object)
	if !ok {
		return "", false
	}
	v, _ := o.Get("id")
	return asText(v)
}

// step edits the forest in place as a keyedList indexed by node id (a
// plain list is indexed first, once).
func (s treeStep) step(cur any, _ bool) (any, bool) {
	l, ok := cur.(*keyedList)
	if !ok || !l.tree {
		src, _ := listItems(cur)
		l = newKeyedList(src, true)
	}
	for _, in := range s {
		switch in.action {
		case "create":
			l.add(newTreeNode(in), in.target, true)
		case "delete":
			l.removeKey(in.target)
		case "move":
			l.each(in.target, func(i int) {
				o := l.slots[i].v.(*Object)
				o.Set("parent", in.parent)
				o.Set("index", in.index)
			})
		}
	}
	return l, true
}

func newTreeNode(in treeInstr) *Object {
	n := newObject(4)
	n.Set("id", in.target)
	n.Set("parent", in.parent)
	n.Set("index", in.index)
	n.Set("data", &Object{})
	return n
}

// linear is the reference's step: every instruction scans the nodes.
func (s treeStep) linear(src []any) []any {
	out := append([]any(nil), src...)
	for _, in := range s {
		switch in.action {
		case "create":
			out = append(out, newTreeNode(in))
		case "delete":
			kept := out[:0]
			for _, n := range out {
				if id, ok := nodeID(n); !ok || id != in.target {
					kept = append(kept, n)
				}
			}
			clear(out[len(kept):])
			out = kept
		case "move":
			for _, n := range out {
				if id, ok := nodeID(n); ok && id == in.target {
					o := n.(*Object)
					o.Set("parent", in.parent)
					o.Set("index", in.index)
				}
			}
		}
	}
	return out
}

// ---- richtext ----

type richInstr struct {
	kind  byte // 'r' retain, 'f' format, 'i' insert, 'd' delete
	n     int
	s     string
	marks *Object
}

type richTextStep []richInstr

func decodeRichText(obj *Object) (stepper, error) {
	ins, err := instructions("richtext", obj)
	if err != nil {
		return nil, err
	}
	s := make(richTextStep, 0, len(ins))
	for _, in := range ins {
		switch {
		case in.Has("retain"):
			n, err := countField("richtext", in, "retain")
			if err != nil {
				return nil, err
			}
			s = append(s, richInstr{kind: 'r', n: n})
		case in.Has("format"):
			n, err := countField("richtext", in, "format")
			if err != nil {
				return nil, err
			}
			m, _ := in.Get("marks")
			marks, ok := m.(*Object)
			if !ok {
				return nil, invalid("richtext", "format needs a marks object")
			}
			s = append(s, richInstr{kind: 'f', n: n, marks: marks})
		case in.Has("insert"):
			str, err := stringInsert("richtext", in)
			if err != nil {
				return nil, err
			}
			ri := richInstr{kind: 'i', s: str}
			if m, ok := optional(in, "marks"); ok {
				marks, ok := m.(*Object)
				if !ok {
					return nil, invalid("richtext", "marks must be an object")
				}
				ri.marks = marks
			}
			s = append(s, ri)
		case in.Has("delete"):
			n, err := countField("richtext", in, "delete")
			if err != nil {
				return nil, err
			}
			s = append(s, richInstr{kind: 'd', n: n})
		}
	}
	return s, nil
}

type span struct {
	text  u16
	marks *Object
	orig  *Object // the input span object, reused when passed through whole
}

func spanObject(text string, marks *Object) *Object {
	o := newObject(2)
	o.Set("text", text)
	if marks != nil && marks.Len() > 0 {
		o.Set("marks", marks)
	}
	return o
}

// step edits a richText in place; any other target (a list of span
// objects from a replace or a path write, or nothing) is rebuilt once by
// the reference's algorithm and then held as a richText.
func (s richTextStep) step(cur any, _ bool) (any, bool) {
	if rt, ok := cur.(*richText); ok {
		rt.apply(s)
		return rt, true
	}
	return newRichText(rebuildRichText(cur, s)), true
}

// rebuildRichText is the reference's step: walk the spans, emit new span
// objects for everything the instructions touch, pass the rest through and
// normalize the whole list. O(n) per change.
func rebuildRichText(cur any, s richTextStep) []any {
	arr, _ := listItems(cur)
	in := make([]span, 0, len(arr))
	for _, e := range arr {
		o, _ := e.(*Object)
		sp := span{orig: o}
		if o != nil {
			t, _ := o.Get("text")
			ts, _ := asText(t)
			sp.text = newU16(ts)
			if m, ok := o.Get("marks"); ok {
				sp.marks, _ = m.(*Object)
			}
		}
		in = append(in, sp)
	}
	var out []*Object
	idx, off := 0, 0
	walk := func(n int, emit func(sp span, text string)) {
		for n > 0 && idx < len(in) {
			sp := in[idx]
			take := min(n, sp.text.len()-off)
			if emit != nil {
				emit(sp, sp.text.slice(off, off+take))
			}
			n -= take
			off += take
			if off >= sp.text.len() {
				idx++
				off = 0
			}
		}
	}
	for _, ins := range s {
		switch ins.kind {
		case 'r':
			walk(ins.n, func(sp span, text string) { out = append(out, spanObject(text, sp.marks)) })
		case 'f':
			walk(ins.n, func(sp span, text string) {
				merged := &Object{}
				if sp.marks != nil {
					merged = sp.marks.Clone()
				}
				ins.marks.Range(func(k string, v any) bool {
					if v == nil {
						merged.Delete(k)
					} else {
						merged.Set(k, cloneValue(v))
					}
					return true
				})
				out = append(out, spanObject(text, merged))
			})
		case 'i':
			var marks *Object
			if ins.marks != nil {
				marks = ins.marks.Clone()
			}
			out = append(out, spanObject(ins.s, marks))
		case 'd':
			walk(ins.n, nil)
		}
	}
	for ; idx < len(in); idx++ {
		sp := in[idx]
		if off > 0 {
			if text := sp.text.slice(off, sp.text.len()); text != "" {
				o := newObject(2)
				o.Set("text", text)
				if sp.marks != nil {
					o.Set("marks", sp.marks)
				}
				out = append(out, o)
			}
			off = 0
			continue
		}
		if sp.orig != nil {
			out = append(out, sp.orig)
		} else {
			out = append(out, spanObject("", nil))
		}
	}
	return normalizeSpans(out)
}

// normalizeSpans drops empty spans and merges neighbours whose marks are
// equal.
func normalizeSpans(spans []*Object) []any {
	res := make([]*Object, 0, len(spans))
	for _, sp := range spans {
		t, _ := sp.Get("text")
		ts, _ := asText(t)
		if ts == "" {
			continue
		}
		if n := len(res); n > 0 {
			prev := res[n-1]
			pm, _ := prev.Get("marks")
			sm, _ := sp.Get("marks")
			pmo, _ := pm.(*Object)
			smo, _ := sm.(*Object)
			if marksEqual(pmo, smo) {
				pt, _ := prev.Get("text")
				pts, _ := asText(pt)
				merged := newObject(2)
				merged.Set("text", pts+ts)
				if pmo != nil {
					merged.Set("marks", pmo)
				}
				res[n-1] = merged
				continue
			}
		}
		res = append(res, sp)
	}
	out := make([]any, len(res))
	for i, r := range res {
		out[i] = r
	}
	return out
}

// marksEqual compares mark maps like the reference: same key count and
// each value strictly equal (===: primitives by value, objects and lists
// by identity). Absent and empty marks are equal.
func marksEqual(a, b *Object) bool {
	if a.Len() != b.Len() {
		return false
	}
	eq := true
	a.Range(func(k string, v any) bool {
		w, ok := b.Get(k)
		if !ok || !strictEqual(v, w) {
			eq = false
		}
		return eq
	})
	return eq
}

func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string, *textRope:
		// Strings compare by value in JavaScript, whatever holds them.
		xs, _ := asText(x)
		ys, ok := asText(b)
		return ok && xs == ys
	case *Object:
		y, ok := b.(*Object)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && len(x) > 0 && &x[0] == &y[0]
	case *seqList:
		y, ok := b.(*seqList)
		return ok && x == y
	case packedList:
		y, ok := b.(packedList)
		return ok && x == y
	}
	return false
}

// listItems returns the items of a list value: a []any as is, a seqList
// as a flat copy of its slots. ok=false for anything else.
func listItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case *seqList:
		return x.items(), true
	case packedList:
		return x.items(), true
	}
	return nil, false
}

// asText returns the string a text value holds (a string or a textRope).
func asText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case *textRope:
		return x.String(), true
	}
	return "", false
}

// ---- paths ----

// list is a list value of the state seen through one interface: a []any
// or a seqList.
type list interface {
	len() int
	get(i int) any
	set(i int, v any)
	each(f func(v any) bool)
}

// sliceList adapts a []any (which cannot grow through the interface).
type sliceList []any

func (s sliceList) len() int         { return len(s) }
func (s sliceList) get(i int) any    { return s[i] }
func (s sliceList) set(i int, v any) { s[i] = v }
func (s sliceList) each(f func(any) bool) {
	for _, v := range s {
		if !f(v) {
			return
		}
	}
}

func (l *seqList) each(f func(any) bool) {
	for _, c := range l.chunks {
		for _, v := range c {
			if !f(v) {
				return
			}
		}
	}
}

func asList(v any) (list, bool) {
	switch x := v.(type) {
	case []any:
		return sliceList(x), true
	case *seqList:
		return x, true
	case packedList:
		// A read-only view: writes go through writePath, which turns
		// the packed list into its plain list first.
		return sliceList(x.items()), true
	}
	return nil, false
}

// isFlatForest recognizes the tree shape ([{id, parent, index, data}]) by
// its first element, as the reference does.
func isFlatForest(a list) bool {
	if a.len() == 0 {
		return false
	}
	o, ok := a.get(0).(*Object)
	if !ok {
		return false
	}
	id, _ := o.Get("id")
	_, isStr := asText(id)
	return isStr && o.Has("data")
}

func findNode(a list, id string) *Object {
	var found *Object
	a.each(func(n any) bool {
		if nid, ok := nodeID(n); ok && nid == id {
			found = n.(*Object)
			return false
		}
		return true
	})
	return found
}

// listIndex maps a segment to a list position: index segments directly,
// field/entry segments when their key is a canonical array index.
func listIndex(seg Segment) (int, bool) {
	if seg.Kind == SegIndex {
		return seg.Index, seg.Index >= 0
	}
	n, ok := arrayIndex(seg.Key)
	return int(n), ok
}

func isContainer(v any) bool {
	switch v.(type) {
	case *Object, []any, *seqList, packedList:
		return true
	}
	return false
}

// readPath reads the value at path like the reference's path.read.
func readPath(root *Object, path Path) (any, bool) {
	var cur any = root
	for i, seg := range path {
		if p, ok := cur.(packedList); ok {
			// Going into an item: the value becomes its plain list in
			// the state, so what the step does to the item stays.
			l := p.items()
			writePath(root, path[:i], l, true)
			cur = l
		}
		switch c := cur.(type) {
		case *Object:
			v, ok := c.Get(seg.key())
			if !ok {
				return nil, false
			}
			cur = v
		case []any, *seqList:
			l, _ := asList(c)
			if seg.Kind == SegEntry && isFlatForest(l) {
				node := findNode(l, seg.Key)
				if node == nil {
					return nil, false
				}
				v, ok := node.Get("data")
				if !ok {
					return nil, false
				}
				cur = v
				continue
			}
			i, ok := listIndex(seg)
			if !ok || i >= l.len() {
				return nil, false
			}
			cur = l.get(i)
		default:
			return nil, false
		}
	}
	return cur, true
}

// writePath writes v at path like the reference's writeByPath: missing or
// non-container intermediates become empty objects. present=false writes
// "undefined", which JSON cannot hold: the key is removed (null in a list).
func writePath(root *Object, path Path, v any, present bool) {
	var cur any = root
	set := func(any) {} // replaces cur in its parent (lists may grow)
	for i, seg := range path {
		last := i == len(path)-1
		if p, ok := cur.(packedList); ok {
			l := p.items()
			set(l)
			cur = l
		}
		switch c := cur.(type) {
		case *Object:
			k := seg.key()
			if last {
				if present {
					c.Set(k, v)
				} else {
					c.Delete(k)
				}
				return
			}
			child, _ := c.Get(k)
			if !isContainer(child) {
				child = &Object{}
				c.Set(k, child)
			}
			cur = child
			set = func(n any) { c.Set(k, n) }
		case []any, *seqList:
			l, _ := asList(c)
			if seg.Kind == SegEntry && isFlatForest(l) {
				node := findNode(l, seg.Key)
				if node == nil {
					return
				}
				if last {
					if present {
						node.Set("data", v)
					} else {
						node.Delete("data")
					}
					return
				}
				data, _ := node.Get("data")
				if !isContainer(data) {
					data = &Object{}
					node.Set("data", data)
				}
				cur = data
				set = func(n any) { node.Set("data", n) }
				continue
			}
			idx, ok := listIndex(seg)
			if !ok {
				// A named property on a list never reaches JSON.
				return
			}
			if n := l.len(); idx >= n {
				if idx-n > maxArrayGap {
					return
				}
				switch x := c.(type) {
				case []any:
					grown := append(x, make([]any, idx+1-n)...)
					set(grown)
					l = sliceList(grown)
				case *seqList:
					x.appendNulls(idx + 1 - n)
				}
			}
			if last {
				if present {
					l.set(idx, v)
				} else {
					l.set(idx, nil)
				}
				return
			}
			child := l.get(idx)
			if !isContainer(child) {
				child = &Object{}
				l.set(idx, child)
			}
			cur = child
			set = func(n any) { l.set(idx, n) }
		default:
			return
		}
	}
}

// applyOp applies one decoded change at path to root in place.
func applyOp(root *Object, path Path, s stepper) {
	if len(path) == 0 {
		next, present := s.step(root, true)
		if !present {
			return
		}
		var n *Object
		switch x := next.(type) {
		case *Object:
			if x == root {
				return
			}
			n = x
		case []any, *seqList, packedList:
			n = asObject(x)
		default:
			return // a non-object root result is ignored, as in the reference
		}
		n.Range(func(k string, v any) bool {
			root.Set(k, v)
			return true
		})
		for _, k := range root.Keys() {
			if !n.Has(k) {
				root.Delete(k)
			}
		}
		return
	}
	cur, present := readPath(root, path)
	if p, ok := cur.(packedList); ok && !p.owns(s) {
		cur = p.items()
	}
	next, np := s.step(cur, present)
	writePath(root, path, next, np)
}

func itoa(i int) string { return strconv.Itoa(i) }
