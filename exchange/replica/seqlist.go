package replica

import "slices"

// seqList is how the state holds a list once a sequence change has touched
// it: the items split into chunks, so an insert or delete moves at most one
// chunk's items plus the chunk headers instead of the whole list. Chunks
// grow to about the square root of the length, so an edit costs
// O(√n) and a merge of k edits O(k·√n), not O(k·n).
//
// It is internal to the state: values handed out (Value, JSON, hooks) are
// plain []any, and cloneValue, appendValue and equalValues read it like a
// list. Invariants: no empty chunk; n is the sum of the chunk lengths.
type seqList struct {
	chunks [][]any
	n      int
}

// listChunkMin is the smallest chunk split size (a variable so tests can
// exercise chunk boundaries with tiny lists).
var listChunkMin = 512

// chunkLimit is the length at which a chunk splits, for a list of n items:
// 2·max(listChunkMin, √n).
func chunkLimit(n, floor int) int { return 2 * max(floor, isqrt(n)) }

func isqrt(n int) int {
	if n < 2 {
		return n
	}
	x := n
	y := (x + 1) / 2
	for y < x {
		x = y
		y = (x + n/x) / 2
	}
	return x
}

// newSeqList takes ownership of items.
func newSeqList(items []any) *seqList {
	l := &seqList{n: len(items)}
	l.chunks = chunkify(nil, items, chunkLimit(len(items), listChunkMin)/2)
	return l
}

// chunkify appends items to chunks in pieces of at most size, each copied
// into its own backing array so chunks never share one.
func chunkify(chunks [][]any, items []any, size int) [][]any {
	for len(items) > 0 {
		k := min(size, len(items))
		chunks = append(chunks, append(make([]any, 0, k+k/4), items[:k]...))
		items = items[k:]
	}
	return chunks
}

func (l *seqList) len() int { return l.n }

// locate returns the chunk and offset of item i (0 ≤ i < n).
func (l *seqList) locate(i int) (int, int) {
	for ci, c := range l.chunks {
		if i < len(c) {
			return ci, i
		}
		i -= len(c)
	}
	return len(l.chunks), 0
}

func (l *seqList) get(i int) any {
	ci, off := l.locate(i)
	return l.chunks[ci][off]
}

func (l *seqList) set(i int, v any) {
	ci, off := l.locate(i)
	l.chunks[ci][off] = v
}

// appendItems appends every item (not copied) to dst.
func (l *seqList) appendItems(dst []any) []any {
	for _, c := range l.chunks {
		dst = append(dst, c...)
	}
	return dst
}

// items returns a flat copy of the item slots (the items themselves are
// shared).
func (l *seqList) items() []any { return l.appendItems(make([]any, 0, l.n)) }

// seqCursor edits a seqList front to back, as sequence instructions do: a
// retain moves past chunks without touching them, an insert or delete
// works inside the chunk under the cursor.
type seqCursor struct {
	l   *seqList
	ci  int // current chunk (== len(chunks) only when the list is empty)
	off int // offset in the current chunk, 0..len
	pos int // absolute position
}

func (l *seqList) cursor() seqCursor { return seqCursor{l: l} }

func (c *seqCursor) retain(k int) {
	k = min(k, c.l.n-c.pos)
	c.pos += k
	for k > 0 {
		avail := len(c.l.chunks[c.ci]) - c.off
		if k <= avail {
			c.off += k
			return
		}
		k -= avail
		c.ci++
		c.off = 0
	}
}

// insert inserts items (already owned by the list) at the cursor and moves
// past them.
func (c *seqCursor) insert(items []any) {
	m := len(items)
	if m == 0 {
		return
	}
	l := c.l
	limit := chunkLimit(l.n+m, listChunkMin)
	l.n += m
	c.pos += m
	if len(l.chunks) == 0 {
		l.chunks = chunkify(nil, items, limit/2)
		c.ci = len(l.chunks) - 1
		c.off = len(l.chunks[c.ci])
		return
	}
	ch := l.chunks[c.ci]
	if len(ch)+m <= limit {
		l.chunks[c.ci] = slices.Insert(ch, c.off, items...)
		c.off += m
		return
	}
	// Split the chunk at the cursor and put the new items between the two
	// halves in chunks of their own.
	right := append([]any(nil), ch[c.off:]...)
	clear(ch[c.off:])
	left := ch[:c.off]
	repl := make([][]any, 0, 2+m/(limit/2)+1)
	if len(left) > 0 {
		repl = append(repl, left)
	}
	repl = chunkify(repl, items, limit/2)
	last := len(repl) - 1
	if len(right) > 0 {
		repl = append(repl, right)
	}
	l.chunks = slices.Replace(l.chunks, c.ci, c.ci+1, repl...)
	c.ci += last
	c.off = len(l.chunks[c.ci])
}

// delete removes k items after the cursor.
func (c *seqCursor) delete(k int) {
	l := c.l
	k = min(k, l.n-c.pos)
	if k == 0 {
		return
	}
	l.n -= k
	// Rest of the current chunk.
	if c.off > 0 {
		ch := l.chunks[c.ci]
		take := min(k, len(ch)-c.off)
		l.chunks[c.ci] = slices.Delete(ch, c.off, c.off+take)
		k -= take
		if k == 0 {
			c.mend()
			return
		}
		c.ci++
		c.off = 0
	}
	// Whole chunks, removed in one step.
	j := c.ci
	for j < len(l.chunks) && k >= len(l.chunks[j]) {
		k -= len(l.chunks[j])
		j++
	}
	clear(l.chunks[c.ci:j])
	l.chunks = slices.Delete(l.chunks, c.ci, j)
	// Head of the next chunk.
	if k > 0 {
		l.chunks[c.ci] = slices.Delete(l.chunks[c.ci], 0, k)
	}
	if c.ci > 0 && (c.ci == len(l.chunks) || c.off == 0) {
		// Keep the cursor at the end of the previous chunk so mend can
		// merge across the deleted gap.
		c.ci--
		c.off = len(l.chunks[c.ci])
	}
	c.mend()
}

// mend keeps chunks from fragmenting after deletes: an empty chunk under
// the cursor is dropped and a small one is merged with its right
// neighbour when both fit in one chunk.
func (c *seqCursor) mend() {
	l := c.l
	if c.ci >= len(l.chunks) {
		return
	}
	if len(l.chunks[c.ci]) == 0 {
		l.chunks = slices.Delete(l.chunks, c.ci, c.ci+1)
		if c.ci > 0 {
			c.ci--
			c.off = len(l.chunks[c.ci])
		} else {
			c.off = 0
		}
		return
	}
	limit := chunkLimit(l.n, listChunkMin)
	if c.ci+1 < len(l.chunks) && len(l.chunks[c.ci])+len(l.chunks[c.ci+1]) <= limit/2 {
		l.chunks[c.ci] = append(l.chunks[c.ci], l.chunks[c.ci+1]...)
		l.chunks = slices.Delete(l.chunks, c.ci+1, c.ci+2)
	}
}

// appendNulls grows the list by k nulls at its end.
func (l *seqList) appendNulls(k int) {
	c := seqCursor{l: l, pos: l.n, ci: max(len(l.chunks)-1, 0)}
	if len(l.chunks) > 0 {
		c.off = len(l.chunks[c.ci])
	}
	c.insert(make([]any, k))
}
