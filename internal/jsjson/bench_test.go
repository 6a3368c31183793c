package jsjson

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// benchDoc is a ~4 KiB document shaped like replica state: nested objects
// with short keys, strings with the odd escape, integers and fractions.
func benchDoc() string {
	var b strings.Builder
	b.WriteString(`{"title":"Shopping list","items":[`)
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"item-` + strconv.Itoa(i) + `","text":"buy \"milk\" caf\u00e9","done":` + strconv.FormatBool(i%3 == 0) +
			`,"qty":` + strconv.Itoa(i) + `,"price":` + strconv.FormatFloat(float64(i)*1.25, 'f', -1, 64) + `}`)
	}
	b.WriteString(`],"count":40,"meta":{"1":"one","0":"zero"}}`)
	return b.String()
}

// BenchmarkParse compares Parse on string and []byte input with
// encoding/json decoding the same text into any.
func BenchmarkParse(b *testing.B) {
	doc := benchDoc()
	data := []byte(doc)
	o := &Options{KeyOrder: PropertyOrder, Intern: InternTable("id", "text", "done", "qty", "price")}
	for _, c := range []struct {
		name  string
		parse func() error
	}{
		{"string", func() error { _, err := Parse(doc, o); return err }},
		{"bytes", func() error { _, err := Parse(data, o); return err }},
		{"encoding-json", func() error { var v any; return json.Unmarshal(data, &v) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := c.parse(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppend measures the writers against strconv and encoding/json.
func BenchmarkAppend(b *testing.B) {
	s := strings.Repeat(`plain text with a "quote" and caf\u00e9 `, 16)
	nums := []float64{0, 7, 1234567, -0.5, 3.14159, 1e21, 2.5e-7, 123456.789}
	buf := make([]byte, 0, 4096)
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			buf = AppendString(buf[:0], s)
		}
	})
	b.Run("string/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if _, err := json.Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("number", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, f := range nums {
				buf = AppendNumber(buf, f)
			}
		}
	})
	b.Run("number/strconv", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, f := range nums {
				buf = strconv.AppendFloat(buf, f, 'g', -1, 64)
			}
		}
	})
}
