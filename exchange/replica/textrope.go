package replica

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// textRope is how the state holds a string once a text change has touched
// it: well-formed UTF-8 in chunks that each know their length in UTF-16
// code units (the unit text changes count in), so an edit walks chunk
// headers and rewrites one chunk instead of converting and copying the
// whole string. Chunks grow to about the square root of the size, so an
// edit costs O(√n).
//
// Splitting a surrogate pair (a position between the two code units of an
// astral character) turns both halves into U+FFFD, one unit each, exactly
// as the string-rebuilding step did: lengths stay as in JavaScript and
// only the broken character differs (docs/deviations.md).
//
// Like seqList it never leaves the state: Value, JSON and cloneValue see a
// string.
type textRope struct {
	chunks []textChunk
	units  int
	size   int // bytes
}

type textChunk struct {
	b     []byte
	units int
}

// textChunkMin is the smallest chunk split size in bytes (a variable so
// tests can exercise chunk boundaries with short strings).
var textChunkMin = 2048

// replacement2 replaces an astral character split by an edit.
const replacement2 = "\uFFFD\uFFFD"

// utf16Units is the length of well-formed UTF-8 b in UTF-16 code units.
func utf16Units[T string | []byte](b T) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			i++
		case c < 0xE0:
			i += 2
		case c < 0xF0:
			i += 3
		default:
			i += 4
			n++ // a surrogate pair
		}
		n++
	}
	return n
}

func newTextRope(s string) *textRope {
	s = jsjson.WellFormed(s)
	r := &textRope{}
	r.chunks = textChunks(nil, s, chunkLimit(len(s), textChunkMin)/2)
	for _, c := range r.chunks {
		r.units += c.units
	}
	r.size = len(s)
	return r
}

// textChunks appends s (well-formed) in chunks of about size bytes, cut at
// character boundaries.
func textChunks(chunks []textChunk, s string, size int) []textChunk {
	for len(s) > 0 {
		k := min(size, len(s))
		for k < len(s) && !utf8.RuneStart(s[k]) {
			k++
		}
		b := append(make([]byte, 0, k+k/4), s[:k]...)
		chunks = append(chunks, textChunk{b: b, units: utf16Units(b)})
		s = s[k:]
	}
	return chunks
}

// String returns the text.
func (r *textRope) String() string {
	var sb strings.Builder
	sb.Grow(r.size)
	for _, c := range r.chunks {
		sb.Write(c.b)
	}
	return sb.String()
}

// appendJSON appends the text as a JSON string. Chunks are cut at
// character boundaries, so escaping them one by one equals escaping the
// whole.
func (r *textRope) appendJSON(b []byte) []byte {
	b = append(b, '"')
	for _, c := range r.chunks {
		start := len(b)
		b = jsjson.AppendString(b, string(c.b))
		// Drop the quotes AppendString put around the chunk.
		copy(b[start:], b[start+1:len(b)-1])
		b = b[:len(b)-2]
	}
	return append(b, '"')
}

// advance moves from byte off of b forward by at most k units. It stops
// early (mid=true) in front of an astral character when only one unit of
// it is wanted.
func advance(b []byte, units, off, k int) (next, used int, mid bool) {
	if units == len(b) { // ASCII: one byte per unit
		used = min(k, len(b)-off)
		return off + used, used, false
	}
	for off < len(b) && used < k {
		if b[off] < utf8.RuneSelf {
			used++
			off++
			continue
		}
		_, size := utf8.DecodeRune(b[off:])
		if size == 4 {
			if k-used == 1 {
				return off, used, true
			}
			used++
		}
		used++
		off += size
	}
	return off, used, false
}

// ropeCursor edits a textRope front to back, as text instructions do.
type ropeCursor struct {
	r   *textRope
	ci  int // current chunk (== len(chunks) only when the rope is empty)
	off int // byte offset in the current chunk, at a character boundary
	pos int // absolute position in units
}

func (r *textRope) cursor() ropeCursor { return ropeCursor{r: r} }

// splitAstral replaces the astral character at byte off of chunk ci with
// two U+FFFD (same unit count, two more bytes).
func (c *ropeCursor) splitAstral(ci, off int) {
	ch := &c.r.chunks[ci]
	ch.b = slices.Replace(ch.b, off, off+4, []byte(replacement2)...)
	c.r.size += 2
}

