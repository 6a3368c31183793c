package replica

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

// The indexed set and tree steps must give exactly what the reference's
// linear steps give. The oracle document applies every set-op and tree
// change with the linear step; the subject with applyOp, which keeps a
// keyedList between changes. Path writes into members and nodes run on
// both.

// setValues are members that are equal, or almost, in the ways
// equalValues distinguishes: zero and negative zero, numbers and
// strings, objects with the same members in another order, nested lists.
func setValue(t *rapid.T, label string) any {
	switch rapid.IntRange(0, 11).Draw(t, label) {
	case 0:
		return nil
	case 1:
		return true
	case 2:
		return 0.0
	case 3:
		return math.Copysign(0, -1)
	case 4:
		return 1.0
	case 5:
		return "1"
	case 6:
		return math.Inf(1)
	case 7:
		return obj("a", 1.0, "b", "x")
	case 8:
		return obj("b", "x", "a", 1.0)
	case 9:
		return []any{1.0, obj("a", nil)}
	case 10:
		return []any{obj("a", nil), 1.0}
	}
	return "é😀"
}

func setList(t *rapid.T, label string, max int) []any {
	var out []any
	for range rapid.IntRange(0, max).Draw(t, label+"-len") {
		out = append(out, setValue(t, label))
	}
	return out
}

func checkKeyed(t *rapid.T, l *keyedList) {
	live := 0
	for i, s := range l.slots {
		if s.gone {
			continue
		}
		live++
		if !s.keyed {
			continue
		}
		if k, ok := l.keyOf(s.v); !ok || k != s.key {
			t.Fatalf("slot %d: key %q, item's key %q", i, s.key, k)
		}
		if !contains(slotsOf(l, s.key), i) {
			t.Fatalf("slot %d missing from the index of %q", i, s.key)
		}
	}
	for k := range l.dups {
		if !l.has(k) {
			t.Fatalf("key %q has further slots but no first", k)
		}
	}
	for k := range l.index {
		is := slotsOf(l, k)
		for j, i := range is {
			if l.slots[i].gone || l.slots[i].key != k || (j > 0 && is[j-1] >= i) {
				t.Fatalf("index %q: slots %v", k, is)
			}
		}
	}
	if live != l.live || len(l.slots)-live > max(keyedSqueezeMin, live) {
		t.Fatalf("%d live of %d slots, recorded %d", live, len(l.slots), l.live)
	}
}

func slotsOf(l *keyedList, key string) []int {
	var out []int
	l.each(key, func(i int) { out = append(out, i) })
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func squeezeSmall(t *testing.T) {
	old := keyedSqueezeMin
	keyedSqueezeMin = 1
	t.Cleanup(func() { keyedSqueezeMin = old })
}

func TestSetInPlaceMatchesLinear(t *testing.T) {
	squeezeSmall(t)
	path := Path{Field("s")}
	rapid.Check(t, func(t *rapid.T) {
		init := setList(t, "initial", 12)
		want := obj("s", cloneValue(init))
		got := obj("s", cloneValue(init))
		for range rapid.IntRange(1, 40).Draw(t, "ops") {
			if rapid.IntRange(0, 7).Draw(t, "path-op") == 0 {
				// A write into a member, which can make it equal to another.
				p := Path{Field("s"), Index(rapid.IntRange(0, 5).Draw(t, "member")), Field("b")}
				s := replaceStep{v: "x", present: true}
				applyOp(want, p, s)
				applyOp(got, p, s)
			} else {
				s := setStep{add: setList(t, "add", 3), remove: setList(t, "remove", 2)}
				if rapid.IntRange(0, 15).Draw(t, "nan") == 0 {
					s.add = append(s.add, math.NaN()) // no key: the linear step
				}
				cur, _ := readPath(want, path)
				src, _ := listItems(cur)
				writePath(want, path, s.linear(src), true)
				applyOp(got, path, s)
				if v, _ := got.Get("s"); v != nil {
					if l, ok := v.(*keyedList); ok {
						checkKeyed(t, l)
					}
				}
			}
			if g, w := string(encodeValue(got)), string(encodeValue(want)); g != w {
				t.Fatalf("\n got %s\nwant %s", g, w)
			}
		}
	})
}

func TestTreeInPlaceMatchesLinear(t *testing.T) {
	squeezeSmall(t)
	path := Path{Field("t")}
	ids := []string{"a", "b", "c", "d", "é"}
	rapid.Check(t, func(t *rapid.T) {
		var init []any
		for i := range rapid.IntRange(0, 6).Draw(t, "nodes") {
			switch rapid.IntRange(0, 4).Draw(t, "node-kind") {
			case 0:
				init = append(init, float64(i)) // not a node
			case 1:
				init = append(init, obj("id", 5.0, "data", &Object{})) // id not a string
			default:
				init = append(init, obj("id", rapid.SampledFrom(ids).Draw(t, "id"), "parent", nil, "index", float64(i), "data", &Object{}))
			}
		}
		want := obj("t", cloneValue(init))
		got := obj("t", cloneValue(init))
		for range rapid.IntRange(1, 40).Draw(t, "ops") {
			if rapid.IntRange(0, 6).Draw(t, "path-op") == 0 {
				var p Path
				if rapid.Bool().Draw(t, "by-entry") {
					p = Path{Field("t"), Entry(rapid.SampledFrom(ids).Draw(t, "entry")), Field("x")}
				} else {
					// An index write can change a node's id.
					p = Path{Field("t"), Index(rapid.IntRange(0, 5).Draw(t, "node")), Field("id")}
				}
				s := replaceStep{v: rapid.SampledFrom(ids).Draw(t, "value"), present: true}
				applyOp(want, p, s)
				applyOp(got, p, s)
			} else {
				var s treeStep
				for range rapid.IntRange(0, 4).Draw(t, "instructions") {
					in := treeInstr{action: rapid.SampledFrom([]string{"create", "delete", "move"}).Draw(t, "action"),
						target: rapid.SampledFrom(ids).Draw(t, "target")}
					if in.action != "delete" {
						in.parent = rapid.SampledFrom([]any{nil, "a", "b"}).Draw(t, "parent")
						in.index = float64(rapid.IntRange(0, 3).Draw(t, "index"))
					}
					s = append(s, in)
				}
				cur, _ := readPath(want, path)
				src, _ := listItems(cur)
				writePath(want, path, s.linear(src), true)
				applyOp(got, path, s)
				if v, _ := got.Get("t"); v != nil {
					if l, ok := v.(*keyedList); ok {
						checkKeyed(t, l)
					}
				}
			}
			if g, w := string(encodeValue(got)), string(encodeValue(want)); g != w {
				t.Fatalf("\n got %s\nwant %s", g, w)
			}
		}
	})
}

// TestSetKeyMatchesEqualValues: two values have the same canonical key
// exactly when equalValues holds.
func TestSetKeyMatchesEqualValues(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := setValue(t, "a"), setValue(t, "b")
		ka, oka := appendSetKey(nil, a)
		kb, okb := appendSetKey(nil, b)
		if !oka || !okb {
			t.Fatal("no key for a model value")
		}
		if (string(ka) == string(kb)) != equalValues(a, b) {
			t.Fatalf("%s %s: keys %q %q, EqualValues %v", encodeValue(a), encodeValue(b), ka, kb, equalValues(a, b))
		}
	})
	if _, ok := appendSetKey(nil, []any{math.NaN()}); ok {
		t.Fatal("NaN has a key")
	}
}
