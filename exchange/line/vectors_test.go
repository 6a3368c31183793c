package line

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/kyneta-go/kyneta/schema"
)

// The line documents' schema hash equals the reference's
// createLineDocSchema hash for the same message schema (testdata/README.md).
func TestSchemaHashVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/hashes.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	type call struct {
		Method string   `json:"method"`
		ID     float64  `json:"id"`
		Args   []string `json:"args"`
		OK     bool     `json:"ok"`
	}
	got := map[string]string{}
	msg, err := NewProtocol[Msg, string]("t", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got["struct-text-n"], got["string"] = msg.ClientSchema().Hash(), msg.ServerSchema().Hash()
	anyP, err := NewProtocol[any, call]("t", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got["any"], got["struct-nested"] = anyP.ClientSchema().Hash(), anyP.ServerSchema().Hash()
	// A schema given explicitly instead of derived from the Go type.
	explicit, err := NewProtocol[json.RawMessage, json.RawMessage]("t", Options{
		ClientSchema: schema.Struct(schema.F("text", schema.String()), schema.F("n", schema.Number())),
	})
	if err != nil {
		t.Fatal(err)
	}
	if h := explicit.ClientSchema().Hash(); h != want["struct-text-n"] {
		t.Errorf("explicit schema: hash %s, want %s", h, want["struct-text-n"])
	}
	if len(want) != len(got) {
		t.Errorf("%d vectors, %d checked", len(want), len(got))
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s: hash %s, want %s (reference)", name, got[name], h)
		}
	}
}
