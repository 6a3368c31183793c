package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// schemaVectors reads the reference's schema vectors the project keeps.
func schemaVectors(t *testing.T) (path string, cases []struct {
	Name       string          `json:"name"`
	Schema     json.RawMessage `json:"schema"`
	SchemaHash string          `json:"schemaHash"`
	Binding    string          `json:"binding"`
}) {
	t.Helper()
	path = filepath.Join("..", "..", "testdata", "schema", "vectors.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("schema vectors missing (the project keeps them in testdata/schema): %v", err)
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return path, cases
}

func runSchema(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"schema"}, args...), &stdout, &stderr)
	return stdout.String(), err
}

func TestSchemaHashVectorFile(t *testing.T) {
	path, cases := schemaVectors(t)
	// The whole vector file: one "HASH  NAME" line per case.
	out, err := runSchema(t, "hash", path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d lines for %d cases", len(lines), len(cases))
	}
	for i, c := range cases {
		if want := c.SchemaHash + "  " + c.Name; lines[i] != want {
			t.Errorf("line %d: %q, want %q", i, lines[i], want)
		}
	}
	// One schema per file, and one case per file, with its binding.
	dir := t.TempDir()
	for _, c := range cases[:10] {
		schemaFile := filepath.Join(dir, c.Name+".schema.json")
		if err := os.WriteFile(schemaFile, c.Schema, 0o644); err != nil {
			t.Fatal(err)
		}
		caseJSON, _ := json.Marshal(c)
		caseFile := filepath.Join(dir, c.Name+".case.json")
		if err := os.WriteFile(caseFile, caseJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"hash", schemaFile}, {"hash", "--binding", c.Binding, caseFile}} {
			out, err := runSchema(t, args...)
			if err != nil || out != c.SchemaHash+"\n" {
				t.Errorf("%v: %q, %v; want %s", args, out, err, c.SchemaHash)
			}
		}
	}
}

func TestSchemaHashStdin(t *testing.T) {
	var stdout bytes.Buffer
	in := strings.NewReader(`{"kind":"struct","fields":[["value",{"kind":"string"}]]}`)
	if err := schemaCmd([]string{"hash", "-"}, in, &stdout); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != "0249d680cdf08e0a2a9966b4106c2f8d04\n" {
		t.Errorf("got %q", got)
	}
}

func TestSchemaHashErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	counter := write("counter.json", `{"kind":"struct","fields":[["c",{"kind":"counter"}]]}`)
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no subcommand", nil, true, "schema: no subcommand given"},
		{"unknown subcommand", []string{"zero"}, true, `schema: unknown subcommand "zero"`},
		{"no file", []string{"hash"}, true, "schema hash: want 1 argument, got 0"},
		{"bad flag", []string{"hash", "--nope", counter}, true, "flag provided but not defined: -nope"},
		{"bad binding", []string{"hash", "--binding", "automerge", counter}, true, `unknown binding "automerge"`},
		{"missing file", []string{"hash", filepath.Join(dir, "nope.json")}, false, "no such file"},
		{"bad schema", []string{"hash", write("bad.json", `{"kind":"strng"}`)}, false, `schema hash: schema: $: unknown kind "strng"`},
		{"not JSON", []string{"hash", write("nojson.json", `{`)}, false, "not valid JSON"},
		{"bad case in array", []string{"hash", write("cases.json", `[{"name":"x","schema":{"kind":"struct","fields":[]}},{"name":"y","schema":{}}]`)}, false, `schema hash: case "y": schema: $: node needs a string "kind"`},
		{"binding refuses", []string{"hash", "--binding", "yjs", counter}, false, "the yjs binding does not support counter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runSchema(t, tc.args...)
			var ue *usageError
			if err == nil || errors.As(err, &ue) != tc.usage {
				t.Fatalf("err %v (%T), usage error wanted: %v", err, err, tc.usage)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q does not contain %q", err, tc.want)
			}
		})
	}
	// Without --binding the counter schema hashes: the binding never
	// changes the hash.
	if out, err := runSchema(t, "hash", counter); err != nil || len(out) != 35 {
		t.Errorf("counter schema: %q, %v", out, err)
	}
	out, err := runSchema(t, "--help")
	if err != nil || !strings.Contains(out, "kyneta schema hash") {
		t.Errorf("help: %q, %v", out, err)
	}
}
