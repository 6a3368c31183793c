package nats

import (
	"context"
	"testing"

	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// BenchmarkLinkOneWay measures one message from node a to node b over a
// link (encode, frame, publish, NATS, sequence check, decode, deliver),
// next to the same frame bytes over raw nats.go publish/subscribe in the
// same run. Sequential: ns/op is the one-way latency. Burst: b.N messages
// sent back to back, ns/op is the per-message cost at full speed.
func BenchmarkLinkOneWay(b *testing.B) {
	msg := present("docs/some-document-id")
	frames, err := pipeline.New(pipeline.Options{}).Send(msg)
	if err != nil {
		b.Fatal(err)
	}
	frame := frames[0]

	b.Run("raw-nats/sequential", func(b *testing.B) { rawNATS(b, frame, false) })
	b.Run("link/sequential", func(b *testing.B) { overLink(b, msg, false) })
	b.Run("raw-nats/burst", func(b *testing.B) { rawNATS(b, frame, true) })
	b.Run("link/burst", func(b *testing.B) { overLink(b, msg, true) })
}

// burstWindow bounds the messages in flight in a burst, far below the
// subscription's pending limit, so neither side drops.
const burstWindow = 4096

func rawNATS(b *testing.B, frame []byte, burst bool) {
	pub, err := natsgo.Connect(natsURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := natsgo.Connect(natsURL)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	subject := testPrefix() + ".node.b"
	got := make(chan struct{}, 1024)
	s, err := sub.Subscribe(subject, func(m *natsgo.Msg) {
		// What the link does with a frame at least: read its header.
		if len(m.Data) >= wirecore.HeaderSize && m.Header.Get(hLink) != "" {
			got <- struct{}{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	_ = s.SetPendingLimits(-1, -1)
	if err := sub.Flush(); err != nil {
		b.Fatal(err)
	}
	header := natsgo.Header{hFrom: {"a"}, hLink: {"0123456789abcdef-1"}}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	send := func() {
		if err := pub.PublishMsg(&natsgo.Msg{Subject: subject, Header: header, Data: frame}); err != nil {
			b.Fatal(err)
		}
	}
	if burst {
		window := make(chan struct{}, burstWindow)
		go func() {
			for range b.N {
				window <- struct{}{}
				send()
			}
		}()
		for range b.N {
			<-got
			<-window
		}
		return
	}
	for range b.N {
		send()
		<-got
	}
}

func overLink(b *testing.B, msg wire.ChannelMsg, burst bool) {
	prefix := testPrefix()
	a := startNode(b, Options{NodeID: "a", Prefix: prefix})
	got := make(chan struct{}, 1024)
	rec := newRecorder()
	ctx := rec.context("b")
	ctx.OnChannelReceive = func(transport.ChannelID, wire.ChannelMsg) { got <- struct{}{} }
	tb, err := New(Options{URL: natsURL, NodeID: "b", Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	if err := tb.Initialize(context.Background(), ctx); err != nil {
		b.Fatal(err)
	}
	if err := tb.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer tb.Stop(context.Background())
	a.rec.waitFor(b, "a linked", linked(a))
	rec.waitFor(b, "b linked", func() bool { return rec.liveCount() == 1 })
	ch := a.rec.only(b)
	b.ReportAllocs()
	b.ResetTimer()
	if burst {
		window := make(chan struct{}, burstWindow)
		go func() {
			for range b.N {
				window <- struct{}{}
				_ = ch.Send(msg)
			}
		}()
		for range b.N {
			<-got
			<-window
		}
		return
	}
	for range b.N {
		if err := ch.Send(msg); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}
