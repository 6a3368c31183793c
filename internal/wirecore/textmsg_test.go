package wirecore

import "testing"

// TestParseJSONMatchesJSONParse checks parseJSONValue + appendJSONValue
// against JSON.stringify(JSON.parse(x)) as computed by Node 20 (an empty
// want means JSON.parse throws). The parser was also compared with Node on
// a few hundred thousand generated inputs while it was written.
func TestParseJSONMatchesJSONParse(t *testing.T) {
	for _, c := range [][2]string{
		{" {\"a\" : [1, -0, 1.0, 1e400, -1e400, 1e-400, 0.1, 1E2, 2.5e-7, 9007199254740993, 123456789012345678901234] } ", "{\"a\":[1,0,1,null,null,0,0.1,100,2.5e-7,9007199254740992,1.2345678901234569e+23]}"},
		{"{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}"},
		{"{\"__bytes\":\"QQ==\"}", "{\"__bytes\":\"QQ==\"}"},
		{"\"\\ud83d\\ude00\\u0041\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\U0001f600A/\\b\\f\\n\\r\\t\\\"\\\\\""},
		{"\"\u00e9\U0001f600\u2028<>&\"", "\"\u00e9\U0001f600\u2028<>&\""},
		{"[]", "[]"},
		{"{}", "{}"},
		{"null", "null"},
		{"true", "true"},
		{"false", "false"},
		{"[[[]]]", "[[[]]]"},
		{"01", ""},
		{"1.", ""},
		{".5", ""},
		{"-", ""},
		{"+1", ""},
		{"1e", ""},
		{"1e+", ""},
		{"-.5", ""},
		{"0x10", ""},
		{"NaN", ""},
		{"Infinity", ""},
		{"tru", ""},
		{"nul", ""},
		{"[1,]", ""},
		{"{\"a\":1,}", ""},
		{"{\"a\" 1}", ""},
		{"{a:1}", ""},
		{"{'a':1}", ""},
		{"\"\\q\"", ""},
		{"\"\\u12G4\"", ""},
		{"\"\x01\"", ""},
		{"\"abc", ""},
		{"[1 2]", ""},
		{"1 2", ""},
		{"", ""},
		{" ", ""},
		{"\ufeff{}", ""},
		{"\u00a0{}", ""},
		{"{}\x0c", ""},
		{"\"\\x41\"", ""},
	} {
		v, err := parseJSONValue(c[0])
		if c[1] == "" {
			if err == nil {
				t.Errorf("parseJSONValue(%q) accepted: %s", c[0], showValue(v))
			}
			continue
		}
		if err != nil {
			t.Errorf("parseJSONValue(%q): %v", c[0], err)
			continue
		}
		b, err := appendJSONValue(nil, v)
		if err != nil || string(b) != c[1] {
			t.Errorf("parseJSONValue(%q) re-serialised as %s (%v), want %s", c[0], b, err, c[1])
		}
	}
}

func TestParseJSONLimits(t *testing.T) {
	deep := func(n int) string {
		s := ""
		for range n {
			s += "["
		}
		for range n {
			s += "]"
		}
		return s
	}
	if _, err := parseJSONValue(deep(maxNesting)); err != nil {
		t.Errorf("%d levels rejected: %v", maxNesting, err)
	}
	if _, err := parseJSONValue(deep(maxNesting + 1)); err == nil {
		t.Errorf("%d levels accepted", maxNesting+1)
	}
	// Lone surrogate escapes become U+FFFD (Go strings hold UTF-8 only).
	v, err := parseJSONValue(`"\ud800x\udc00\ud83d\ud83d\ude00"`)
	if err != nil || v != "\uFFFDx\uFFFD\uFFFD😀" {
		t.Errorf("lone surrogates: %+q %v", v, err)
	}
	// Invalid UTF-8 in the text is repaired like TextDecoder would.
	v, err = parseJSONValue("\"a\xe2\x82b\"")
	if err != nil || v != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %+q %v", v, err)
	}
}
