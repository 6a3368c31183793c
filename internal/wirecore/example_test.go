package wirecore_test

import (
	"fmt"

	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

// Encode a message with one connection's alias table, frame it, and
// decode it back on the other side, as a transport does per connection.
func Example_connection() {
	tx, rx := new(wire.AliasState), new(wire.AliasState)

	payload, _ := tx.Encode(&wire.Dismiss{DocID: "doc-1"})
	frame, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindComplete, Seq: 1, Payload: payload})
	fmt.Printf("send seq 1: % x\n", frame)

	f, _ := wire.DecodeFrame(frame)
	msg, err := rx.Decode(f.Payload)
	if err == nil {
		fmt.Printf("received %T %q\n", msg, msg.(*wire.Dismiss).DocID)
	}
	// Output:
	// send seq 1: 03 00 00 00 00 0e 00 00 00 01 a2 61 74 13 63 64 6f 63 65 64 6f 63 2d 31
	// received *wirecore.Dismiss "doc-1"
}

// The text form of a message, framed as a complete text frame.
func ExampleEncodeText() {
	text, _ := wire.EncodeText(&wire.Dismiss{DocID: "doc-1"})
	fmt.Println(text)
	fmt.Println(string(wire.AppendTextFrame(nil, wire.TextFrame{Kind: wire.KindComplete, Seq: 1, Payload: text})))
	// Output:
	// {"t":19,"doc":"doc-1"}
	// ["2c",1,{"t":19,"doc":"doc-1"}]
}
