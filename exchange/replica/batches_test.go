package replica

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/kyneta-go/kyneta/exchange/internal/batches"
)

// countBatchesRef is the byte-by-byte scanner CountBatches replaces (the
// exchange's gap check), kept as the reference.
func countBatchesRef(data []byte) (int, bool) {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if i >= len(data) || data[i] != '[' {
		return 0, false
	}
	n, depth, inStr := 0, 0, false
	for ; i < len(data); i++ {
		c := data[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
			if depth == 2 && c == '[' {
				j := i + 1
				for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
					j++
				}
				if j < len(data) && data[j] != ']' {
					n++
				}
			}
		case ']', '}':
			depth--
			if depth == 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func checkCount(t interface{ Fatalf(string, ...any) }, data []byte) {
	n, ok := batches.Count(data)
	wn, wok := countBatchesRef(data)
	if n != wn || ok != wok {
		t.Fatalf("batches.Count(%q) = %d,%v want %d,%v", data, n, ok, wn, wok)
	}
}

func TestCountBatchesMatchesReference(t *testing.T) {
	for _, s := range []string{``, `[`, `[]`, ` [ [ ] , [1] ]`, `[[1],[],[2,3]]`, `[["]"],["\"]",1]]`, `[["\\"],[2]]`,
		`[["unterminated]]`, `{"a":[[1]]}`, `[[{"a":"[["}],[]]`, `[[1]]trailing`, "[[\"\x01\"],[2]]"} {
		checkCount(t, []byte(s))
	}
	rapid.Check(t, func(t *rapid.T) {
		alphabet := []byte(`[]{}",\ a` + "\x01")
		b := rapid.SliceOfN(rapid.SampledFrom(alphabet), 0, 60).Draw(t, "b")
		checkCount(t, b)
	})
}

func FuzzCountBatches(f *testing.F) {
	for _, s := range []string{`[]`, `[[1],[],[2]]`, `[["\"]",{"a":"["}]]`, `[["x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkCount(t, data) })
}

// TestMergeKeepsCompactBatchText: merging a compact since payload logs
// the batches' own text (what re-encoding would give for a payload this
// package wrote), and a padded payload is re-encoded into the same log.
func TestMergeKeepsCompactBatchText(t *testing.T) {
	f := newFactory()
	src := f.NewPlain(true)
	mustApply(t, src, set(t, "title", "a \"quoted\" \\ title\n"), set(t, "n", 1.5))
	mustApply(t, src, set(t, "body", strings.Repeat("é-x", 5000)))
	mustApply(t, src, set(t, "list", []any{1.0, "two", map[string]any{"k": nil}}))
	since, ok, err := src.ExportSince(PlainVersion{lineage: Genesis})
	if err != nil || !ok {
		t.Fatal(err)
	}
	if raws := rawBatches(since.Data, 3); len(raws) != 3 {
		t.Fatalf("compact payload not split: %d", len(raws))
	}
	padded := bytes.ReplaceAll(since.Data, []byte(`,{"path"`), []byte(`, {"path"`))
	if bytes.Equal(padded, since.Data) {
		padded = append([]byte{' '}, since.Data...)
	}
	if rawBatches(padded, 3) != nil {
		t.Fatal("padded payload kept as text")
	}
	for _, data := range [][]byte{since.Data, padded} {
		dst := f.NewPlain(true)
		if err := dst.Merge(Payload{Kind: "since", Encoding: "json", Data: data, Lineage: src.Lineage()}); err != nil {
			t.Fatal(err)
		}
		got, ok, err := dst.ExportSince(PlainVersion{lineage: Genesis})
		if err != nil || !ok || !bytes.Equal(got.Data, since.Data) {
			t.Fatalf("log after merge differs:\n%s\n%s", got.Data, since.Data)
		}
		if jsonOf(t, dst) != jsonOf(t, src) {
			t.Fatal("state differs")
		}
	}
	// Wrong element count or a scalar element: no split.
	if rawBatches([]byte(`[[1],[2]]`), 3) != nil || rawBatches([]byte(`[[1],2]`), 2) != nil {
		t.Fatal("bad split accepted")
	}
}

// BenchmarkLargeSince: one since batch that sets a 1 MiB string. count =
// CountBatches, with the byte-by-byte scanner it replaces as the
// baseline in the same run; merge = Merge into a replica (parse, apply,
// log entry).
func BenchmarkLargeSince(b *testing.B) {
	f := newFactory()
	src := f.NewPlain(true)
	c, err := replaceChange(strings.Repeat("abcdefghijklmnopqrstuvwxyz012345", 1<<15))
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Apply([]Op{{Path: Path{Field("body")}, Change: c}}); err != nil {
		b.Fatal(err)
	}
	since, _, _ := src.ExportSince(PlainVersion{lineage: Genesis})
	b.Run("count", func(b *testing.B) {
		b.SetBytes(int64(len(since.Data)))
		for range b.N {
			if n, _ := batches.Count(since.Data); n != 1 {
				b.Fatal(n)
			}
		}
	})
	b.Run("count-baseline-bytewise", func(b *testing.B) {
		b.SetBytes(int64(len(since.Data)))
		for range b.N {
			if n, _ := countBatchesRef(since.Data); n != 1 {
				b.Fatal(n)
			}
		}
	})
	b.Run("merge", func(b *testing.B) {
		b.SetBytes(int64(len(since.Data)))
		b.ReportAllocs()
		for range b.N {
			dst := f.NewPlain(true)
			if err := dst.Merge(since); err != nil {
				b.Fatal(err)
			}
		}
	})
}
