package schema

import (
	"encoding/hex"
	"hash/fnv"
	"slices"
	"sort"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// hashVersion is the algorithm-version prefix of every hash this package
// computes; it is the reference's current version.
const hashVersion = "02"

// collators holds ICU root collators: String.prototype.localeCompare with
// no arguments in the reference's default locale (en-US, which is CLDR
// root). A Collator keeps scratch buffers, so each goroutine borrows one.
var collators = sync.Pool{New: func() any { return collate.New(language.Und) }}

// Hash returns the schema hash the TypeScript stack computes for s
// (computeSchemaHash): the version prefix "02" followed by the 32 lowercase hex digits
// of the 128-bit FNV-1a of the UTF-8 bytes of [Schema.Canonical]. The
// binding, .decay() and migrations do not enter the hash.
//
// Struct fields are ordered as the reference orders them: first in
// JavaScript property order (array-index names ascending, then the rest
// in declaration order), then stably sorted by ICU root collation. So
// names that collate as equal ("café" and "cafe\u0301", "k" and
// "k\u200b") keep their declaration order, and swapping them changes the
// hash.
func (s *Schema) Hash() (string, error) {
	c, err := s.appendCanonical(nil)
	if err != nil {
		return "", err
	}
	h := fnv.New128a()
	h.Write(c)
	var sum [16]byte
	return hashVersion + hex.EncodeToString(h.Sum(sum[:0])), nil
}

// Canonical returns the text that [Schema.Hash] hashes: the reference's
// canonical tuple (nested arrays of strings) written as JSON.stringify
// writes it.
func (s *Schema) Canonical() (string, error) {
	c, err := s.appendCanonical(nil)
	return string(c), err
}

func (s *Schema) appendCanonical(dst []byte) ([]byte, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	col := collators.Get().(*collate.Collator)
	defer collators.Put(col)
	return appendCanon(dst, s, col), nil
}

// appendCanon writes C(s). s is valid, so every child is non-nil and the
// recursion is bounded by maxDepth.
func appendCanon(b []byte, s *Schema, col *collate.Collator) []byte {
	if s.json {
		b = append(b, `["j",`...)
	}
	switch s.kind {
	case KindString, KindNumber, KindBoolean, KindNull, KindUndefined, KindBytes, KindAny:
		b = append(b, `["s",`...)
		b = jsjson.AppendString(b, string(s.kind))
		if len(s.options) > 0 {
			b = append(b, ",["...)
			var scratch []byte
			for i, o := range s.options {
				if i > 0 {
					b = append(b, ',')
				}
				// Each option is JSON.stringify'd on its own, then that
				// text is a string of the tuple: escaped twice.
				scratch = appendOption(scratch[:0], o)
				b = jsjson.AppendString(b, string(scratch))
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	case KindText, KindCounter:
		b = append(b, `["t",`...)
		b = jsjson.AppendString(b, string(s.kind))
		b = append(b, ']')
	case KindStruct:
		b = append(b, `["p",[`...)
		for i, fi := range sortedFields(s, col) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = jsjson.AppendString(b, s.fields[fi].Name)
			b = append(b, ',')
			b = appendCanon(b, s.fields[fi].Schema, col)
			b = append(b, ']')
		}
		b = append(b, "]]"...)
	case KindList:
		b = append(b, `["q",`...)
		b = appendCanon(b, s.item, col)
		b = append(b, ']')
	case KindRecord:
		b = append(b, `["m",`...)
		b = appendCanon(b, s.item, col)
		b = append(b, ']')
	case KindUnion:
		b = append(b, `["u",[`...)
		for i, v := range s.variants {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanon(b, v, col)
		}
		b = append(b, "]]"...)
	case KindDiscriminatedUnion:
		// The variants are a set: sorted by their canonical text, compared
		// as UTF-16 code units (JavaScript's < on strings).
		parts := make([][]byte, len(s.variants))
		for i, v := range s.variants {
			parts[i] = appendCanon(nil, v, col)
		}
		sort.SliceStable(parts, func(i, j int) bool { return lessUTF16(string(parts[i]), string(parts[j])) })
		b = append(b, `["d",`...)
		b = jsjson.AppendString(b, s.disc)
		b = append(b, ",["...)
		for i, p := range parts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, p...)
		}
		b = append(b, "]]"...)
	case KindSet, KindTree, KindMovableList:
		b = append(b, `["t",`...)
		b = jsjson.AppendString(b, canonTag(s.kind))
		b = append(b, ',')
		b = appendCanon(b, s.item, col)
		b = append(b, ']')
	case KindRichText:
		marks := slices.Clone(s.marks)
		// Object.keys(marks).sort(): UTF-16 code unit order.
		sort.SliceStable(marks, func(i, j int) bool { return lessUTF16(marks[i].Name, marks[j].Name) })
		b = append(b, `["t","richtext",[`...)
		for i, m := range marks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = jsjson.AppendString(b, m.Name)
			b = append(b, ',')
			b = jsjson.AppendString(b, string(m.Expand))
			b = append(b, ']')
		}
		b = append(b, "]]"...)
	}
	if s.json {
		b = append(b, ']')
	}
	return b
}

// canonTag is the reference's internal kind name for the tuple.
func canonTag(k Kind) string {
	if k == KindMovableList {
		return "movable"
	}
	return string(k)
}

// appendOption writes J(v) = JSON.stringify(v) for an option value.
func appendOption(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return jsjson.AppendString(b, v)
	case float64:
		return jsjson.AppendNumber(b, v)
	case bool:
		if v {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	}
	return append(b, "null"...)
}

// sortedFields returns the indexes of s's fields in the reference's hash
// order: JavaScript property order, then a stable sort by
// localeCompare (ICU root collation, tertiary strength).
func sortedFields(s *Schema, col *collate.Collator) []int {
	order := slices.Clone(s.order)
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = jsjson.WellFormed(f.Name) // what a JavaScript string can hold
	}
	sort.SliceStable(order, func(i, j int) bool {
		return col.CompareString(names[order[i]], names[order[j]]) < 0
	})
	return order
}

// lessUTF16 compares two strings as sequences of UTF-16 code units, the
// order of JavaScript's < and of Array.prototype.sort without a
// comparator. It differs from byte order only between supplementary
// characters (surrogate pairs, 0xD800-0xDFFF) and U+E000-U+FFFF.
func lessUTF16(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return firstUnit(ra) < firstUnit(rb) || firstUnit(ra) == firstUnit(rb) && ra < rb
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b != ""
}

// firstUnit is the first UTF-16 code unit of r.
func firstUnit(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}
