package pmap

import "iter"

// List is an immutable append-only sequence. Push is O(1) and shares the
// existing cells; Slice materializes it in insertion order. The zero value
// is empty.
type List[T any] struct {
	last *cell[T]
	n    int
}

type cell[T any] struct {
	v    T
	prev *cell[T]
}

// Push returns a list with v appended.
func (l List[T]) Push(v T) List[T] {
	return List[T]{last: &cell[T]{v: v, prev: l.last}, n: l.n + 1}
}

// Len returns the number of elements.
func (l List[T]) Len() int { return l.n }

// Slice returns the elements in insertion order (nil when empty).
func (l List[T]) Slice() []T {
	if l.n == 0 {
		return nil
	}
	out := make([]T, l.n)
	i := l.n - 1
	for c := l.last; c != nil; c = c.prev {
		out[i] = c.v
		i--
	}
	return out
}

// Set is an immutable insertion-ordered set of strings.
//
// Up to smallMax members it is only its list (Has scans it): most sets in
// the programs hold a document or two per tick, and one cell per Add
// costs one allocation where a list plus an index cost two or three.
type Set struct {
	order List[string]
	in    Map[struct{}] // built once the set outgrows smallMax
}

// Add returns a set containing k (the receiver itself when k is present).
func (s Set) Add(k string) Set {
	if s.Has(k) {
		return s
	}
	n := Set{order: s.order.Push(k), in: s.in}
	switch {
	case n.order.n > smallMax+1:
		n.in = s.in.Set(k, struct{}{})
	case n.order.n == smallMax+1:
		for c := n.order.last; c != nil; c = c.prev {
			n.in = n.in.Set(c.v, struct{}{})
		}
	}
	return n
}

// Has reports whether k is in the set.
func (s Set) Has(k string) bool {
	if s.order.n > smallMax {
		return s.in.Has(k)
	}
	for c := s.order.last; c != nil; c = c.prev {
		if c.v == k {
			return true
		}
	}
	return false
}

// Len returns the number of members.
func (s Set) Len() int { return s.order.Len() }

// Slice returns the members in insertion order.
func (s Set) Slice() []string { return s.order.Slice() }

// All yields the members in insertion order. Unlike Slice it allocates
// only for sets longer than a few dozen.
func (s Set) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		var buf [32]string
		members := buf[:0]
		if s.order.n > len(buf) {
			members = make([]string, 0, s.order.n)
		}
		for c := s.order.last; c != nil; c = c.prev {
			members = append(members, c.v)
		}
		for i := len(members) - 1; i >= 0; i-- {
			if !yield(members[i]) {
				return
			}
		}
	}
}
