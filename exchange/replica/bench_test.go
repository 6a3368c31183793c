package replica

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// benchOps returns n single-op transactions mixing the common writes of an
// app document: field replaces, list appends, text typing and counters.
func benchOps(b *testing.B, n int) [][]Op {
	b.Helper()
	txs := make([][]Op, n)
	for i := range txs {
		var o Op
		switch i % 4 {
		case 0:
			c, err := replaceChange(map[string]any{"title": "item " + strconv.Itoa(i), "done": i%3 == 0})
			if err != nil {
				b.Fatal(err)
			}
			o = Op{Path: Path{Field("f" + strconv.Itoa(i%10))}, Change: c}
		case 1:
			c, err := sequenceInsertChange(i/4, i)
			if err != nil {
				b.Fatal(err)
			}
			o = Op{Path: Path{Field("list")}, Change: c}
		case 2:
			o = Op{Path: Path{Field("text")}, Change: textInsertChange(i/4, "é")}
		default:
			o = Op{Path: Path{Field("count")}, Change: incrementChange(1)}
		}
		txs[i] = []Op{o}
	}
	return txs
}

// BenchmarkPlainApply100 commits 100 local transactions of one op each, or
// one transaction of 100 ops, on a fresh document.
func BenchmarkPlainApply100(b *testing.B) {
	txs := benchOps(b, 100)
	f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
	b.Run("tx=100x1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := f.NewPlain(true)
			for _, tx := range txs {
				if err := d.Apply(tx); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	batch := make([]Op, 0, 100)
	for _, tx := range txs {
		batch = append(batch, tx...)
	}
	b.Run("tx=1x100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := f.NewPlain(true)
			if err := d.Apply(batch); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPlainSince measures the delta path: a catch-up of 100 batches
// from genesis (export + merge into a fresh replica), and a steady-state
// push of one batch into an up-to-date replica.
func BenchmarkPlainSince(b *testing.B) {
	f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
	w := f.NewPlain(true)
	for _, tx := range benchOps(b, 100) {
		if err := w.Apply(tx); err != nil {
			b.Fatal(err)
		}
	}
	genesis := NewPlainVersion(Genesis, 0)
	b.Run("export/100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := w.ExportSince(genesis); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	p, _, _ := w.ExportSince(genesis)
	b.SetBytes(int64(len(p.Data)))
	b.Run("merge/100", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(p.Data)))
		for b.Loop() {
			r := f.NewPlain(true)
			if err := r.Merge(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("push/1", func(b *testing.B) {
		// One more transaction on a 100-batch document, exported since the
		// pre-change version and merged by a replica that has the rest.
		r := f.NewPlain(true)
		if err := r.Merge(p); err != nil {
			b.Fatal(err)
		}
		tx := []Op{{Path: Path{Field("count")}, Change: incrementChange(1)}}
		b.ReportAllocs()
		for b.Loop() {
			before := w.Version()
			if err := w.Apply(tx); err != nil {
				b.Fatal(err)
			}
			d, ok, err := w.ExportSince(before)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			if err := r.Merge(d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEntirety compares encoding the materialized state with the
// order-preserving encoder against encoding/json on an equivalent map, and
// parsing it back.
func BenchmarkEntirety(b *testing.B) {
	f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
	w := f.NewPlain(true)
	for _, tx := range benchOps(b, 400) {
		if err := w.Apply(tx); err != nil {
			b.Fatal(err)
		}
	}
	data, err := w.JSON()
	if err != nil {
		b.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		b.Fatal(err)
	}
	state := w.doc.state
	b.Run("encode/replica", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			_ = appendValue(nil, state)
		}
	})
	b.Run("encode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := json.Marshal(generic); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse/replica", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := ParseValue(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// offerOps builds a since payload of about size bytes on one field: a
// first op that creates a value of about a quarter of the size (base),
// then single edits at positions spread over the value (edit(i, at)),
// each its own batch, as a peer typing or inserting one item at a time
// would send them.
func offerOps(size int, base string, edit func(i, at int) string, length func(i int) int) []byte {
	b := []byte(`[[{"path":[{"type":"field","field":"v"}],"change":` + base + `}]`)
	for i := 0; len(b) < size; i++ {
		at := (i * 7919) % (length(i) + 1)
		b = append(b, `,[{"path":[{"type":"field","field":"v"}],"change":`...)
		b = append(b, edit(i, at)...)
		b = append(b, `}]`...)
	}
	return append(b, ']')
}

// listOffer500KB is about 500 KB of sequence changes: a 20,000-item list,
// then about 4,000 single-item inserts and deletes at spread positions.
func listOffer500KB() []byte {
	items := make([]byte, 0, 128<<10)
	items = append(items, '[')
	for i := range 20000 {
		if i > 0 {
			items = append(items, ',')
		}
		items = strconv.AppendInt(items, int64(i), 10)
	}
	items = append(items, ']')
	return offerOps(500<<10, `{"type":"sequence","instructions":[{"insert":`+string(items)+`}]}`,
		func(i, at int) string {
			if i%4 == 3 {
				return `{"type":"sequence","instructions":[{"retain":` + strconv.Itoa(at) + `},{"delete":1}]}`
			}
			return `{"type":"sequence","instructions":[{"retain":` + strconv.Itoa(at) + `},{"insert":[` + strconv.Itoa(i) + `]}]}`
		},
		func(i int) int { return 20000 + i/2 - 1 })
}

// textOffer500KB is about 500 KB of text changes: a 100 KB text with
// non-ASCII characters, then single-character edits at spread positions.
func textOffer500KB() []byte {
	text := strings.Repeat("héllo wörld, ", 100<<10/15)
	units := len([]rune(text))
	return offerOps(500<<10, `{"type":"text","instructions":[{"insert":"`+text+`"}]}`,
		func(i, at int) string {
			if i%4 == 3 {
				return `{"type":"text","instructions":[{"retain":` + strconv.Itoa(at) + `},{"delete":1}]}`
			}
			return `{"type":"text","instructions":[{"retain":` + strconv.Itoa(at) + `},{"insert":"ü"}]}`
		},
		func(i int) int { return units + i/2 - 1 })
}

// richTextOffer500KB is about 500 KB of richtext changes: a 100 KB text
// in one span, then single-character edits at spread positions, every
// eighth bold.
func richTextOffer500KB() []byte {
	text := strings.Repeat("héllo wörld, ", 100<<10/15)
	units := len([]rune(text))
	return offerOps(500<<10, `{"type":"richtext","instructions":[{"insert":"`+text+`"}]}`,
		func(i, at int) string {
			switch i % 8 {
			case 3:
				return `{"type":"richtext","instructions":[{"retain":` + strconv.Itoa(at) + `},{"delete":1}]}`
			case 7:
				return `{"type":"richtext","instructions":[{"retain":` + strconv.Itoa(at) + `},{"insert":"ü","marks":{"bold":true}}]}`
			}
			return `{"type":"richtext","instructions":[{"retain":` + strconv.Itoa(at) + `},{"insert":"ü"}]}`
		},
		func(i int) int { return units + i*3/4 - 1 })
}

// setOffer500KB is about 500 KB of set-op changes: a set of 20,000
// numbers, then single adds of new members and removes of existing ones.
func setOffer500KB() []byte {
	items := make([]byte, 0, 128<<10)
	items = append(items, '[')
	for i := range 20000 {
		if i > 0 {
			items = append(items, ',')
		}
		items = strconv.AppendInt(items, int64(i), 10)
	}
	items = append(items, ']')
	return offerOps(500<<10, `{"type":"set-op","add":`+string(items)+`}`,
		func(i, at int) string {
			if i%4 == 3 {
				return `{"type":"set-op","remove":[` + strconv.Itoa(at) + `]}`
			}
			return `{"type":"set-op","add":[` + strconv.Itoa(100000+i) + `]}`
		},
		func(int) int { return 20000 })
}

// treeOffer500KB is about 500 KB of tree changes: 2,000 nodes created in
// one change, then single creates, moves and deletes.
func treeOffer500KB() []byte {
	create := func(id, parent, index int) string {
		p := "null"
		if parent >= 0 {
			p = `"n` + strconv.Itoa(parent) + `"`
		}
		return `{"action":"create","target":"n` + strconv.Itoa(id) + `","parent":` + p + `,"index":` + strconv.Itoa(index) + `}`
	}
	var base []byte
	for i := range 2000 {
		if i > 0 {
			base = append(base, ',')
		}
		base = append(base, create(i, i/10-1, i%10)...)
	}
	return offerOps(500<<10, `{"type":"tree","instructions":[`+string(base)+`]}`,
		func(i, at int) string {
			switch i % 4 {
			case 1:
				return `{"type":"tree","instructions":[{"action":"move","target":"n` + strconv.Itoa(at) + `","parent":"n` + strconv.Itoa(at/3) + `","index":0}]}`
			case 3:
				return `{"type":"tree","instructions":[{"action":"delete","target":"n` + strconv.Itoa(at) + `"}]}`
			}
			return `{"type":"tree","instructions":[` + create(100000+i, at, 0) + `]}`
		},
		func(int) int { return 2000 })
}

// BenchmarkOffer500KB merges about 500 KB of list, text, richtext, set-op
// or tree changes into a fresh document. Baselines in the same run: parsing the
// payload alone, merging the resulting state as an entirety (the same
// value built from a literal), and the rebuild-per-change step the
// in-place values replaced.
func BenchmarkOffer500KB(b *testing.B) {
	f := newPlainFactory(PlainOptions{Rand: &seqRand{}})
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"list", listOffer500KB()}, {"text", textOffer500KB()}, {"richtext", richTextOffer500KB()},
		{"set", setOffer500KB()}, {"tree", treeOffer500KB()},
	} {
		p := Payload{Kind: "since", Encoding: "json", Data: c.data, Lineage: "L"}
		b.Run(c.name+"/merge", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Data)))
			for b.Loop() {
				if err := f.NewPlain(true).Merge(p); err != nil {
					b.Fatal(err)
				}
			}
		})
		r := f.NewPlain(true)
		if err := r.Merge(p); err != nil {
			b.Fatal(err)
		}
		e, err := r.ExportEntirety()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/baseline-parse-offer", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Data)))
			for b.Loop() {
				if _, err := parseOps(p.Data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/baseline-merge-entirety", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(e.Data)))
			for b.Loop() {
				if err := f.NewPlain(true).Merge(e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/before-rebuild-per-change", func(b *testing.B) {
			batches, err := parseOps(p.Data)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Data)))
			for b.Loop() {
				var list, rich, set, tree []any
				var text string
				for _, ops := range batches {
					for _, op := range ops {
						st, _ := op.Change.stepper()
						switch s := st.(type) {
						case sequenceStep:
							list = oracleSequence(list, s)
						case textStep:
							text = oracleText(text, s)
						case richTextStep:
							rich = rebuildRichText(rich, s)
						case setStep:
							set = s.linear(set)
						case treeStep:
							tree = s.linear(tree)
						}
					}
				}
				_, _, _, _, _ = list, text, rich, set, tree
			}
		})
	}
}
