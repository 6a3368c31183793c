package wirecore

import (
	"bytes"
	"errors"
	"runtime/metrics"
	"testing"
	"unsafe"

	"github.com/kyneta-go/kyneta"
)

// allocSlack absorbs allocations by other goroutines of the test process
// (runtime.MemStats is process-wide); the bounds below are about growth
// with the input, not exact counts, which the benchmarks and
// TestFrameHeaderZeroAlloc pin down.
const allocSlack = 64 << 10

// allocated returns the bytes allocated while f runs, as the minimum over
// three runs: the counter is process-wide, and while fuzzing the engine's
// own goroutines allocate concurrently, so a single reading can be
// inflated. f must start from fresh state each time. runtime/metrics is read
// without stopping the world, so fuzzing stays fast.
func allocated(f func()) uint64 {
	least := allocatedOnce(f)
	for range 2 {
		least = min(least, allocatedOnce(f))
	}
	return least
}

func allocatedOnce(f func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// within reports whether p points into b.
func within(p, b []byte) bool {
	if len(p) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	q := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return q >= start && q+uintptr(len(p)) <= start+uintptr(len(b))
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range [][]byte{
		nil,
		{3},
		{3, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{3, 0, 0, 0, 0, 4, 0, 0, 0, 9, 0xa1, 0x61, 0x74, 0x02, 0xde, 0xad},
		{3, 1, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 6, 1, 2, 3},
		{3, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 1},
		{2, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{3, 7, 0, 0, 0, 0, 0, 0, 0, 0},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frame
		var err error
		if n := allocated(func() { fr, err = DecodeFrame(b) }); n > allocSlack {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(b), n)
		}
		if err != nil {
			var fe *kyneta.Error
			if !errors.As(err, &fe) || (fe.Reason != reasonTruncatedFrame && fe.Reason != reasonUnsupportedVersion && fe.Reason != reasonInvalidFrameType) {
				t.Fatalf("untyped or unexpected error %v", err)
			}
			return
		}
		if !within(fr.Payload, b) {
			t.Fatal("payload was copied instead of aliasing the input")
		}
		enc, err := AppendFrame(nil, fr)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(enc, b[:len(enc)]) {
			t.Fatalf("re-encoded %x, input %x", enc, b)
		}
	})
}

func TestFrameHeaderZeroAlloc(t *testing.T) {
	payload := make([]byte, 64)
	buf := make([]byte, 0, 128)
	frag := Frame{Kind: KindFragment, Seq: 7, Index: 1, Total: 3, TotalSize: 192, Payload: payload}
	enc, _ := AppendFrame(nil, frag)
	var hdr [FragmentHeaderSize]byte
	if n := testing.AllocsPerRun(100, func() {
		if _, err := PutHeader(hdr[:], frag); err != nil {
			t.Fatal(err)
		}
		if _, err := AppendFrame(buf[:0], frag); err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeFrame(enc); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per encode/decode", n)
	}
}
