package machinetest_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/kyneta-go/kyneta/machine/machinetest"
	"pgregory.net/rapid"
)

type inner struct {
	Tags []string
	m    map[string]int // unexported on purpose
}

type outer struct {
	Name   string
	Count  int
	Items  map[string]*inner
	List   []inner
	Ptr    *inner
	Any    any
	Arr    [2][]int
	hidden *inner
	fn     func() int
	ch     chan int
}

var sampleCh = make(chan int)

func one() int { return 1 }

func sample() outer {
	return outer{
		Name:   "x",
		Count:  3,
		Items:  map[string]*inner{"a": {Tags: []string{"t"}, m: map[string]int{"k": 1}}},
		List:   []inner{{Tags: []string{"l"}}},
		Ptr:    &inner{m: map[string]int{"p": 2}},
		Any:    []int{1, 2},
		Arr:    [2][]int{{1}, {2}},
		hidden: &inner{Tags: []string{"h"}},
		fn:     one,
		ch:     sampleCh,
	}
}

func TestDeepCopyDetaches(t *testing.T) {
	// Each row mutates the copy through one kind of reference; the original
	// must not change, and must then differ from the copy.
	tests := []struct {
		name   string
		mutate func(c *outer)
	}{
		{"map value through pointer", func(c *outer) { c.Items["a"].Tags[0] = "changed" }},
		{"map insert", func(c *outer) { c.Items["b"] = nil }},
		{"unexported map inside map value", func(c *outer) { c.Items["a"].m["k"] = 9 }},
		{"slice element", func(c *outer) { c.List[0].Tags[0] = "changed" }},
		{"pointer target", func(c *outer) { c.Ptr.m["p"] = 7 }},
		{"slice inside interface", func(c *outer) { c.Any.([]int)[0] = 9 }},
		{"slice inside array", func(c *outer) { c.Arr[1][0] = 9 }},
		{"unexported pointer", func(c *outer) { c.hidden.Tags[0] = "changed" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := sample()
			cp := machinetest.DeepCopy(orig)
			if !machinetest.DeepEqual(orig, cp) {
				t.Fatal("copy differs from the original before any change")
			}
			tt.mutate(&cp)
			if machinetest.DeepEqual(orig, cp) {
				t.Fatal("mutating the copy is invisible to DeepEqual")
			}
			if !machinetest.DeepEqual(orig, sample()) {
				t.Fatal("mutating the copy changed the original")
			}
		})
	}
}

func TestDeepCopySharesWhatCannotChange(t *testing.T) {
	orig := sample()
	cp := machinetest.DeepCopy(orig)
	if reflect.ValueOf(cp.fn).Pointer() != reflect.ValueOf(orig.fn).Pointer() || cp.ch != orig.ch {
		t.Error("funcs and channels should be shared")
	}
	if cp.Ptr == orig.Ptr || cp.hidden == orig.hidden {
		t.Error("pointers should be copied")
	}
}

type node struct {
	V    int
	Next *node
}

func TestDeepCopyCycles(t *testing.T) {
	a := &node{V: 1}
	b := &node{V: 2, Next: a}
	a.Next = b
	c := machinetest.DeepCopy(a)
	if c == a || c.Next == b {
		t.Fatal("cycle not copied")
	}
	if c.Next.Next != c {
		t.Fatal("cycle shape not preserved")
	}
	if !machinetest.DeepEqual(a, c) {
		t.Fatal("cyclic copy not equal")
	}
	c.Next.V = 5
	if machinetest.DeepEqual(a, c) || b.V != 2 {
		t.Fatal("change in a cyclic copy not detected or leaked")
	}
}

func TestDeepEqual(t *testing.T) {
	f := func() {}
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"nil nil", nil, nil, true},
		{"nil vs value", nil, 1, false},
		{"different types", int32(1), int64(1), false},
		{"NaN", math.NaN(), math.NaN(), true},
		{"same func", f, f, true},
		{"nil func vs func", (func())(nil), f, false},
		{"nil vs empty slice", []int(nil), []int{}, false},
		{"nil vs empty map", map[int]int(nil), map[int]int{}, false},
		{"map missing key", map[int]int{1: 0}, map[int]int{2: 0}, false},
		{"interface field", struct{ X any }{1}, struct{ X any }{"1"}, false},
		{"unexported field", inner{m: map[string]int{"a": 1}}, inner{m: map[string]int{"a": 2}}, false},
		{"complex NaN", complex(math.NaN(), 0), complex(math.NaN(), 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := machinetest.DeepEqual(tt.a, tt.b); got != tt.want {
				t.Errorf("DeepEqual(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// plain has only exported fields and no funcs or floats, so reflect.DeepEqual
// is the reference for it.
type plain struct {
	A []int
	B map[string][]byte
	C *plain
	D [2]string
}

type withAny struct {
	P plain
	E any
}

func TestDeepAgainstReflect(t *testing.T) {
	gen := rapid.Custom(func(t *rapid.T) withAny {
		w := withAny{P: rapid.Make[plain]().Draw(t, "p")}
		if rapid.Bool().Draw(t, "iface") {
			w.E = rapid.SliceOf(rapid.Int()).Draw(t, "e")
		}
		return w
	})
	rapid.Check(t, func(t *rapid.T) {
		a, b := gen.Draw(t, "a"), gen.Draw(t, "b")
		if got, want := machinetest.DeepEqual(a, b), reflect.DeepEqual(a, b); got != want {
			t.Fatalf("DeepEqual = %v, reflect.DeepEqual = %v", got, want)
		}
		c := machinetest.DeepCopy(a)
		if !reflect.DeepEqual(a, c) || !machinetest.DeepEqual(a, c) {
			t.Fatalf("copy not equal:\n%#v\n%#v", a, c)
		}
	})
}
