package jsjson

import (
	"cmp"
	"math"
	"slices"
)

// KeyOrder says in which order [Parse] hands an object's members over.
// Under either order a repeated key keeps the position of its first
// occurrence and takes the value of its last, as the property assignments
// JSON.parse performs do.
type KeyOrder uint8

const (
	// InsertionOrder lists keys in the order they first appear.
	InsertionOrder KeyOrder = iota
	// PropertyOrder lists keys in JavaScript's property order, the order
	// in which JSON.stringify writes an object JSON.parse made: array-index
	// keys (see [ArrayIndex]) first in ascending numeric order, then the
	// other keys in insertion order.
	PropertyOrder
)

// ArrayIndex reports whether k is an array index, the keys JavaScript
// enumerates first: a canonical decimal ("0", "17"; not "017", "-1", "1e3")
// below 2^32-1.
func ArrayIndex[K Text](k K) (uint32, bool) {
	if len(k) == 0 || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(k); i++ {
		if !isDigit(k[i]) {
			return 0, false
		}
		n = n*10 + uint64(k[i]-'0')
	}
	if n >= math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// Slot is one distinct key of an object in its final place: Key is the
// member that gives the key (its first occurrence) and Value the member
// that gives the value (its last occurrence).
type Slot struct{ Key, Value int }

// smallObject is the member count up to which repeated keys are found by
// comparing pairs instead of through a map.
const smallObject = 16

// Order returns the members of an object, whose keys are keys in document
// order, in the given order with repeated keys merged. It returns nil when
// that is keys as they stand (no repeated key and, for PropertyOrder, any
// array-index keys already first and ascending): the common case, checked
// without allocating.
func Order[K Text](keys []K, order KeyOrder) []Slot {
	if inOrder(keys, order) {
		return nil
	}
	slots := make([]Slot, 0, len(keys))
	var seen map[string]int // key -> slot; only for large objects, which hostile input makes large
	if len(keys) > smallObject {
		seen = make(map[string]int, len(keys))
	}
	for i, k := range keys {
		j := -1
		if seen != nil {
			if s, ok := seen[string(k)]; ok {
				j = s
			} else {
				seen[string(k)] = len(slots)
			}
		} else {
			for s := range slots {
				if string(keys[slots[s].Key]) == string(k) {
					j = s
					break
				}
			}
		}
		if j >= 0 {
			slots[j].Value = i
			continue
		}
		slots = append(slots, Slot{Key: i, Value: i})
	}
	if order == PropertyOrder {
		// Array-index keys move to the front in numeric order; the others
		// keep their relative order behind them.
		var idx []Slot
		rest := slots[:0]
		for _, s := range slots {
			if _, ok := ArrayIndex(keys[s.Key]); ok {
				idx = append(idx, s)
			} else {
				rest = append(rest, s)
			}
		}
		slices.SortFunc(idx, func(a, b Slot) int {
			x, _ := ArrayIndex(keys[a.Key])
			y, _ := ArrayIndex(keys[b.Key])
			return cmp.Compare(x, y)
		})
		copy(slots[len(idx):], rest)
		copy(slots, idx)
	}
	return slots
}

// inOrder reports whether keys are distinct and, for PropertyOrder, have
// their array-index keys first in ascending order.
func inOrder[K Text](keys []K, order KeyOrder) bool {
	if order == PropertyOrder {
		prev, prefix := int64(-1), true
		for _, k := range keys {
			n, ok := ArrayIndex(k)
			if !ok {
				prefix = false
				continue
			}
			if !prefix || int64(n) <= prev {
				return false
			}
			prev = int64(n)
		}
	}
	if len(keys) <= smallObject {
		for i := 1; i < len(keys); i++ {
			for _, p := range keys[:i] {
				if string(p) == string(keys[i]) {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[string(k)]; dup {
			return false
		}
		seen[string(k)] = struct{}{}
	}
	return true
}
