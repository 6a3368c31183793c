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

// stringEndRef is the byte-by-byte StringEnd that the IndexByte version
// replaced.
func stringEndRef(s []byte, i int) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return -1
}

// TestStringEndMatchesBytewise: the IndexByte scan ends where the
// byte-by-byte one does, for strings and byte slices, with quotes and
// backslashes dense (escaped quotes, runs of backslashes, a backslash as
// the last byte).
func TestStringEndMatchesBytewise(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.SampledFrom([]byte{'"', '\\', '\\', 'a', 0, 0x80}), 0, 80).Draw(t, "b")
		i := rapid.IntRange(0, max(len(b)-1, 0)).Draw(t, "i")
		if len(b) == 0 {
			return
		}
		want := stringEndRef(b, i)
		if got := StringEnd(b, i); got != want {
			t.Fatalf("StringEnd(%q, %d) = %d, want %d", b, i, got, want)
		}
		if got := StringEnd(string(b), i); got != want {
			t.Fatalf("StringEnd(string %q, %d) = %d, want %d", b, i, got, want)
		}
	})
}

// FuzzScan compares the word-at-a-time scanners with their byte-by-byte
// definitions on arbitrary input.
func FuzzScan(f *testing.F) {
	f.Add([]byte(`"abc\"def\\"`), 0)
	f.Add([]byte("\"0123456789abcdef0123456789abcdef0123456789\x01\""), 3)
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i >= len(b) {
			return
		}
		if got, want := StringEnd(b, i), stringEndRef(b, i); got != want {
			t.Fatalf("StringEnd(%q, %d) = %d, want %d", b, i, got, want)
		}
		want := i
		for want < len(b) && plain[b[want]] {
			want++
		}
		if got := skipPlain(b, i); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}

// TestSkipPlainLongRuns: as TestSkipPlainMatchesTable, on runs long
// enough for the doubling windows (up to 64 KiB), with a few special or
// high bytes placed anywhere, and every start offset class.
func TestSkipPlainLongRuns(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 70000).Draw(t, "n")
		b := make([]byte, n)
		for k := range b {
			b[k] = 'a' + byte(k%26)
		}
		for range rapid.IntRange(0, 4).Draw(t, "specials") {
			if n == 0 {
				break
			}
			at := rapid.IntRange(0, n-1).Draw(t, "at")
			b[at] = rapid.SampledFrom([]byte{0, 0x1f, '"', '\\', 0x80, 0xff, 0x7f, 0x20}).Draw(t, "byte")
		}
		i := rapid.IntRange(0, n).Draw(t, "i")
		want := i
		for want < len(b) && plain[b[want]] {
			want++
		}
		if got := skipPlain(b, i); got != want {
			t.Fatalf("skipPlain(len %d, %d) = %d, want %d", n, i, got, want)
		}
		if got := skipPlain(string(b), i); got != want {
			t.Fatalf("skipPlain(string len %d, %d) = %d, want %d", n, i, got, want)
		}
		// The scan without vector instructions (other platforms) too.
		if got := skipPlainWindows(b, i); got != want {
			t.Fatalf("skipPlainWindows(len %d, %d) = %d, want %d", n, i, got, want)
		}
	})
}
