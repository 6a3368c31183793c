package pmap

import (
	"fmt"
	"slices"
	"sort"
	"testing"

	"pgregory.net/rapid"
)

func TestMapAgainstModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m Map[int]
		model := map[string]int{}
		var history []Map[int]
		var models []map[string]int
		keys := rapid.SampledFrom([]string{"", "a", "b", "doc", "doc-extra", "x/y", "é"})
		for i := 0; i < 80; i++ {
			k := keys.Draw(t, "k")
			if len(k) == 0 || rapid.Bool().Draw(t, "gen") {
				k = fmt.Sprint(k, rapid.IntRange(0, 3000).Draw(t, "n"))
			}
			history = append(history, m)
			snap := map[string]int{}
			for kk, vv := range model {
				snap[kk] = vv
			}
			models = append(models, snap)
			if rapid.IntRange(0, 3).Draw(t, "op") == 0 {
				m = m.Delete(k)
				delete(model, k)
			} else {
				m = m.Set(k, i)
				model[k] = i
			}
		}
		check := func(m Map[int], model map[string]int) {
			if m.Len() != len(model) {
				t.Fatalf("len %d, model %d", m.Len(), len(model))
			}
			for k, v := range model {
				if got, ok := m.Get(k); !ok || got != v {
					t.Fatalf("get %q = %d,%v want %d", k, got, ok, v)
				}
			}
			want := make([]string, 0, len(model))
			for k := range model {
				want = append(want, k)
			}
			sort.Strings(want)
			got := m.Keys()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("keys %v want %v", got, want)
			}
		}
		check(m, model)
		// Old versions are untouched by later updates.
		for i := range history {
			check(history[i], models[i])
		}
	})
}

func TestListAndSet(t *testing.T) {
	var l List[int]
	a := l.Push(1)
	b := a.Push(2)
	c := a.Push(3)
	if fmt.Sprint(b.Slice(), c.Slice(), a.Slice(), l.Slice()) != "[1 2] [1 3] [1] []" {
		t.Fatal(b.Slice(), c.Slice(), a.Slice(), l.Slice())
	}
	var s Set
	s2 := s.Add("x").Add("y").Add("x")
	if fmt.Sprint(s2.Slice()) != "[x y]" || s2.Len() != 2 || !s2.Has("y") || s.Has("x") {
		t.Fatal(s2.Slice())
	}
}

// The set against a map and a slice, across the size where it starts
// keeping an index, with every older version checked again.
func TestSetAgainstModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s Set
		var history []Set
		var orders [][]string
		var order []string
		adds := rapid.IntRange(0, 3*smallMax).Draw(t, "adds")
		for range adds {
			k := fmt.Sprint("k", rapid.IntRange(0, 2*smallMax).Draw(t, "k"))
			history, orders = append(history, s), append(orders, order)
			s = s.Add(k)
			if !slices.Contains(order, k) {
				order = append(slices.Clip(order), k)
			}
		}
		history, orders = append(history, s), append(orders, order)
		for i, h := range history {
			want := orders[i]
			if h.Len() != len(want) || fmt.Sprint(h.Slice()) != fmt.Sprint(want) {
				t.Fatalf("version %d: %v, want %v", i, h.Slice(), want)
			}
			if ranged := slices.Collect(h.All()); fmt.Sprint(ranged) != fmt.Sprint(want) {
				t.Fatalf("version %d: range %v, want %v", i, ranged, want)
			}
			for k := 0; k <= 2*smallMax; k++ {
				key := fmt.Sprint("k", k)
				if h.Has(key) != slices.Contains(want, key) {
					t.Fatalf("version %d: Has(%q) = %v", i, key, h.Has(key))
				}
			}
		}
	})
}

func TestSetAllStops(t *testing.T) {
	var s Set
	for i := 0; i < 40; i++ {
		s = s.Add(fmt.Sprint(i))
	}
	var seen []string
	for k := range s.All() {
		seen = append(seen, k)
		if len(seen) == 3 {
			break
		}
	}
	if fmt.Sprint(seen) != "[0 1 2]" {
		t.Fatal(seen)
	}
}

func BenchmarkSetAdd(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var s Set
		s = s.Add("doc")
		if !s.Has("doc") {
			b.Fatal("lost")
		}
	}
}

func BenchmarkMapSet1000(b *testing.B) {
	var m Map[int]
	for i := 0; i < 1000; i++ {
		m = m.Set(fmt.Sprint("doc-", i), i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m = m.Set("doc-500", i)
	}
}
