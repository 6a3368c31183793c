package jsjson

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// BenchmarkSkipPlain1MiB scans 1 MiB of plain text, as a large string
// value costs each scan over it. Baseline in the same run: a byte-by-byte
// table lookup (what skipPlain replaced) and strings.IndexByte for '"'
// (a vectorized scan for one byte, a lower bound).
func BenchmarkSkipPlain1MiB(b *testing.B) {
	s := strings.Repeat("abcdefghijklmnopqrstuvwxyz012345", 1<<15)
	bs := []byte(s)
	b.Run("bytes", func(b *testing.B) {
		b.SetBytes(int64(len(bs)))
		for b.Loop() {
			if skipPlain(bs, 0) != len(bs) {
				b.Fatal("stopped early")
			}
		}
	})
	b.Run("string", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if skipPlain(s, 0) != len(s) {
				b.Fatal("stopped early")
			}
		}
	})
	// Every other byte special: skipPlain called once per byte, as
	// ReadString and AppendString call it between escapes. Its windows
	// must not make this quadratic.
	dense := []byte(strings.Repeat("a\"", 1<<19))
	b.Run("dense-specials", func(b *testing.B) {
		b.SetBytes(int64(len(dense)))
		for b.Loop() {
			for i := skipPlain(dense, 0); i < len(dense); i = skipPlain(dense, i+1) {
			}
		}
	})
	b.Run("verbatim", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if !Verbatim(s) {
				b.Fatal("not verbatim")
			}
		}
	})
	b.Run("windows", func(b *testing.B) { // skipRun without vector instructions
		b.SetBytes(int64(len(bs)))
		for b.Loop() {
			if skipPlainWindows(bs, 0) != len(bs) {
				b.Fatal("stopped early")
			}
		}
	})
	b.Run("valid-utf8", func(b *testing.B) {
		b.SetBytes(int64(len(bs)))
		for b.Loop() {
			if !ValidUTF8(bs) {
				b.Fatal("not valid")
			}
		}
	})
	b.Run("baseline-utf8.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(bs)))
		for b.Loop() {
			if !utf8.Valid(bs) {
				b.Fatal("not valid")
			}
		}
	})
	b.Run("baseline-table", func(b *testing.B) {
		b.SetBytes(int64(len(bs)))
		for b.Loop() {
			i := 0
			for i < len(bs) && plain[bs[i]] {
				i++
			}
			if i != len(bs) {
				b.Fatal("stopped early")
			}
		}
	})
	b.Run("baseline-indexbyte", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if strings.IndexByte(s, '"') >= 0 {
				b.Fatal("found")
			}
		}
	})
}
