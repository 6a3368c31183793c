package schema

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// vectorCase is one case of testdata/schema/vectors.json (see its README).
type vectorCase struct {
	Name           string          `json:"name"`
	Binding        string          `json:"binding"`
	Schema         json.RawMessage `json:"schema"`
	SchemaHash     string          `json:"schemaHash"`
	Zero           json.RawMessage `json:"zero"`
	ZeroJSON       string          `json:"zeroJson"`
	ZeroTyped      json.RawMessage `json:"zeroTyped"`
	Canonical      string          `json:"canonical"`
	ZeroQuirk      bool            `json:"zeroQuirk"`
	ZeroStructural json.RawMessage `json:"zeroStructural"`
}

// loadVectors reads the reference's schema vectors. The project keeps its
// own copy in testdata/schema, so the test never skips;
// KYNETA_SCHEMA_VECTORS names another directory in the same format.
func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	var cases []vectorCase
	if err := json.Unmarshal(vectorBytes(t), &cases); err != nil {
		t.Fatalf("decode schema vectors: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("schema vectors: no cases")
	}
	return cases
}

// vectorBytes reads vectors.json.
func vectorBytes(t testing.TB) []byte {
	t.Helper()
	dir := os.Getenv("KYNETA_SCHEMA_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "schema")
	}
	data, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatalf("schema vectors not found in %s (the project keeps them in testdata/schema; KYNETA_SCHEMA_VECTORS overrides): %v", dir, err)
	}
	return data
}

func TestVectors(t *testing.T) {
	for _, c := range loadVectors(t) {
		t.Run(c.Name, func(t *testing.T) {
			s, err := ParseJSON(c.Schema)
			if err != nil {
				t.Fatalf("ParseJSON: %v", err)
			}
			canon, err := s.Canonical()
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			if canon != c.Canonical {
				t.Errorf("canonical\n got %s\nwant %s", canon, c.Canonical)
			}
			h, err := s.Hash()
			if err != nil || h != c.SchemaHash {
				t.Errorf("Hash = %q, %v; want %q", h, err, c.SchemaHash)
			}
			b, err := ParseBinding(c.Binding)
			if err != nil {
				t.Fatal(err)
			}
			bound, err := Bind(b, s)
			if err != nil {
				t.Fatalf("Bind(%s): %v", b, err)
			}
			if bound.Hash() != c.SchemaHash {
				t.Errorf("bound hash %s, want %s", bound.Hash(), c.SchemaHash)
			}
			// The binding never changes the hash; the reference's rules
			// decide which bindings accept the schema.
			for _, other := range bindings() {
				if ob, err := Bind(other, s); err == nil && ob.Hash() != c.SchemaHash {
					t.Errorf("hash under %s = %s", other, ob.Hash())
				}
			}

			zero, err := s.Zero(b)
			if err != nil {
				t.Fatalf("Zero: %v", err)
			}
			gotTyped := taggedJSON(t, zero)
			if c.ZeroQuirk {
				checkQuirkZero(t, zero, c.ZeroStructural)
				return
			}
			if want := reencode(t, c.ZeroTyped); gotTyped != want {
				t.Errorf("typed zero\n got %s\nwant %s", gotTyped, want)
			}
			zj, err := s.ZeroJSON(b)
			if err != nil {
				t.Fatalf("ZeroJSON: %v", err)
			}
			if string(zj) != c.ZeroJSON {
				t.Errorf("zero JSON\n got %s\nwant %s", zj, c.ZeroJSON)
			}
			if !bytes.Equal(bound.ZeroJSON(), zj) {
				t.Errorf("bound zero JSON %s, want %s", bound.ZeroJSON(), zj)
			}
			var gotZero, wantZero any
			if err := json.Unmarshal(zj, &gotZero); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(c.Zero, &wantZero); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotZero, wantZero) {
				t.Errorf("zero %v, want %v", gotZero, wantZero)
			}
			// A fresh document is a valid document (bytes on state are
			// the reference's plain {} and are not bytes).
			if b != BindingState || !hasKind(s, KindBytes) {
				if err := s.Validate(zero); err != nil {
					t.Errorf("zero does not validate: %v", err)
				}
			}
		})
	}
}

// checkQuirkZero compares a zero whose TypeScript reading is a reference
// bug with Zero.structural. The one place the Go zero differs from that
// too: a "__proto__" field, which a JavaScript object cannot hold as its
// own key when assigned, gets its zero like any other field.
func checkQuirkZero(t *testing.T, zero any, structural json.RawMessage) {
	t.Helper()
	if structural == nil {
		t.Fatal("quirk case without zeroStructural")
	}
	obj, ok := zero.(Object)
	if !ok {
		t.Fatalf("zero is %T, want Object", zero)
	}
	rest := Object{}
	for _, m := range obj {
		if m.Key == "__proto__" {
			continue
		}
		rest = append(rest, m)
	}
	if got, want := taggedJSON(t, rest), reencode(t, structural); got != want {
		t.Errorf("zero (without __proto__)\n got %s\nwant %s", got, want)
	}
}

func hasKind(s *Schema, k Kind) bool {
	if s.kind == k {
		return true
	}
	cs, _ := children(s)
	for _, c := range cs {
		if hasKind(c, k) {
			return true
		}
	}
	return false
}

// taggedJSON writes a zero in the vectors' zeroTyped form: undefined as
// {"$undefined":true}, bytes as {"$bytes":"<base64>"}.
func taggedJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := AppendJSON(nil, tag(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tag(v any) any {
	switch v := v.(type) {
	case UndefinedValue:
		return Object{{"$undefined", true}}
	case []byte:
		return Object{{"$bytes", base64.StdEncoding.EncodeToString(v)}}
	case Object:
		o := make(Object, len(v))
		for i, m := range v {
			o[i] = Member{m.Key, tag(m.Value)}
		}
		return o
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = tag(x)
		}
		return a
	}
	return v
}

// reencode parses JSON text keeping its key order and writes it back in
// the form AppendJSON writes, so two texts compare byte for byte.
func reencode(t testing.TB, raw []byte) string {
	t.Helper()
	v, err := jsjson.Parse(raw, nil)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	b, err := AppendJSON(nil, ordered(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ordered(v any) any {
	switch v := v.(type) {
	case []jsjson.Member:
		o := make(Object, len(v))
		for i, m := range v {
			o[i] = Member{m.Key, ordered(m.Value)}
		}
		return o
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = ordered(x)
		}
		return a
	}
	return v
}
