package replica

import (
	"slices"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// richText is how the state holds a richtext value (a list of span objects
// {text, marks?}) once a richtext change has touched it: the text of all
// spans in one textRope, and the spans as runs (a length in UTF-16 units
// and the marks) in chunks that know their total length. A change walks
// chunk headers to where it acts and edits a few runs there, so it costs
// O(√n) instead of rebuilding every span and its text.
//
// The runs are exactly the span objects the reference's step
// (rebuildRichText) would produce: a change applied here performs that
// step's left-to-right fold (emit a piece; merge it into the previous span
// when their marks are equal) on the runs around the cursor only. That is
// enough because the step's output is normalized (no empty span, no two
// neighbours with equal marks): a retain over whole spans re-emits them
// unchanged, except that it drops what only an untouched span keeps (extra
// keys, an empty marks object); runs that still hold such a form are
// counted per chunk so retains skip chunks without them.
//
// Like seqList it never leaves the state: Value, JSON, cloneValue and path
// reads and writes see the plain list of span objects (a path into the
// value turns it back into that list, in place).
type richText struct {
	text   *textRope
	chunks []runChunk
}

// richRun is one span.
type richRun struct {
	units int
	// marks is the span object's "marks" member when it is an object
	// (the empty object included), else nil.
	marks *Object
	// orig, when set, is the span object itself, passed through untouched
	// (it may have other keys or key orders than a span the step builds).
	orig *Object
}

// odd reports a run that a walk changes: an untouched original, or an
// empty marks object (which a rebuilt span omits).
func (r *richRun) odd() bool { return r.orig != nil || (r.marks != nil && r.marks.Len() == 0) }

type runChunk struct {
	runs  []richRun
	units int
	odd   int // runs in this chunk with odd() true
}

// runChunkMin is the smallest chunk split size in runs (a variable so tests
// can exercise chunk boundaries with few spans).
var runChunkMin = 64

// canonMarks is what a rebuilt span keeps of marks: nothing when empty.
func canonMarks(m *Object) *Object {
	if m.Len() == 0 {
		return nil
	}
	return m
}

// newRichText holds spans, the normalized output of rebuildRichText (every
// element an object with non-empty text).
func newRichText(spans []any) *richText {
	rt := &richText{}
	runs := make([]richRun, 0, len(spans))
	var text []byte
	for _, e := range spans {
		o, _ := e.(*Object)
		t, _ := o.Get("text")
		ts, _ := asText(t)
		ts = jsjson.WellFormed(ts)
		text = append(text, ts...)
		r := richRun{units: utf16Units(ts)}
		if m, ok := o.Get("marks"); ok {
			r.marks, _ = m.(*Object)
		}
		if !isBuiltSpan(o, r.marks) {
			r.orig = o
		}
		runs = append(runs, r)
	}
	rt.text = newTextRope(string(text))
	size := chunkLimit(len(runs), runChunkMin) / 2
	for len(runs) > 0 {
		k := min(size, len(runs))
		ch := runChunk{runs: append(make([]richRun, 0, k+k/4), runs[:k]...)}
		for i := range ch.runs {
			ch.units += ch.runs[i].units
			if ch.runs[i].odd() {
				ch.odd++
			}
		}
		rt.chunks = append(rt.chunks, ch)
		runs = runs[k:]
	}
	return rt
}

// isBuiltSpan reports whether o is exactly the object spanObject builds
// from its text and marks ({text} or {text, marks} with a string text), so
// it can be rebuilt from the run instead of kept.
func isBuiltSpan(o *Object, marks *Object) bool {
	if len(o.m) == 0 || o.m[0].k != "text" {
		return false
	}
	if _, ok := o.m[0].v.(string); !ok {
		return false
	}
	switch len(o.m) {
	case 1:
		return true
	case 2:
		return o.m[1].k == "marks" && marks != nil
	}
	return false
}

// items returns the plain list of span objects. Untouched originals and
// marks objects are shared with the richText.
func (rt *richText) items() []any {
	n := 0
	for _, ch := range rt.chunks {
		n += len(ch.runs)
	}
	out := make([]any, 0, n)
	rd := ropeReader{r: rt.text}
	for _, ch := range rt.chunks {
		for _, r := range ch.runs {
			if r.orig != nil {
				rd.skip(r.units)
				out = append(out, r.orig)
				continue
			}
			o := newObject(2)
			o.Set("text", rd.next(r.units))
			if r.marks != nil {
				o.Set("marks", r.marks)
			}
			out = append(out, o)
		}
	}
	return out
}

// ropeReader reads a rope front to back by UTF-16 units. Span boundaries
// are character boundaries (an edit that lands inside a surrogate pair
// splits it in the rope first), so reads never cut a character.
type ropeReader struct {
	r   *textRope
	ci  int
	off int
	buf []byte
}

func (rd *ropeReader) read(k int, keep bool) {
	for k > 0 && rd.ci < len(rd.r.chunks) {
		ch := rd.r.chunks[rd.ci]
		next, used, mid := advance(ch.b, ch.units, rd.off, k)
		if mid { // not expected; take the whole character
			_, size := utf8.DecodeRune(ch.b[next:])
			next += size
			used = k
		}
		if keep {
			rd.buf = append(rd.buf, ch.b[rd.off:next]...)
		}
		rd.off = next
		k -= used
		if rd.off >= len(ch.b) {
			rd.ci++
			rd.off = 0
		}
	}
}

func (rd *ropeReader) next(k int) string {
	rd.buf = rd.buf[:0]
	rd.read(k, true)
	return string(rd.buf)
}

func (rd *ropeReader) skip(k int) { rd.read(k, false) }

// runCursor is a position between runs: runs before it are the step's
// output so far, runs from it on its input.
type runCursor struct {
	rt *richText
	ci int // chunk of the run at the cursor; len(chunks) at the end
	ri int // run in that chunk
}

func (c *runCursor) at() (*runChunk, *richRun) {
	if c.ci >= len(c.rt.chunks) {
		return nil, nil
	}
	ch := &c.rt.chunks[c.ci]
	return ch, &ch.runs[c.ri]
}

// before returns the run just before the cursor, nil at the start.
func (c *runCursor) before() (*runChunk, *richRun) {
	if c.ri > 0 {
		ch := &c.rt.chunks[c.ci]
		return ch, &ch.runs[c.ri-1]
	}
	if c.ci == 0 {
		return nil, nil
	}
	ch := &c.rt.chunks[c.ci-1]
	return ch, &ch.runs[len(ch.runs)-1]
}

func (c *runCursor) advance() {
	c.ri++
	if c.ri == len(c.rt.chunks[c.ci].runs) {
		c.ci++
		c.ri = 0
	}
}

// edit changes run r of chunk ch, keeping the chunk's odd count.
func edit(ch *runChunk, r *richRun, f func(r *richRun)) {
	if r.odd() {
		ch.odd--
	}
	f(r)
	if r.odd() {
		ch.odd++
	}
}

// rebuilt turns r into the span a walk emits for it.
func rebuilt(r *richRun) {
	r.orig = nil
	r.marks = canonMarks(r.marks)
}

// emit appends a new piece to the output: merged into the run before the
// cursor when their marks are equal (the merged span keeps that run's
// marks), else inserted before the cursor.
func (c *runCursor) emit(p richRun) {
	if p.units == 0 {
		return
	}
	if ch, l := c.before(); l != nil && marksEqual(l.marks, p.marks) {
		edit(ch, l, func(l *richRun) { l.units += p.units; l.orig = nil })
		ch.units += p.units
		return
	}
	c.insert(p)
}

// insert puts p before the cursor.
func (c *runCursor) insert(p richRun) {
	rt := c.rt
	if c.ci == len(rt.chunks) {
		if c.ci == 0 {
			rt.chunks = append(rt.chunks, runChunk{})
		} else {
			c.ci--
			c.ri = len(rt.chunks[c.ci].runs)
		}
	}
	ch := &rt.chunks[c.ci]
	ch.runs = slices.Insert(ch.runs, c.ri, p)
	ch.units += p.units
	if p.odd() {
		ch.odd++
	}
	c.ri++
	if len(ch.runs) > chunkLimit(rt.runCount(), runChunkMin) {
		c.split()
	}
	if c.ri == len(rt.chunks[c.ci].runs) {
		c.ci++
		c.ri = 0
	}
}

func (rt *richText) runCount() int {
	n := 0
	for _, ch := range rt.chunks {
		n += len(ch.runs)
	}
	return n
}

// split halves the chunk at the cursor.
func (c *runCursor) split() {
	rt := c.rt
	ch := rt.chunks[c.ci]
	h := len(ch.runs) / 2
	right := runChunk{runs: append(make([]richRun, 0, len(ch.runs)-h+8), ch.runs[h:]...)}
	for i := range right.runs {
		right.units += right.runs[i].units
		if right.runs[i].odd() {
			right.odd++
		}
	}
	clear(ch.runs[h:])
	left := runChunk{runs: ch.runs[:h], units: ch.units - right.units, odd: ch.odd - right.odd}
	rt.chunks = slices.Replace(rt.chunks, c.ci, c.ci+1, left, right)
	if c.ri >= h {
		c.ci++
		c.ri -= h
	}
}

// absorb merges the run at the cursor into l, the run before it (in
// chunk pch). l is edited first: removing may move the chunk's runs.
func (c *runCursor) absorb(pch *runChunk, l *richRun) {
	_, r := c.at()
	n := r.units
	edit(pch, l, func(l *richRun) { l.units += n; l.orig = nil })
	pch.units += n
	c.remove()
}

// remove deletes the run at the cursor; the cursor moves to the next run.
func (c *runCursor) remove() {
	rt := c.rt
	ch := &rt.chunks[c.ci]
	r := ch.runs[c.ri]
	ch.units -= r.units
	if r.odd() {
		ch.odd--
	}
	ch.runs = slices.Delete(ch.runs, c.ri, c.ri+1)
	if len(ch.runs) == 0 {
		rt.chunks = slices.Delete(rt.chunks, c.ci, c.ci+1)
		c.ri = 0
		return
	}
	// Keep chunks from fragmenting: merge with the next one when both fit
	// in half a chunk.
	if c.ci+1 < len(rt.chunks) && len(ch.runs)+len(rt.chunks[c.ci+1].runs) <= chunkLimit(rt.runCount(), runChunkMin)/2 {
		nx := rt.chunks[c.ci+1]
		ch.runs = append(ch.runs, nx.runs...)
		ch.units += nx.units
		ch.odd += nx.odd
		rt.chunks = slices.Delete(rt.chunks, c.ci+1, c.ci+2)
	}
	if c.ri == len(ch.runs) {
		c.ci++
		c.ri = 0
	}
}

// apply performs one richtext change in place.
func (rt *richText) apply(s richTextStep) {
	tc := rt.text.cursor()
	c := runCursor{rt: rt}
	// rem: the run at the cursor is what is left of a span the change
	// has cut (the reference's step is inside it), so at the end it is
	// emitted rebuilt, not passed through.
	rem := false
	for _, in := range s {
		switch in.kind {
		case 'r':
			tc.retain(in.n)
			rem = c.retain(in.n, rem)
		case 'f':
			tc.retain(in.n)
			rem = c.take(in.n, rem, func(r *richRun) *Object { return formatMarks(r.marks, in.marks) })
		case 'd':
			tc.delete(in.n)
			rem = c.take(in.n, rem, nil)
		case 'i':
			str := jsjson.WellFormed(in.s)
			tc.insert(str)
			var marks *Object
			if in.marks != nil {
				marks = in.marks.Clone()
			}
			c.emit(richRun{units: utf16Units(str), marks: canonMarks(marks)})
		}
	}
	// The rest passes through; only its first span can merge with the
	// output before it, the others differ from their neighbours already.
	ch, r := c.at()
	if r == nil {
		return
	}
	if pch, l := c.before(); l != nil && marksEqual(l.marks, r.marks) {
		c.absorb(pch, l)
		return
	}
	if rem {
		// A cut span is rebuilt with its marks member as it was (even
		// an empty object).
		edit(ch, r, func(r *richRun) { r.orig = nil })
	}
}

// retain emits the next k units unchanged: whole runs stay where they are
// (rebuilt), a run cut by the end of the retain is split.
func (c *runCursor) retain(k int, rem bool) bool {
	first := true
	for k > 0 {
		ch, r := c.at()
		if r == nil {
			return rem
		}
		// Past the first run, runs differ from their neighbours, so a
		// chunk without odd runs is emitted unchanged: skip it whole.
		if !first && c.ri == 0 && ch.odd == 0 && k >= ch.units {
			k -= ch.units
			c.ci++
			continue
		}
		first = false
		pch, l := c.before()
		merge := l != nil && marksEqual(l.marks, r.marks)
		if k >= r.units {
			k -= r.units
			rem = false
			if merge {
				c.absorb(pch, l)
				continue
			}
			edit(ch, r, rebuilt)
			c.advance()
			continue
		}
		// Cut: the first k units become a span of their own (or join
		// the one before); the rest stays at the cursor.
		edit(ch, r, func(r *richRun) { r.units -= k; r.orig = nil })
		ch.units -= k
		if merge {
			edit(pch, l, func(l *richRun) { l.units += k; l.orig = nil })
			pch.units += k
		} else {
			c.insert(richRun{units: k, marks: canonMarks(r.marks)})
		}
		return true
	}
	return rem
}

// take consumes the next k units: each run's piece is emitted with the
// marks f gives (format), or dropped (f nil: delete).
func (c *runCursor) take(k int, rem bool, f func(r *richRun) *Object) bool {
	for k > 0 {
		ch, r := c.at()
		if r == nil {
			return rem
		}
		var p richRun
		if f != nil {
			p = richRun{marks: canonMarks(f(r))}
		}
		if k >= r.units {
			p.units = r.units
			k -= r.units
			c.remove()
			rem = false
		} else {
			p.units = k
			edit(ch, r, func(r *richRun) { r.units -= k; r.orig = nil })
			ch.units -= k
			k = 0
			rem = true
		}
		if f != nil {
			c.emit(p)
		}
	}
	return rem
}

// formatMarks is a format's marks for a span with marks m: a copy of m
// with the format's null members removed and the others set.
func formatMarks(m, format *Object) *Object {
	merged := &Object{}
	if m != nil {
		merged = m.Clone()
	}
	format.Range(func(k string, v any) bool {
		if v == nil {
			merged.Delete(k)
		} else {
			merged.Set(k, cloneValue(v))
		}
		return true
	})
	return merged
}
