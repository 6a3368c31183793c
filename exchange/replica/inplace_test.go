package replica

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The in-place list and text steps must give exactly what rebuilding the
// whole value gives. The oracles below are the rebuilding steps (the
// reference's algorithm); the properties run many changes on one value
// with tiny chunks, so chunk splits, merges and cross-chunk edits all
// happen.

func oracleSequence(src []any, s sequenceStep) []any {
	out := make([]any, 0, len(src))
	pos := 0
	for _, in := range s {
		switch in.kind {
		case 'r':
			n := min(in.n, len(src)-pos)
			out = append(out, src[pos:pos+n]...)
			pos += n
		case 'i':
			for _, it := range in.items {
				out = append(out, cloneValue(it))
			}
		case 'd':
			pos += min(in.n, len(src)-pos)
		}
	}
	return append(out, src[pos:]...)
}

func oracleText(src string, s textStep) string {
	u := newU16(src)
	out := make([]byte, 0, len(src)+16)
	pos := 0
	for _, in := range s {
		switch in.kind {
		case 'r':
			n := min(in.n, u.len()-pos)
			out = u.appendSlice(out, pos, pos+n)
			pos += n
		case 'i':
			out = append(out, in.s...)
		case 'd':
			pos += min(in.n, u.len()-pos)
		}
	}
	return string(u.appendSlice(out, pos, u.len()))
}

// tinyChunks makes chunks split at a few items or bytes for the test.
func tinyChunks(t *testing.T) {
	l, x := listChunkMin, textChunkMin
	listChunkMin, textChunkMin = 2, 4
	t.Cleanup(func() { listChunkMin, textChunkMin = l, x })
}

func checkSeqList(t *rapid.T, l *seqList) {
	n := 0
	for i, c := range l.chunks {
		if len(c) == 0 {
			t.Fatalf("empty chunk %d of %d", i, len(l.chunks))
		}
		n += len(c)
	}
	if n != l.n {
		t.Fatalf("seqList n=%d, chunks hold %d", l.n, n)
	}
}

func checkRope(t *rapid.T, r *textRope) {
	units, size := 0, 0
	for i, c := range r.chunks {
		if len(c.b) == 0 {
			t.Fatalf("empty chunk %d of %d", i, len(r.chunks))
		}
		if u := utf16Units(c.b); u != c.units {
			t.Fatalf("chunk %d %q: units %d, counted %d", i, c.b, c.units, u)
		}
		units += c.units
		size += len(c.b)
	}
	if units != r.units || size != r.size {
		t.Fatalf("rope units/size %d/%d, chunks hold %d/%d", r.units, r.size, units, size)
	}
}

func TestSequenceInPlaceMatchesRebuild(t *testing.T) {
	tinyChunks(t)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(t, "n")
		var want []any
		for i := range n {
			want = append(want, float64(i))
		}
		var cur any = append([]any(nil), want...)
		next := 1000
		for range rapid.IntRange(1, 30).Draw(t, "ops") {
			var s sequenceStep
			for range rapid.IntRange(0, 6).Draw(t, "instructions") {
				switch rapid.IntRange(0, 2).Draw(t, "kind") {
				case 0:
					s = append(s, seqInstr{kind: 'r', n: rapid.IntRange(0, 50).Draw(t, "retain")})
				case 1:
					var items []any
					for range rapid.IntRange(0, 12).Draw(t, "insert") {
						items = append(items, float64(next))
						next++
					}
					s = append(s, seqInstr{kind: 'i', items: items})
				default:
					s = append(s, seqInstr{kind: 'd', n: rapid.IntRange(0, 30).Draw(t, "delete")})
				}
			}
			want = oracleSequence(want, s)
			cur, _ = s.step(cur, true)
			checkSeqList(t, cur.(*seqList))
			if got, exp := string(encodeValue(cur)), string(encodeValue(want)); got != exp {
				t.Fatalf("after %v:\n got %s\nwant %s", s, got, exp)
			}
		}
	})
}

