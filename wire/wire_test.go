package wire_test

import (
	"errors"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/wire"
)

// The public face returns the implementation's errors unchanged: Pkg
// "wire", the reference's reasons, the data-carrying types.
func TestErrorsThroughThePublicFace(t *testing.T) {
	if _, err := wire.DecodeFrame([]byte{3, 0}); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: "truncated_frame", Code: kyneta.CodeMalformed}) {
		t.Errorf("DecodeFrame: %v", err)
	}
	if _, err := wire.FragmentBinary([]byte{1}, 0, 1); kyneta.ReasonOf(err) != "invalid-threshold" || kyneta.CodeOf(err) != kyneta.CodeInvalidArgument {
		t.Errorf("FragmentBinary: %v", err)
	}
	if _, err := wire.Encode(nil); kyneta.ReasonOf(err) != "nil-message" {
		t.Errorf("Encode(nil): %v", err)
	}
	var verr *wire.ValidationError
	if _, err := wire.Decode([]byte{0xa1, 0x61, 't', 0x12}); !errors.As(err, &verr) || kyneta.ReasonOf(err) != "invalid-message" {
		t.Errorf("Decode: %v", err)
	}

	r := wire.NewReassembler(wire.ReassemblyConfig{Timeout: -1})
	defer r.Dispose()
	frames, err := wire.FragmentBinary([]byte("hello"), 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := r.Receive(frames[0]); done || err != nil {
		t.Fatalf("first fragment: %v %v", done, err)
	}
	var re *wire.ReassemblyError
	if _, _, err := r.Receive(frames[0]); !errors.As(err, &re) || re.Reason != "duplicate_fragment" || re.Seq != 9 || kyneta.CodeOf(err) != kyneta.CodeMalformed {
		t.Errorf("duplicate: %v", err)
	}
	var msg wire.Reassembled
	var done bool
	for _, f := range frames[1:] {
		if msg, done, err = r.Receive(f); err != nil {
			t.Fatal(err)
		}
	}
	if !done || string(msg.Payload) != "hello" || msg.Seq != 9 {
		t.Errorf("reassembled %+v %v", msg, done)
	}
}
