package client

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/kyneta-go/kyneta/wire"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A 1 MiB message leaves the client in few system calls: coder/websocket
// masks it through a 4 KiB buffer, which without the socket's cork is one
// write per 4 KiB (256 and more). The HTTP client is the user's own, with
// its own transport and redirect policy: the cork goes under any.
func TestLargeWriteInFewSystemCalls(t *testing.T) {
	var writes atomic.Int64
	dialer := &net.Dialer{}
	hc := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, writes: &writes}, nil
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	h := newHarness(t, func(o *Options) { o.HTTPClient = hc })
	rc := h.ready()
	if err := h.c.Flush(h.ctx); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("kyneta-"), (1<<20)/7+1)[:1<<20]
	before := writes.Load()
	if err := h.c.Channels()[0].Send(&wire.Offer{DocID: "doc-1", Version: "v1", Payload: wire.Payload{Kind: wire.Entirety, Encoding: wire.Binary, Data: data}}); err != nil {
		t.Fatal(err)
	}
	if o, ok := recv(t, rc.msgs, "offer at server").(*wire.Offer); !ok || !bytes.Equal(o.Payload.Data, data) {
		t.Fatal("the server did not get the offer whole")
	}
	// 11 fragments of 100 KiB: at most two writes each through the cork.
	if n := writes.Load() - before; n == 0 || n > 32 {
		t.Fatalf("1 MiB left in %d writes", n)
	}
	h.c.opts.HTTPClient.CloseIdleConnections()
}
