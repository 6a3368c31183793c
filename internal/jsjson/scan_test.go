package jsjson

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		end  int // offset after the number; -1: rejected
	}{
		{"0", 0, 1}, {"-0", math.Copysign(0, -1), 2}, {"7,", 7, 1}, {"-12]", -12, 3},
		{"1.5", 1.5, 3}, {"1E2", 100, 3}, {"1e+2", 100, 4}, {"25e-1", 2.5, 5},
		{"01", 0, 1}, // the reader stops after "0"; the caller rejects the "1"
		{"999999999999999", 999999999999999, 15}, {"-99999999999999", -99999999999999, 15},
		{"9007199254740993", 9007199254740992, 16}, // rounds to even, as JSON.parse does
		{"123456789012345678901234", 1.2345678901234569e+23, 24},
		{"1e400", math.Inf(1), 5}, {"-1e400", math.Inf(-1), 6}, {"1e-400", 0, 6}, {"-1e-400", math.Copysign(0, -1), 7},
		{"-", 0, -1}, {"+1", 0, -1}, {".5", 0, -1}, {"-.5", 0, -1}, {"1.", 0, -1}, {"1.e2", 0, -1},
		{"1e", 0, -1}, {"1e+", 0, -1}, {"-x", 0, -1}, {"", 0, -1},
	} {
		f, end, err := Number(c.in, 0)
		if c.end < 0 {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Number(%q) = %v, %d, %v; want a SyntaxError", c.in, f, end, err)
			}
			continue
		}
		if err != nil || end != c.end || f != c.want || math.Signbit(f) != math.Signbit(c.want) {
			t.Errorf("Number(%q) = %v, %d, %v; want %v, %d", c.in, f, end, err, c.want, c.end)
		}
		if fb, endb, err := Number([]byte(c.in), 0); fb != f || endb != end || err != nil {
			t.Errorf("Number([]byte(%q)) differs: %v %d %v", c.in, fb, endb, err)
		}
	}
}

func TestSkipSpaceAndLiteral(t *testing.T) {
	if got := SkipSpace(" \t\r\n x", 0); got != 5 {
		t.Errorf("SkipSpace = %d", got)
	}
	for _, s := range []string{"\f", "\v", "\u00a0", "\ufeff"} {
		if SkipSpace(s, 0) != 0 {
			t.Errorf("%+q is not JSON whitespace", s)
		}
	}
	if end, err := Literal("[true]", 1, "true"); end != 5 || err != nil {
		t.Errorf("Literal = %d, %v", end, err)
	}
	for _, s := range []string{"tru", "trUe", ""} {
		if _, err := Literal(s, 0, "true"); err == nil {
			t.Errorf("Literal(%q) accepted", s)
		}
	}
}

// readString runs ReadString over a whole literal, decoding and emitting
// in separate passes as the callers do.
func readString(t interface{ Fatalf(string, ...any) }, lit string) (decoded, canonical string, err error) {
	var r StringReader
	end, escaped, err := ReadString(&r, lit, 0, true)
	if err != nil {
		return "", "", err
	}
	if end != len(lit) {
		return "", "", errors.New("data after the literal")
	}
	decoded = lit[1 : end-1]
	if escaped {
		decoded = string(r.Decoded())
	}
	r.Emit = true
	if _, _, err := ReadString(&r, lit, 0, false); err != nil {
		t.Fatalf("ReadString(%q) failed only when emitting: %v", lit, err)
	}
	return decoded, string(r.Out), nil
}

func TestReadString(t *testing.T) {
	for _, c := range []struct{ in, decoded, canonical string }{
		{`""`, "", `""`},
		{`"plain é 😀"`, "plain é 😀", `"plain é 😀"`},
		// Escapes re-spelled; <>&, U+2028/9 and DEL stay literal (Node's JSON.stringify).
		{`"\u0070\/\u0008\u000c\u001f\u2028<>&\u007f\"\\"`, "p/\b\f\x1f\u2028<>&\x7f\"\\", "\"p/\\b\\f\\u001f\u2028<>&\u007f\\\"\\\\\""},
		{`"\b\f\n\r\t"`, "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{`"\u00E9\u00e9"`, "éé", `"éé"`},
		// Surrogate pairs join; lone surrogates decode to U+FFFD and stay
		// escaped (lowercase) in the canonical form.
		{`"\uD83D\uDE00 \uDBFF \uDC00x \uD800\u0041"`, "😀 \uFFFD \uFFFDx \uFFFDA", "\"\U0001F600 \\udbff \\udc00x \\ud800A\""},
		{`"\ud83d\ud83d\ude00"`, "\uFFFD😀", "\"\\ud83d\U0001F600\""},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD", `"\ude00\ud83d"`},
	} {
		dec, canon, err := readString(t, c.in)
		if err != nil || dec != c.decoded || canon != c.canonical {
			t.Errorf("%s: decoded %+q canonical %s (%v); want %+q %s", c.in, dec, canon, err, c.decoded, c.canonical)
		}
	}
	for _, bad := range []string{`"abc`, `"\`, `"\x41"`, `"\q"`, `"\u12"`, `"\u12G4"`, "\"a\tb\"", "\"a\nb\"", "\"\x00\"", `"\'"`} {
		if _, _, err := readString(t, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestReadStringMatchesEncodingJSON compares decoding with encoding/json,
// which decodes the same grammar (and lone surrogates to U+FFFD too), and
// checks that the canonical form decodes to the same text and is its own
// canonical form.
func TestReadStringMatchesEncodingJSON(t *testing.T) {
	pieces := []string{"a", "é", "😀", `\"`, `\\`, `\/`, `\b`, `\n`, `\u0000`, `\u001F`, `\u00e9`, `\uD83D`, `\uDE00`,
		`\ud83d\ude00`, `\u2028`, "\x7f", "\t", `\x`, `\u12`, `"`, "<", " "}
	rapid.Check(t, func(t *rapid.T) {
		lit := `"` + strings.Join(rapid.SliceOfN(rapid.SampledFrom(pieces), 0, 12).Draw(t, "pieces"), "") + `"`
		var want string
		jerr := json.Unmarshal([]byte(lit), &want)
		dec, canon, err := readString(t, lit)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("%s: err %v, encoding/json err %v", lit, err, jerr)
		}
		if err != nil {
			return
		}
		if dec != want {
			t.Fatalf("%s decoded to %+q, encoding/json gives %+q", lit, dec, want)
		}
		var back string
		if err := json.Unmarshal([]byte(canon), &back); err != nil || back != want {
			t.Fatalf("canonical form %s decodes to %+q (%v), want %+q", canon, back, err, want)
		}
		if _, again, _ := readString(t, canon); again != canon {
			t.Fatalf("canonical form not a fixed point: %s -> %s", canon, again)
		}
		if !utf8.ValidString(canon) {
			t.Fatalf("canonical form %+q is not UTF-8", canon)
		}
	})
}
