package transport

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/kyneta-go/kyneta/wire"
)

// ChannelID names one channel. Ids are minted by the consumer (the
// exchange) through [Context.MintChannelID], so they are unique across all
// transports of one exchange and never reused. Zero is reserved for "no
// channel".
type ChannelID uint64

// Link is what a concrete transport supplies when it opens a channel: how to
// send on it, how to close the connection under it, and what it knows about
// the remote end.
type Link struct {
	// Send writes one message to the remote end. Required. It must be safe
	// to call from any goroutine; it may block only briefly (shells queue).
	Send func(wire.ChannelMsg) error
	// SendPieces writes an offer whose payload data is d rather than
	// m.Payload.Data (which is nil), without joining the pieces: a
	// large value goes out from where it is. Optional; without it
	// [Channel.SendPieces] joins them and calls Send. The bytes on the
	// wire must be those Send writes for the joined offer.
	SendPieces func(m *wire.Offer, d wire.Pieces) error
	// Close tears down the connection under the channel (closes the socket,
	// cuts the bridge link). Optional. The transport later reports the
	// removal through OnChannelRemoved as usual.
	Close func()
	// Meta is transport-specific information about the remote end, for
	// policies: the server transport puts the authenticated principal here,
	// so canConnect can check the peer id claimed in establish.
	Meta any
}

// Channel is one logical bidirectional path to a remote peer inside one
// transport. The exchange tracks establishment in its own session model;
// a Channel never changes type (reference issue T2).
type Channel struct {
	// ID is the caller-minted id.
	ID ChannelID
	// TransportType is the owning transport's type, e.g. "websocket-server".
	TransportType string
	// TransportID is the owning transport's id.
	TransportID string
	// Meta is Link.Meta: transport-specific information about the remote
	// end (e.g. the authenticated principal), or nil.
	Meta any

	send       func(wire.ChannelMsg) error
	sendPieces func(*wire.Offer, wire.Pieces) error
	close      func()
	closeOnce  sync.Once
}

// Send writes msg on the channel. A panic in the transport's send function is
// recovered and returned as a send-failed *kyneta.Error. A failed send is
// a *kyneta.Error that wraps the link's error. The memory msg refers to
// must not change after Send: a transport may write a large value from
// where it is, after Send has returned (the exchange only sends data it
// never changes).
func (c *Channel) Send(msg wire.ChannelMsg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = channelError(reasonSendFailed, "send", c.ID, fmt.Errorf("panicked: %v", r))
		}
	}()
	if err := c.send(msg); err != nil {
		return sendError(c.ID, err)
	}
	return nil
}

// OfferPieces is an offer whose payload data may be held in pieces, to be
// sent on one or more channels: those whose transport writes pieces
// ([Link.SendPieces]) get them as they are, the others the offer with the
// data joined, once for all of them. One goroutine at a time may use it.
type OfferPieces struct {
	// Offer is the offer. Its Payload.Data, when not nil, is the data and
	// Data is not used.
	Offer wire.Offer
	// Data is the payload data when Offer.Payload.Data is nil.
	Data  wire.Pieces
	whole *wire.Offer
}

// Whole returns the offer with its data in one buffer: Offer itself when
// it holds its data, otherwise a copy with the pieces joined (made at the
// first call, then kept).
func (p *OfferPieces) Whole() *wire.Offer {
	if p.Offer.Payload.Data != nil || p.Data.Len() == 0 {
		return &p.Offer
	}
	if p.whole == nil {
		w := p.Offer
		w.Payload.Data = p.Data.Join()
		p.whole = &w
	}
	return p.whole
}

// Len returns the length of the offer's payload data.
func (p *OfferPieces) Len() int {
	if p.Offer.Payload.Data != nil {
		return len(p.Offer.Payload.Data)
	}
	return p.Data.Len()
}

// WritesPieces reports whether the channel's transport writes an offer's
// pieces as they are ([Link.SendPieces]) rather than joined.
func (c *Channel) WritesPieces() bool { return c.sendPieces != nil }

// SendPieces sends the offer p: as pieces when its data is in pieces and
// the transport writes them ([Link.SendPieces]), otherwise p.Whole() with
// [Channel.Send]. Errors are Send's. The memory must not change
// afterwards either.
func (c *Channel) SendPieces(p *OfferPieces) (err error) {
	if p == nil {
		return c.Send(nil) // refused as a nil message is
	}
	if c.sendPieces == nil || p.Offer.Payload.Data != nil || p.Data.Len() == 0 {
		return c.Send(p.Whole())
	}
	defer func() {
		if r := recover(); r != nil {
			err = channelError(reasonSendFailed, "send", c.ID, fmt.Errorf("panicked: %v", r))
		}
	}()
	if err := c.sendPieces(&p.Offer, p.Data); err != nil {
		return sendError(c.ID, err)
	}
	return nil
}

// Close asks the transport to tear down the connection under this channel
// (the reference never did, issue T3/T4: a peer rejected by canConnect
// stayed connected). It runs the transport's close function at most once.
// The removal is reported through OnChannelRemoved as usual: socket
// transports report it later, from their reader goroutine; the Bridge
// reports it before Close returns. Close on a channel whose transport
// supplied no close function does nothing.
func (c *Channel) Close() {
	if c.close == nil {
		return
	}
	c.closeOnce.Do(c.close)
}

// NewChannelIDMinter returns a goroutine-safe function that mints 1, 2, 3, …
// — what an exchange puts in [Context.MintChannelID], and handy in tests.
func NewChannelIDMinter() func() ChannelID {
	var n atomic.Uint64
	return func() ChannelID { return ChannelID(n.Add(1)) }
}

// ConnInfo describes one connection of the module's network transports:
// the WebSocket server and the SSE server store it as the channel's Meta
// (see [InfoOf]), and it carries the authenticated principal to the
// exchange's canConnect policy ([PrincipalCarrier]).
type ConnInfo struct {
	// PeerID is the connection's registry key: given by the request or
	// generated. A newer connection with the same peer id replaces this
	// one.
	PeerID string
	// Principal is what the server's Authenticate returned (nil without
	// one).
	Principal any
	// RemoteAddr is the request's remote address.
	RemoteAddr string
	// Subprotocol is the negotiated WebSocket subprotocol ("" for none;
	// WebSocket only).
	Subprotocol string
	// StreamID identifies an SSE stream (sent as its eventStream event;
	// SSE only).
	StreamID string
}

// ChannelPrincipal returns the authenticated principal.
func (i ConnInfo) ChannelPrincipal() any { return i.Principal }

// InfoOf returns the ConnInfo a WebSocket or SSE server attached to a
// channel it created.
func InfoOf(ch *Channel) (ConnInfo, bool) {
	if ch == nil {
		return ConnInfo{}, false
	}
	info, ok := ch.Meta.(ConnInfo)
	return info, ok
}

// PrincipalCarrier is implemented by channel metadata that knows who the
// remote end authenticated as (the WebSocket server's ConnInfo).
type PrincipalCarrier interface {
	ChannelPrincipal() any
}

// PrincipalOf returns the authenticated principal a channel's Meta
// carries, or nil when the transport authenticated nobody.
func PrincipalOf(meta any) any {
	if p, ok := meta.(PrincipalCarrier); ok {
		return p.ChannelPrincipal()
	}
	return nil
}

// SamePrincipal reports whether two principals are the same: == for
// comparable values, deep equality otherwise. Two nil principals (nobody
// authenticated) are the same.
func SamePrincipal(a, b any) (same bool) {
	defer func() {
		if recover() != nil {
			same = reflect.DeepEqual(a, b)
		}
	}()
	return a == b
}
