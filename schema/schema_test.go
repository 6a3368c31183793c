package schema

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestConstructionErrors(t *testing.T) {
	deep := String()
	for range maxDepth {
		deep = List(deep)
	}
	if err := deep.Err(); err != nil {
		t.Fatalf("MaxDepth levels below the root must be fine: %v", err)
	}
	cases := []struct {
		name string
		s    *Schema
		msg  string
	}{
		{"nil field", Struct(F("a", nil)), "schema: $.a: nil schema"},
		{"duplicate field", Struct(F("a", String()), F("a", Number())), "schema: $.a: duplicate field name"},
		{"nil item", List(nil), "schema: $[]: nil schema"},
		{"nil variant", Union(String(), nil), "schema: $<1>: nil schema"},
		{"variant not struct", DiscriminatedUnion("t", String()), "schema: $<0>: discriminated union variant must be a struct, got string"},
		{"variant without tag", DiscriminatedUnion("t", Struct(F("x", String()))), `schema: $<0>: variant lacks the discriminant field "t"`},
		{"tag not constrained", DiscriminatedUnion("t", Struct(F("t", String()))), "schema: $<0>.t: discriminant field must be a constrained string"},
		{"tag not a string", DiscriminatedUnion("t", Struct(F("t", Number(1)))), "schema: $<0>.t: discriminant field must be a constrained string"},
		{"duplicate tag", DiscriminatedUnion("t", Struct(F("t", String("a"))), Struct(F("t", String("a", "b")))), `schema: $<1>.t: tag "a" is also the tag of variant 0`},
		{"duplicate mark", RichText(Mark{"b", ExpandAfter}, Mark{"b", ExpandNone}), `schema: duplicate mark "b"`},
		{"bad expand", RichText(Mark{"b", "sideways"}), `schema: mark "b": expand must be before, after, none or both, got "sideways"`},
		{"decay on text", Text().Decay(time.Second), "schema: decay applies only to plain schemas, not text"},
		{"negative decay", Number().Decay(-time.Second), "schema: decay must be a finite, non-negative duration"},
		{"infinite option", Number(1, math.Inf(1)), "schema: number option 1 is not finite"},
		{"too deep", List(deep), "schema: schema nesting exceeds 1000 levels"},
		{"error propagates", Struct(F("ok", String()), F("bad", List(Union(nil)))), "schema: $.bad[]<0>: nil schema"},
		{"zero Schema", Struct(F("z", &Schema{})), "schema: $.z: zero Schema value; use a constructor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.s.Err()
			if !errors.Is(err, errInvalidSchema) {
				t.Fatalf("Err() = %v, want invalid-schema", err)
			}
			if err.Error() != c.msg {
				t.Errorf("message\n got %s\nwant %s", err, c.msg)
			}
			if _, err := c.s.Hash(); !errors.Is(err, errInvalidSchema) {
				t.Errorf("Hash error %v", err)
			}
			if _, err := c.s.MarshalJSON(); !errors.Is(err, errInvalidSchema) {
				t.Errorf("MarshalJSON error %v", err)
			}
			if _, err := Bind(BindingJSON, c.s); !errors.Is(err, errInvalidSchema) {
				t.Errorf("Bind error %v", err)
			}
		})
	}
	var nilSchema *Schema
	if err := nilSchema.Err(); !errors.Is(err, errInvalidSchema) {
		t.Errorf("nil schema: %v", err)
	}
}

