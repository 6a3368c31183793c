package jsjson

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/internal/rawbuf"
	"pgregory.net/rapid"
)

// Expected strings in this file's tables were produced by Node 20
// (JSON.stringify, String(x)).

func TestAppendStringMatchesJSONStringify(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{"\"\\/", `"\"\\/"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f\""},
		{"<>&\u2028\u2029", "\"<>&\u2028\u2029\""},
		{"😀é", `"😀é"`},
		{"a\"b\\c/d\b\f\n\r\t\x01\x1f", `"a\"b\\c/d\b\f\n\r\t\u0001\u001f"`},
		{"a\xffb", "\"a\uFFFDb\""},                 // invalid UTF-8 is repaired first
		{"\xe2\x82A", "\"\uFFFDA\""},               // one U+FFFD per truncated sequence
		{"\xed\xa0\x80", "\"\uFFFD\uFFFD\uFFFD\""}, // an encoded surrogate is not UTF-8
	} {
		if got := string(AppendString(nil, c.in)); got != c.want {
			t.Errorf("AppendString(%+q) = %s, want %s", c.in, got, c.want)
		}
		if got := string(AppendString([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("AppendString does not append: %s", got)
		}
		// The same in a string large enough to take its buffer whole
		// (rawbuf.PrefaultSize): escapes do not depend on their
		// neighbours, so the expected text repeats too.
		n := rawbuf.PrefaultSize/(len(c.in)+3) + 1
		in := strings.Repeat(c.in+"pad", n)
		want := "x\"" + strings.Repeat(c.want[1:len(c.want)-1]+"pad", n) + "\""
		if got := string(AppendString([]byte("x"), in)); got != want {
			t.Errorf("AppendString of %d × %+q differs from %d × its escape", n, c.in+"pad", n)
		}
	}
}

// Verbatim must say exactly when AppendString copies the string as it is.
func TestVerbatimMatchesAppendString(t *testing.T) {
	verbatim := func(s string) bool { return string(AppendString(nil, s)) == `"`+s+`"` }
	for _, s := range []string{"", "plain", "<>&\u2028/", "😀é\x7f", "a\"b", "a\\b", "\x1f", "a\xffb", "\xed\xa0\x80",
		strings.Repeat("abc", 100) + "\n", strings.Repeat("é", 100) + "\xe2\x82"} {
		if got, want := Verbatim(s), verbatim(s); got != want {
			t.Errorf("Verbatim(%+q) = %v, want %v", s, got, want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "s")
		if rapid.Bool().Draw(t, "bytes") {
			s = string(rapid.SliceOf(rapid.Byte()).Draw(t, "raw"))
		}
		if got, want := Verbatim(s), verbatim(s); got != want {
			t.Fatalf("Verbatim(%+q) = %v, want %v", s, got, want)
		}
	})
}

func TestAppendNumberMatchesJavaScript(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {100, "100"}, {-7, "-7"}, {0.1, "0.1"}, {2.5, "2.5"},
		{1e21, "1e+21"}, {-1e21, "-1e+21"}, {1e20, "100000000000000000000"}, {1e-7, "1e-7"},
		{0.000001, "0.000001"}, {-0.0000015, "-0.0000015"}, {-1.5e-7, "-1.5e-7"}, {2.5e-7, "2.5e-7"},
		{123456789012345680000, "123456789012345680000"}, {1.2345678901234569e+23, "1.2345678901234569e+23"},
		{5e-324, "5e-324"}, {1e-10, "1e-10"}, {1.5e300, "1.5e+300"}, {1e100, "1e+100"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {1 << 53, "9007199254740992"},
		{1<<53 + 2, "9007199254740994"}, {4294967295, "4294967295"}, {0.30000000000000004, "0.30000000000000004"},
	} {
		if got := string(AppendNumber(nil, c.in)); got != c.want {
			t.Errorf("AppendNumber(%v) = %s, want %s", c.in, got, c.want)
		}
		if got := string(AppendJSNumber(nil, c.in)); got != c.want {
			t.Errorf("AppendJSNumber(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in   float64
		want string
	}{{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"}} {
		if got := string(AppendJSNumber(nil, c.in)); got != c.want {
			t.Errorf("AppendJSNumber(%v) = %s, want %s", c.in, got, c.want)
		}
		if got := string(AppendNumber(nil, c.in)); got != "null" {
			t.Errorf("AppendNumber(%v) = %s, want null", c.in, got)
		}
	}
}

// toStringSpec is ECMAScript's Number::toString(x) for finite x, written
// step by step from the specification over Go's shortest digits: an
// independent second implementation to compare AppendNumber with.
func toStringSpec(x float64) string {
	if x == 0 {
		return "0"
	}
	sign := ""
	if x < 0 {
		sign, x = "-", -x
	}
	e := strconv.FormatFloat(x, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	k := len(digits)
	n, _ := strconv.Atoi(exp)
	n++ // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	s := sign + digits[:1]
	if k > 1 {
		s += "." + digits[1:]
	}
	if n-1 >= 0 {
		return s + "e+" + strconv.Itoa(n-1)
	}
	return s + "e-" + strconv.Itoa(1-n)
}

func TestAppendNumberMatchesSpecAlgorithm(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var f float64
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0: // any bit pattern
			f = math.Float64frombits(rapid.Uint64().Draw(t, "bits"))
		case 1: // integers, mostly around the fast path's 2^53 edge
			f = float64(rapid.Int64Range(-1<<60, 1<<60).Draw(t, "int"))
		case 2: // near the plain/exponent boundaries
			f = rapid.SampledFrom([]float64{1e-6, 1e-7, 1e21, 1e20}).Draw(t, "edge") *
				(1 + float64(rapid.IntRange(-1000, 1000).Draw(t, "ulps"))*1e-16)
		default: // short decimals
			f = float64(rapid.Int64Range(-1e6, 1e6).Draw(t, "m")) * math.Pow(10, float64(rapid.IntRange(-30, 30).Draw(t, "e")))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return
		}
		got := string(AppendNumber(nil, f))
		if want := toStringSpec(f); got != want {
			t.Fatalf("AppendNumber(%v) = %s, spec algorithm gives %s", f, got, want)
		}
		if back, err := strconv.ParseFloat(got, 64); err != nil || back != f {
			t.Fatalf("AppendNumber(%v) = %s does not round-trip (%v, %v)", f, got, back, err)
		}
	})
}
