package client

import (
	"context"
	"io"
	"net/http"

	"github.com/kyneta-go/kyneta/internal/cork"
)

// The socket's writer batches its writes through a cork.Writer, as the
// server's does. coder/websocket masks a client's payload through its
// 4 KiB write buffer, one system call per 4 KiB without the cork (256 for
// a 1 MiB value). The cork goes under coder/websocket by wrapping the
// upgrade response's body, which coder/websocket writes to: that works
// with any HTTP client's transport, and under TLS too (the body is then
// the TLS connection).

// corkSlot carries the dial's cork from the transport back to the socket,
// in the dial's context.
type corkSlot struct{ w *cork.Writer }

type corkSlotKey struct{}

// corkTransport wraps the body of a 101 response to a request whose
// context holds a corkSlot.
type corkTransport struct{ rt http.RoundTripper }

func (t corkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := t.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		return resp, err
	}
	slot, _ := req.Context().Value(corkSlotKey{}).(*corkSlot)
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if slot == nil || !ok {
		return resp, nil
	}
	slot.w = cork.New(rwc)
	resp.Body = corkedBody{ReadWriteCloser: rwc, w: slot.w}
	return resp, nil
}

// corkedBody is the upgraded connection with writes through the cork.
type corkedBody struct {
	io.ReadWriteCloser
	w *cork.Writer
}

func (b corkedBody) Write(p []byte) (int, error) { return b.w.Write(p) }

// withCorkSlot returns ctx carrying a fresh slot for the dial's cork.
func withCorkSlot(ctx context.Context) (context.Context, *corkSlot) {
	slot := &corkSlot{}
	return context.WithValue(ctx, corkSlotKey{}, slot), slot
}
