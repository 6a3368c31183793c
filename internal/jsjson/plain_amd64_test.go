//go:build !purego

package jsjson

import (
	"testing"

	"pgregory.net/rapid"
)

// plainBlocksRef is plainBlocksAVX2 one byte at a time.
func plainBlocksRef(b []byte, high uint64) int {
	n := len(b) &^ 63
	for i := range n {
		if !plain[b[i]] || high != 0 && b[i] >= 0x80 {
			return i
		}
	}
	return n
}

// TestPlainBlocksMatchesBytewise: the vector scan stops where the
// byte-by-byte one does, with or without stopping at high bytes, for
// specials in any lane of any block and slices that start anywhere (the
// loads are unaligned).
func TestPlainBlocksMatchesBytewise(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 400).Draw(t, "n")
		off := rapid.IntRange(0, 15).Draw(t, "offset")
		buf := make([]byte, off+n)
		for k := range buf {
			buf[k] = 'a' + byte(k%26)
		}
		b := buf[off:]
		for range rapid.IntRange(0, 3).Draw(t, "specials") {
			if n == 0 {
				break
			}
			at := rapid.IntRange(0, n-1).Draw(t, "at")
			b[at] = rapid.SampledFrom([]byte{0, 0x1f, 0x20, '!', '"', '#', '[', '\\', ']', 0x7e, 0x7f, 0x80, 0xc3, 0xff}).Draw(t, "byte")
		}
		for _, high := range []uint64{0, hi8} {
			if !vector {
				break // a CPU without AVX2 runs plain_other.go's scans (tested in skip_test.go)
			}
			if got, want := plainBlocksAVX2(b, high), plainBlocksRef(b, high); got != want {
				t.Fatalf("plainBlocksAVX2(%q, %#x) = %d, want %d", b, high, got, want)
			}
		}
		i := rapid.IntRange(0, n).Draw(t, "i")
		want := i
		for want < n && plain[b[want]] {
			want++
		}
		if got := skipRun(b, i); got != want {
			t.Fatalf("skipRun(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}

// TestASCIIPlainPrefix: the prefix ends at the first byte that is
// special or not ASCII, whatever the length's remainder mod 64.
func TestASCIIPlainPrefix(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.OneOf(rapid.Just(byte('a')), rapid.Just(byte(0x7f)), rapid.SampledFrom([]byte{0, '"', '\\', 0x80, 0xe2})), 0, 300).Draw(t, "b")
		want := 0
		for want < len(b) && plain[b[want]] && b[want] < 0x80 {
			want++
		}
		// Without AVX2 it may stop early (at zero); with it, exactly.
		if got := asciiPlainPrefix(b); got > want || vector && got != want {
			t.Fatalf("asciiPlainPrefix(%q) = %d, want %d", b, got, want)
		}
	})
}

// FuzzPlainBlocks compares the vector scan with its byte-by-byte
// definition on arbitrary input.
func FuzzPlainBlocks(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\x01"), true)
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef012345678\"abcdef"), false)
	f.Fuzz(func(t *testing.T, b []byte, stopHigh bool) {
		if !vector {
			return
		}
		high := uint64(0)
		if stopHigh {
			high = hi8
		}
		if got, want := plainBlocksAVX2(b, high), plainBlocksRef(b, high); got != want {
			t.Fatalf("plainBlocksAVX2(%q, %#x) = %d, want %d", b, high, got, want)
		}
	})
}

// TestASCIIBlocksMatchesBytewise: the vector scan for a byte from 0x80 up
// stops where a byte-by-byte one does, in either 32-byte half of a block.
func TestASCIIBlocksMatchesBytewise(t *testing.T) {
	if !vector {
		return // a CPU without AVX2 never calls it (asciiPrefix is zero there)
	}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 400).Draw(t, "n")
		b := make([]byte, n)
		for k := range b {
			b[k] = rapid.SampledFrom([]byte{'a', 0, '"', 0x7f}).Draw(t, "ascii")
		}
		for range rapid.IntRange(0, 2).Draw(t, "high") {
			if n > 0 {
				b[rapid.IntRange(0, n-1).Draw(t, "at")] = rapid.SampledFrom([]byte{0x80, 0xc3, 0xff}).Draw(t, "byte")
			}
		}
		want := n &^ 63
		for k := range n &^ 63 {
			if b[k] >= 0x80 {
				want = k
				break
			}
		}
		if got := asciiBlocksAVX2(b); got != want {
			t.Fatalf("asciiBlocksAVX2(%q) = %d, want %d", b, got, want)
		}
	})
}
