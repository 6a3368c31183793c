package jsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// encode writes a value of the default model ([]Member objects) as
// JSON.stringify does.
func encode(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, v)
	case float64:
		return AppendNumber(dst, v)
	case string:
		return AppendString(dst, v)
	case []any:
		return encodeList(dst, '[', len(v), func(dst []byte, i int) []byte { return encode(dst, v[i]) })
	case []Member:
		return encodeList(dst, '{', len(v), func(dst []byte, i int) []byte {
			return encode(append(AppendString(dst, v[i].Key), ':'), v[i].Value)
		})
	}
	panic(fmt.Sprintf("encode: %T", v))
}

func encodeList(dst []byte, open byte, n int, item func([]byte, int) []byte) []byte {
	dst = append(dst, open)
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = item(dst, i)
	}
	return append(dst, open+2) // ']' and '}' follow '[' and '{' at a distance of two
}

var jsOrder = &Options{KeyOrder: PropertyOrder}

// TestParseMatchesJSONParse checks Parse (in property order) against
// JSON.stringify(JSON.parse(in)) as computed by Node 20, for both input
// types.
func TestParseMatchesJSONParse(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{` {"a" : [1, -0, 1.0, 1e400, -1e400, 1e-400, 0.1, 1E2, 2.5e-7, 9007199254740993, 123456789012345678901234] } `,
			`{"a":[1,0,1,null,null,0,0.1,100,2.5e-7,9007199254740992,1.2345678901234569e+23]}`},
		{`[1, 2.5 , -0, 1e21, 1e-7, 123456789012345680000, 0.000001, 1E2]`, `[1,2.5,0,1e+21,1e-7,123456789012345680000,0.000001,100]`},
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`{"b":1,"10":2,"a":3,"2":4,"01":5,"-1":6}`, `{"2":4,"10":2,"b":1,"a":3,"01":5,"-1":6}`},
		{`{"4294967295":1,"4294967294":2}`, `{"4294967294":2,"4294967295":1}`},
		{`{"x":{"b":1,"0":[{"k":1,"k":2}]}}`, `{"x":{"0":[{"k":2}],"b":1}}`},
		{`"\ud83d\ude00\u0041\/\b\f\n\r\t\"\\"`, "\"\U0001f600A/\\b\\f\\n\\r\\t\\\"\\\\\""},
		{`"a\"b\\c\/d\b\f\n\r\t\u0001\u001f"`, `"a\"b\\c/d\b\f\n\r\t\u0001\u001f"`},
		{"\"\u00e9\U0001f600\u2028<>&\"", "\"\u00e9\U0001f600\u2028<>&\""},
		{`"\ud83d"`, "\"\uFFFD\""}, // Node keeps the lone surrogate; Go has U+FFFD
		{`{"x":[true,false,null,{}]}`, `{"x":[true,false,null,{}]}`},
		{` [ ] `, `[]`}, {`{}`, `{}`}, {`[[[]]]`, `[[[]]]`},
		{`null`, `null`}, {`true`, `true`}, {`false`, `false`}, {`"str"`, `"str"`},
		{"\"a\xe2\x82b\"", "\"a\uFFFDb\""}, // invalid UTF-8 repaired as TextDecoder does
	} {
		for _, in := range []any{c.in, []byte(c.in)} {
			var v any
			var err error
			if s, ok := in.(string); ok {
				v, err = Parse(s, jsOrder)
			} else {
				v, err = Parse(in.([]byte), jsOrder)
			}
			if err != nil {
				t.Errorf("Parse(%T %s): %v", in, c.in, err)
				continue
			}
			if got := string(encode(nil, v)); got != c.want {
				t.Errorf("Parse(%T %s) re-serialised as %s, want %s", in, c.in, got, c.want)
			}
		}
	}
}

func TestParseRejectsWhatJSONParseRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "01", "1.", ".5", "-", "+1", "1e", "1e+", "-.5", "0x10", "NaN", "Infinity", "tru", "nul", "True",
		"[1,]", `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{"a"}`, `{a:1}`, `{'a':1}`, `"\q"`, `"\u12G4"`, "\"\x01\"", `"abc`,
		`"\x41"`, "\"a\tb\"", "[1 2]", "1 2", "[", "{", "]", "}", `{"a":1`, `[1`, "\ufeff{}", "\u00a0{}", "{}\x0c", "[]\v",
		"\xff", `["a"]]`, `{"a":1}}`, `{,}`, `[,]`, `{"a":1,,"b":2}`,
	} {
		_, err := Parse(in, nil)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", in, err)
		} else if se.Offset < 0 || se.Offset > len(in)+8 {
			t.Errorf("Parse(%q): offset %d out of range", in, se.Offset)
		}
	}
}

