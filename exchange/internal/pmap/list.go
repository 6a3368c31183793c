package pmap

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
type Set struct {
	order List[string]
	in    Map[struct{}]
}

// Add returns a set containing k (the receiver itself when k is present).
func (s Set) Add(k string) Set {
	if s.in.Has(k) {
		return s
	}
	return Set{order: s.order.Push(k), in: s.in.Set(k, struct{}{})}
}

// Has reports whether k is in the set.
func (s Set) Has(k string) bool { return s.in.Has(k) }

// Len returns the number of members.
func (s Set) Len() int { return s.order.Len() }

// Slice returns the members in insertion order.
func (s Set) Slice() []string { return s.order.Slice() }