func TestBindingRules(t *testing.T) {
	root := func(s *Schema) *Schema { return Struct(F("x", s)) }
	plainList := List(String())
	cases := []struct {
		name   string
		s      *Schema
		accept map[Binding]bool // bindings that accept; the others reject
		msg    string           // message for the first rejecting binding in bindings() order
	}{
		{"scalars", root(String("a")), all(), ""},
		{"text", root(Text()), only(BindingJSON, BindingLoro, BindingYjs), "schema: $.x: the ephemeral binding does not support text (composition law positional-ot)"},
		{"counter", root(Counter()), only(BindingJSON, BindingLoro), "schema: $.x: the ephemeral binding does not support counter (composition law additive)"},
		{"plain list", root(plainList), only(BindingJSON, BindingLoro, BindingYjs), "schema: $.x: the ephemeral binding does not support list (composition law positional-ot)"},
		{"list.json", root(ListJSON(String())), all(), ""},
		{"list in .json", root(StructJSON(F("l", plainList))), all(), ""},
		{"list in union", root(Union(Null(), plainList)), only(BindingJSON, BindingLoro, BindingYjs), "schema: $.x<1>: the ephemeral binding does not support list (composition law positional-ot)"},
		{"set", root(Set(String())), only(BindingJSON), "schema: $.x: the ephemeral binding does not support set (composition law add-wins-per-key)"},
		{"tree", root(Tree(String())), only(BindingJSON, BindingLoro), "schema: $.x: the ephemeral binding does not support tree (composition law tree-move)"},
		{"movable", root(MovableList(String())), only(BindingJSON, BindingLoro), "schema: $.x: the ephemeral binding does not support movableList (composition law positional-ot-move)"},
		{"richtext", root(RichText()), only(BindingJSON, BindingLoro, BindingYjs), "schema: $.x: the ephemeral binding does not support richText (composition law positional-ot)"},
		{"record", root(Record(Number())), all(), ""},
		{"decay", root(Number().Decay(time.Second)), only(BindingEphemeral, BindingState), "schema: $.x: the json binding does not support .decay() (ephemeral and state do)"},
		{"decay in .json", root(ListJSON(Number().Decay(time.Second))), only(BindingEphemeral, BindingState), "schema: $.x[]: the json binding does not support .decay() (ephemeral and state do)"},
		{"text in union", root(Union(Text())), none(), "schema: $.x<0>: text cannot appear inside a union or a .json() boundary"},
		{"counter in .json", root(RecordJSON(Counter())), none(), "schema: $.x{}: counter cannot appear inside a union or a .json() boundary"},
		{"text deep in union", root(Struct(F("t", Text())).Nullable()), none(), "schema: $.x<1>.t: text cannot appear inside a union or a .json() boundary"},
		{"empty union", root(Union()), none(), "schema: $.x: a union needs at least one variant"},
		{"root not a struct", String(), none(), "schema: $: the root of a document must be a struct, got string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := true
			for _, b := range bindings() {
				_, err := Bind(b, c.s)
				if c.accept[b] {
					if err != nil {
						t.Errorf("%s rejects: %v", b, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("%s accepts", b)
					continue
				}
				var e *Error
				if !errors.As(err, &e) || (e.Reason != reasonBindingRejects && e.Reason != reasonInvalidSchema) {
					t.Errorf("%s: error %v", b, err)
				}
				if first && err.Error() != c.msg {
					t.Errorf("%s message\n got %s\nwant %s", b, err, c.msg)
				}
				first = false
			}
		})
	}
	if _, err := Bind("automerge", Struct()); !errors.Is(err, errBindingRejects) {
		t.Errorf("unknown binding: %v", err)
	}
	if _, err := ParseBinding("automerge"); !errors.Is(err, errBindingRejects) {
		t.Errorf("ParseBinding: %v", err)
	}
}

func all() map[Binding]bool  { return only(bindings()...) }
func none() map[Binding]bool { return only() }
func only(bs ...Binding) map[Binding]bool {
	m := map[Binding]bool{}
	for _, b := range bs {
		m[b] = true
	}
	return m
}

func TestParseJSONErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{`{`, "schema: neutral schema form is not valid JSON"},
		{`[]`, "schema: $: want a schema node object, got array"},
		{`{"kind":1}`, `schema: $: node needs a string "kind"`},
		{`{"kind":"strng"}`, `schema: $: unknown kind "strng"`},
		{`{"kind":"string","item":{"kind":"string"}}`, `schema: $: unexpected key "item" on a string node`},
		{`{"kind":"string","options":"a"}`, "schema: $.options: want an array, got string"},
		{`{"kind":"number","options":[1,"2"]}`, "schema: $.options[1]: want a number option, got string"},
		{`{"kind":"struct"}`, `schema: $: struct node needs "fields"`},
		{`{"kind":"number","options":[1e400]}`, "schema: $.options[0]: number option is out of range"},
		{`{"kind":"struct","fields":{}}`, "schema: $.fields: want an array of [name, node] pairs, got object"},
		{`{"kind":"struct","fields":[["a"]]}`, "schema: $.fields[0]: want a [name, node] pair"},
		{`{"kind":"struct","fields":[[1,{"kind":"any"}]]}`, "schema: $.fields[0][0]: want a string field name, got number"},
		{`{"kind":"struct","fields":[["a",{"kind":"any"}],["a",{"kind":"any"}]]}`, `schema: $.fields[1][0]: duplicate field name "a"`},
		{`{"kind":"struct","fields":[["a",{"kind":"list"}]]}`, `schema: $.fields[0][1]: list node needs "item"`},
		{`{"kind":"struct","fields":[],"json":"yes"}`, "schema: $.json: want a boolean, got string"},
		{`{"kind":"union","variants":{}}`, "schema: $.variants: want an array, got object"},
		{`{"kind":"discriminatedUnion","variants":[]}`, `schema: $: discriminatedUnion node needs a string "discriminant"`},
		{`{"kind":"discriminatedUnion","discriminant":"t","variants":[{"kind":"struct","fields":[["t",{"kind":"string"}]]}]}`, "schema: $<0>.t: discriminant field must be a constrained string"},
		{`{"kind":"richText","marks":{"b":1}}`, "schema: $.marks.b: want an expand string, got number"},
		{`{"kind":"richText","marks":{"b":"up"}}`, `schema: $: mark "b": expand must be before, after, none or both, got "up"`},
		{`{"kind":"text","decayMs":5}`, "schema: $: decay applies only to plain schemas, not text"},
		{`{"kind":"number","decayMs":"5"}`, "schema: $.decayMs: want a number, got string"},
		{strings.Repeat(`{"kind":"list","item":`, maxDepth+1) + `{"kind":"any"}` + strings.Repeat("}", maxDepth+1), "schema: $" + strings.Repeat(".item", maxDepth+1) + ": schema nesting exceeds 1000 levels"},
	}
	for _, c := range cases {
		_, err := ParseJSON([]byte(c.in))
		if err == nil {
			t.Errorf("%.60s: no error", c.in)
			continue
		}
		if !errors.Is(err, errInvalidSchema) && !errors.Is(err, errSyntax) {
			t.Errorf("%.60s: error %v has the wrong code", c.in, err)
		}
		if got := err.Error(); !strings.HasPrefix(got, c.msg) {
			t.Errorf("%.60s:\n got %s\nwant %s", c.in, got, c.msg)
		}
	}
}

