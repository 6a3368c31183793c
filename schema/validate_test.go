package schema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// testDoc uses every kind the validator distinguishes.
func testDoc() *Schema {
	return Struct(
		F("title", String()),
		F("status", String("draft", "published")),
		F("count", Number()),
		F("body", Text()),
		F("clicks", Counter()),
		F("items", List(Struct(F("title", String()), F("done", Boolean())))),
		F("meta", Record(Number())),
		F("cover", Struct(F("url", String())).Nullable()),
		F("v", Union(String(), Number())),
		F("shape", DiscriminatedUnion("type",
			Struct(F("type", String("circle")), F("r", Number())),
			Struct(F("type", String("rect")), F("w", Number()))),
		),
		F("tags", Set(String())),
		F("outline", Tree(Struct(F("label", String())))),
		F("doc", RichText(Mark{"bold", ExpandAfter})),
		F("data", Any()),
		F("gone", Undefined()),
		F("level", Number(1, 2, 3)),
		F("flag", Boolean(true)),
	)
}

const validDoc = `{
	"title": "t", "status": "draft", "count": 1, "body": "b", "clicks": 3,
	"items": [{"title": "a", "done": false}, {"title": "b", "done": true}],
	"meta": {"x": 1}, "cover": null, "v": 2, "shape": {"type": "rect", "w": 2},
	"tags": ["a", "b"], "outline": [{"id": "n1", "parent": null, "index": 0, "data": {"label": "root"}},
		{"id": "n2", "parent": "n1", "index": 0, "data": {"label": "child"}}],
	"doc": [{"text": "hi", "marks": {"bold": true}}], "data": {"anything": [1]}, "level": 2, "flag": true
}`

// docWith returns validDoc with the top-level key set to the JSON value
// (or removed when value is "").
func docWith(t *testing.T, key, value string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(validDoc), &m); err != nil {
		t.Fatal(err)
	}
	if value == "" {
		delete(m, key)
		return m
	}
	var v any
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	return m
}

