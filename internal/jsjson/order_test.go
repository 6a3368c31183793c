package jsjson

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestArrayIndex(t *testing.T) {
	for _, c := range []struct {
		k  string
		n  uint32
		ok bool
	}{
		{"0", 0, true}, {"7", 7, true}, {"10", 10, true}, {"4294967294", 4294967294, true},
		{"4294967295", 0, false}, {"9999999999", 0, false}, {"12345678901", 0, false},
		{"", 0, false}, {"01", 0, false}, {"00", 0, false}, {"-1", 0, false}, {"1e3", 0, false},
		{"1.0", 0, false}, {" 1", 0, false}, {"+1", 0, false}, {"a", 0, false},
	} {
		if n, ok := ArrayIndex(c.k); n != c.n || ok != c.ok {
			t.Errorf("ArrayIndex(%q) = %d, %v; want %d, %v", c.k, n, ok, c.n, c.ok)
		}
		if n, ok := ArrayIndex([]byte(c.k)); n != c.n || ok != c.ok {
			t.Errorf("ArrayIndex([]byte(%q)) = %d, %v", c.k, n, ok)
		}
	}
}

// arrange applies Order's result to keys and values.
func arrange(keys []string, vals []int, order KeyOrder) ([]string, []int) {
	slots := Order(keys, order)
	if slots == nil {
		return keys, vals
	}
	var ks []string
	var vs []int
	for _, s := range slots {
		ks = append(ks, keys[s.Key])
		vs = append(vs, vals[s.Value])
	}
	return ks, vs
}

func TestOrder(t *testing.T) {
	for _, c := range []struct {
		keys                string // space separated; the values are 0, 1, 2, ...
		insertion, property string // key=value after Order
	}{
		{"", "", ""},
		{"b a", "b=0 a=1", "b=0 a=1"},
		{"a b a", "a=2 b=1", "a=2 b=1"},
		{"b 10 a 2 01 -1", "b=0 10=1 a=2 2=3 01=4 -1=5", "2=3 10=1 b=0 a=2 01=4 -1=5"},
		{"4294967295 4294967294", "4294967295=0 4294967294=1", "4294967294=1 4294967295=0"},
		{"1 2 1", "1=2 2=1", "1=2 2=1"},
		{"2 1 2 x", "2=2 1=1 x=3", "1=1 2=2 x=3"},
	} {
		var keys []string
		var vals []int
		for i, f := range strings.Fields(c.keys) {
			keys = append(keys, f)
			vals = append(vals, i)
		}
		for _, o := range []struct {
			order KeyOrder
			want  string
		}{{InsertionOrder, c.insertion}, {PropertyOrder, c.property}} {
			ks, vs := arrange(keys, vals, o.order)
			var got []string
			for i := range ks {
				got = append(got, ks[i]+"="+strconv.Itoa(vs[i]))
			}
			if g := strings.Join(got, " "); g != o.want {
				t.Errorf("Order(%q, %d) = %q, want %q", c.keys, o.order, g, o.want)
			}
		}
	}
}

// TestOrderMatchesModel compares Order with a direct model of JavaScript
// property assignment: a map of values plus a list of keys in creation
// order, enumerated index keys first, then strings. Sizes cover both the
// pairwise and the map-based duplicate search.
func TestOrderMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "c", "0", "1", "2", "10", "01", "4294967295", "x0"}), 0, 40).Draw(t, "keys")
		for i := range keys {
			if rapid.IntRange(0, 4).Draw(t, "fresh") == 0 {
				keys[i] = "k" + strconv.Itoa(i) // mostly distinct keys, to reach the large-object path
			}
		}
		order := KeyOrder(rapid.IntRange(0, 1).Draw(t, "order"))
		vals := make([]int, len(keys))
		for i := range vals {
			vals[i] = i
		}
		value := map[string]int{}
		var created []string
		for i, k := range keys {
			if _, ok := value[k]; !ok {
				created = append(created, k)
			}
			value[k] = i
		}
		want := created
		if order == PropertyOrder {
			var idx, rest []string
			for _, k := range created {
				if _, ok := ArrayIndex(k); ok {
					idx = append(idx, k)
				} else {
					rest = append(rest, k)
				}
			}
			slices.SortFunc(idx, func(a, b string) int {
				x, _ := strconv.ParseUint(a, 10, 64)
				y, _ := strconv.ParseUint(b, 10, 64)
				return int(int64(x) - int64(y))
			})
			want = append(idx, rest...)
		}
		ks, vs := arrange(keys, vals, order)
		if !slices.Equal(ks, want) {
			t.Fatalf("keys %q order %d: got %q, want %q", keys, order, ks, want)
		}
		for i, k := range ks {
			if vs[i] != value[k] {
				t.Fatalf("keys %q: %s has value %d, want %d", keys, k, vs[i], value[k])
			}
		}
		if slots := Order(keys, order); slots == nil && !slices.Equal(keys, want) {
			t.Fatalf("keys %q: Order said no change is needed", keys)
		}
	})
}

func TestOrderCommonCaseDoesNotAllocate(t *testing.T) {
	keys := []string{"0", "1", "t", "id", "doc", "v", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i"}
	if n := testing.AllocsPerRun(100, func() {
		if Order(keys, PropertyOrder) != nil {
			t.Fatal("reordered keys already in order")
		}
	}); n != 0 {
		t.Errorf("Order allocated %v times", n)
	}
}