// The neutral form round-trips: MarshalJSON writes what ParseJSON reads,
// with the same hash, and writing again gives the same text.
func TestJSONFormRoundTrip(t *testing.T) {
	for _, c := range loadVectors(t) {
		s, err := ParseJSON(c.Schema)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Schema
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s: %v\n%s", c.Name, err, out)
		}
		if h, _ := back.Hash(); h != c.SchemaHash {
			t.Errorf("%s: round-tripped hash %s, want %s\n%s", c.Name, h, c.SchemaHash, out)
		}
		again, _ := back.MarshalJSON()
		if string(again) != string(out) {
			t.Errorf("%s: second write differs\n%s\n%s", c.Name, out, again)
		}
	}
	// -0 stays -0; a union of null and X is written as nullable.
	s := Struct(F("n", Number(-math.Copysign(0, 1), 0)), F("u", Union(Null(), String())))
	out, _ := s.MarshalJSON()
	want := `{"kind":"struct","fields":[["n",{"kind":"number","options":[-0,0]}],["u",{"kind":"nullable","item":{"kind":"string"}}]]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestLessUTF16(t *testing.T) {
	cases := []struct {
		a, b string
		less bool
	}{
		{"a", "b", true},
		{"", "a", true},
		{"a", "", false},
		{"a", "a", false},
		{"ab", "a", false},
		{"\U0001F600", "\uFF21", true}, // surrogate 0xD83D < 0xFF21, though U+1F600 > U+FF21
		{"\uFF21", "\U0001F600", false},
		{"\U0001F600", "\U0001F601", true},
		{"\u00e9", "\U0001F600", true},
	}
	for _, c := range cases {
		if got := lessUTF16(c.a, c.b); got != c.less {
			t.Errorf("lessUTF16(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestZero(t *testing.T) {
	s := Struct(
		F("b", Bytes()),
		F("d", DiscriminatedUnion("k",
			Struct(F("k", String("x")), F("n", Number())),
			Struct(F("k", String("7")), F("s", String())))),
		F("n", Number().Nullable()),
		F("__proto__", String()),
		F("toString", Number()),
	)
	for _, c := range []struct {
		b    Binding
		want string
	}{
		{BindingJSON, `{"b":{},"d":{"k":"7","s":""},"n":null,"__proto__":"","toString":0}`},
		{BindingState, `{"b":{},"d":{"k":"7","s":""},"n":null,"__proto__":"","toString":0}`},
	} {
		got, err := s.ZeroJSON(c.b)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s, %v; want %s", c.b, got, err, c.want)
		}
	}
	z, _ := s.Zero(BindingState)
	if v, _ := z.(Object).Get("b"); v == nil || len(v.(Object)) != 0 {
		t.Errorf("state bytes zero %#v, want an empty Object", v)
	}
	z, _ = s.Zero(BindingLoro)
	if v, _ := z.(Object).Get("b"); v == nil || len(v.([]byte)) != 0 {
		t.Errorf("loro bytes zero %#v, want empty []byte", v)
	}
	if _, err := s.Zero("x"); !errors.Is(err, errBindingRejects) {
		t.Errorf("unknown binding: %v", err)
	}
	if _, err := Struct(F("u", Union())).Zero(BindingJSON); !errors.Is(err, errInvalidSchema) {
		t.Errorf("empty union: %v", err)
	}
}

func TestAppendJSON(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{Object{{"a", UndefinedValue{}}, {"b", 1}}, `{"b":1}`},
		{[]any{UndefinedValue{}, nil}, `[null,null]`},
		{[]byte{1, 2}, `{"0":1,"1":2}`},
		{map[string]any{"b": 1, "a": 2, "10": 3, "2": 4}, `{"2":4,"10":3,"a":2,"b":1}`},
		{[]any{1e21, 1e-7, math.Copysign(0, -1), math.NaN(), int8(-3), uint(7), float32(0.5), json.Number("12")}, `[1e+21,1e-7,0,null,-3,7,0.5,12]`},
		{"\u2028<&>", "\"\u2028<&>\""},
	}
	for _, c := range cases {
		got, err := AppendJSON(nil, c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("AppendJSON(%#v) = %s, %v; want %s", c.v, got, err, c.want)
		}
	}
	if _, err := AppendJSON(nil, struct{}{}); err == nil {
		t.Error("AppendJSON(struct{}{}) should fail")
	}
	o := Object{{"x", 1}}
	if b, _ := json.Marshal(o); string(b) != `{"x":1}` {
		t.Errorf("Object.MarshalJSON = %s", b)
	}
}
