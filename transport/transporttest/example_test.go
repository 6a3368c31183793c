package transporttest_test

import (
	"context"
	"fmt"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/transporttest"
	"github.com/kyneta-go/kyneta/wire"
)

// Two in-memory endpoints, the full wire codec between them, and a
// deterministic Settle instead of sleeping.
func ExampleBridge() {
	ctx := context.Background()
	br := transporttest.NewBridge(transporttest.BridgeOptions{})
	defer br.Close()

	join := func(name string) *transporttest.BridgeEndpoint {
		ep := br.Endpoint(name)
		_ = ep.Initialize(ctx, transport.Context{
			Identity:      wire.PeerIdentity{PeerID: name, Type: wire.PeerService},
			MintChannelID: transport.NewChannelIDMinter(),
			OnChannelEstablish: func(ch *transport.Channel) {
				// An exchange would send its establish here.
				fmt.Println(name, "establishes with", ch.Meta.(transporttest.BridgePeer).Remote)
			},
			OnChannelReceive: func(_ transport.ChannelID, m wire.ChannelMsg) {
				fmt.Printf("%s got %s %s\n", name, m.MsgType(), m.(*wire.Interest).DocID)
			},
		})
		_ = ep.Start(ctx)
		return ep
	}
	alice := join("alice")
	join("bob") // the joiner starts the handshake

	ch, _ := alice.ChannelTo("bob")
	_ = ch.Send(&wire.Interest{DocID: "todo"})
	_ = br.Settle(ctx)

	br.DropNext("alice", "bob", 1)
	_ = ch.Send(&wire.Interest{DocID: "lost"})
	_ = br.Settle(ctx)
	fmt.Println("dropped:", br.Stats().Dropped)
	// Output:
	// bob establishes with alice
	// bob got interest todo
	// dropped: 1
}
