package pipeline

import (
	"bytes"
	"testing"
)

// FuzzPipelineReceive feeds arbitrary pieces (split from one input) to a
// pipeline: it must never panic, never hold more than its limits, and
// always return either a message, nothing (pending) or a *Error.
func FuzzPipelineReceive(f *testing.F) {
	tx := New(Options{Threshold: 8})
	for _, m := range sampleMessages() {
		pieces, _ := tx.Send(m)
		var joined []byte
		for _, pc := range pieces {
			joined = append(joined, pc...)
			joined = append(joined, 0xFF, 0xFE) // piece separator (bytes.Split)
		}
		f.Add(joined)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rx := New(Options{MaxConcurrentFrames: 4, MaxReassemblySize: 1 << 16, ReassemblyTimeout: -1})
		defer rx.Close()
		for _, piece := range bytes.Split(in, []byte{0xFF, 0xFE}) {
			m, err := rx.Receive(piece)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("untyped error %T %v", err, err)
				}
			} else if m != nil {
				if _, err := tx.Send(m); err != nil {
					t.Fatalf("decoded message does not re-encode: %v", err)
				}
			}
			if rx.PendingFragments() > 4 {
				t.Fatal("group limit exceeded")
			}
			if pending := rx.PendingBytes(); pending > 1<<16 || pending < 0 {
				t.Fatalf("pending bytes %d", pending)
			}
		}
	})
}
