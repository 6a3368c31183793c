package wirecore

import (
	"encoding/hex"
	"math"
	"testing"
)

// Expected values below were produced by Node 20 (TextDecoder, atob); the
// Go helpers were also compared against Node on a few hundred thousand
// random inputs while they were written. The JSON string and number writers
// are tested in internal/jsjson.

func TestDecodeTextBytesMatchesTextDecoder(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"efbbbf61", "a"},                        // leading BOM dropped
		{"61efbbbf62", "a\uFEFFb"},               // BOM elsewhere kept
		{"efbbbfefbbbf", "\uFEFF"},               // only one BOM dropped
		{"e28241", "\uFFFDA"},                    // truncated 3-byte sequence: one U+FFFD
		{"f09f98c3", "\uFFFD\uFFFD"},             // truncated 4-byte, then truncated 2-byte
		{"eda08041", "\uFFFD\uFFFD\uFFFDA"},      // surrogate code point: every byte replaced
		{"c0af", "\uFFFD\uFFFD"},                 // overlong
		{"ff", "\uFFFD"},                         //
		{"f4908080", "\uFFFD\uFFFD\uFFFD\uFFFD"}, // above U+10FFFF
		{"e0a080", "\u0800"},                     // smallest 3-byte scalar
		{"f09f9880", "😀"},                        //
	} {
		b, _ := hex.DecodeString(c.in)
		if got := decodeTextBytes(b); got != c.want {
			t.Errorf("decodeTextBytes(%s) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

func TestDecodeForgivingBase64MatchesAtob(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // hex, or "ERR"
	}{
		{"", ""}, {"QQ==", "41"}, {"QQ", "41"}, {"QR==", "41"}, {"QQ\f==", "41"},
		{"  QUJD  ", "414243"}, {"QU JD", "414243"}, {"AQID/w==", "010203ff"},
		{"Q", "ERR"}, {"QQ=", "ERR"}, {"QUJD=", "ERR"}, {"QQ===", "ERR"},
		{"!!!", "ERR"}, {"QQ-_", "ERR"},
	} {
		b, err := decodeForgivingBase64(c.in)
		got := hex.EncodeToString(b)
		if err != nil {
			got = "ERR"
		}
		if got != c.want {
			t.Errorf("decodeForgivingBase64(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestIsSafeInteger(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want bool
	}{
		{0, true}, {math.Copysign(0, -1), true}, {maxSafeInteger, true}, {-maxSafeInteger, true},
		{maxSafeInteger + 1, false}, {1.5, false}, {math.NaN(), false}, {math.Inf(1), false},
	} {
		if got := isSafeInteger(c.in); got != c.want {
			t.Errorf("isSafeInteger(%v) = %v", c.in, got)
		}
	}
}
