package wirestep_test

import (
	"fmt"

	wire "github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/internal/wirestep"
)

// One message through the send step of one connection and the receive step
// of another.
func Example() {
	a := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
	b := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{})
	a, outs := wirestep.SendStep(a, wirestep.BinaryCodec, 0, &wire.Dismiss{DocID: "doc-1"})
	for _, o := range outs {
		var out wirestep.ReceiveOutput
		var ok bool
		b, out, ok = wirestep.ReceiveStep(b, wirestep.BinaryCodec, o.Piece)
		fmt.Println(ok, out.Err, out.Msg.(*wire.Dismiss).DocID, out.Trace.Seq)
	}
	fmt.Println(a.NextSeq)
	// Output:
	// true <nil> doc-1 1
	// 2
}
