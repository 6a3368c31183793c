package wirecore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"

	"github.com/kyneta-go/kyneta"
	"pgregory.net/rapid"
)

type binaryFramesFile struct {
	Constants map[string]int `json:"constants"`
	Cases     []struct {
		Name  string   `json:"name"`
		Frame vecFrame `json:"frame"`
		Hex   string   `json:"hex"`
	} `json:"cases"`
	DecodeCases []struct {
		Name  string   `json:"name"`
		Hex   string   `json:"hex"`
		Frame vecFrame `json:"frame"`
	} `json:"decodeCases"`
	SeqAdvance []struct {
		Prev uint32 `json:"prev"`
		Next uint32 `json:"next"`
	} `json:"seqAdvance"`
}

type invalidBinaryFrame struct {
	Name  string `json:"name"`
	Hex   string `json:"hex"`
	Error struct {
		Class string `json:"class"`
		Code  string `json:"code"`
	} `json:"error"`
}

func TestBinaryFrameVectors(t *testing.T) {
	var v binaryFramesFile
	loadVectors(t, "binary_frames.json", &v)

	t.Run("binary_frames/constants", func(t *testing.T) {
		want := map[string]int{
			"WIRE_VERSION": Version, "HEADER_SIZE": HeaderSize, "FRAGMENT_META_SIZE": fragmentMetaSize,
			"FRAGMENT_MIN_SIZE": fragmentMinSize, "COMPLETE": int(KindComplete), "FRAGMENT": int(KindFragment),
		}
		for k, w := range want {
			if got, ok := v.Constants[k]; !ok || got != w {
				t.Errorf("constant %s: vectors %d (present %v), Go %d", k, got, ok, w)
			}
		}
	})

	checkCount(t, "binary_frames.cases", len(v.Cases))
	for _, c := range v.Cases {
		t.Run("binary_frames/cases/"+c.Name, func(t *testing.T) {
			f := c.Frame.binaryFrame(t)
			got, err := AppendFrame(nil, f)
			if err != nil {
				t.Fatalf("AppendFrame: %v", err)
			}
			if hex.EncodeToString(got) != c.Hex {
				t.Fatalf("encode:\n got %x\nwant %s", got, c.Hex)
			}
			if f.EncodedLen() != len(got) {
				t.Errorf("EncodedLen %d, wrote %d", f.EncodedLen(), len(got))
			}
			dec, err := DecodeFrame(mustHex(t, c.Hex))
			if err != nil {
				t.Fatalf("DecodeFrame: %v", err)
			}
			if !framesEqual(dec, f) {
				t.Fatalf("decode: got %+v want %+v", dec, f)
			}
		})
	}

	checkCount(t, "binary_frames.decodeCases", len(v.DecodeCases))
	for _, c := range v.DecodeCases {
		t.Run("binary_frames/decodeCases/"+c.Name, func(t *testing.T) {
			dec, err := DecodeFrame(mustHex(t, c.Hex))
			if err != nil {
				t.Fatalf("DecodeFrame: %v", err)
			}
			if want := c.Frame.binaryFrame(t); !framesEqual(dec, want) {
				t.Fatalf("decode: got %+v want %+v", dec, want)
			}
		})
	}

	if len(v.SeqAdvance) == 0 {
		t.Fatal("binary_frames.seqAdvance is empty")
	}
	for _, c := range v.SeqAdvance {
		t.Run("binary_frames/seqAdvance/"+strconv.FormatUint(uint64(c.Prev), 10), func(t *testing.T) {
			// The pipelines advance the sequence number with uint32
			// arithmetic (seq + 1), which must wrap as the reference does.
			if got := c.Prev + 1; got != c.Next {
				t.Fatalf("%d + 1 = %d, want %d", c.Prev, got, c.Next)
			}
		})
	}
}

