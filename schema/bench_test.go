package schema

import (
	"hash/fnv"
	"strconv"
	"testing"
)

// benchSchema has 40 fields of mixed kinds, like the many-fields vector.
func benchSchema() *Schema {
	var fields []Field
	kinds := []*Schema{String(), Number(), Boolean(), Any()}
	for i := range 40 {
		fields = append(fields, F("f"+strconv.Itoa(i), kinds[i%4]))
	}
	fields = append(fields, F("items", List(Struct(F("title", String()), F("done", Boolean())))))
	return Struct(fields...)
}

// BenchmarkHash: the whole hash (canonical text with ICU field sorting,
// then FNV-1a) against its FNV-1a part alone over the same text, the
// baseline for how much the canonicalisation costs.
func BenchmarkHash(b *testing.B) {
	s := benchSchema()
	b.Run("Hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Hash(); err != nil {
				b.Fatal(err)
			}
		}
	})
	c, _ := s.Canonical()
	b.Run("baseline-fnv128a-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := fnv.New128a()
			h.Write([]byte(c))
			h.Sum(nil)
		}
	})
}

// BenchmarkValidate checks a 100-item document.
func BenchmarkValidate(b *testing.B) {
	s := Struct(F("title", String()), F("items", List(Struct(F("title", String()), F("done", Boolean())))))
	items := make([]any, 100)
	for i := range items {
		items[i] = map[string]any{"title": "item " + strconv.Itoa(i), "done": i%2 == 0}
	}
	v := map[string]any{"title": "t", "items": items}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(v); err != nil {
			b.Fatal(err)
		}
	}
}
