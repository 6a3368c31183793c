package wire_test

import (
	"bytes"
	"fmt"

	"github.com/kyneta-go/kyneta/wire"
)

// Fragment a 250-byte payload into 100-byte chunks and reassemble it from
// the frames, delivered out of order.
func Example_fragmentAndReassemble() {
	payload := bytes.Repeat([]byte("kyneta "), 36)[:250]

	frames, err := wire.FragmentBinary(payload, 100, 7)
	if err != nil {
		panic(err)
	}
	for _, f := range frames {
		fr, _ := wire.DecodeFrame(f)
		fmt.Printf("frame %d/%d: %d bytes on the wire, chunk %d\n", fr.Index+1, fr.Total, len(f), len(fr.Payload))
	}

	// The zero config is safe: 10 s timeout, 32 messages, 50 MiB.
	r := wire.NewReassembler(wire.ReassemblyConfig{})
	defer r.Dispose()
	for _, i := range []int{2, 0, 1} {
		msg, done, err := r.Receive(frames[i])
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case !done:
			fmt.Println("pending, partial messages:", r.Len())
		default:
			fmt.Printf("seq %v: %d bytes, intact: %v\n", msg.Seq, len(msg.Payload), bytes.Equal(msg.Payload, payload))
		}
	}

	// A damaged piece is a typed error, not a panic.
	_, _, err = r.Receive(frames[0][:5])
	fmt.Println(err)
	// Output:
	// frame 1/3: 118 bytes on the wire, chunk 100
	// frame 2/3: 118 bytes on the wire, chunk 100
	// frame 3/3: 68 bytes on the wire, chunk 50
	// pending, partial messages: 1
	// pending, partial messages: 1
	// seq 7: 250 bytes, intact: true
	// wire: reassembly: parse_error: wire: truncated_frame: need at least 10 header bytes, have 5
}
