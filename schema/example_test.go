package schema_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/schema"
)

// A schema defined in Go has the hash the TypeScript stack computes for
// json.bind(Schema.struct({title: Schema.string(), count: Schema.number(),
// body: Schema.string(), data: Schema.any()})).
func Example() {
	doc := schema.Struct(
		schema.F("title", schema.String()),
		schema.F("count", schema.Number()),
		schema.F("body", schema.String()),
		schema.F("data", schema.Any()),
	)
	bound, err := schema.Bind(schema.BindingJSON, doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bound.Hash())
	fmt.Println(string(bound.ZeroJSON()))
	// Output:
	// 0280abfab43523f087d591c1208a15e5a7
	// {"title":"","count":0,"body":""}
}

// Validation names the path of the first problem.
func ExampleSchema_Validate() {
	doc := schema.Struct(
		schema.F("items", schema.List(schema.Struct(
			schema.F("title", schema.String()),
			schema.F("done", schema.Boolean()),
		))),
	)
	err := doc.Validate(map[string]any{"items": []any{
		map[string]any{"title": "a", "done": true},
		map[string]any{"title": "b", "done": false},
		map[string]any{"title": 3, "done": false},
	}})
	fmt.Println(err)
	var e *schema.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, e.Path)
	}
	// Output:
	// schema: $.items[2].title: want string, got number
	// type-mismatch $.items[2].title
}

// Changes are checked before they are applied.
func ExampleSchema_ValidateChange() {
	doc := schema.Struct(
		schema.F("clicks", schema.Counter()),
		schema.F("title", schema.String()),
	)
	fmt.Println(doc.ValidateChange(schema.Path{"clicks"}, map[string]any{"type": "increment", "amount": 1}))
	fmt.Println(doc.ValidateChange(schema.Path{"title"}, map[string]any{"type": "increment", "amount": 1}))
	// Output:
	// <nil>
	// schema: $.title: "increment" change does not apply to string
}

// A Go struct type gives the schema a TypeScript app declares for the
// same shape.
func ExampleFor() {
	type Todo struct {
		Title string `json:"title"`
		Done  bool   `json:"done"`
	}
	type Doc struct {
		Title  string `json:"title"`
		Body   string `json:"body" kyneta:"text"`
		Status string `json:"status" kyneta:"options=draft|published"`
		Todos  []Todo `json:"todos"`
	}
	s, err := schema.For[Doc]()
	if err != nil {
		fmt.Println(err)
		return
	}
	form, _ := s.MarshalJSON()
	os.Stdout.Write(append(form, '\n'))
	z, _ := s.ZeroJSON(schema.BindingJSON)
	fmt.Println(string(z))
	// Output:
	// {"kind":"struct","fields":[["title",{"kind":"string"}],["body",{"kind":"text"}],["status",{"kind":"string","options":["draft","published"]}],["todos",{"kind":"list","item":{"kind":"struct","fields":[["title",{"kind":"string"}],["done",{"kind":"boolean"}]]}}]]}
	// {"title":"","body":"","status":"draft","todos":[]}
}

// The neutral JSON form of the reference's vectors.
func ExampleParseJSON() {
	s, err := schema.ParseJSON([]byte(`{"kind":"struct","fields":[["value",{"kind":"string"}]]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, _ := s.Canonical()
	h, _ := s.Hash()
	fmt.Println(c)
	fmt.Println(h)
	// Output:
	// ["p",[["value",["s","string"]]]]
	// 0249d680cdf08e0a2a9966b4106c2f8d04
}

// A binding refuses what it cannot hold.
func ExampleBind() {
	doc := schema.Struct(schema.F("clicks", schema.Counter()))
	_, err := schema.Bind(schema.BindingYjs, doc)
	fmt.Println(err)
	fmt.Println(kyneta.ReasonOf(err) == "binding-rejects", kyneta.CodeOf(err) == kyneta.CodeUnsupported)
	// Output:
	// schema: $.clicks: the yjs binding does not support counter (composition law additive)
	// true true
}
