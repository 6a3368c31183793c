package wirecore

import "testing"

func BenchmarkFrameHeaderEncode(b *testing.B) {
	f := Frame{Kind: KindFragment, Seq: 42, Index: 3, Total: 11, TotalSize: 1 << 20, Payload: make([]byte, 100<<10)}
	var hdr [FragmentHeaderSize]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PutHeader(hdr[:], f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrameHeaderDecode(b *testing.B) {
	enc, _ := AppendFrame(nil, Frame{Kind: KindFragment, Seq: 42, Index: 3, Total: 11, TotalSize: 1 << 20, Payload: make([]byte, 100<<10)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendFrame64B encodes a small complete frame into a reused
// buffer: header plus a 64-byte payload copy.
func BenchmarkAppendFrame64B(b *testing.B) {
	f := Frame{Kind: KindComplete, Seq: 42, Payload: make([]byte, 64)}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(int64(f.EncodedLen()))
	for b.Loop() {
		var err error
		if buf, err = AppendFrame(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}
