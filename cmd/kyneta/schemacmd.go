package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kyneta-go/kyneta/schema"
)

const schemaUsage = `usage:
  kyneta schema hash [--binding B] FILE

Prints the schema hash the TypeScript stack computes for a schema in the
neutral JSON form of the reference's schema vectors, e.g.

  {"kind":"struct","fields":[["title",{"kind":"string"}],["count",{"kind":"number"}]]}

FILE is such a schema ("-" reads stdin), a vector case ({"name":…,"schema":…}),
or an array of cases (one "HASH  NAME" line each). The binding never changes
the hash; with --binding (json, ephemeral, state, loro, yjs) the command also
fails when that binding would refuse the schema.`

// schemaCmd runs "kyneta schema ...".
func schemaCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			return &usageError{"schema: no subcommand given\n" + schemaUsage}
		}
		fmt.Fprintln(stdout, schemaUsage)
		return nil
	}
	if args[0] != "hash" {
		return &usageError{fmt.Sprintf("schema: unknown subcommand %q\n%s", args[0], schemaUsage)}
	}
	fs := flag.NewFlagSet("schema hash", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindingName := fs.String("binding", "", "also check that this binding accepts the schema")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintln(stdout, schemaUsage)
			return nil
		}
		return &usageError{"schema hash: " + err.Error() + "\n" + schemaUsage}
	}
	if fs.NArg() != 1 {
		return &usageError{fmt.Sprintf("schema hash: want 1 argument, got %d\n%s", fs.NArg(), schemaUsage)}
	}
	var binding schema.Binding
	if *bindingName != "" {
		b, err := schema.ParseBinding(*bindingName)
		if err != nil {
			return &usageError{"schema hash: " + err.Error()}
		}
		binding = b
	}
	var data []byte
	var err error
	if name := fs.Arg(0); name == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return fmt.Errorf("schema hash: %w", err)
	}

	hash := func(raw []byte) (string, error) {
		s, err := schema.ParseJSON(raw)
		if err != nil {
			return "", err
		}
		if binding != "" {
			if err := s.Check(binding); err != nil {
				return "", err
			}
		}
		return s.Hash()
	}
	type vectorCase struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var cases []vectorCase
		if err := json.Unmarshal(trimmed, &cases); err != nil {
			return fmt.Errorf("schema hash: %s: want a schema, a vector case or an array of cases: %w", fs.Arg(0), err)
		}
		for _, c := range cases {
			h, err := hash(c.Schema)
			if err != nil {
				return fmt.Errorf("schema hash: case %q: %w", c.Name, err)
			}
			fmt.Fprintf(stdout, "%s  %s\n", h, c.Name)
		}
		return nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err == nil && probe["kind"] == nil && probe["schema"] != nil {
		trimmed = probe["schema"]
	}
	h, err := hash(trimmed)
	if err != nil {
		return fmt.Errorf("schema hash: %w", err)
	}
	fmt.Fprintln(stdout, h)
	return nil
}