func TestParseDepth(t *testing.T) {
	nest := func(n int, inner string) string {
		return strings.Repeat("[", n) + inner + strings.Repeat("]", n)
	}
	for _, max := range []int{1, 32, 512} {
		o := &Options{MaxDepth: max}
		for _, inner := range []string{"", "1", "{}"} {
			in := nest(max, inner)
			if inner == "{}" {
				in = nest(max-1, inner)
			}
			if _, err := Parse(in, o); err != nil {
				t.Errorf("max %d: %d levels rejected: %v", max, max, err)
			}
		}
		if _, err := Parse(nest(max+1, ""), o); err == nil {
			t.Errorf("max %d: %d levels accepted", max, max+1)
		}
		if _, err := Parse(nest(max, `{"a":{}}`), o); err == nil {
			t.Errorf("max %d: an object past the limit accepted", max)
		}
	}
	if _, err := Parse(nest(DefaultMaxDepth, ""), nil); err != nil {
		t.Errorf("default limit: %v", err)
	}
	if _, err := Parse(nest(DefaultMaxDepth+1, ""), nil); err == nil {
		t.Error("default limit not applied")
	}
}

type testMap []struct {
	k string
	v any
}

func TestParseHooks(t *testing.T) {
	var objectCalls int
	o := &Options{
		KeyOrder: PropertyOrder,
		Number: func(f float64) any {
			if f == math.Trunc(f) && !math.Signbit(f) {
				return int64(f)
			}
			return f
		},
		Object: func(keys []string, vals []any) any {
			objectCalls++
			m := make(testMap, len(keys))
			for i := range keys {
				m[i].k, m[i].v = keys[i], vals[i]
			}
			return m
		},
	}
	v, err := Parse(`{"b":[1,-0,2.5],"1":{},"b":7}`, o)
	if err != nil {
		t.Fatal(err)
	}
	want := testMap{{"1", testMap{}}, {"b", int64(7)}}
	if !reflect.DeepEqual(v, want) || objectCalls != 2 {
		t.Fatalf("got %#v after %d Object calls", v, objectCalls)
	}
	v, _ = Parse(`[1,-0,2.5]`, o)
	if !reflect.DeepEqual(v, []any{int64(1), math.Copysign(0, -1), 2.5}) {
		t.Fatalf("numbers: %#v", v)
	}
}

func TestParseIntern(t *testing.T) {
	o := &Options{Intern: InternTable("type", "insert")}
	in := []byte(`[{"type":"insert"},{"type":"insert"},{"type":"insert"}]`)
	v, err := Parse(in, o)
	if err != nil {
		t.Fatal(err)
	}
	in[3] = 'X' // results never alias a []byte input
	if got := string(encode(nil, v)); got != `[{"type":"insert"},{"type":"insert"},{"type":"insert"}]` {
		t.Fatalf("got %s", got)
	}
	// Interned keys and values allocate nothing; others cost a copy each,
	// and values also a box.
	plain := []byte(`[{"tyPe":"inSert"},{"tyPe":"inSert"},{"tyPe":"inSert"}]`)
	interned := testing.AllocsPerRun(50, func() { _, _ = Parse(in, o) })
	notInterned := testing.AllocsPerRun(50, func() { _, _ = Parse(plain, o) })
	if notInterned-interned < 6 {
		t.Errorf("interning saved %v allocations (%v vs %v), want at least 6", notInterned-interned, interned, notInterned)
	}
}

func TestParseStringInputShares(t *testing.T) {
	// Unescaped strings of a string input are substrings: parsing a large
	// value costs no copy of it.
	big := `["` + strings.Repeat("x", 1<<16) + `"]`
	if n := testing.AllocsPerRun(20, func() { _, _ = Parse(big, nil) }); n > 4 {
		t.Errorf("%v allocations", n)
	}
}

