package main

import (
	"context"
	"os"
)

// The commands, as `kyneta help` lists them; `kyneta COMMAND -h` lists a
// command's flags.
func Example() {
	if err := run(context.Background(), []string{"help"}, os.Stdout, os.Stderr); err != nil {
		panic(err)
	}
	// Output:
	// usage:
	//   kyneta serve [--addr :8080] [--data ./kyneta.db] [--token-file F] [--tls-cert C --tls-key K] [flags]
	//   kyneta put   [--token T | --token-file F] URL DOC JSON
	//   kyneta watch [--token T | --token-file F] URL DOC
	//   kyneta schema hash [--binding B] FILE
	//
	// kyneta COMMAND -h lists every flag of a command with its default.
}
