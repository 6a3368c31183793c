package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/wire"
)

// benchMessages are the payloads of the round-trip benchmarks: a small
// sync message and a 1 KiB offer.
func benchMessages() map[string]wire.ChannelMsg {
	data := make([]byte, 1024)
	for i := range data {
		data[i] = byte(i)
	}
	return map[string]wire.ChannelMsg{
		"interest": &wire.Interest{DocID: "doc-1"},
		"offer-1KiB": &wire.Offer{DocID: "doc-1", Version: "v1",
			Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: data}},
	}
}

// BenchmarkRoundTrip measures one message client -> server -> client on
// loopback: through the Client (pipeline both ways, reference-like server
// that decodes and re-encodes) next to raw coder/websocket echoing the same
// frame bytes, in the same run.
func BenchmarkRoundTrip(b *testing.B) {
	for _, name := range []string{"interest", "offer-1KiB"} {
		msg := benchMessages()[name]
		b.Run("client/"+name, func(b *testing.B) { benchClientRoundTrip(b, msg) })
		b.Run("raw-coder/"+name, func(b *testing.B) { benchRawRoundTrip(b, msg) })
	}
}

func benchClientRoundTrip(b *testing.B, msg wire.ChannelMsg) {
	srv := newBenchRefServer(b)
	ex := newExchangeRec()
	ex.onEstablish = sendEstablish
	c, err := New(Options{URL: srv.url()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Initialize(ctx, ex.context()); err != nil {
		b.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := c.WaitForStatus(ctx, StatusReady); err != nil {
		b.Fatal(err)
	}
	<-ex.received // the server's establish
	ch := c.Channels()[0]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := ch.Send(msg); err != nil {
			b.Fatal(err)
		}
		<-ex.received
	}
}

func newBenchRefServer(b *testing.B) *refServer {
	s := &refServer{accepted: make(chan *refConn, 64), establishes: make(chan *refConn, 64), echo: true}
	s.srv = httptest.NewServer(s)
	b.Cleanup(s.shutdown)
	return s
}

func benchRawRoundTrip(b *testing.B, msg wire.ChannelMsg) {
	p := pipeline.New(pipeline.Options{})
	defer p.Close()
	pieces, err := p.Send(msg)
	if err != nil {
		b.Fatal(err)
	}
	frame := pieces[0]
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx := context.Background()
		for {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if err := conn.Write(ctx, typ, data); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	conn, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
			b.Fatal(err)
		}
		if _, _, err := conn.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	conn.Close(websocket.StatusNormalClosure, "")
	<-done
}
