package pipeline

import (
	"testing"

	"github.com/kyneta-go/kyneta/wire"
)

func offer1KiB() *wire.Offer {
	data := make([]byte, 1024)
	for i := range data {
		data[i] = byte(i)
	}
	return &wire.Offer{DocID: "bench-doc", Version: "v1", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: data}}
}

// BenchmarkPipelineOffer1KiB: one Send and the matching Receive of a 1 KiB
// offer (complete frame; the WebSocket default threshold is far above).
func BenchmarkPipelineOffer1KiB(b *testing.B) {
	tx := New(Options{Threshold: 100 * 1024})
	rx := New(Options{})
	m := offer1KiB()
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		pieces, err := tx.Send(m)
		if err != nil {
			b.Fatal(err)
		}
		for _, pc := range pieces {
			if _, err := rx.Receive(pc); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPipelineOffer1KiBFragmented: the same offer cut into 256-byte
// fragments, so the reassembler is on the path.
func BenchmarkPipelineOffer1KiBFragmented(b *testing.B) {
	tx := New(Options{Threshold: 256})
	rx := New(Options{})
	defer rx.Close()
	m := offer1KiB()
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		pieces, err := tx.Send(m)
		if err != nil {
			b.Fatal(err)
		}
		for _, pc := range pieces {
			if _, err := rx.Receive(pc); err != nil {
				b.Fatal(err)
			}
		}
	}
}
