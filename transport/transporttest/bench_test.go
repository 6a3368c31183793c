package transporttest

import (
	"context"
	"testing"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

func offer1KiB() *wire.Offer {
	data := make([]byte, 1024)
	for i := range data {
		data[i] = byte(i)
	}
	return &wire.Offer{DocID: "bench-doc", Version: "v1", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: data}}
}

// BenchmarkBridgeThroughput1KiB: 1 KiB offers from one endpoint to another
// through the bridge (encode, queue, delivery goroutine, decode, callback),
// settling every 256 messages so the queue stays bounded.
func BenchmarkBridgeThroughput1KiB(b *testing.B) {
	br := NewBridge(BridgeOptions{})
	defer br.Close()
	ctx := context.Background()
	recv := 0
	mk := func(name string) *BridgeEndpoint {
		ep := br.Endpoint(name)
		_ = ep.Initialize(ctx, transport.Context{
			MintChannelID:    transport.NewChannelIDMinter(),
			OnChannelReceive: func(transport.ChannelID, wire.ChannelMsg) { recv++ },
		})
		return ep
	}
	a, c := mk("a"), mk("c")
	_ = a.Start(ctx)
	_ = c.Start(ctx)
	ch, _ := a.ChannelTo("c")
	msg := offer1KiB()
	b.ReportAllocs()
	b.SetBytes(1024)
	i := 0
	for b.Loop() {
		if err := ch.Send(msg); err != nil {
			b.Fatal(err)
		}
		if i++; i%256 == 0 {
			_ = br.Settle(ctx)
		}
	}
	_ = br.Settle(ctx)
	b.StopTimer()
	if recv != i {
		b.Fatalf("received %d of %d", recv, i)
	}
}
