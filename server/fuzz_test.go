package server

import (
	"context"
	"errors"
	"testing"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/wire"
)

// FuzzServerBinaryInput sends arbitrary bytes as one binary message on a
// fresh connection and checks the server's answer: the connection either
// stays usable ("ping" still gets "pong") or is closed with 1007 or 1009.
// The server must never panic, and other connections are unaffected.
func FuzzServerBinaryInput(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	h := newHarness(f, Options{MaxMessageSize: 256 << 10, MaxReassemblySize: 1 << 20})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, h.url, &websocket.DialOptions{HTTPClient: h.hc})
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		if _, m, err := ws.Read(ctx); err != nil || string(m) != "ready" {
			t.Fatalf("ready: %q %v", m, err)
		}
		if err := ws.Write(ctx, websocket.MessageBinary, data); err != nil {
			t.Skip("server closed before the write finished")
		}
		_ = ws.Write(ctx, websocket.MessageText, []byte("ping"))
		for {
			typ, m, err := ws.Read(ctx)
			if err != nil {
				var ce websocket.CloseError
				if !errors.As(err, &ce) || (ce.Code != statusInvalidData && ce.Code != statusMessageTooBig) {
					t.Fatalf("connection ended with %v", err)
				}
				return
			}
			if typ == websocket.MessageText && string(m) == "pong" {
				_ = ws.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	})
}

func fuzzSeeds(f *testing.F) [][]byte {
	frame := func(kind wire.FrameKind, seq uint32, index, total uint16, totalSize uint32, payload []byte) []byte {
		b, err := wire.AppendFrame(nil, wire.Frame{Kind: kind, Seq: seq, Index: index, Total: total, TotalSize: totalSize, Payload: payload})
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	return [][]byte{
		{},
		{3},
		frame(wire.KindComplete, 1, 0, 0, 0, []byte{0xa0}),
		frame(wire.KindComplete, 1, 0, 0, 0, []byte{0xff, 0x00}),
		frame(wire.KindFragment, 7, 0, 2, 8, []byte("abcd")),
		frame(wire.KindFragment, 7, 3, 2, 8, []byte("abcd")),
		frame(wire.KindFragment, 9, 0, 1, 4, []byte{0xa1, 0x61, 0x74, 0x01}),
	}
}