func TestValidate(t *testing.T) {
	s := testDoc()
	cases := []struct {
		name, key, value string
		code             string
		msg              string
	}{
		{"valid", "title", `"t"`, "", ""},
		{"string want", "title", `1`, reasonTypeMismatch, "schema: $.title: want string, got number"},
		{"missing field", "title", ``, reasonMissingField, "schema: $.title: want string, got missing"},
		{"missing any is fine", "data", ``, "", ""},
		{"undefined present", "gone", `null`, reasonTypeMismatch, "schema: $.gone: want undefined, got null"},
		{"option", "status", `"gone"`, reasonNotAllowed, `schema: $.status: want one of "draft" | "published", got "gone"`},
		{"number option", "level", `4`, reasonNotAllowed, `schema: $.level: want one of 1 | 2 | 3, got 4`},
		{"single option", "flag", `false`, reasonNotAllowed, `schema: $.flag: want true, got false`},
		{"text", "body", `["x"]`, reasonTypeMismatch, "schema: $.body: want string (text), got array"},
		{"counter", "clicks", `"3"`, reasonTypeMismatch, "schema: $.clicks: want number (counter), got string"},
		{"list item field", "items", `[{"title":"a","done":false},{"title":"b","done":false},{"title":7,"done":false}]`, reasonTypeMismatch, "schema: $.items[2].title: want string, got number"},
		{"list not array", "items", `{}`, reasonTypeMismatch, "schema: $.items: want array, got object"},
		{"unknown field", "items", `[{"title":"a","done":false,"extra":1}]`, reasonUnknownField, "schema: $.items[0].extra: the schema has no such field"},
		{"record value", "meta", `{"a":1,"b c":"x"}`, reasonTypeMismatch, `schema: $.meta["b c"]: want number, got string`},
		{"nullable struct ok", "cover", `{"url":"u"}`, "", ""},
		{"nullable inner error", "cover", `{"url":1}`, reasonTypeMismatch, "schema: $.cover.url: want string, got number"},
		{"nullable wrong type", "cover", `"u"`, reasonTypeMismatch, "schema: $.cover: want object, got string"},
		{"union", "v", `true`, reasonNoVariant, "schema: $.v: want one of string | number, got boolean"},
		{"union string", "v", `"s"`, "", ""},
		{"discriminated ok", "shape", `{"type":"circle","r":1}`, "", ""},
		{"discriminated tag unknown", "shape", `{"type":"tri"}`, reasonUnknownVariant, `schema: $.shape.type: want one of "circle" | "rect", got "tri"`},
		{"discriminated tag missing", "shape", `{"r":1}`, reasonTypeMismatch, `schema: $.shape.type: want string (discriminant), got missing`},
		{"discriminated variant field", "shape", `{"type":"circle","r":"1"}`, reasonTypeMismatch, `schema: $.shape.r: want number, got string`},
		{"discriminated field of other variant", "shape", `{"type":"circle","r":1,"w":2}`, reasonUnknownField, `schema: $.shape.w: the schema has no such field`},
		{"set duplicate", "tags", `["a","b","a"]`, reasonDuplicate, "schema: $.tags: set members [0] and [2] are equal"},
		{"set item", "tags", `["a",1]`, reasonTypeMismatch, "schema: $.tags[1]: want string, got number"},
		{"tree data", "outline", `[{"id":"n1","parent":null,"index":0,"data":{"label":1}}]`, reasonTypeMismatch, "schema: $.outline[0].data.label: want string, got number"},
		{"tree missing parent", "outline", `[{"id":"n1","parent":"nope","index":0,"data":{"label":""}}]`, reasonInvalidTree, `schema: $.outline[0].parent: parent "nope" does not exist`},
		{"tree cycle", "outline", `[{"id":"a","parent":"b","index":0,"data":{"label":""}},{"id":"b","parent":"a","index":0,"data":{"label":""}}]`, reasonInvalidTree, `schema: $.outline[0]: node "a" is in a parent cycle`},
		{"tree duplicate id", "outline", `[{"id":"a","parent":null,"index":0,"data":{"label":""}},{"id":"a","parent":null,"index":1,"data":{"label":""}}]`, reasonInvalidTree, `schema: $.outline[1].id: duplicate node id "a"`},
		{"tree negative index", "outline", `[{"id":"a","parent":null,"index":-1,"data":{"label":""}}]`, reasonInvalidTree, `schema: $.outline[0].index: want a non-negative number, got number`},
		{"richtext span", "doc", `[{"text":1}]`, reasonTypeMismatch, "schema: $.doc[0]: want a span {text: string, marks?: object}, got object"},
		{"richtext mark", "doc", `[{"text":"x","marks":{"italic":true}}]`, reasonUnknownField, `schema: $.doc[0].marks: mark "italic" is not declared`},
		{"any", "data", `[[["deep"]]]`, "", ""},
		{"unknown top field", "extra", `1`, reasonUnknownField, "schema: $.extra: the schema has no such field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Validate(docWith(t, c.key, c.value))
			checkErr(t, err, c.code, c.msg)
		})
	}
}

func checkErr(t *testing.T, err error, code string, msg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *Error with code %s", err, err, code)
	}
	if e.Reason != code || !errors.Is(err, &kyneta.Error{Pkg: "schema", Reason: code}) {
		t.Errorf("reason %s, want %s (%v)", e.Reason, code, err)
	}
	if msg != "" && err.Error() != msg {
		t.Errorf("message\n got %s\nwant %s", err, msg)
	}
}

// Go values are read as encoding/json writes them.
func TestValidateGoValues(t *testing.T) {
	type item struct {
		Title string `json:"title"`
		Done  bool   `json:"done"`
	}
	s := Struct(F("items", List(Struct(F("title", String()), F("done", Boolean())))), F("n", Number()))
	if err := s.Validate(map[string]any{"items": []item{{"a", true}}, "n": int64(3)}); err != nil {
		t.Fatal(err)
	}
	type bad struct {
		Title int  `json:"title"`
		Done  bool `json:"done"`
	}
	err := s.Validate(map[string]any{"items": []bad{{}, {Title: 1}}, "n": 1})
	checkErr(t, err, reasonTypeMismatch, "schema: $.items[0].title: want string, got number")
	err = s.Validate(struct {
		N string `json:"n"`
	}{})
	checkErr(t, err, reasonMissingField, "schema: $.items: want array, got missing")
	err = s.Validate(json.RawMessage(`{"items":[],"n":"x"}`))
	checkErr(t, err, reasonTypeMismatch, "schema: $.n: want number, got string")
	err = s.Validate(map[string]any{"items": []any{}, "n": make(chan int)})
	checkErr(t, err, reasonTypeMismatch, "")
	// Bytes are []byte; an ordered Object and UndefinedValue are model values.
	b := Struct(F("raw", Bytes()), F("u", Undefined()))
	if err := b.Validate(Object{{"raw", []byte{1}}, {"u", UndefinedValue{}}}); err != nil {
		t.Fatal(err)
	}
	checkErr(t, b.Validate(Object{{"raw", "AQ=="}}), reasonTypeMismatch, "schema: $.raw: want bytes, got string")
}