func TestTextInPlaceMatchesRebuild(t *testing.T) {
	tinyChunks(t)
	pieces := []string{"a", "b", "é", "✓", "😀", "🎉", "xyz", "\u00a0"}
	str := rapid.Custom(func(t *rapid.T) string {
		var sb strings.Builder
		for range rapid.IntRange(0, 8).Draw(t, "len") {
			sb.WriteString(rapid.SampledFrom(pieces).Draw(t, "piece"))
		}
		return sb.String()
	})
	rapid.Check(t, func(t *rapid.T) {
		want := str.Draw(t, "initial")
		var cur any = want
		for range rapid.IntRange(1, 30).Draw(t, "ops") {
			var s textStep
			for range rapid.IntRange(0, 6).Draw(t, "instructions") {
				switch rapid.IntRange(0, 2).Draw(t, "kind") {
				case 0:
					s = append(s, textInstr{kind: 'r', n: rapid.IntRange(0, 20).Draw(t, "retain")})
				case 1:
					s = append(s, textInstr{kind: 'i', s: str.Draw(t, "insert")})
				default:
					s = append(s, textInstr{kind: 'd', n: rapid.IntRange(0, 12).Draw(t, "delete")})
				}
			}
			want = oracleText(want, s)
			cur, _ = s.step(cur, true)
			checkRope(t, cur.(*textRope))
			if got, _ := asText(cur); got != want {
				t.Fatalf("after %v:\n got %q\nwant %q", s, got, want)
			}
			if got, exp := string(encodeValue(cur)), string(encodeValue(want)); got != exp {
				t.Fatalf("JSON after %v:\n got %s\nwant %s", s, got, exp)
			}
		}
	})
}

// TestInPlaceValuesStayInternal checks that the chunked forms never leave
// the replica: Value, hooks' view and entireties are plain, paths read and
// write through them, and equality sees through them.
func TestInPlaceValuesStayInternal(t *testing.T) {
	tinyChunks(t)
	d := newPlainFactory(PlainOptions{Rand: &seqRand{}}).NewPlain(true)
	items := make([]any, 20)
	for i := range items {
		items[i] = map[string]any{"n": i}
	}
	ins, err := sequenceInsertChange(0, items...)
	if err != nil {
		t.Fatal(err)
	}
	ops := []Op{
		{Path: Path{Field("l")}, Change: ins},
		{Path: Path{Field("l")}, Change: sequenceDeleteChange(3, 2)},
		{Path: Path{Field("l"), Index(4), Field("n")}, Change: incrementChange(100)},
		{Path: Path{Field("l"), Index(21)}, Change: mustReplace(t, "pad")},
		{Path: Path{Field("t")}, Change: textInsertChange(0, "hello 😀 world")},
		{Path: Path{Field("t")}, Change: textDeleteChange(6, 1)},
	}
	if err := d.Apply(ops); err != nil {
		t.Fatal(err)
	}
	v, err := d.Value()
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case *seqList, *textRope:
			t.Fatalf("internal %T in Value", x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case *Object:
			x.Range(func(_ string, e any) bool { walk(e); return true })
		}
	}
	walk(v)
	want := `{"l":[{"n":0},{"n":1},{"n":2},{"n":5},{"n":106},{"n":7},{"n":8},{"n":9},{"n":10},{"n":11},{"n":12},{"n":13},{"n":14},{"n":15},{"n":16},{"n":17},{"n":18},{"n":19},null,null,null,"pad"],"t":"hello ` + "\uFFFD" + ` world"}`
	if got, _ := d.JSON(); string(got) != want {
		t.Fatalf("state\n got %s\nwant %s", got, want)
	}
	if !equalValues(d.doc.state, v) || !equalValues(v, d.doc.state) {
		t.Fatal("state and its copy differ")
	}
	// A peer that receives the ops as a since payload ends up equal.
	p, ok, err := d.ExportSince(NewPlainVersion(Genesis, 0))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	r := newPlainFactory(PlainOptions{}).NewPlain(true)
	if err := r.Merge(p); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.JSON(); string(got) != want {
		t.Fatalf("peer state\n got %s\nwant %s", got, want)
	}
}

func mustReplace(t *testing.T, v any) Change {
	t.Helper()
	c, err := replaceChange(v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
