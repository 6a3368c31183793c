package replica

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// sameOps reports whether two readings of a payload are the same ops:
// equal paths, and changes of the same type that encode alike.
func sameOps(a, b [][]Op) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			x, y := a[i][j], b[i][j]
			if x.Path.String() != y.Path.String() || len(x.Path) != len(y.Path) {
				return false
			}
			for k := range x.Path {
				if x.Path[k] != y.Path[k] {
					return false
				}
			}
			xj, _ := x.Change.MarshalJSON()
			yj, _ := y.Change.MarshalJSON()
			if x.Change.Type() != y.Change.Type() || !bytes.Equal(xj, yj) {
				return false
			}
		}
	}
	return true
}

// checkDecodeOps: wherever the direct reading answers, it answers what the
// generic reading does.
func checkDecodeOps(t interface{ Fatalf(string, ...any) }, data []byte) (direct bool) {
	got, ok := decodeOps(data, &parseOptions)
	want, err := parseOpsGeneric(data, &parseOptions)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("direct reading accepted %q, the generic one refuses it: %v", data, err)
	}
	if !sameOps(got, want) {
		t.Fatalf("readings of %q differ:\ndirect  %v\ngeneric %v", data, encodeOps(got), encodeOps(want))
	}
	return true
}

// Every payload a writer produces is read directly, to the same ops; and
// the same payload respelled (white space, member order, escapes in keys
// and values, a repeated member) is read directly or not, but never
// differently.
func TestDecodeOpsMatchesGeneric(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		batches := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) []Op {
			return rapid.SliceOfN(rapid.Custom(genOp), 0, 3).Draw(t, "ops")
		}), 0, 3).Draw(t, "batches")
		for _, ops := range batches {
			for i := range ops {
				if rapid.Bool().Draw(t, "deep") {
					ops[i].Path = append(ops[i].Path, Entry("k\"é"), Index(rapid.IntRange(0, 3).Draw(t, "i")))
				}
			}
		}
		data := encodeOps(batches)
		if !checkDecodeOps(t, data) {
			t.Fatalf("a writer's payload %s was not read directly", data)
		}
		respelled := strings.NewReplacer(
			`{"path":`, rapid.SampledFrom([]string{`{"path":`, `{ "path" : `, `{"p\u0061th":`, `{"x":1,"path":`}).Draw(t, "path"),
			`,"change":`, rapid.SampledFrom([]string{`,"change":`, "\n,\t\"change\"\r:", `,"change":{"type":"replace","value":0},"change":`}).Draw(t, "change"),
			`{"type":"field","field":`, rapid.SampledFrom([]string{`{"type":"field","field":`, `{"field":"z","type":"field","field":`, `{"type":"fi\u0065ld","field":`, `{"type":"entry","field":`}).Draw(t, "seg"),
			`],[`, rapid.SampledFrom([]string{`],[`, `] , [`, `]][[`}).Draw(t, "batch"),
		).Replace(string(data))
		checkDecodeOps(t, []byte(respelled))
		// Cut anywhere: never accepted directly unless the generic
		// reading accepts it too.
		cut := rapid.IntRange(0, len(data)).Draw(t, "cut")
		checkDecodeOps(t, data[:cut])
	})
}

// Index segments: the same range checks as the generic reading.
func TestDecodeOpsIndexes(t *testing.T) {
	for _, idx := range []string{"0", "-0", "3", "1e2", "2.5", "-1", "9007199254740991", "9007199254740992", "1e400", "01", "-", `"1"`} {
		data := []byte(`[[{"path":[{"type":"index","index":` + idx + `}],"change":{"type":"increment","amount":1}}]]`)
		direct := checkDecodeOps(t, data)
		_, err := parseOpsGeneric(data, &parseOptions)
		if direct != (err == nil) {
			t.Errorf("index %s: direct %v, generic error %v", idx, direct, err)
		}
	}
}

// A change nested near the depth limit is refused by both readings alike.
func TestDecodeOpsDepth(t *testing.T) {
	for _, extra := range []int{maxDepth - 5, maxDepth - 4, maxDepth - 3, maxDepth - 2} {
		value := strings.Repeat("[", extra) + strings.Repeat("]", extra)
		data := []byte(`[[{"path":[],"change":{"type":"replace","value":` + value + `}}]]`)
		_, err := parseOpsGeneric(data, &parseOptions)
		if direct := checkDecodeOps(t, data); direct != (err == nil) {
			t.Errorf("value nested %d deep: direct %v, generic error %v", extra, direct, err)
		}
	}
}

// FuzzDecodeOps: on any input the direct reading either declines or
// returns what the generic reading returns.
func FuzzDecodeOps(f *testing.F) {
	for _, s := range []string{
		`[]`, `[[]]`, `[[],[]]`,
		`[[{"path":[{"type":"field","field":"t"}],"change":{"type":"text","instructions":[{"retain":1},{"insert":"😀"}]}}]]`,
		`[[{"change":{"type":"increment","amount":2},"path":[{"index":1,"type":"index"}]}]]`,
		`[[{"path":[{"type":"entry","entry":"a\"b\u00e9"}],"change":{"type":"map","set":{"x":1}}}]]`,
		` [ [ { "path" : [ ] , "change" : { "type" : "replace" , "value" : null } } ] ] `,
		`[[{"path":[],"change":{"type":"replace","value":"\ud800"}}]]`,
		`[[{"path":[],"change":{}}]]`,
		"[[{\"path\":[],\"change\":{\"type\":\"replace\",\"value\":\"\xff\"}}]]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecodeOps(t, data) })
}

// BenchmarkParseOps reads one replicated write's payload (a field
// replace) and a 10-op batch; baseline in the same run: the generic
// reading it replaces.
func BenchmarkParseOps(b *testing.B) {
	one := encodeOps([][]Op{{{Path: Path{Field("count")}, Change: incrementChange(1)}}})
	var ten []Op
	for _, tx := range benchOps(b, 10) {
		ten = append(ten, tx...)
	}
	batch := encodeOps([][]Op{ten})
	for _, c := range []struct {
		name string
		data []byte
	}{{"one-op", one}, {"ten-ops", batch}} {
		b.Run(c.name+"/direct", func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := decodeOps(c.data, &parseOptions); !ok {
					b.Fatal("declined")
				}
			}
		})
		b.Run(c.name+"/baseline-generic", func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseOpsGeneric(c.data, &parseOptions); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
