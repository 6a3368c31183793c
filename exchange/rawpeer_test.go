package exchange

import (
	"context"
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
	"github.com/kyneta-go/kyneta/wire"
)

// rawPeer is a hand-driven protocol peer on the bridge: it completes the
// establish handshake and then sends whatever a test (or an attacker)
// wants, recording everything it receives.
type rawPeer struct {
	t  *testing.T
	ep *transporttest.BridgeEndpoint
	id wire.PeerIdentity

	mu   sync.Mutex
	chs  map[string]*transport.Channel // by remote endpoint name
	got  []wire.ChannelMsg
	mint func() transport.ChannelID
}

func newRawPeer(t *testing.T, n *testNet, endpoint, peerID string) *rawPeer {
	t.Helper()
	r := &rawPeer{t: t, ep: n.bridge.Endpoint(endpoint), id: wire.PeerIdentity{PeerID: peerID, Type: wire.PeerUser},
		chs: map[string]*transport.Channel{}, mint: transport.NewChannelIDMinter()}
	c := transport.Context{
		Identity: r.id,
		OnChannelAdded: func(ch *transport.Channel) {
			r.mu.Lock()
			r.chs[ch.Meta.(transporttest.BridgePeer).Remote] = ch
			r.mu.Unlock()
		},
		OnChannelRemoved: func(*transport.Channel) {},
		OnChannelEstablish: func(ch *transport.Channel) {
			_ = ch.Send(&wire.Establish{Identity: r.id, ProtocolVersion: wire.DefaultProtocolVersion})
		},
		OnChannelReceive: func(_ transport.ChannelID, m wire.ChannelMsg) {
			if _, ok := m.(*wire.Establish); ok {
				return
			}
			r.mu.Lock()
			r.got = append(r.got, m)
			r.mu.Unlock()
		},
		MintChannelID: r.mint,
	}
	ctx := context.Background()
	if err := r.ep.Initialize(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := r.ep.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.ep.Stop(context.Background()) })
	n.settle()
	return r
}

// send sends m to the exchange on the remote endpoint.
func (r *rawPeer) send(remote string, m wire.ChannelMsg) {
	r.t.Helper()
	r.mu.Lock()
	ch := r.chs[remote]
	r.mu.Unlock()
	if ch == nil {
		r.t.Fatalf("raw peer %s has no channel to %s", r.id.PeerID, remote)
	}
	if err := ch.Send(m); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// received returns what the peer received about doc (any message naming
// it, presents included when they list it).
func (r *rawPeer) received(doc string) []wire.ChannelMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wire.ChannelMsg
	for _, m := range r.got {
		switch m := m.(type) {
		case *wire.Present:
			for _, d := range m.Docs {
				if d.DocID == doc {
					out = append(out, m)
				}
			}
		case *wire.Interest:
			if m.DocID == doc {
				out = append(out, m)
			}
		case *wire.Offer:
			if m.DocID == doc {
				out = append(out, m)
			}
		case *wire.Vacant:
			if m.DocID == doc {
				out = append(out, m)
			}
		case *wire.Dismiss:
			if m.DocID == doc {
				out = append(out, m)
			}
		}
	}
	return out
}
