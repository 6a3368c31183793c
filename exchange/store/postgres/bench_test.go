package postgres

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"

	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/sqlite"
	"github.com/kyneta-go/kyneta/wire"
)

// BenchmarkAppend measures appending a small JSON entry (a delta as the
// exchange writes it) to a document, on PostgreSQL and, as the baseline in
// the same run, on the SQLite store (both durable: fsync'd commits).
// "serial" appends to one document; "parallel" appends from GOMAXPROCS
// goroutines to a document each.
func BenchmarkAppend(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres", func(b *testing.B) store.Store { return open(b, Tables{Schema: newSchema(b)}, Options{}) }},
	}
	// The floor: one durable single-row insert transaction, what any
	// PostgreSQL append costs at least.
	b.Run("postgres-floor/serial", func(b *testing.B) {
		schema := newSchema(b)
		exec(b, `CREATE TABLE `+schema+`.floor (doc_id TEXT, seq INTEGER, payload TEXT, PRIMARY KEY (doc_id, seq))`)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			err := pgx.BeginFunc(ctx, admin, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO `+schema+`.floor VALUES ('doc', $1, '{"v":"x"}')`, i)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, be := range backends {
		b.Run(be.name+"/serial", func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			if err := s.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := s.Append(ctx, "doc", storekit.EntryRecord(wire.Since, fmt.Sprint("L:", i+1))); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.name+"/parallel", func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			var docs atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				doc := fmt.Sprint("doc-", docs.Add(1))
				if err := s.Append(ctx, doc, storekit.MetaRecord("")); err != nil {
					b.Error(err)
					return
				}
				for i := 1; pb.Next(); i++ {
					if err := s.Append(ctx, doc, storekit.EntryRecord(wire.Since, fmt.Sprint("L:", i))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
