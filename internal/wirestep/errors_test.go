package wirestep

import (
	"errors"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/wire"
)

func TestErrorStringsAndMatching(t *testing.T) {
	frameErr := &wire.Error{Code: wire.CodeTruncatedFrame, Msg: "need 10"}
	cases := []struct {
		err    error
		want   string // substring of Error()
		target error  // errors.Is target
	}{
		{&WireError{Code: CodeReassemblyFailed, Detail: &wire.ReassemblyError{Code: wire.CodeParseError, Msg: "bad", Err: frameErr}}, "reassembly-failed", &wire.Error{Code: wire.CodeTruncatedFrame}},
		{&WireError{Code: CodeFrameTooLarge, Detail: SizeLimit{Size: 9, Limit: 8}}, "9 exceeds the limit of 8", &WireError{Code: CodeFrameTooLarge}},
		{EventError(wire.ReassemblyEvent{Type: wire.CodeTimeout, Seq: 7, PartialCount: 2}), "seq 7 (2 fragments", &WireError{Code: CodeReassemblyTimeout}},
		{&WireError{Code: CodeEncodeFailed}, "encode-failed", &WireError{Code: CodeEncodeFailed}},
		{&WireError{Code: CodeDecodeFailed, Detail: "odd"}, "decode-failed: odd", &WireError{Code: CodeDecodeFailed}},
	}
	for _, c := range cases {
		if got := c.err.Error(); !strings.HasPrefix(got, "wire: ") || !strings.Contains(got, c.want) {
			t.Errorf("%#v: Error() = %q, want it to contain %q", c.err, got, c.want)
		}
		if !errors.Is(c.err, c.target) {
			t.Errorf("%v: errors.Is(%v) is false", c.err, c.target)
		}
	}
	if errors.Is(&WireError{Code: CodeDecodeFailed}, &WireError{Code: CodeEncodeFailed}) {
		t.Error("errors.Is matched a different code")
	}
	if (&WireError{Code: CodeFrameTooLarge, Detail: SizeLimit{}}).Unwrap() != nil {
		t.Error("non-error detail unwraps")
	}
}

func TestCodecNameSize(t *testing.T) {
	if BinaryCodec.Name() != "binary" || TextCodec.Name() != "text" || BinaryCodec.Size([]byte("é")) != 2 || TextCodec.Size("é😀") != 2 {
		t.Error("Codec Name/Size")
	}
}
