package pmap

import (
	"fmt"
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