func (c *ropeCursor) retain(k int) {
	k = min(k, c.r.units-c.pos)
	c.pos += k
	for k > 0 {
		ch := c.r.chunks[c.ci]
		if c.off == 0 && k > ch.units {
			// Skip a whole chunk by its header.
			k -= ch.units
			c.ci++
			continue
		}
		next, used, mid := advance(ch.b, ch.units, c.off, k)
		c.off = next
		k -= used
		if mid {
			c.splitAstral(c.ci, c.off)
			c.off += 3
			return
		}
		if k > 0 {
			c.ci++
			c.off = 0
		}
	}
}

// insert inserts well-formed s at the cursor and moves past it.
func (c *ropeCursor) insert(s string) {
	if s == "" {
		return
	}
	r := c.r
	units := utf16Units(s)
	limit := chunkLimit(r.size+len(s), textChunkMin)
	r.units += units
	r.size += len(s)
	c.pos += units
	if len(r.chunks) == 0 {
		r.chunks = textChunks(nil, s, limit/2)
		c.ci = len(r.chunks) - 1
		c.off = len(r.chunks[c.ci].b)
		return
	}
	ch := &r.chunks[c.ci]
	if len(ch.b)+len(s) <= limit {
		ch.b = slices.Insert(ch.b, c.off, []byte(s)...)
		ch.units += units
		c.off += len(s)
		return
	}
	right := append([]byte(nil), ch.b[c.off:]...)
	left := ch.b[:c.off]
	leftUnits := utf16Units(left)
	repl := make([]textChunk, 0, 3+len(s)/(limit/2))
	if len(left) > 0 {
		repl = append(repl, textChunk{b: left, units: leftUnits})
	}
	repl = textChunks(repl, s, limit/2)
	last := len(repl) - 1
	if len(right) > 0 {
		repl = append(repl, textChunk{b: right, units: ch.units - leftUnits})
	}
	r.chunks = slices.Replace(r.chunks, c.ci, c.ci+1, repl...)
	c.ci += last
	c.off = len(r.chunks[c.ci].b)
}

// cutFrom removes k units from byte off of chunk ci (no more than the
// chunk holds there), splitting an astral character the cut lands in.
func (c *ropeCursor) cutFrom(ci, off, k int) {
	ch := &c.r.chunks[ci]
	next, used, mid := advance(ch.b, ch.units, off, k)
	if mid {
		c.splitAstral(ci, next)
		next += 3
		used++
	}
	ch.b = slices.Delete(ch.b, off, next)
	ch.units -= used
	c.r.size -= next - off
}

// delete removes k units after the cursor.
func (c *ropeCursor) delete(k int) {
	r := c.r
	k = min(k, r.units-c.pos)
	if k == 0 {
		return
	}
	r.units -= k
	if c.off > 0 {
		ch := r.chunks[c.ci]
		rest := ch.units - utf16Units(ch.b[:c.off])
		take := min(k, rest)
		c.cutFrom(c.ci, c.off, take)
		k -= take
		if k == 0 {
			c.mend()
			return
		}
		c.ci++
		c.off = 0
	}
	j := c.ci
	for j < len(r.chunks) && k >= r.chunks[j].units {
		k -= r.chunks[j].units
		r.size -= len(r.chunks[j].b)
		j++
	}
	clear(r.chunks[c.ci:j])
	r.chunks = slices.Delete(r.chunks, c.ci, j)
	if k > 0 {
		c.cutFrom(c.ci, 0, k)
	}
	if c.ci > 0 && (c.ci == len(r.chunks) || c.off == 0) {
		c.ci--
		c.off = len(r.chunks[c.ci].b)
	}
	c.mend()
}

// mend drops an empty chunk under the cursor and merges a small one with
// its right neighbour.
func (c *ropeCursor) mend() {
	r := c.r
	if c.ci >= len(r.chunks) {
		return
	}
	if len(r.chunks[c.ci].b) == 0 {
		r.chunks = slices.Delete(r.chunks, c.ci, c.ci+1)
		if c.ci > 0 {
			c.ci--
			c.off = len(r.chunks[c.ci].b)
		} else {
			c.off = 0
		}
		return
	}
	limit := chunkLimit(r.size, textChunkMin)
	if c.ci+1 < len(r.chunks) && len(r.chunks[c.ci].b)+len(r.chunks[c.ci+1].b) <= limit/2 {
		a := &r.chunks[c.ci]
		a.b = append(a.b, r.chunks[c.ci+1].b...)
		a.units += r.chunks[c.ci+1].units
		r.chunks = slices.Delete(r.chunks, c.ci+1, c.ci+2)
	}
}
