package schema

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseJSON feeds arbitrary bytes to the neutral-form parser. Seeds:
// testdata/fuzz/FuzzParseJSON (every vector's schema and some broken
// ones). A parsed schema must hash, write back to a fixed point with the
// same hash, and give each binding a zero that is valid JSON and (where
// the binding accepts the schema) a valid value of the schema.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"kind":"struct","fields":[["title",{"kind":"string"}]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseJSON(data)
		if err != nil {
			if !errors.Is(err, errSyntax) && !errors.Is(err, errInvalidSchema) {
				t.Fatalf("error %v has an unexpected code", err)
			}
			return
		}
		h, err := s.Hash()
		if err != nil {
			t.Fatalf("parsed schema does not hash: %v", err)
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		back, err := ParseJSON(out)
		if err != nil {
			t.Fatalf("written form %s does not parse: %v", out, err)
		}
		if h2, _ := back.Hash(); h2 != h {
			t.Fatalf("hash changed through %s: %s -> %s", out, h, h2)
		}
		if again, _ := back.MarshalJSON(); string(again) != string(out) {
			t.Fatalf("written form is not a fixed point:\n%s\n%s", out, again)
		}
		for _, b := range bindings() {
			z, err := s.Zero(b)
			if err != nil {
				if !errors.Is(err, errInvalidSchema) {
					t.Fatalf("Zero(%s): %v", b, err)
				}
				continue
			}
			zj, err := AppendJSON(nil, z)
			if err != nil || !json.Valid(zj) {
				t.Fatalf("zero JSON %s: %v", zj, err)
			}
			if s.Check(b) != nil || b == BindingState && hasKind(s, KindBytes) {
				continue
			}
			if err := s.Validate(z); err != nil {
				t.Fatalf("%s zero %s does not validate: %v", b, zj, err)
			}
		}
	})
}

// FuzzValidateChange checks arbitrary JSON changes against a schema that
// has every kind: the answer is nil or an *Error, never a panic.
func FuzzValidateChange(f *testing.F) {
	f.Add([]byte(`{"type":"sequence","instructions":[{"retain":1},{"insert":[{"title":"x","done":false}]}]}`), "items")
	f.Add([]byte(`{"type":"map","set":{"title":1},"delete":["data"]}`), "")
	f.Add([]byte(`{"type":"tree","instructions":[{"action":"create","target":"a","parent":null,"index":0}]}`), "outline")
	f.Add([]byte(`{"type":"replace","value":[{"id":"a","parent":"a","index":0,"data":{"label":""}}]}`), "outline")
	s := testDoc()
	f.Fuzz(func(t *testing.T, change []byte, field string) {
		var path Path
		if field != "" {
			path = Path{field}
		}
		for _, c := range []any{json.RawMessage(change), decoded(change)} {
			err := s.ValidateChange(path, c)
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
		}
	})
}

func decoded(b []byte) any {
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}
