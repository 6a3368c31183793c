package replica

import (
	"encoding/json"
	"strconv"
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
			c, err := ReplaceChange(map[string]any{"title": "item " + strconv.Itoa(i), "done": i%3 == 0})
			if err != nil {
				b.Fatal(err)
			}
			o = Op{Path: Path{Field("f" + strconv.Itoa(i%10))}, Change: c}
		case 1:
			c, err := SequenceInsertChange(i/4, i)
			if err != nil {
				b.Fatal(err)
			}
			o = Op{Path: Path{Field("list")}, Change: c}
		case 2:
			o = Op{Path: Path{Field("text")}, Change: TextInsertChange(i/4, "é")}
		default:
			o = Op{Path: Path{Field("count")}, Change: IncrementChange(1)}
		}
		txs[i] = []Op{o}
	}
	return txs
}

// BenchmarkPlainApply100 commits 100 local transactions of one op each, or
// one transaction of 100 ops, on a fresh document.
func BenchmarkPlainApply100(b *testing.B) {
	txs := benchOps(b, 100)
	f := NewPlainFactory(PlainOptions{Rand: &seqRand{}})
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
	f := NewPlainFactory(PlainOptions{Rand: &seqRand{}})
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
		tx := []Op{{Path: Path{Field("count")}, Change: IncrementChange(1)}}
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
	f := NewPlainFactory(PlainOptions{Rand: &seqRand{}})
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
			_ = AppendValue(nil, state)
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
