package framestream_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/framestream"
	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

func ExampleParser() {
	a, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindComplete, Seq: 1, Payload: []byte("hi")})
	b, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindComplete, Seq: 2, Payload: []byte("there")})
	stream := append(a, b...)

	// The stream arrives in pieces that ignore frame boundaries.
	p := framestream.NewParser(0)
	for _, chunk := range [][]byte{stream[:7], stream[7:15], stream[15:]} {
		frames, err := p.Feed(chunk)
		if err != nil {
			panic(err)
		}
		for _, f := range frames {
			fr, _ := wire.DecodeFrame(f)
			fmt.Printf("seq %d %q\n", fr.Seq, fr.Payload)
		}
	}
	fmt.Println(p.Phase(), p.Offset())
	// Output:
	// seq 1 "hi"
	// seq 2 "there"
	// header 0
}
