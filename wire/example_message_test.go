package wire_test

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/wire"
)

// An offer is encoded to CBOR and decoded back.
func ExampleEncode() {
	offer := &wire.Offer{
		DocID: "doc-1",
		Payload: wire.Payload{
			Kind:     wire.Entirety,
			Encoding: wire.JSON,
			Data:     []byte(`{"title":"hi"}`),
		},
		Version: "lin:1",
	}
	b, err := wire.Encode(offer)
	if err != nil {
		panic(err)
	}
	fmt.Printf("cbor %x\n", b)

	msg, err := wire.Decode(b)
	if err != nil {
		panic(err)
	}
	o := msg.(*wire.Offer)
	fmt.Println(o.DocID, o.Payload.Kind, o.Payload.Encoding, string(o.Payload.Data), o.Version)
	// Output:
	// cbor a661741262706b006270650061646e7b227469746c65223a226869227d6176656c696e3a3163646f6365646f632d31
	// doc-1 entirety json {"title":"hi"} lin:1
}

// Decoding refuses what the reference refuses, with typed errors.
func ExampleDecode() {
	// {"t": 18}: an offer without its fields.
	_, err := wire.Decode([]byte{0xa1, 0x61, 't', 0x12})
	var verr *wire.ValidationError
	fmt.Println(errors.As(err, &verr))

	// A map with more pairs than any message needs is refused before
	// anything is built.
	b := []byte{0xb8, 200}
	for i := range 200 {
		b = append(b, 0x19, 0x01, byte(i), 0x00)
	}
	_, err = wire.Decode(b)
	fmt.Println(kyneta.ReasonOf(err), kyneta.CodeOf(err))
	// Output:
	// true
	// limit resource-exhausted
}
