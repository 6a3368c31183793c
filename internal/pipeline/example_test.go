package pipeline_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/wire"
)

// A Pipeline turns messages into frames and back; large messages are
// fragmented and reassembled.
func Example() {
	tx := pipeline.New(pipeline.Options{Threshold: 64})
	rx := pipeline.New(pipeline.Options{})
	defer rx.Close()

	frames, _ := tx.Send(&wire.Vacant{DocID: "a-document-with-a-rather-long-identifier-to-force-fragments"})
	fmt.Println("frames:", len(frames))
	for _, f := range frames {
		m, _ := rx.Receive(f)
		if m != nil {
			fmt.Println("decoded:", m.MsgType(), m.(*wire.Vacant).DocID)
		}
	}
	// Output:
	// frames: 2
	// decoded: vacant a-document-with-a-rather-long-identifier-to-force-fragments
}
