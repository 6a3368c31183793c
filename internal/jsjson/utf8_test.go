package jsjson

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// Expected values were produced by Node 20's TextDecoder.
func TestAppendWellFormedMatchesTextDecoder(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"61", "a"},
		{"e28241", "\uFFFDA"},                    // truncated 3-byte sequence: one U+FFFD
		{"f09f98c3", "\uFFFD\uFFFD"},             // truncated 4-byte, then truncated 2-byte
		{"eda08041", "\uFFFD\uFFFD\uFFFDA"},      // surrogate code point: every byte replaced
		{"c0af", "\uFFFD\uFFFD"},                 // overlong
		{"e080af", "\uFFFD\uFFFD\uFFFD"},         // overlong 3-byte
		{"ff", "\uFFFD"},                         //
		{"80", "\uFFFD"},                         // lone continuation byte
		{"f4908080", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // above U+10FFFF
		{"f48fbfbf", "\U0010FFFF"},               // the largest scalar value
		{"e0a080", "\u0800"},                     // smallest 3-byte scalar
		{"f09f9880", "😀"},                        //
		{"efbbbf61", "\uFEFFa"},                  // a BOM is kept (only TextDecoder's caller drops it)
	} {
		b, err := hex.DecodeString(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(AppendWellFormed(nil, b)); got != c.want {
			t.Errorf("AppendWellFormed(%s) = %+q, want %+q", c.in, got, c.want)
		}
		if got := WellFormed(string(b)); got != c.want {
			t.Errorf("WellFormed(%s) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

// TestAppendWellFormedKeepsASCII checks what Parse relies on: repair
// yields valid UTF-8, leaves valid text alone, and never adds, drops or
// moves an ASCII byte, so a JSON text keeps its structure.
func TestAppendWellFormedKeepsASCII(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOf(rapid.OneOf(
			rapid.SampledFrom([]string{"\x80", "\xbf", "\xc2", "\xe0\xa0", "\xed\xa0", "\xf0\x9f\x98", "\xf4\x90", "\xff", "\xc0"}),
			rapid.StringN(0, 3, -1),
		)).Draw(t, "parts")
		s := strings.Join(parts, "")
		got := string(AppendWellFormed(nil, s))
		if !utf8.ValidString(got) {
			t.Fatalf("%+q repaired to invalid %+q", s, got)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("valid %+q changed to %+q", s, got)
		}
		if ascii(got) != ascii(s) {
			t.Fatalf("ASCII bytes of %+q changed: %+q", s, got)
		}
		if again := WellFormed(got); again != got {
			t.Fatalf("repair not idempotent: %+q -> %+q", got, again)
		}
	})
}

func ascii(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] < utf8.RuneSelf {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// TestValidUTF8MatchesUTF8Valid: the ASCII fast path changes no answer,
// with multi-byte characters (whole, cut short or overlong) anywhere in a
// long ASCII run, including across the 64-byte blocks.
func TestValidUTF8MatchesUTF8Valid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 600).Draw(t, "n")
		b := bytes.Repeat([]byte{'x'}, n)
		for range rapid.IntRange(0, 3).Draw(t, "inserts") {
			seq := rapid.SampledFrom([]string{"é", "€", "😀", "\xe2\x82", "\xc0\xaf", "\xff", "\xed\xa0\x80"}).Draw(t, "seq")
			at := rapid.IntRange(0, len(b)).Draw(t, "at")
			b = append(b[:at:at], append([]byte(seq), b[at:]...)...)
		}
		if got, want := ValidUTF8(b), utf8.Valid(b); got != want {
			t.Fatalf("ValidUTF8(%q) = %v, want %v", b, got, want)
		}
	})
}
