package replica

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The in-place richtext step must give exactly what the reference's
// rebuilding step gives, span objects, marks members and the identity of
// shared marks objects included (a later path write into one span's marks
// shows whether other spans share that object). The oracle document
// applies every richtext change with rebuildRichText; the subject with
// applyOp, which keeps a richText between changes. Tiny chunks make run
// and rope chunk splits, merges and skips happen.

func tinyRichChunks(t *testing.T) {
	tinyChunks(t)
	r := runChunkMin
	runChunkMin = 2
	t.Cleanup(func() { runChunkMin = r })
}

var richPieces = []string{"a", "b", "é", "✓", "😀", "🎉", "xyz"}

func richString(t *rapid.T, label string, maxLen int) string {
	var sb strings.Builder
	for range rapid.IntRange(0, maxLen).Draw(t, label+"-len") {
		sb.WriteString(rapid.SampledFrom(richPieces).Draw(t, label))
	}
	return sb.String()
}

func obj(kv ...any) *Object {
	o := newObject(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// richMarks draws the marks of an insert or format (a fresh object each
// time, as a parsed change would have).
func richMarks(t *rapid.T, label string, format bool) *Object {
	choices := []func() *Object{
		func() *Object { return obj("bold", true) },
		func() *Object { return obj("color", "red") },
		func() *Object { return obj("bold", true, "color", "red") },
		func() *Object { return obj("link", obj("href", "x")) },
		func() *Object { return &Object{} },
	}
	if format {
		choices = append(choices,
			func() *Object { return obj("bold", nil) },
			func() *Object { return obj("color", nil, "bold", true) })
	}
	return choices[rapid.IntRange(0, len(choices)-1).Draw(t, label)]()
}

// richInitial draws a value for a richtext change to start from: spans in
// the forms the step builds and in others only a replace can make.
func richInitial(t *rapid.T) any {
	shared := obj("bold", true)
	var items []any
	for i := range rapid.IntRange(0, 8).Draw(t, "spans") {
		text := richString(t, "span-text", 4)
		var marks any
		switch rapid.IntRange(0, 5).Draw(t, "span-marks") {
		case 1:
			marks = shared
		case 2:
			marks = &Object{}
		case 3:
			marks = obj("color", "red")
		case 4:
			marks = "not an object"
		}
		var o *Object
		switch rapid.IntRange(0, 5).Draw(t, "span-form") {
		case 1: // marks first
			o = newObject(2)
			if marks != nil {
				o.Set("marks", marks)
			}
			o.Set("text", text)
		case 2: // an extra key
			o = obj("text", text, "id", float64(i))
			if marks != nil {
				o.Set("marks", marks)
			}
		case 3:
			items = append(items, float64(i)) // not a span at all
			continue
		case 4:
			o = obj("text", float64(i)) // text is not a string
		default:
			o = obj("text", text)
			if marks != nil {
				o.Set("marks", marks)
			}
		}
		items = append(items, o)
	}
	if rapid.IntRange(0, 9).Draw(t, "absent") == 0 {
		return nil
	}
	return items
}

func richStep(t *rapid.T) richTextStep {
	var s richTextStep
	for range rapid.IntRange(0, 6).Draw(t, "instructions") {
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			s = append(s, richInstr{kind: 'r', n: rapid.IntRange(0, 16).Draw(t, "retain")})
		case 1:
			s = append(s, richInstr{kind: 'f', n: rapid.IntRange(0, 10).Draw(t, "format"), marks: richMarks(t, "format-marks", true)})
		case 2:
			in := richInstr{kind: 'i', s: richString(t, "insert", 3)}
			if rapid.Bool().Draw(t, "insert-marked") {
				in.marks = richMarks(t, "insert-marks", false)
			}
			s = append(s, in)
		default:
			s = append(s, richInstr{kind: 'd', n: rapid.IntRange(0, 8).Draw(t, "delete")})
		}
	}
	return s
}

// checkRichText asserts the richText invariants: chunk sums and odd
// counts, no empty chunk or run, runs as long as the rope, and no two
// neighbouring runs with equal marks (the step's output is normalized).
func checkRichText(t *rapid.T, rt *richText) {
	checkRope(t, rt.text)
	units := 0
	var prev *richRun
	for i := range rt.chunks {
		ch := &rt.chunks[i]
		if len(ch.runs) == 0 {
			t.Fatalf("empty run chunk %d", i)
		}
		u, odd := 0, 0
		for j := range ch.runs {
			r := &ch.runs[j]
			if r.units <= 0 {
				t.Fatalf("run %d.%d has %d units", i, j, r.units)
			}
			if prev != nil && marksEqual(prev.marks, r.marks) {
				t.Fatalf("runs before %d.%d have equal marks", i, j)
			}
			prev = r
			u += r.units
			if r.odd() {
				odd++
			}
		}
		if u != ch.units || odd != ch.odd {
			t.Fatalf("chunk %d: units/odd %d/%d, runs hold %d/%d", i, ch.units, ch.odd, u, odd)
		}
		units += u
	}
	if units != rt.text.units {
		t.Fatalf("runs hold %d units, the rope %d", units, rt.text.units)
	}
}

func TestRichTextInPlaceMatchesRebuild(t *testing.T) {
	tinyRichChunks(t)
	rtPath := Path{Field("rt")}
	rapid.Check(t, func(t *rapid.T) {
		init := richInitial(t)
		want := obj("rt", cloneValue(init))
		got := obj("rt", cloneValue(init))
		for range rapid.IntRange(1, 25).Draw(t, "ops") {
			if rapid.IntRange(0, 5).Draw(t, "path-op") == 0 {
				// A path write into one span, on both documents.
				i := rapid.IntRange(0, 6).Draw(t, "span")
				var path Path
				var s stepper
				switch rapid.IntRange(0, 2).Draw(t, "path-kind") {
				case 0:
					path = Path{Field("rt"), Index(i), Field("marks")}
					s = mapStep{set: obj("italic", true)}
				case 1:
					path = Path{Field("rt"), Index(i), Field("text")}
					s = textStep{{kind: 'r', n: 1}, {kind: 'i', s: "ü"}}
				default:
					path = Path{Field("rt"), Index(i)}
					s = replaceStep{v: obj("text", "new", "marks", obj("bold", true)), present: true}
				}
				applyOp(want, path, s)
				applyOp(got, path, s)
			} else {
				s := richStep(t)
				cur, present := readPath(want, rtPath)
				_ = present
				writePath(want, rtPath, rebuildRichText(cur, s), true)
				applyOp(got, rtPath, s)
				if rt, ok := got.Get("rt"); ok {
					if x, ok := rt.(*richText); ok {
						checkRichText(t, x)
					} else {
						t.Fatalf("after a richtext change the state holds %T", rt)
					}
				}
			}
			if g, w := string(encodeValue(got)), string(encodeValue(want)); g != w {
				t.Fatalf("\n got %s\nwant %s", g, w)
			}
			if !equalValues(got, want) || !equalValues(want, got) {
				t.Fatal("EqualValues differs from the encoding")
			}
		}
	})
}

// TestRichTextExamples pins a few cases of the reference's step that the
// property only reaches by chance.
func TestRichTextExamples(t *testing.T) {
	tinyRichChunks(t)
	bold := obj("bold", true)
	cases := []struct {
		name  string
		init  any
		steps []richTextStep
		want  string
	}{
		{
			name:  "format inside a surrogate pair",
			init:  []any{obj("text", "a😀b")},
			steps: []richTextStep{{{kind: 'r', n: 2}, {kind: 'f', n: 2, marks: bold}}},
			want:  `[{"text":"a` + "\uFFFD" + `"},{"text":"` + "\uFFFD" + `b","marks":{"bold":true}}]`,
		},
		{
			name:  "an untouched span keeps its keys, a cut one is rebuilt",
			init:  []any{obj("id", 1.0, "text", "ab"), obj("text", "cd", "marks", bold), obj("marks", "x", "text", "ef", "id", 2.0)},
			steps: []richTextStep{{{kind: 'r', n: 3}, {kind: 'i', s: "X"}}},
			want:  `[{"text":"ab"},{"text":"c","marks":{"bold":true}},{"text":"X"},{"text":"d","marks":{"bold":true}},{"marks":"x","text":"ef","id":2}]`,
		},
		{
			name:  "absent, empty and non-object marks are equal; a merged span keeps the first one's",
			init:  []any{obj("id", 1.0, "text", "ab"), obj("text", "cd", "marks", &Object{}), obj("marks", "x", "text", "ef")},
			steps: []richTextStep{{{kind: 'r', n: 3}, {kind: 'i', s: "X", marks: bold}}},
			want:  `[{"text":"abc"},{"text":"X","marks":{"bold":true}},{"text":"def","marks":{}}]`,
		},
		{
			name: "a delete joins equal neighbours, then a retain walks them",
			init: []any{obj("text", "ab"), obj("text", "cd", "marks", bold), obj("text", "ef")},
			steps: []richTextStep{
				{{kind: 'r', n: 2}, {kind: 'd', n: 2}},
				{{kind: 'r', n: 1}, {kind: 'f', n: 2, marks: obj("bold", nil)}},
			},
			want: `[{"text":"abef"}]`,
		},
		{
			name:  "insert into nothing",
			init:  nil,
			steps: []richTextStep{{{kind: 'r', n: 5}, {kind: 'i', s: "hi"}, {kind: 'd', n: 3}}, {{kind: 'i', s: "😀", marks: &Object{}}}},
			want:  `[{"text":"😀hi"}]`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := cloneValue(c.init)
			var got any = cloneValue(c.init)
			for _, s := range c.steps {
				want = rebuildRichText(want, s)
				got, _ = s.step(got, true)
			}
			if g, w := string(encodeValue(got)), string(encodeValue(want)); g != w || g != c.want {
				t.Fatalf("\n   got %s\nrebuild %s\n  want %s", g, w, c.want)
			}
		})
	}
}
