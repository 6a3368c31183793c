package jsjson

import (
	"testing"

	"pgregory.net/rapid"
)

// TestSkipPlainMatchesTable: the eight-bytes-at-a-time scan stops where
// the byte-by-byte table lookup stops, for strings and byte slices.
func TestSkipPlainMatchesTable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Bytes drawn mostly plain, with the special ones and their
		// neighbours (0x1f, 0x20, '"'±1, '\\'±1, 0x7f, 0x80, 0xff).
		special := []byte{0, 0x1f, 0x20, '!', '"', '#', '[', '\\', ']', 0x7f, 0x80, 0xff}
		b := rapid.SliceOfN(rapid.OneOf(rapid.Byte(), rapid.SampledFrom(special), rapid.Just(byte('a'))), 0, 80).Draw(t, "b")
		i := rapid.IntRange(0, len(b)).Draw(t, "i")
		want := i
		for want < len(b) && plain[b[want]] {
			want++
		}
		if got := skipPlain(b, i); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d, want %d", b, i, got, want)
		}
		if got := skipPlain(string(b), i); got != want {
			t.Fatalf("skipPlain(string %q, %d) = %d, want %d", b, i, got, want)
		}
	})
}
