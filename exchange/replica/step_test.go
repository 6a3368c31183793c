package replica

import (
	"errors"
	"testing"
)

// applyJSON materializes ops (given as a since-batch JSON array) onto the
// state given as JSON, and returns the resulting JSON.
func applyJSON(t *testing.T, state, batch string) string {
	t.Helper()
	v, err := ParseValue([]byte(state))
	if err != nil {
		t.Fatalf("state %s: %v", state, err)
	}
	root := v.(*Object)
	batches, err := parseOps([]byte("[" + batch + "]"))
	if err != nil {
		t.Fatalf("ops %s: %v", batch, err)
	}
	for _, op := range batches[0] {
		st, err := op.Change.stepper()
		if err != nil {
			t.Fatalf("op %s: %v", batch, err)
		}
		applyOp(root, op.Path, st)
	}
	return string(encodeValue(root))
}

const (
	fieldA = `{"type":"field","field":"a"}`
	fieldB = `{"type":"field","field":"b"}`
)

func op(path, change string) string { return `{"path":[` + path + `],"change":` + change + `}` }

func TestMaterialize(t *testing.T) {
	cases := []struct {
		name, state, batch, want string
	}{
		// replace
		{"replace field", `{"a":1}`, `[` + op(fieldA, `{"type":"replace","value":{"x":[1]}}`) + `]`, `{"a":{"x":[1]}}`},
		{"replace new key appends", `{"a":1}`, `[` + op(fieldB, `{"type":"replace","value":2}`) + `]`, `{"a":1,"b":2}`},
		{"replace without value deletes", `{"a":1,"b":2}`, `[` + op(fieldA, `{"type":"replace"}`) + `]`, `{"b":2}`},
		{"replace nested creates objects", `{}`, `[` + op(fieldA+`,`+fieldB, `{"type":"replace","value":true}`) + `]`, `{"a":{"b":true}}`},
		{"replace through scalar", `{"a":5}`, `[` + op(fieldA+`,`+fieldB, `{"type":"replace","value":1}`) + `]`, `{"a":{"b":1}}`},
		{"replace root object", `{"a":1,"b":2}`, `[` + op(``, `{"type":"replace","value":{"c":3,"b":4}}`) + `]`, `{"b":4,"c":3}`},
		{"replace root scalar ignored", `{"a":1}`, `[` + op(``, `{"type":"replace","value":7}`) + `]`, `{"a":1}`},
		{"replace list item", `{"a":[1,2,3]}`, `[` + op(fieldA+`,{"type":"index","index":1}`, `{"type":"replace","value":9}`) + `]`, `{"a":[1,9,3]}`},
		{"replace past end of list", `{"a":[1]}`, `[` + op(fieldA+`,{"type":"index","index":3}`, `{"type":"replace","value":9}`) + `]`, `{"a":[1,null,null,9]}`},
		{"replace far past end ignored", `{"a":[1]}`, `[` + op(fieldA+`,{"type":"index","index":5000}`, `{"type":"replace","value":9}`) + `]`, `{"a":[1]}`},
		{"named property on list ignored", `{"a":[1]}`, `[` + op(fieldA+`,`+fieldB, `{"type":"replace","value":9}`) + `]`, `{"a":[1]}`},
		{"index key on object", `{"a":{"x":1}}`, `[` + op(fieldA+`,{"type":"index","index":0}`, `{"type":"replace","value":9}`) + `]`, `{"a":{"0":9,"x":1}}`},
		// map: delete then set
		{"map set and delete", `{"m":{"x":1,"y":2}}`, `[` + op(`{"type":"field","field":"m"}`, `{"type":"map","set":{"z":3,"x":4},"delete":["y","x"]}`) + `]`, `{"m":{"z":3,"x":4}}`},
		{"map on missing", `{}`, `[` + op(`{"type":"field","field":"m"}`, `{"type":"map","set":{"k":"v"}}`) + `]`, `{"m":{"k":"v"}}`},
		{"map at root", `{"a":1,"b":2}`, `[` + op(``, `{"type":"map","delete":["a"],"set":{"c":3}}`) + `]`, `{"b":2,"c":3}`},
		{"map null fields", `{"m":{"x":1}}`, `[` + op(`{"type":"field","field":"m"}`, `{"type":"map","set":null,"delete":null}`) + `]`, `{"m":{"x":1}}`},
		{"map entry segment", `{"m":{"k":{"n":1}}}`, `[` + op(`{"type":"field","field":"m"},{"type":"entry","entry":"k"},{"type":"field","field":"n"}`, `{"type":"increment","amount":2}`) + `]`, `{"m":{"k":{"n":3}}}`},
		// sequence
		{"sequence insert", `{"l":[1,2,3]}`, `[` + op(`{"type":"field","field":"l"}`, `{"type":"sequence","instructions":[{"retain":1},{"insert":[10,20]},{"delete":1}]}`) + `]`, `{"l":[1,10,20,3]}`},
		{"sequence on missing", `{}`, `[` + op(`{"type":"field","field":"l"}`, `{"type":"sequence","instructions":[{"insert":["a"]}]}`) + `]`, `{"l":["a"]}`},
		{"sequence over-retain clamps", `{"l":[1]}`, `[` + op(`{"type":"field","field":"l"}`, `{"type":"sequence","instructions":[{"retain":9007199254740991},{"insert":[2]},{"delete":99}]}`) + `]`, `{"l":[1,2]}`},
		{"sequence empty instruction ignored", `{"l":[1]}`, `[` + op(`{"type":"field","field":"l"}`, `{"type":"sequence","instructions":[{},{"insert":[0]}]}`) + `]`, `{"l":[0,1]}`},
		// text: UTF-16 code units
		{"text insert", `{"t":"Hello"}`, `[` + op(`{"type":"field","field":"t"}`, `{"type":"text","instructions":[{"retain":5},{"insert":" World"}]}`) + `]`, `{"t":"Hello World"}`},
		{"text after astral", `{"t":"a😀b"}`, `[` + op(`{"type":"field","field":"t"}`, `{"type":"text","instructions":[{"retain":3},{"insert":"X"}]}`) + `]`, `{"t":"a😀Xb"}`},
		{"text delete astral", `{"t":"a😀b"}`, `[` + op(`{"type":"field","field":"t"}`, `{"type":"text","instructions":[{"retain":1},{"delete":2}]}`) + `]`, `{"t":"ab"}`},
		{"text split surrogate", `{"t":"a😀b"}`, `[` + op(`{"type":"field","field":"t"}`, `{"type":"text","instructions":[{"retain":2},{"delete":1}]}`) + `]`, "{\"t\":\"a\uFFFDb\"}"},
		{"text bmp non-ascii", `{"t":"héllo"}`, `[` + op(`{"type":"field","field":"t"}`, `{"type":"text","instructions":[{"retain":2},{"delete":2},{"insert":"✓"}]}`) + `]`, `{"t":"hé✓o"}`},
		{"text on missing", `{}`, `[` + op(`{"type":"field","field":"t"}`, `{"type":"text","instructions":[{"retain":3},{"insert":"x"}]}`) + `]`, `{"t":"x"}`},
		{"text on number", `{"t":5}`, `[` + op(`{"type":"field","field":"t"}`, `{"type":"text","instructions":[{"insert":"x"}]}`) + `]`, `{"t":"x"}`},
		// increment
		{"increment", `{"n":1.5}`, `[` + op(`{"type":"field","field":"n"}`, `{"type":"increment","amount":-3}`) + `]`, `{"n":-1.5}`},
		{"increment missing", `{}`, `[` + op(`{"type":"field","field":"n"}`, `{"type":"increment","amount":2}`) + `]`, `{"n":2}`},
		// set-op
		{"set add remove", `{"s":["a","b"]}`, `[` + op(`{"type":"field","field":"s"}`, `{"type":"set-op","add":["c","a"],"remove":["a"]}`) + `]`, `{"s":["b","c"]}`},
		{"set add idempotent", `{"s":[{"x":1,"y":2}]}`, `[` + op(`{"type":"field","field":"s"}`, `{"type":"set-op","add":[{"y":2,"x":1},"d","d"]}`) + `]`, `{"s":[{"x":1,"y":2},"d"]}`},
		{"set remove wins", `{}`, `[` + op(`{"type":"field","field":"s"}`, `{"type":"set-op","add":[[1,2]],"remove":[[1,2]]}`) + `]`, `{"s":[]}`},
		// tree
		{"tree create move delete", `{}`, `[` + op(`{"type":"field","field":"tr"}`, `{"type":"tree","instructions":[`+
			`{"action":"create","target":"n1","parent":null,"index":0},`+
			`{"action":"create","target":"n2","parent":"n1","index":0},`+
			`{"action":"move","target":"n2","parent":null,"index":1},`+
			`{"action":"bogus","target":"n1"},`+
			`{"action":"delete","target":"n1"}]}`) + `]`,
			`{"tr":[{"id":"n2","parent":null,"index":1,"data":{}}]}`},
		{"tree node data path", `{"tr":[{"id":"n1","parent":null,"index":0,"data":{}}]}`,
			`[` + op(`{"type":"field","field":"tr"},{"type":"entry","entry":"n1"},{"type":"field","field":"label"}`, `{"type":"replace","value":"x"}`) + `]`,
			`{"tr":[{"id":"n1","parent":null,"index":0,"data":{"label":"x"}}]}`},
		{"tree missing node ignored", `{"tr":[{"id":"n1","parent":null,"index":0,"data":{}}]}`,
			`[` + op(`{"type":"field","field":"tr"},{"type":"entry","entry":"nope"},{"type":"field","field":"label"}`, `{"type":"replace","value":"x"}`) + `]`,
			`{"tr":[{"id":"n1","parent":null,"index":0,"data":{}}]}`},
		// richtext
		{"richtext insert", `{}`, `[` + op(`{"type":"field","field":"r"}`, `{"type":"richtext","instructions":[{"insert":"Hello"},{"insert":" bold","marks":{"bold":true}}]}`) + `]`,
			`{"r":[{"text":"Hello"},{"text":" bold","marks":{"bold":true}}]}`},
		{"richtext format merges", `{"r":[{"text":"Hello"},{"text":" bold","marks":{"bold":true}}]}`,
			`[` + op(`{"type":"field","field":"r"}`, `{"type":"richtext","instructions":[{"format":5,"marks":{"bold":true}}]}`) + `]`,
			`{"r":[{"text":"Hello bold","marks":{"bold":true}}]}`},
		{"richtext unformat", `{"r":[{"text":"Hello","marks":{"bold":true,"i":1}}]}`,
			`[` + op(`{"type":"field","field":"r"}`, `{"type":"richtext","instructions":[{"retain":1},{"format":2,"marks":{"bold":null}}]}`) + `]`,
			`{"r":[{"text":"H","marks":{"bold":true,"i":1}},{"text":"el","marks":{"i":1}},{"text":"lo","marks":{"bold":true,"i":1}}]}`},
		{"richtext delete and split", `{"r":[{"text":"abc"},{"text":"def","marks":{"u":true}}]}`,
			`[` + op(`{"type":"field","field":"r"}`, `{"type":"richtext","instructions":[{"retain":2},{"delete":2},{"insert":"X"}]}`) + `]`,
			`{"r":[{"text":"abX"},{"text":"ef","marks":{"u":true}}]}`},
		{"richtext astral", `{"r":[{"text":"😀😀"}]}`,
			`[` + op(`{"type":"field","field":"r"}`, `{"type":"richtext","instructions":[{"retain":2},{"format":2,"marks":{"b":true}}]}`) + `]`,
			`{"r":[{"text":"😀"},{"text":"😀","marks":{"b":true}}]}`},
		{"richtext drops empty", `{"r":[{"text":""},{"text":"a"}]}`,
			`[` + op(`{"type":"field","field":"r"}`, `{"type":"richtext","instructions":[]}`) + `]`,
			`{"r":[{"text":"a"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := applyJSON(t, c.state, c.batch); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestChangeValidation(t *testing.T) {
	unknown := []string{`{"type":"loro-op"}`, `{"type":""}`}
	for _, u := range unknown {
		c, err := parseChange([]byte(u))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); !errors.Is(err, errUnknownChange) {
			t.Errorf("%s: %v, want ErrUnknownChange", u, err)
		}
	}
	invalid := []string{
		`{"type":"map","set":[1]}`,
		`{"type":"map","delete":"a"}`,
		`{"type":"map","delete":[1]}`,
		`{"type":"sequence"}`,
		`{"type":"sequence","instructions":[1]}`,
		`{"type":"sequence","instructions":[{"retain":-1}]}`,
		`{"type":"sequence","instructions":[{"retain":1.5}]}`,
		`{"type":"sequence","instructions":[{"insert":"x"}]}`,
		`{"type":"sequence","instructions":[{"delete":"1"}]}`,
		`{"type":"text","instructions":[{"insert":[1]}]}`,
		`{"type":"text","instructions":[{"delete":1e300}]}`,
		`{"type":"increment"}`,
		`{"type":"increment","amount":"1"}`,
		`{"type":"set-op","add":1}`,
		`{"type":"tree","instructions":[{"action":"create","target":1,"parent":null,"index":0}]}`,
		`{"type":"tree","instructions":[{"action":"move","target":"a","parent":1,"index":0}]}`,
		`{"type":"tree","instructions":[{"action":"create","target":"a","parent":null}]}`,
		`{"type":"richtext","instructions":[{"format":1}]}`,
		`{"type":"richtext","instructions":[{"insert":"a","marks":1}]}`,
		`{"type":"richtext","instructions":[{"insert":1}]}`,
	}
	for _, s := range invalid {
		c, err := parseChange([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); !errors.Is(err, errInvalidChange) {
			t.Errorf("%s: %v, want ErrInvalidChange", s, err)
		}
	}
	for _, s := range []string{`[]`, `{"type":1}`, `{}`, `nope`} {
		if _, err := parseChange([]byte(s)); !errors.Is(err, errMalformed) {
			t.Errorf("ParseChange(%s) = %v", s, err)
		}
	}
	if err := (Change{}).Validate(); !errors.Is(err, errInvalidChange) {
		t.Errorf("zero change: %v", err)
	}
	if _, err := NewChange(nil); !errors.Is(err, errMalformed) {
		t.Errorf("NewChange(nil) = %v", err)
	}
}

func TestChangeConstructorsEncodeLikeTheReference(t *testing.T) {
	r, _ := replaceChange(map[string]int{"x": 1})
	ms, _ := mapSetChange("k", "v")
	si, _ := sequenceInsertChange(2, 1, "a")
	sa, _ := setAddChange("x")
	sr, _ := setRemoveChange("x")
	cases := []struct {
		c    Change
		want string
	}{
		{r, `{"type":"replace","value":{"x":1}}`},
		{ms, `{"type":"map","set":{"k":"v"}}`},
		{mapDeleteChange("a", "b"), `{"type":"map","delete":["a","b"]}`},
		{si, `{"type":"sequence","instructions":[{"retain":2},{"insert":[1,"a"]}]}`},
		{sequenceDeleteChange(0, 3), `{"type":"sequence","instructions":[{"delete":3}]}`},
		{textInsertChange(0, "hi"), `{"type":"text","instructions":[{"insert":"hi"}]}`},
		{textDeleteChange(4, 1), `{"type":"text","instructions":[{"retain":4},{"delete":1}]}`},
		{incrementChange(-2), `{"type":"increment","amount":-2}`},
		{sa, `{"type":"set-op","add":["x"]}`},
		{sr, `{"type":"set-op","remove":["x"]}`},
	}
	for _, c := range cases {
		b, _ := c.c.MarshalJSON()
		if string(b) != c.want {
			t.Errorf("got %s, want %s", b, c.want)
		}
		if err := c.c.Validate(); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	if _, err := replaceChange(func() {}); !errors.Is(err, errInvalidValue) {
		t.Errorf("replaceChange(func) = %v", err)
	}
	if r.Type() != "replace" || (Change{}).Type() != "" {
		t.Error("Type")
	}
	o := r.Object()
	o.Set("value", 2)
	if b, _ := r.MarshalJSON(); string(b) != `{"type":"replace","value":{"x":1}}` {
		t.Error("Object must return a copy")
	}
}

func TestPathString(t *testing.T) {
	p := Path{Field("todos"), Index(2), Field("done")}
	if p.String() != "todos[2].done" || (Path{}).String() != "root" {
		t.Fatalf("%s", p)
	}
}

func TestParseOpsErrors(t *testing.T) {
	bad := []string{
		`{}`, `[1]`, `[[1]]`, `[[{"path":1,"change":{"type":"replace"}}]]`,
		`[[{"path":[1],"change":{"type":"replace"}}]]`,
		`[[{"path":[{"type":"weird"}],"change":{"type":"replace"}}]]`,
		`[[{"path":[{"type":"field","field":1}],"change":{"type":"replace"}}]]`,
		`[[{"path":[{"type":"index","index":-1}],"change":{"type":"replace"}}]]`,
		`[[{"path":[{"type":"index","index":0.5}],"change":{"type":"replace"}}]]`,
		`[[{"path":[],"change":1}]]`, `[[{"path":[],"change":{"type":2}}]]`,
	}
	for _, b := range bad {
		if _, err := parseOps([]byte(b)); !errors.Is(err, errMalformed) {
			t.Errorf("ParseOps(%s) = %v", b, err)
		}
	}
	in := `[[{"path":[{"type":"field","field":"a"},{"type":"index","index":3},{"type":"entry","entry":"k"}],"change":{"type":"x","extra":[1]}}],[]]`
	batches, err := parseOps([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(encodeOps(batches)); got != in {
		t.Fatalf("round trip:\n%s\n%s", got, in)
	}
}
