package transport_test

import (
	"context"
	"fmt"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// A concrete transport embeds a *Base and opens channels from its own code;
// the exchange sees them through the injected Context.
func ExampleBase() {
	ctx := context.Background()
	var base *transport.Base
	base = transport.NewBase(transport.BaseOptions{
		Type: "loop",
		OnStart: func(context.Context) error {
			// A real shell would dial or accept here.
			_, err := base.AddChannel(transport.Link{
				Send: func(m wire.ChannelMsg) error { fmt.Println("wire <-", m.MsgType()); return nil },
				Meta: "principal:alice",
			})
			return err
		},
	})
	_ = base.Initialize(ctx, transport.Context{
		Identity:       wire.PeerIdentity{PeerID: "me", Type: wire.PeerService},
		MintChannelID:  transport.NewChannelIDMinter(),
		OnChannelAdded: func(ch *transport.Channel) { fmt.Println("added", ch.ID, ch.Meta) },
		OnChannelRemoved: func(ch *transport.Channel) {
			fmt.Println("removed", ch.ID)
		},
		OnChannelReceive: func(id transport.ChannelID, m wire.ChannelMsg) { fmt.Println("from", id, m.MsgType()) },
	})
	_ = base.Start(ctx)

	if ch, ok := base.Channel(1); ok {
		fmt.Println("send error:", ch.Send(&wire.Interest{DocID: "doc"}))
	}
	_, ok := base.Channel(99)
	fmt.Println("channel 99 exists:", ok)
	_ = base.Receive(1, &wire.Depart{})
	_ = base.Stop(ctx)

	_, err := base.AddChannel(transport.Link{Send: func(wire.ChannelMsg) error { return nil }})
	fmt.Println(err)
	// Output:
	// added 1 principal:alice
	// wire <- interest
	// send error: <nil>
	// channel 99 exists: false
	// from 1 depart
	// removed 1
	// transport: invalid-state: can't add channel in "stopped" state
}
