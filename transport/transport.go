package transport

import (
	"context"

	"github.com/kyneta-go/kyneta/wire"
)

// Transport is what the exchange drives: one kind of wire (WebSocket client,
// WebSocket server, in-memory bridge) with its directory of channels. [Base]
// implements it; concrete transports embed a *Base.
type Transport interface {
	// Type is the transport type, e.g. "websocket-client" or "bridge".
	Type() string
	// ID distinguishes transports of the same type ("<type>-<n>" by default).
	ID() string
	// Initialize injects the exchange's callbacks. Calling it again on a
	// running transport stops it first (its channels are reported removed).
	Initialize(ctx context.Context, c Context) error
	// Start makes the transport open channels. Requires Initialize.
	Start(ctx context.Context) error
	// Stop closes every connection; channels still present are reported
	// through OnChannelRemoved. Safe in any state and idempotent.
	Stop(ctx context.Context) error
	// Flush waits until work the transport has queued is handed to the wire
	// (or ctx ends). Exchange shutdown awaits it.
	Flush(ctx context.Context) error
}

// Context is what the exchange injects into a transport. Callbacks may be
// nil except MintChannelID. Transports call them without holding any of
// their own locks, so a callback may call back into the transport (a
// channel's Send, Channels, …); lifecycle calls from inside a callback are allowed too,
// but they must not wait for the callback to return.
type Context struct {
	// Identity is the local peer.
	Identity wire.PeerIdentity
	// OnChannelReceive delivers an inbound message. It takes the id rather
	// than the channel because the consumer's copy of the channel may be
	// stale.
	OnChannelReceive func(ChannelID, wire.ChannelMsg)
	// OnChannelAdded reports a new (connected, not yet established) channel.
	OnChannelAdded func(*Channel)
	// OnChannelRemoved reports a channel gone for good.
	OnChannelRemoved func(*Channel)
	// OnChannelEstablish asks the consumer to start the handshake on the
	// channel (send its establish). The WebSocket client does it after
	// "ready"; the server never does (it echoes the client's establish).
	OnChannelEstablish func(*Channel)
	// MintChannelID mints a fresh id, unique across every transport of the
	// consumer and never reused. Required.
	MintChannelID func() ChannelID
	// OnChannelPressure, if set, hears that a channel's send queue filled
	// past its high-water mark (congested) or drained back below its
	// low-water mark (not congested), so the consumer can hold back what
	// it would send and coalesce it, instead of overflowing the queue and
	// having the connection closed. Transports without a bounded send
	// queue never call it. It may be called from inside a channel's Send.
	OnChannelPressure func(id ChannelID, congested bool)
	// OnFrame, if set, observes every wire frame sent or received
	// (tracing). It is called from inside the send and receive paths, so
	// unlike the other callbacks it must not send on the transport.
	OnFrame func(FrameTrace)
}

// Direction says whether a frame was sent or received.
type Direction string

// Frame directions.
const (
	DirSend    Direction = "send"
	DirReceive Direction = "receive"
)

// FrameTrace describes one frame for tracing. On send
// there is one trace per frame (Index/Total set for fragments). On receive
// the wire pipeline emits one trace per decoded message whose Size counts all
// the frames that carried it (the reference counted the last piece only,
// issue P3).
type FrameTrace struct {
	Dir  Direction
	Seq  uint32
	Kind wire.FrameKind // wire.KindComplete or wire.KindFragment
	// Index and Total are set for sent fragments.
	Index int
	Total int
	// Size is the size of the frame in bytes (code points for text); see
	// above for received messages.
	Size int
}
