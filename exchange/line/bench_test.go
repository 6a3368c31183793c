package line

import (
	"context"
	"testing"

	"github.com/kyneta-go/kyneta/exchange"
)

// BenchmarkLineSendReceive: b.N messages from a to b over the bridge (full
// wire codec), sent as fast as Send returns while b receives concurrently;
// timed until b received the last one.
func BenchmarkLineSendReceive(b *testing.B) {
	n := newNet(b)
	n.start("a", false)
	n.start("b", false)
	p := mustProto(b, "bench")
	sa, err := p.Open(n.exs["a"], "b")
	if err != nil {
		b.Fatal(err)
	}
	defer sa.Close()
	rb, err := p.Open(n.exs["b"], "a")
	if err != nil {
		b.Fatal(err)
	}
	defer rb.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan error, 1)
	go func() {
		for range b.N {
			if _, err := rb.Receive(ctx); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range b.N {
		if err := sa.Send(ctx, Msg{Text: "payload of a typical size", N: float64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBaselineDocAppend is the document layer alone, for comparison:
// a appends b.N items to a plain list document, timed until b's copy holds
// all of them.
func BenchmarkBaselineDocAppend(b *testing.B) {
	n := newNet(b)
	ax := n.start("a", false)
	bx := n.start("b", false)
	dt := exchange.JSONDoc("bench")
	da, _ := ax.Get("d", dt)
	db, _ := bx.Get("d", dt)
	got := make(chan struct{}, 1)
	cancel := db.Subscribe(func(exchange.Change) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := da.Update(func(tx *exchange.Tx) error {
			if i == 0 {
				tx.Set(exchange.P("items"), []any{})
			}
			tx.ListInsert(exchange.P("items"), i, Msg{Text: "payload of a typical size", N: float64(i)})
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for {
		var v struct{ Items []Msg }
		if err := db.Decode(&v); err != nil {
			b.Fatal(err)
		}
		if len(v.Items) == b.N {
			return
		}
		<-got
	}
}
