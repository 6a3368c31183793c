package transporttest

import (
	"context"

	"github.com/kyneta-go/kyneta/transport"
)

// WithoutPressure wraps t so that its consumer never hears the send-queue
// pressure t reports (transport.Context.OnChannelPressure), as with a
// transport that does not report it: the consumer then sends until the
// queue overflows. Tests use it to show what the reports prevent.
func WithoutPressure(t transport.Transport) transport.Transport { return withoutPressure{t} }

type withoutPressure struct{ transport.Transport }

func (w withoutPressure) Initialize(ctx context.Context, c transport.Context) error {
	c.OnChannelPressure = nil
	return w.Transport.Initialize(ctx, c)
}
