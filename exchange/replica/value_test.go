package replica

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseEncodeLikeJavaScript(t *testing.T) {
	// in: JSON text; out: what JSON.stringify(JSON.parse(in)) gives.
	cases := []struct{ in, out string }{
		{`{"b":1,"a":2}`, `{"b":1,"a":2}`},
		{`{"b":1,"10":2,"a":3,"2":4,"01":5,"-1":6}`, `{"2":4,"10":2,"b":1,"a":3,"01":5,"-1":6}`},
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`{"4294967295":1,"4294967294":2}`, `{"4294967294":2,"4294967295":1}`},
		{`[1, 2.5 , -0, 1e21, 1e-7, 123456789012345680000, 0.000001, 1E2]`, `[1,2.5,0,1e+21,1e-7,123456789012345680000,0.000001,100]`},
		{`1e400`, `null`},
		{`"a\"b\\c\/d\b\f\n\r\t\u0001\u001f"`, `"a\"b\\c/d\b\f\n\r\t\u0001\u001f"`},
		{`"<>&\u2028\u00e9"`, "\"<>&\u2028\u00e9\""},
		{`"\ud83d\ude00"`, `"😀"`},
		{`"\ud83d"`, "\"\uFFFD\""},
		{`"\ude00x"`, "\"\uFFFDx\""},
		{`"\ud83dx"`, "\"\uFFFDx\""},
		{"\"\xff\"", "\"\uFFFD\""},
		// Invalid UTF-8 is repaired as TextDecoder repairs it: one U+FFFD
		// per maximal ill-formed sequence, so a truncated character is one.
		{"\"a\xe2\x82b\xed\xa0\x80\"", "\"a\uFFFDb\uFFFD\uFFFD\uFFFD\""},
		{`{"x":[true,false,null,{}]}`, `{"x":[true,false,null,{}]}`},
		{` [ ] `, `[]`},
	}
	for _, c := range cases {
		v, err := ParseValue([]byte(c.in))
		if err != nil {
			t.Errorf("ParseValue(%s): %v", c.in, err)
			continue
		}
		if got := string(encodeValue(v)); got != c.out {
			t.Errorf("encode(parse(%s)) = %s, want %s", c.in, got, c.out)
		}
	}
}

func TestParseErrors(t *testing.T) {
	bad := []string{"", "{", "[1,]", "{\"a\"}", "{\"a\":}", "01", "1.", "-", "+1", ".5", "1e", "tru", "nul", "\"abc",
		"\"\\x\"", "\"\\u12\"", "\"a\nb\"", "{a:1}", "[1 2]", "1 2", "{\"a\":1,}", "NaN", "Infinity",
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)}
	for _, b := range bad {
		if _, err := ParseValue([]byte(b)); !errors.Is(err, errMalformed) {
			t.Errorf("ParseValue(%q) = %v, want ErrMalformed", b, err)
		}
	}
	for _, inner := range []string{"", "1", `"s"`} {
		ok := strings.Repeat("[", maxDepth) + inner + strings.Repeat("]", maxDepth)
		if _, err := ParseValue([]byte(ok)); err != nil {
			t.Errorf("depth %d (%s inside) rejected: %v", maxDepth, inner, err)
		}
	}
}

func TestObjectOrderAndOps(t *testing.T) {
	o := &Object{}
	for i, k := range []string{"z", "5", "a", "1", "b", "3"} {
		o.Set(k, float64(i))
	}
	if got := strings.Join(o.Keys(), ","); got != "1,3,5,z,a,b" {
		t.Fatalf("keys = %s", got)
	}
	o.Set("z", "again") // updating keeps the position
	if !o.Delete("3") || o.Delete("3") {
		t.Fatal("Delete result")
	}
	if got := string(encodeValue(o)); got != `{"1":3,"5":1,"z":"again","a":2,"b":4}` {
		t.Fatalf("encoded %s", got)
	}
	// Grow past the small-object threshold and shrink again: lookups must
	// stay right through the index map.
	big := &Object{}
	for i := 0; i < 40; i++ {
		big.Set("k"+itoa(i), float64(i))
	}
	for i := 0; i < 40; i += 2 {
		big.Delete("k" + itoa(i))
	}
	for i := 0; i < 40; i++ {
		v, ok := big.Get("k" + itoa(i))
		if ok != (i%2 == 1) || (ok && v.(float64) != float64(i)) {
			t.Fatalf("k%d = %v %v", i, v, ok)
		}
	}
	c := big.Clone()
	c.Set("k1", "changed")
	if v, _ := big.Get("k1"); v != float64(1) {
		t.Fatal("Clone shares values")
	}
	var nilObj *Object
	if nilObj.Len() != 0 || nilObj.Has("x") || nilObj.Keys() != nil {
		t.Fatal("nil object accessors")
	}
	if _, ok := nilObj.Get("x"); ok {
		t.Fatal("nil Get")
	}
}

func TestValueOfAndEqual(t *testing.T) {
	type item struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	v, err := ValueOf(map[string]any{"b": []item{{"x", 1}}, "a": nil})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(encodeValue(v)); got != `{"a":null,"b":[{"name":"x","n":1}]}` {
		t.Fatalf("ValueOf = %s", got)
	}
	if _, err := ValueOf(math.NaN()); !errors.Is(err, errInvalidValue) {
		t.Fatalf("NaN = %v", err)
	}
	if _, err := ValueOf(make(chan int)); !errors.Is(err, errInvalidValue) {
		t.Fatalf("chan = %v", err)
	}
	a, _ := ParseValue([]byte(`{"x":[1,{"y":2,"z":null}],"w":"s"}`))
	b, _ := ParseValue([]byte(`{"w":"s","x":[1,{"z":null,"y":2}]}`))
	c, _ := ParseValue([]byte(`{"w":"s","x":[{"z":null,"y":2},1]}`))
	if !equalValues(a, b) || equalValues(a, c) || equalValues(0.0, math.Copysign(0, -1)) || equalValues(true, 1.0) {
		t.Fatal("EqualValues")
	}
	m, _ := ValueOf(a)
	if !equalValues(a, m) {
		t.Fatal("ValueOf of a model value must copy it")
	}
	m.(*Object).Set("w", "changed")
	if equalValues(a, m) {
		t.Fatal("ValueOf must deep-copy model values")
	}
}

func TestEncodeRepairsInvalidUTF8(t *testing.T) {
	o := &Object{}
	o.Set("k\xff", "\xe2\x82")
	if got := string(encodeValue([]any{o, "ok\xf0\x9f\x98"})); got != "[{\"k\uFFFD\":\"\uFFFD\"},\"ok\uFFFD\"]" {
		t.Fatalf("encoded %+q", got)
	}
}
