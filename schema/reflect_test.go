package schema

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

type todo struct {
	Title string   `json:"title"`
	Done  bool     `json:"done"`
	Tags  []string `json:"tags,omitempty"`
}

type base struct {
	ID      string `json:"id"`
	Created time.Time
	Shadow  int `json:"shadow"`
}

type doc struct {
	base                          // promoted: id, Created, shadow (loses to the outer one)
	Title   string                `json:"title"`
	Body    string                `json:"body" kyneta:"text"`
	Clicks  int                   `json:"clicks" kyneta:"counter"`
	Status  string                `json:"status" kyneta:"options=draft|published"`
	Level   float64               `json:"level" kyneta:"options=1|2.5"`
	Todos   []todo                `json:"todos"`
	Meta    map[string]float64    `json:"meta,omitempty" kyneta:"json"`
	Cover   *struct{ URL string } `json:"cover"`
	Data    any                   `json:"data"`
	Raw     json.RawMessage       `json:"raw"`
	Blob    []byte                `json:"blob"`
	Count   int64                 `json:"count,string"`
	Members []string              `json:"members" kyneta:"set"`
	Shadow  string                `json:"shadow"`
	Skip    string                `json:"-"`
	hidden  string
}

func TestFromType(t *testing.T) {
	got, err := For[doc]()
	if err != nil {
		t.Fatal(err)
	}
	want := Struct(
		F("id", String()),
		F("Created", String()),
		F("title", String()),
		F("body", Text()),
		F("clicks", Counter()),
		F("status", String("draft", "published")),
		F("level", Number(1, 2.5)),
		F("todos", List(Struct(F("title", String()), F("done", Boolean()), F("tags", List(String()))))),
		F("meta", RecordJSON(Number())),
		F("cover", Struct(F("URL", String())).Nullable()),
		F("data", Any()),
		F("raw", Any()),
		F("blob", String()),
		F("count", String()),
		F("members", Set(String())),
		F("shadow", String()),
	)
	gj, _ := got.MarshalJSON()
	wj, _ := want.MarshalJSON()
	if string(gj) != string(wj) {
		t.Errorf("derived\n got %s\nwant %s", gj, wj)
	}
	gh, _ := got.Hash()
	wh, _ := want.Hash()
	if gh != wh {
		t.Errorf("hash %s, want %s", gh, wh)
	}
	// A value of the type, written by encoding/json, validates.
	v := doc{Title: "t", Status: "draft", Level: 1, Members: []string{"a"}, Todos: []todo{{Title: "x", Tags: []string{}}}, Meta: map[string]float64{}}
	v.Created = time.Unix(0, 0).UTC()
	v.hidden = "unexported fields are neither in the schema nor written"
	// omitempty left todos[0].tags and meta out: Validate wants them,
	// Complete fills them in with their zero.
	if err := got.Validate(v); !errors.Is(err, errMissingField) || err.Error() != "schema: $.todos[0].tags: want array, got missing" {
		t.Errorf("omitempty field: %v", err)
	}
	c, err := got.Complete(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(c); err != nil {
		t.Errorf("a completed doc value does not validate: %v", err)
	}
	v.Todos[0].Tags = []string{"x"}
	v.Meta = map[string]float64{"k": 1}
	v.Blob = []byte{1}
	if err := got.Validate(v); err != nil {
		t.Errorf("a doc value does not validate: %v", err)
	}
	v.Status = "gone"
	if err := got.Validate(v); !errors.Is(err, errNotAllowed) {
		t.Errorf("bad status: %v", err)
	}
}

// The harness default schema written as a Go struct has the reference's
// hash for it (vector default-json).
func TestFromTypeMatchesVector(t *testing.T) {
	type harness struct {
		Title string  `json:"title"`
		Count float64 `json:"count"`
		Body  string  `json:"body"`
		Data  any     `json:"data"`
	}
	s, err := For[harness]()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.Hash()
	for _, c := range loadVectors(t) {
		if c.Name == "default-json" && h != c.SchemaHash {
			t.Errorf("hash %s, want %s", h, c.SchemaHash)
		}
	}
}

type shape struct {
	Type string  `json:"type"`
	R    float64 `json:"r,omitempty"`
	W    float64 `json:"w,omitempty"`
}

func (shape) KynetaSchema() *Schema {
	return DiscriminatedUnion("type",
		Struct(F("type", String("circle")), F("r", Number())),
		Struct(F("type", String("rect")), F("w", Number())))
}

type withShape struct {
	Shape  shape  `json:"shape"`
	Shapes *shape `json:"maybe"`
}

type treeNode struct {
	Children []treeNode `json:"children"`
}

type ptrNode struct {
	Next *ptrNode `json:"next"`
}

func TestFromTypeProviderAndErrors(t *testing.T) {
	s, err := For[withShape]()
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Field("shape"); f.Kind() != KindDiscriminatedUnion {
		t.Errorf("shape is %s", f.Kind())
	}
	if f, _ := s.Field("maybe"); !f.IsNullable() || f.Variants()[1].Kind() != KindDiscriminatedUnion {
		t.Errorf("maybe is %s", f.Kind())
	}
	cases := []struct {
		typ reflect.Type
		msg string
	}{
		{reflect.TypeFor[treeNode](), "schema: $.children[]: schema.treeNode: recursive types have no schema; use Tree, Any or a Provider"},
		{reflect.TypeFor[ptrNode](), "schema: $.next: schema.ptrNode: recursive types have no schema; use Tree, Any or a Provider"},
		{reflect.TypeFor[struct{ C chan int }](), "schema: $.C: chan int: has no JSON form"},
		{reflect.TypeFor[map[[2]int]string](), "schema: $: map[[2]int]string: map keys must be strings, integers or encoding.TextMarshaler"},
		{reflect.TypeFor[struct {
			N int `kyneta:"text"`
		}](), `schema: $.N: kyneta:"text" does not apply to int (number)`},
		{reflect.TypeFor[struct {
			N int `kyneta:"options=a"`
		}](), `schema: $.N: schema: option "a" is not a number`},
		{reflect.TypeFor[struct {
			N int `kyneta:"fancy"`
		}](), `schema: $.N: unknown kyneta tag directive "fancy"`},
		{reflect.TypeFor[struct {
			N string `kyneta:"json"`
		}](), `schema: $.N: kyneta:"json" does not apply to string (string)`},
		{nil, "schema: $: nil type"},
	}
	for _, c := range cases {
		_, err := FromType(c.typ)
		if !errors.Is(err, errUnsupportedType) || err.Error() != c.msg {
			t.Errorf("%v:\n got %v\nwant %s", c.typ, err, c.msg)
		}
	}
}

// Embedded-struct conflicts follow encoding/json: compare the derived
// field names with the keys json.Marshal writes.
func TestFromTypeEmbeddingLikeEncodingJSON(t *testing.T) {
	type A struct {
		X int
		Y int `json:"y"`
	}
	type B struct {
		X int
		Y int
		Z int
	}
	type C struct {
		A
		*B
		Z string `json:"Z"`
	}
	s, err := For[C]()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	b, _ := json.Marshal(C{B: &B{}})
	var m Object
	parsed, _ := parseModel(b)
	m = parsed.(Object)
	var keys []string
	for _, e := range m {
		keys = append(keys, e.Key)
	}
	if !reflect.DeepEqual(names, keys) {
		t.Errorf("schema fields %v, encoding/json keys %v", names, keys)
	}
}
