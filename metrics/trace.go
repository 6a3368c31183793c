package metrics

import (
	"context"

	"github.com/kyneta-go/kyneta/transport"
)

// TraceFrames returns t with fn called for every wire frame it sends or
// receives (transport.Context.OnFrame, which an exchange leaves unset).
// Give the result to the exchange in place of t. fn runs inside the
// transport's send and receive paths: it must be quick and must not send
// on the transport. A frame hook the exchange does set still runs, after
// fn.
func TraceFrames(t transport.Transport, fn func(transport.FrameTrace)) transport.Transport {
	return &traced{Transport: t, fn: fn}
}

type traced struct {
	transport.Transport
	fn func(transport.FrameTrace)
}

func (t *traced) Initialize(ctx context.Context, c transport.Context) error {
	prev := c.OnFrame
	c.OnFrame = func(f transport.FrameTrace) {
		t.fn(f)
		if prev != nil {
			prev(f)
		}
	}
	return t.Transport.Initialize(ctx, c)
}

// Unwrap returns the traced transport.
func (t *traced) Unwrap() transport.Transport { return t.Transport }