func TestValidateAt(t *testing.T) {
	s := testDoc()
	cases := []struct {
		name  string
		path  Path
		value any
		code  string
		msg   string
	}{
		{"field", Path{"title"}, "x", "", ""},
		{"field type", Path{"title"}, 1.0, reasonTypeMismatch, "schema: $.title: want string, got number"},
		{"list item", Path{"items", 2}, map[string]any{"title": "a", "done": true}, "", ""},
		{"list item field", Path{"items", 2, "title"}, 3, reasonTypeMismatch, "schema: $.items[2].title: want string, got number"},
		{"list item as string index", Path{"items", "2", "done"}, true, "", ""},
		{"no such field", Path{"nope"}, 1, reasonBadPath, `schema: $.nope: the schema has no field "nope"`},
		{"list by name", Path{"items", "x"}, 1, reasonBadPath, "schema: $.items.x: a list is indexed by a non-negative int"},
		{"negative index", Path{"items", -1}, 1, reasonBadPath, "schema: $.items[-1]: a list is indexed by a non-negative int"},
		{"into a scalar", Path{"title", "x"}, 1, reasonBadPath, "schema: $.title.x: a string has no parts to address"},
		{"record key", Path{"meta", "k"}, 2, "", ""},
		{"through nullable", Path{"cover", "url"}, "u", "", ""},
		{"through discriminated union", Path{"shape", "w"}, 2, "", ""},
		{"discriminated union tag", Path{"shape", "type"}, "oval", reasonNotAllowed, `schema: $.shape.type: want "circle", got "oval"`},
		{"below any", Path{"data", "x", 3, "y"}, []any{1}, "", ""},
		{"tree node", Path{"outline", "n1", "label"}, "l", "", ""},
		{"bad segment", Path{1.5}, 1, reasonBadPath, "schema: $[?]: a path segment must be a string or an int"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkErr(t, s.ValidateAt(c.path, c.value), c.code, c.msg)
		})
	}
}

