package wirecore

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
)

const (
	benchPayloadSize = 1 << 20   // 1 MiB
	benchThreshold   = 100 << 10 // 100 KiB, the transports' default
)

func benchPayload() []byte {
	p := make([]byte, benchPayloadSize)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}

var benchSink []byte

// reportFaults reports the page faults per operation from its call to the
// call of the function it returns. A fresh 1 MiB buffer costs 256 first
// touches when its pages come from the system, and none when the runtime
// reuses pages it kept, which is most of the spread between runs of these
// benchmarks, so it is reported next to the time.
func reportFaults(b *testing.B) func() {
	start := minorFaults()
	return func() { b.ReportMetric(float64(minorFaults()-start)/float64(b.N), "faults/op") }
}

func minorFaults() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Minflt
}

// BenchmarkFragmentReassemble1MiB splits a 1 MiB payload at 100 KiB into
// 11 fragment frames and reassembles them, next to plain copies of 1 MiB
// (into a reused buffer, and into a fresh one) as memory-speed baselines in
// the same run.
func BenchmarkFragmentReassemble1MiB(b *testing.B) {
	payload := benchPayload()
	b.Run("copy-baseline", func(b *testing.B) {
		dst := make([]byte, len(payload))
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		defer reportFaults(b)()
		for b.Loop() {
			copy(dst, payload)
		}
	})
	// A fresh 1 MiB buffer per message is what every other case pays for
	// its output too, so this is the fairer baseline.
	b.Run("alloc+copy-baseline", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		defer reportFaults(b)()
		for b.Loop() {
			benchSink = bytes.Clone(payload)
		}
	})
	b.Run("fragment", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		defer reportFaults(b)()
		for b.Loop() {
			if _, err := FragmentBinary(payload, benchThreshold, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	frames, err := FragmentBinary(payload, benchThreshold, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("reassemble", func(b *testing.B) {
		r := NewReassembler[[]byte](ReassemblyConfig{})
		defer r.Dispose()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		defer reportFaults(b)()
		for b.Loop() {
			for i, f := range frames {
				_, done, err := r.Receive(f)
				if err != nil || done != (i == len(frames)-1) {
					b.Fatalf("frame %d: done %v err %v", i, done, err)
				}
			}
		}
	})
	// The same with a server-wide budget (and its buffer pool), as a
	// server reassembles.
	b.Run("reassemble-budget", func(b *testing.B) {
		r := NewReassembler[[]byte](ReassemblyConfig{Budget: NewReassemblyBudget(256 << 20)})
		defer r.Dispose()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		defer reportFaults(b)()
		for b.Loop() {
			for i, f := range frames {
				_, done, err := r.Receive(f)
				if err != nil || done != (i == len(frames)-1) {
					b.Fatalf("frame %d: done %v err %v", i, done, err)
				}
			}
		}
	})
	b.Run("fragment+reassemble", func(b *testing.B) {
		r := NewReassembler[[]byte](ReassemblyConfig{})
		defer r.Dispose()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		seq := uint32(0)
		defer reportFaults(b)()
		for b.Loop() {
			seq++
			frames, err := FragmentBinary(payload, benchThreshold, seq)
			if err != nil {
				b.Fatal(err)
			}
			for i, f := range frames {
				if _, done, err := r.Receive(f); err != nil || done != (i == len(frames)-1) {
					b.Fatalf("frame %d: done %v err %v", i, done, err)
				}
			}
		}
	})
	// What a sender using FragmentBinaryParts and a receiver pay: parts
	// are header + slice (no copy; the socket write gathers them), and
	// the receiver reassembles the frames as it reads them.
	b.Run("parts+reassemble", func(b *testing.B) {
		r := NewReassembler[[]byte](ReassemblyConfig{})
		defer r.Dispose()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		seq := uint32(0)
		defer reportFaults(b)()
		for b.Loop() {
			seq++
			parts, err := FragmentBinaryParts(payload, benchThreshold, seq)
			if err != nil {
				b.Fatal(err)
			}
			for i := range parts {
				// The frame as the receiver reads it; the bytes are the
				// part's, framed with this iteration's sequence number.
				f := frames[i]
				putSeq(f, seq)
				if _, done, err := r.Receive(f); err != nil || done != (i == len(parts)-1) {
					b.Fatalf("frame %d: done %v err %v", i, done, err)
				}
			}
		}
	})
}

// putSeq overwrites the sequence number of an encoded frame.
func putSeq(f []byte, seq uint32) {
	f[6], f[7], f[8], f[9] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
}

// BenchmarkTextFragmentReassemble1MiB is the text counterpart: 1 MiB of
// JSON-ish ASCII text at a 100 Ki code point threshold.
func BenchmarkTextFragmentReassemble1MiB(b *testing.B) {
	payload := strings.Repeat(`{"k":"v\u00e9"},`, benchPayloadSize/16)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	r := NewReassembler[string](ReassemblyConfig{})
	defer r.Dispose()
	seq := uint32(0)
	for b.Loop() {
		seq++
		frames, err := FragmentText(payload, benchThreshold, seq)
		if err != nil {
			b.Fatal(err)
		}
		for i, f := range frames {
			if _, done, err := r.Receive(f); err != nil || done != (i == len(frames)-1) {
				b.Fatalf("frame %d: done %v err %v", i, done, err)
			}
		}
	}
}