func TestInvalidBinaryFrameVectors(t *testing.T) {
	var v struct {
		BinaryFrame []invalidBinaryFrame `json:"binaryFrame"`
	}
	loadVectors(t, "invalid.json", &v)
	checkCount(t, "invalid.binaryFrame", len(v.BinaryFrame))
	for _, c := range v.BinaryFrame {
		t.Run("invalid/binaryFrame/"+c.Name, func(t *testing.T) {
			if c.Error.Class != "FrameDecodeError" {
				t.Fatalf("unexpected vector error class %q", c.Error.Class)
			}
			_, err := DecodeFrame(mustHex(t, c.Hex))
			var fe *kyneta.Error
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeFrame error %v, want *Error", err)
			}
			if fe.Reason != c.Error.Code {
				t.Fatalf("code %q, want %q (%v)", fe.Reason, c.Error.Code, err)
			}
			if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: c.Error.Code}) {
				t.Fatalf("errors.Is does not match the code")
			}
		})
	}
}

func TestDecodeFrameAliasesInput(t *testing.T) {
	b, err := AppendFrame(nil, Frame{Kind: KindComplete, Seq: 9, Payload: []byte("abc")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	b[HeaderSize] = 'X'
	if string(f.Payload) != "Xbc" {
		t.Fatalf("payload %q does not alias the input", f.Payload)
	}
	// The payload's capacity ends at the payload, so appending to it can
	// never overwrite trailing bytes of the input.
	if cap(f.Payload) != len(f.Payload) {
		t.Fatalf("payload capacity %d exceeds its length %d", cap(f.Payload), len(f.Payload))
	}
}

func TestAppendFrameErrors(t *testing.T) {
	dst := []byte("keep")
	out, err := AppendFrame(dst, Frame{Kind: 7})
	if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonInvalidFrameType}) {
		t.Fatalf("kind 7: err %v", err)
	}
	if string(out) != "keep" {
		t.Fatalf("failed append changed dst: %q", out)
	}
	if _, err := PutHeader(make([]byte, 9), Frame{}); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonTruncatedFrame}) {
		t.Fatalf("short buffer: err %v", err)
	}
	if _, err := PutHeader(make([]byte, 17), Frame{Kind: KindFragment}); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonTruncatedFrame}) {
		t.Fatalf("short fragment buffer: err %v", err)
	}
	if n, err := PutHeader(make([]byte, 18), Frame{Kind: KindFragment}); err != nil || n != FragmentHeaderSize {
		t.Fatalf("fragment header: n %d err %v", n, err)
	}
}

func TestFrameKindString(t *testing.T) {
	for k, want := range map[FrameKind]string{KindComplete: "complete", KindFragment: "fragment", 9: "FrameKind(0x09)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q want %q", k, got, want)
		}
	}
}

// TestFrameRoundTrip: every encodable frame decodes to itself, trailing
// bytes are ignored, and every strict prefix is rejected as truncated.
func TestFrameRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := Frame{
			Kind:    FrameKind(rapid.IntRange(0, 1).Draw(t, "kind")),
			Seq:     rapid.Uint32().Draw(t, "seq"),
			Payload: rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "payload"),
		}
		if f.Kind == KindFragment {
			f.Index = rapid.Uint16().Draw(t, "index")
			f.Total = rapid.Uint16().Draw(t, "total")
			f.TotalSize = rapid.Uint32().Draw(t, "totalSize")
		}
		b, err := AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		trailing := rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "trailing")
		got, err := DecodeFrame(append(bytes.Clone(b), trailing...))
		if err != nil || !framesEqual(got, f) {
			t.Fatalf("round trip: %+v, %v; want %+v", got, err, f)
		}
		cut := rapid.IntRange(0, len(b)-1).Draw(t, "cut")
		if _, err := DecodeFrame(b[:cut]); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonTruncatedFrame}) {
			t.Fatalf("prefix of %d/%d bytes: err %v", cut, len(b), err)
		}
	})
}
