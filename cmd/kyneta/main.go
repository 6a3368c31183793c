// Command kyneta runs a durable Kyneta sync relay and talks to one.
//
//	kyneta serve [--addr :8080] [--data ./kyneta.db] [--token-file F] [--tls-cert C --tls-key K] [flags]
//	kyneta put   [--token T | --token-file F] URL DOC JSON
//	kyneta watch [--token T | --token-file F] URL DOC
//	kyneta schema hash [--binding B] FILE
//
// serve replicates every document it is offered, persists it in SQLite and
// serves WebSocket peers at /ws, health at /healthz and /readyz,
// Prometheus metrics at /metrics, a live stats feed at /stats and a
// dashboard at /ui. Without --token-file it listens on loopback only (or
// refuses a network address unless --insecure). SIGHUP re-reads the token
// files and the TLS certificate; SIGTERM or SIGINT drains the connections
// and shuts down cleanly. Every flag can also be set as KYNETA_<FLAG>.
//
// put sets a JSON document's content through a server; watch prints the
// document as a JSON line now and after every change. Both take the
// server's WebSocket URL (ws://host:port/ws or wss://…), or several nodes'
// URLs separated by commas to fail over between them, and the token from
// --token, --token-file or $KYNETA_TOKEN.
//
// serve --store postgres://… --cluster nats://… --node-id ID runs one node
// of a cluster (docs/cluster.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// usageError is a bad command line: one line on stderr, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kyneta:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

const usage = `usage:
  kyneta serve [--addr :8080] [--data ./kyneta.db] [--token-file F] [--tls-cert C --tls-key K] [flags]
  kyneta put   [--token T | --token-file F] URL DOC JSON
  kyneta watch [--token T | --token-file F] URL DOC
  kyneta schema hash [--binding B] FILE

kyneta COMMAND -h lists every flag of a command with its default.`

// helpRequested is what a command's flag parsing returns for -h or
// --help: run prints the text on stdout and succeeds.
type helpRequested struct{ text string }

func (h *helpRequested) Error() string { return "help requested" }

// flagHelp lists every flag of fs with its type, meaning and default.
func flagHelp(fs *flag.FlagSet, synopsis string) *helpRequested {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s\n\nflags:\n", synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		typ, meaning := flag.UnquoteUsage(f)
		def := f.DefValue
		if typ == "string" {
			def = strconv.Quote(def)
		}
		fmt.Fprintf(&b, "  --%s %s\n    \t%s (default %s)\n", f.Name, typ, meaning, def)
	})
	return &helpRequested{b.String()}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := runCommand(ctx, args, stdout, stderr)
	var help *helpRequested
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.text)
		return nil
	}
	return err
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"no command given\n" + usage}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "put":
		return put(ctx, args[1:], stdout, stderr)
	case "watch":
		return watch(ctx, args[1:], stdout, stderr)
	case "schema":
		return schemaCmd(args[1:], os.Stdin, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
}
