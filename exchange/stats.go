package exchange

import (
	"sync/atomic"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Stats counts what an exchange sent and received since it started. Offer
// bytes are payload bytes (what replicas exported or peers offered), the
// part of the traffic that grows with document writes.
type Stats struct {
	MessagesSent       uint64 // messages handed to a channel, one per channel
	MessagesReceived   uint64
	OffersSent         uint64
	OfferBytesSent     uint64
	OffersReceived     uint64
	OfferBytesReceived uint64
	// StoreErrors counts failed store operations (loads, writes, deletes).
	StoreErrors uint64
	// InboundWaits counts deliveries that waited for the dispatcher to
	// catch up (Options.MaxInboundQueue): the transport stopped reading.
	InboundWaits uint64
	// StoreUnhealthy is the number of (document, store) pairs whose
	// writes are failing (retrying with backoff) or broken. While it is
	// above zero some acknowledged state is held only in memory: a relay
	// should report itself not ready.
	StoreUnhealthy int
	// PeerDocStates counts (peer, document) sync states by kind: pending,
	// synced, vacant.
	PeerDocStates map[PeerSyncKind]int
	// InboundQueue is the number of inputs waiting for the dispatcher.
	InboundQueue int
}

// MessageEvent is one protocol message seen by Options.OnMessage.
type MessageEvent struct {
	Outbound bool                // sent by this exchange (false: received)
	Channel  transport.ChannelID // the channel it went over
	Peer     string              // the remote peer id ("" before its establish)
	Msg      wire.ChannelMsg
}

type counters struct {
	msgsOut, msgsIn          atomic.Uint64
	offersOut, offerBytesOut atomic.Uint64
	offersIn, offerBytesIn   atomic.Uint64
	storeErrors              atomic.Uint64
	inboundWaits             atomic.Uint64
}

func (c *counters) sent(m wire.ChannelMsg) {
	if o, ok := m.(*wire.Offer); ok {
		c.sentOffer(len(o.Payload.Data))
		return
	}
	c.msgsOut.Add(1)
}

// sentOffer counts an offer of size bytes of data.
func (c *counters) sentOffer(size int) {
	c.msgsOut.Add(1)
	c.offersOut.Add(1)
	c.offerBytesOut.Add(uint64(size))
}

func (c *counters) received(m wire.ChannelMsg) {
	c.msgsIn.Add(1)
	if o, ok := m.(*wire.Offer); ok {
		c.offersIn.Add(1)
		c.offerBytesIn.Add(uint64(len(o.Payload.Data)))
	}
}

// Stats returns the exchange's traffic counters.
func (ex *Exchange) Stats() Stats {
	c := &ex.counters
	ex.mu.Lock()
	cs := ex.cs()
	st := cs.store
	ex.mu.Unlock()
	states := map[PeerSyncKind]int{PeerPending: 0, PeerSynced: 0, PeerVacant: 0}
	cs.sync.peers.Range(func(_ string, p *syncPeer) bool {
		p.states.Range(func(_ string, s PeerDocState) bool {
			states[s.Kind]++
			return true
		})
		return true
	})
	return Stats{
		PeerDocStates:      states,
		InboundQueue:       ex.runner.QueueLen(),
		StoreErrors:        c.storeErrors.Load(),
		InboundWaits:       c.inboundWaits.Load(),
		StoreUnhealthy:     st.unhealthy(),
		MessagesSent:       c.msgsOut.Load(),
		MessagesReceived:   c.msgsIn.Load(),
		OffersSent:         c.offersOut.Load(),
		OfferBytesSent:     c.offerBytesOut.Load(),
		OffersReceived:     c.offersIn.Load(),
		OfferBytesReceived: c.offerBytesIn.Load(),
	}
}
