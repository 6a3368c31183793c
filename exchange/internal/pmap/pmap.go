// Package pmap provides a small persistent (immutable, structurally shared)
// string-keyed map for the exchange's pure programs.
//
// The programs must never mutate their input state, yet the sync program
// updates one entry of a map with thousands of documents on every local
// write. Cloning a Go map per transition would cost O(n); this map is a
// flat slice up to 16 entries and above that a fixed two-level, 32-way trie
// of small entry slices, so an update copies two 32-pointer arrays and one
// leaf of about n/1024 entries.
package pmap

import "sort"

const (
	fanBits = 5
	fan     = 1 << fanBits
	mask    = fan - 1
)

// mid holds pointers to its leaves, not the slices themselves: an update
// copies 32 pointers instead of 32 slice headers (256 bytes, not 768).
type mid[V any] [fan]*leaf[V]

type leaf[V any] struct{ e []entry[V] }

// smallMax is the size up to which a Map is a flat copy-on-write slice:
// most maps in the programs are small (peers, per-tick sets) and one slice
// copy beats three trie allocations.
const smallMax = 16

type entry[V any] struct {
	k string
	v V
}

// Map is an immutable map from string to V. The zero value is an empty map.
// Every "mutating" method returns a new Map and leaves the receiver intact.
//
// The count lives with the trie (a small map's is its slice's length), so
// a Map is four words: the programs' states hold a dozen and copy them on
// every step.
type Map[V any] struct {
	small []entry[V] // used while root == nil
	root  *trie[V]
}

type trie[V any] struct {
	n    int
	mids [fan]*mid[V]
}

// hash is FNV-1a (64 bit): cheap, and independent of the process seed.
func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func index(k string) (int, int) {
	h := hash(k)
	return int(h & mask), int((h >> fanBits) & mask)
}

// Len returns the number of entries.
func (m Map[V]) Len() int {
	if m.root != nil {
		return m.root.n
	}
	return len(m.small)
}

// Get returns the value for k and whether it is present.
func (m Map[V]) Get(k string) (V, bool) {
	var zero V
	if m.root == nil {
		for i := range m.small {
			if m.small[i].k == k {
				return m.small[i].v, true
			}
		}
		return zero, false
	}
	i, j := index(k)
	md := m.root.mids[i]
	if md == nil || md[j] == nil {
		return zero, false
	}
	for _, e := range md[j].e {
		if e.k == k {
			return e.v, true
		}
	}
	return zero, false
}

// Has reports whether k is present.
func (m Map[V]) Has(k string) bool {
	_, ok := m.Get(k)
	return ok
}

// Set returns a map with k bound to v.
func (m Map[V]) Set(k string, v V) Map[V] {
	if m.root == nil {
		for i := range m.small {
			if m.small[i].k == k {
				small := make([]entry[V], len(m.small))
				copy(small, m.small)
				small[i].v = v
				return Map[V]{small: small}
			}
		}
		if len(m.small) < smallMax {
			small := make([]entry[V], len(m.small), len(m.small)+1)
			copy(small, m.small)
			return Map[V]{small: append(small, entry[V]{k, v})}
		}
		// Grow into the trie.
		var t Map[V]
		for _, e := range m.small {
			t = t.setTrie(e.k, e.v)
		}
		return t.setTrie(k, v)
	}
	return m.setTrie(k, v)
}

func (m Map[V]) setTrie(k string, v V) Map[V] {
	i, j := index(k)
	root := new(trie[V])
	if m.root != nil {
		*root = *m.root
	}
	md := new(mid[V])
	if root.mids[i] != nil {
		*md = *root.mids[i]
	}
	var old []entry[V]
	if md[j] != nil {
		old = md[j].e
	}
	n := m.Len()
	at := -1
	for x := range old {
		if old[x].k == k {
			at = x
			break
		}
	}
	var entries []entry[V]
	if at >= 0 {
		entries = make([]entry[V], len(old))
		copy(entries, old)
		entries[at].v = v
	} else {
		entries = make([]entry[V], len(old), len(old)+1)
		copy(entries, old)
		entries = append(entries, entry[V]{k, v})
		n++
	}
	md[j] = &leaf[V]{e: entries}
	root.mids[i] = md
	root.n = n
	return Map[V]{root: root}
}

// Delete returns a map without k (the receiver itself when k is absent).
func (m Map[V]) Delete(k string) Map[V] {
	if !m.Has(k) {
		return m
	}
	if m.Len() == 1 {
		return Map[V]{}
	}
	if m.root == nil {
		small := make([]entry[V], 0, len(m.small)-1)
		for _, e := range m.small {
			if e.k != k {
				small = append(small, e)
			}
		}
		return Map[V]{small: small}
	}
	i, j := index(k)
	root := new(trie[V])
	*root = *m.root
	md := new(mid[V])
	*md = *root.mids[i]
	old := md[j].e
	if len(old) == 1 {
		md[j] = nil
	} else {
		entries := make([]entry[V], 0, len(old)-1)
		for _, e := range old {
			if e.k != k {
				entries = append(entries, e)
			}
		}
		md[j] = &leaf[V]{e: entries}
	}
	root.mids[i] = md
	root.n--
	return Map[V]{root: root}
}

// Range calls f for every entry, in no particular order, until f returns
// false. Use Keys for a stable order.
func (m Map[V]) Range(f func(k string, v V) bool) {
	if m.root == nil {
		for _, e := range m.small {
			if !f(e.k, e.v) {
				return
			}
		}
		return
	}
	for _, md := range m.root.mids {
		if md == nil {
			continue
		}
		for _, l := range md {
			if l == nil {
				continue
			}
			for _, e := range l.e {
				if !f(e.k, e.v) {
					return
				}
			}
		}
	}
}

// Keys returns every key in ascending order.
func (m Map[V]) Keys() []string {
	out := make([]string, 0, m.Len())
	m.Range(func(k string, _ V) bool {
		out = append(out, k)
		return true
	})
	sort.Strings(out)
	return out
}
