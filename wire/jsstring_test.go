package wire

import (
	"encoding/hex"
	"math"
	"testing"
)

// Expected values below were produced by Node 20 (TextDecoder, atob,
// String(x), JSON.stringify); the Go helpers were also compared against Node
// on a few hundred thousand random inputs while they were written.

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

func TestAppendJSNumberMatchesJavaScript(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {100, "100"}, {0.1, "0.1"},
		{1e21, "1e+21"}, {1e20, "100000000000000000000"}, {1e-7, "1e-7"},
		{0.000001, "0.000001"}, {-0.0000015, "-0.0000015"}, {-1.5e-7, "-1.5e-7"},
		{123456789012345680000, "123456789012345680000"}, {5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {1 << 53, "9007199254740992"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	} {
		if got := string(appendJSNumber(nil, c.in)); got != c.want {
			t.Errorf("appendJSNumber(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(appendJSONNumber(nil, f)); got != "null" {
			t.Errorf("appendJSONNumber(%v) = %s, want null", f, got)
		}
	}
}

func TestAppendJSONStringMatchesJSONStringify(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{"\"\\/", `"\"\\/"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
		{"<>&\u2028\u2029", "\"<>&\u2028\u2029\""},
		{"😀é", `"😀é"`},
		{"a\xffb", "\"a\uFFFDb\""}, // invalid UTF-8 is repaired first
	} {
		if got := string(appendJSONString(nil, c.in)); got != c.want {
			t.Errorf("appendJSONString(%+q) = %s, want %s", c.in, got, c.want)
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
