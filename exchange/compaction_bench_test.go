package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange/store"
)

// BenchmarkHistoryOf100kWrites writes one document 100,000 times with a
// store, restarts, and reports what the history costs after the automatic
// compaction: stored bytes against the state's size, and the time to load
// the document again against loading the same state stored as a single
// entirety (the baseline, in the same run).
//
//	go test -run '^$' -bench HistoryOf100kWrites -benchtime 1x ./exchange/
func BenchmarkHistoryOf100kWrites(b *testing.B) {
	// auto: only the automatic compaction (history kept up to 1,000
	// batches or 1 MiB past the last one); compact: Compact before the
	// restart.
	for _, explicit := range []bool{false, true} {
		name := "auto"
		if explicit {
			name = "compact"
		}
		b.Run(name, func(b *testing.B) { historyOfWrites(b, explicit) })
	}
}

func historyOfWrites(b *testing.B, explicit bool) {
	const writes = 100_000
	ctx := context.Background()
	for range b.N {
		data := store.NewMemoryData()
		ex, err := New(Options{PeerID: "w", Stores: []store.Store{store.NewMemory(store.MemoryOptions{Data: data})}})
		if err != nil {
			b.Fatal(err)
		}
		d, err := ex.Get("d", jsonDoc)
		if err != nil {
			b.Fatal(err)
		}
		for i := range writes {
			// A small state that every write changes: a counter and one of
			// 100 fields.
			if err := d.Update(func(tx *Tx) error {
				tx.Set(P("n"), i)
				tx.Set(P(fmt.Sprintf("f%d", i%100)), i)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		if explicit {
			if err := ex.Compact("d"); err != nil {
				b.Fatal(err)
			}
		}
		if err := ex.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		state, _ := d.JSON()
		_ = ex.Shutdown(ctx)

		recs, err := store.NewMemory(store.MemoryOptions{Data: data}).LoadAll(ctx, "d")
		if err != nil {
			b.Fatal(err)
		}
		stored := 0
		for _, r := range recs {
			stored += len(r.Payload.Data)
		}
		load := func(data *store.MemoryData) time.Duration {
			start := time.Now()
			ex, err := New(Options{PeerID: "w", Stores: []store.Store{store.NewMemory(store.MemoryOptions{Data: data})}})
			if err != nil {
				b.Fatal(err)
			}
			d, err := ex.Get("d", jsonDoc)
			if err != nil {
				b.Fatal(err)
			}
			if err := ex.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			var got, want map[string]any
			j, _ := d.JSON()
			_ = json.Unmarshal(j, &got)
			_ = json.Unmarshal(state, &want)
			if !reflect.DeepEqual(got, want) {
				b.Fatalf("loaded %s, want %s", j, state)
			}
			_ = ex.Shutdown(ctx)
			return took
		}
		loaded := load(data)

		// Baseline: the same state written once.
		base := store.NewMemoryData()
		bx, _ := New(Options{PeerID: "w", Stores: []store.Store{store.NewMemory(store.MemoryOptions{Data: base})}})
		bd, _ := bx.Get("d", jsonDoc)
		var fields map[string]any
		_ = json.Unmarshal(state, &fields)
		_ = bd.Update(func(tx *Tx) error {
			for k, v := range fields {
				tx.Set(P(k), v)
			}
			return nil
		})
		_ = bx.Flush(ctx)
		_ = bx.Shutdown(ctx)
		baseline := load(base)

		b.ReportMetric(float64(len(state)), "state-B")
		b.ReportMetric(float64(stored), "stored-B")
		b.ReportMetric(float64(len(recs)), "records")
		b.ReportMetric(float64(loaded.Microseconds())/1000, "load-ms")
		b.ReportMetric(float64(baseline.Microseconds())/1000, "baseline-load-ms")
	}
}