func TestValidateChange(t *testing.T) {
	s := testDoc()
	cases := []struct {
		name   string
		path   Path
		change string
		code   string
		msg    string
	}{
		{"replace", Path{"title"}, `{"type":"replace","value":"x"}`, "", ""},
		{"replace wrong", Path{"title"}, `{"type":"replace","value":1}`, reasonTypeMismatch, "schema: $.title: want string, got number"},
		{"replace without value", Path{"title"}, `{"type":"replace"}`, reasonBadChange, `schema: $.title: replace change has no "value"`},
		{"replace root", nil, `{"type":"replace","value":{"title":1}}`, reasonTypeMismatch, "schema: $.title: want string, got number"},
		{"map set struct", nil, `{"type":"map","set":{"title":"x","count":2}}`, "", ""},
		{"map set struct wrong", nil, `{"type":"map","set":{"count":"2"}}`, reasonTypeMismatch, "schema: $.count: want number, got string"},
		{"map set unknown", nil, `{"type":"map","set":{"titel":"x"}}`, reasonUnknownField, "schema: $.titel: the schema has no such field"},
		{"map delete required", nil, `{"type":"map","delete":["title"]}`, reasonBadChange, "schema: $.title: cannot delete a field of type string"},
		{"map delete any", nil, `{"type":"map","delete":["data"]}`, "", ""},
		{"map record", Path{"meta"}, `{"type":"map","set":{"a":1},"delete":["b"]}`, "", ""},
		{"map record wrong", Path{"meta"}, `{"type":"map","set":{"a":"1"}}`, reasonTypeMismatch, "schema: $.meta.a: want number, got string"},
		{"map on list", Path{"items"}, `{"type":"map","set":{}}`, reasonBadChange, "schema: $.items: \"map\" change does not apply to array"},
		{"sequence insert", Path{"items"}, `{"type":"sequence","instructions":[{"retain":1},{"insert":[{"title":"n","done":false}]}]}`, "", ""},
		{"sequence insert wrong", Path{"items"}, `{"type":"sequence","instructions":[{"retain":2},{"insert":[{"title":"n","done":false},{"title":"m"}]}]}`, reasonMissingField, "schema: $.items[3].done: want boolean, got missing"},
		{"sequence bad count", Path{"items"}, `{"type":"sequence","instructions":[{"delete":-1}]}`, reasonBadChange, "schema: $.items: instruction 0: delete must be a non-negative integer"},
		{"sequence bad op", Path{"items"}, `{"type":"sequence","instructions":[{"move":1}]}`, reasonBadChange, "schema: $.items: instruction 0: want one of retain, insert, delete; got keys move"},
		{"text", Path{"body"}, `{"type":"text","instructions":[{"retain":1},{"insert":"x"},{"delete":2}]}`, "", ""},
		{"text on string", Path{"title"}, `{"type":"text","instructions":[]}`, reasonBadChange, "schema: $.title: \"text\" change does not apply to string"},
		{"text insert array", Path{"body"}, `{"type":"text","instructions":[{"insert":["x"]}]}`, reasonBadChange, "schema: $.body: instruction 0: insert must be a string"},
		{"richtext", Path{"doc"}, `{"type":"richtext","instructions":[{"insert":"x","marks":{"bold":true}},{"format":1,"marks":{"bold":null}}]}`, "", ""},
		{"richtext mark", Path{"doc"}, `{"type":"richtext","instructions":[{"format":1,"marks":{"italic":true}}]}`, reasonUnknownField, `schema: $.doc: mark "italic" is not declared`},
		{"increment", Path{"clicks"}, `{"type":"increment","amount":-2}`, "", ""},
		{"increment on number", Path{"count"}, `{"type":"increment","amount":1}`, reasonBadChange, "schema: $.count: \"increment\" change does not apply to number"},
		{"increment amount", Path{"clicks"}, `{"type":"increment","amount":"1"}`, reasonBadChange, "schema: $.clicks: want a number amount, got string"},
		{"set-op", Path{"tags"}, `{"type":"set-op","add":["x"],"remove":["a"]}`, "", ""},
		{"set-op wrong", Path{"tags"}, `{"type":"set-op","add":[1]}`, reasonTypeMismatch, "schema: $.tags[0]: want string, got number"},
		{"tree", Path{"outline"}, `{"type":"tree","instructions":[{"action":"create","target":"n3","parent":null,"index":0},{"action":"move","target":"n3","parent":"n1","index":1},{"action":"delete","target":"n3"}]}`, "", ""},
		{"tree bad action", Path{"outline"}, `{"type":"tree","instructions":[{"action":"copy","target":"n3"}]}`, reasonBadChange, `schema: $.outline: tree instruction 0: action must be "create", "move" or "delete"`},
		{"nullable map", Path{"cover"}, `{"type":"map","set":{"url":"u"}}`, "", ""},
		{"below any", Path{"data", "x"}, `{"type":"increment","amount":1}`, "", ""},
		{"unknown type", Path{"title"}, `{"type":"splice"}`, reasonUnknownChange, `schema: $.title: unknown change type "splice"`},
		{"no type", Path{"title"}, `{"value":1}`, reasonBadChange, `schema: $.title: change has no string "type"`},
		{"not an object", Path{"title"}, `[1]`, reasonBadChange, "schema: $.title: want a change object, got array"},
		{"bad path", Path{"nope"}, `{"type":"replace","value":1}`, reasonBadPath, `schema: $.nope: the schema has no field "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkErr(t, s.ValidateChange(c.path, json.RawMessage(c.change)), c.code, c.msg)
			// The same change as a decoded map gives the same answer.
			var m any
			if err := json.Unmarshal([]byte(c.change), &m); err != nil {
				t.Fatal(err)
			}
			checkErr(t, s.ValidateChange(c.path, m), c.code, c.msg)
		})
	}
}

func TestValidateInvalidSchema(t *testing.T) {
	bad := Struct(F("a", nil))
	for _, err := range []error{bad.Validate(nil), bad.ValidateAt(nil, nil), bad.ValidateChange(nil, map[string]any{"type": "replace", "value": nil})} {
		checkErr(t, err, reasonInvalidSchema, "")
	}
}

func TestComplete(t *testing.T) {
	s := Struct(
		F("title", String()),
		F("level", Number(2, 3)),
		F("items", List(Struct(F("title", String()), F("done", Boolean())))),
		F("meta", Record(Struct(F("n", Number())))),
		F("cover", Struct(F("url", String()), F("w", Number())).Nullable()),
		F("shape", DiscriminatedUnion("type",
			Struct(F("type", String("circle")), F("r", Number())),
			Struct(F("type", String("rect")), F("w", Number())))),
		F("data", Any()),
	)
	cases := []struct{ in, want string }{
		{`{}`, `{"title":"","level":2,"items":[],"meta":{},"cover":null,"shape":{"type":"circle","r":0}}`},
		{`{"items":[{"title":"a"},{"done":true}],"meta":{"k":{}},"cover":{"url":"u"},"shape":{"type":"rect"}}`,
			`{"title":"","level":2,"items":[{"title":"a","done":false},{"title":"","done":true}],"meta":{"k":{"n":0}},"cover":{"url":"u","w":0},"shape":{"type":"rect","w":0}}`},
		{`{"items":null,"meta":null,"title":null,"cover":null,"data":null}`, `{"title":"","level":2,"items":[],"meta":{},"cover":null,"shape":{"type":"circle","r":0},"data":null}`},
		// Objects below Schema.any() keep the order they came in.
		{`{"data":{"b":1,"a":{"c":[{"d":2}]}}}`, `{"title":"","level":2,"items":[],"meta":{},"cover":null,"shape":{"type":"circle","r":0},"data":{"b":1,"a":{"c":[{"d":2}]}}}`},
		{`{"extra":1,"title":7}`, `{"title":7,"level":2,"items":[],"meta":{},"cover":null,"shape":{"type":"circle","r":0},"extra":1}`},
	}
	for _, c := range cases {
		got, err := s.Complete(json.RawMessage(c.in))
		if err != nil {
			t.Fatal(err)
		}
		b, err := AppendJSON(nil, got)
		if err != nil || string(b) != c.want {
			t.Errorf("Complete(%s)\n got %s, %v\nwant %s", c.in, b, err, c.want)
		}
	}
	// A Go map below Schema.any() completes to something AppendJSON writes.
	anyMap, err := s.Complete(map[string]any{"data": map[string]any{"z": 1, "2": []any{map[string]any{"k": "v"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := AppendJSON(nil, anyMap); err != nil || !strings.HasSuffix(string(b), `"data":{"2":[{"k":"v"}],"z":1}}`) {
		t.Errorf("Complete(map under any) = %s, %v", b, err)
	}
	if _, err := s.Complete(make(chan int)); !errors.Is(err, errTypeMismatch) {
		t.Errorf("Complete(chan): %v", err)
	}
	// A completed value is valid unless it carries its own mistakes.
	got, _ := s.Complete(map[string]any{"items": []any{map[string]any{}}})
	if err := s.Validate(got); err != nil {
		t.Error(err)
	}
}

// Every reason's code, spelled out so a change shows up in review.
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"syntax":           kyneta.CodeMalformed,
		"invalid-schema":   kyneta.CodeInvalidArgument,
		"binding-rejects":  kyneta.CodeUnsupported,
		"type-mismatch":    kyneta.CodeInvalidArgument,
		"not-allowed":      kyneta.CodeInvalidArgument,
		"missing-field":    kyneta.CodeInvalidArgument,
		"unknown-field":    kyneta.CodeInvalidArgument,
		"unknown-variant":  kyneta.CodeInvalidArgument,
		"no-variant":       kyneta.CodeInvalidArgument,
		"duplicate-member": kyneta.CodeInvalidArgument,
		"invalid-tree":     kyneta.CodeInvalidArgument,
		"bad-path":         kyneta.CodeInvalidArgument,
		"bad-change":       kyneta.CodeInvalidArgument,
		"unknown-change":   kyneta.CodeUnsupported,
		"unsupported-type": kyneta.CodeUnsupported,
	}
	if len(want) != len(reasonCodes) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		err := &Error{Reason: reason, Path: "$.x"}
		if kyneta.CodeOf(err) != code || kyneta.ReasonOf(err) != reason || !errors.Is(err, &kyneta.Error{Pkg: "schema", Reason: reason, Code: code}) {
			t.Errorf("%s: code %s, want %s", reason, kyneta.CodeOf(err), code)
		}
	}
}