// jsonAlphabet draws strings that are often, but not always, JSON.
func jsonAlphabet() *rapid.Generator[string] {
	tokens := []string{"[", "]", "{", "}", ",", ":", " ", "\"", "a", "\\", "u", "0", "1", "9", "-", "+", ".", "e",
		"E", "true", "false", "null", "\"k\"", "\"1\"", "\\u00e9", "\\ud83d", "\\ude00", "é", "\U0001F600", "\n", "\t", "x", "\xff"}
	return rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(rapid.SampledFrom(tokens), 0, 24).Draw(t, "tokens"), "")
	})
}

// toGeneric converts the default model to what encoding/json builds.
func toGeneric(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toGeneric(e)
		}
		return out
	case []Member:
		out := make(map[string]any, len(v))
		for _, m := range v {
			out[m.Key] = toGeneric(m.Value)
		}
		return out
	}
	return v
}

// TestParseMatchesEncodingJSON cross-checks Parse with encoding/json, which
// implements the same RFC 8259 grammar as JSON.parse for valid UTF-8 and
// also decodes lone surrogates to U+FFFD and keeps the last of repeated
// keys.
func TestParseMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := jsonAlphabet().Draw(t, "text")
		v, err := Parse(in, jsOrder)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("%q: error %v is not a SyntaxError", in, err)
			}
		}
		if !utf8.ValidString(in) {
			// Parse reads the text TextDecoder would make of it.
			if v2, err2 := Parse(WellFormed(in), jsOrder); !reflect.DeepEqual(v, v2) || (err == nil) != (err2 == nil) {
				t.Fatalf("%q: parsing the repaired text differs", in)
			}
			return
		}
		if (err == nil) != json.Valid([]byte(in)) {
			t.Fatalf("%q: err %v, encoding/json valid %v", in, err, json.Valid([]byte(in)))
		}
		if err != nil {
			return
		}
		var want any
		if err := json.Unmarshal([]byte(in), &want); err == nil && !reflect.DeepEqual(toGeneric(v), want) {
			t.Fatalf("%q: got %#v, encoding/json %#v", in, toGeneric(v), want)
		}
		enc := encode(nil, v)
		again, err := Parse(enc, jsOrder)
		if err != nil || string(encode(nil, again)) != string(enc) {
			t.Fatalf("%q: canonical form %s is not a fixed point (%v)", in, enc, err)
		}
	})
}

func TestParseLongEscapedStrings(t *testing.T) {
	// Longer than the parser's decode reservation: the buffer grows.
	want := strings.Repeat("éx\"", 5000)
	in := `["` + strings.Repeat(`\u00e9x\"`, 5000) + `","\n",{"` + strings.Repeat(`\u00e9x\"`, 5000) + `":1}]`
	v, err := Parse(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := v.([]any)
	if a[0] != want || a[1] != "\n" || a[2].([]Member)[0].Key != want {
		t.Fatalf("decoded %.40q…", a[0])
	}
}

// ParseAt reads one value inside a larger text as Parse reads it alone,
// reports where it ends, and counts the enclosing depth against MaxDepth.
func TestParseAt(t *testing.T) {
	for _, value := range []string{`{"a":[1,{"b":"x\u00e9"}],"c":null}`, `"s"`, `-1.5e3`, `[]`, `true`, `[[[]]]`} {
		text := []byte(`{"k": ` + value + ` , "z":1}`)
		i := bytes.IndexByte(text, ':') + 1
		got, end, err := ParseAt(text, i, 1, nil)
		if err != nil {
			t.Fatalf("%s: %v", value, err)
		}
		want, err := Parse(value, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || string(text[i:end]) != " "+value {
			t.Errorf("%s: got %v ending at %q, want %v", value, got, text[end:], want)
		}
	}
	o := &Options{MaxDepth: 4}
	for depth, ok := range map[int]bool{0: true, 2: true, 3: false, 5: false} {
		_, _, err := ParseAt([]byte(`[[]]`), 0, depth, o)
		if (err == nil) != ok {
			t.Errorf("[[]] at depth %d under MaxDepth 4: err %v", depth, err)
		}
		// Parse agrees when the enclosing levels are written out.
		text := strings.Repeat("[", depth) + "[[]]" + strings.Repeat("]", depth)
		if _, err := Parse(text, o); (err == nil) != ok {
			t.Errorf("Parse(%s): err %v", text, err)
		}
	}
	var se *SyntaxError
	if _, _, err := ParseAt([]byte(`[1, }`), 4, 0, nil); !errors.As(err, &se) || se.Offset != 4 {
		t.Errorf("ParseAt at a '}' = %v, want a SyntaxError at offset 4", err)
	}
}
