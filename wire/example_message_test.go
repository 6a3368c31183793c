package wire_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/wire"
)

// An offer goes through the alias transformer, is encoded to CBOR (and to
// the text form), and the receiver decodes and resolves it back.
func ExampleEncodeMessage() {
	offer := &wire.Offer{
		DocID: "doc-1",
		Payload: wire.Payload{
			Kind:     wire.Entirety,
			Encoding: wire.JSON,
			Data:     []byte(`{"title":"hi"}`),
		},
		Version: "lin:1",
	}

	// Sender: ChannelMsg -> WireMessage -> bytes. Aliasing is not mutual on a
	// fresh connection, so the offer names its document in full ("doc").
	// Each side keeps one alias table per connection, updated in place.
	sender := new(wire.AliasState)
	wm, err := wire.AliasOutbound(sender, offer)
	if err != nil {
		panic(err)
	}
	b, err := wire.EncodeMessage(wm)
	if err != nil {
		panic(err)
	}
	text, _ := wire.EncodeTextMessage(wm)
	fmt.Printf("cbor %x\n", b)
	fmt.Println("text", text)

	// Receiver: bytes -> WireMessage -> ChannelMsg.
	got, err := wire.DecodeMessage(b)
	if err != nil {
		panic(err)
	}
	receiver := new(wire.AliasState)
	msg, err := wire.AliasInbound(receiver, got)
	if err != nil {
		panic(err)
	}
	o := msg.(*wire.Offer)
	fmt.Println(o.DocID, o.Payload.Kind, o.Payload.Encoding, string(o.Payload.Data), o.Version, sender.MutualAlias())
	// Output:
	// cbor a661741262706b006270650061646e7b227469746c65223a226869227d6176656c696e3a3163646f6365646f632d31
	// text {"t":18,"pk":0,"pe":0,"d":"{\"title\":\"hi\"}","v":"lin:1","doc":"doc-1"}
	// doc-1 entirety json {"title":"hi"} lin:1 false
}
