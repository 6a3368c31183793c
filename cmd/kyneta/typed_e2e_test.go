//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/schema"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// These tests run the real binary against "kyneta serve" for the typed
// side of put and watch: --type, --schema, --schema-hash, the value
// sources, --merge, reconnecting, and diagnostics. The schemas and their
// hashes are the TypeScript reference's vectors (testdata/schema).

// vectorCase is one case of testdata/schema/vectors.json.
type vectorCase struct {
	Name       string          `json:"name"`
	Binding    string          `json:"binding"`
	Schema     json.RawMessage `json:"schema"`
	SchemaHash string          `json:"schemaHash"`
	ZeroJSON   string          `json:"zeroJson"`
}

// vector returns the named case and the path of a file holding it (put
// and watch read a vector case as well as a bare schema).
func vector(t *testing.T, name string) (vectorCase, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "schema", "vectors.json"))
	if err != nil {
		t.Fatalf("the schema vectors are part of the project: %v", err)
	}
	var cases []json.RawMessage
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, raw := range cases {
		var c vectorCase
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if c.Name == name {
			return c, writeFile(t, name+".json", string(raw))
		}
	}
	t.Fatalf("no vector case %q", name)
	return vectorCase{}, ""
}

// runKynetaStdin is runKyneta with input on stdin.
func runKynetaStdin(ctx context.Context, t *testing.T, input string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, kynetaBinary(t), args...)
	cmd.Env = childEnviron()
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("kyneta %q: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("kyneta %q did not finish in time\nstderr: %s", args, stderr.String())
	}
	raceReport(t, fmt.Sprint(args), stderr.String())
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// mustPut runs a put that must succeed and print one version line.
func mustPut(ctx context.Context, t *testing.T, args ...string) {
	t.Helper()
	r := runKyneta(ctx, t, append([]string{"put"}, args...)...)
	if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 || len(strings.TrimSpace(r.stdout)) == 0 {
		t.Fatalf("put %q: exit %d stdout %q stderr %q", args, r.code, r.stdout, r.stderr)
	}
}

// stopWatch ends a watch with SIGTERM: exit 0.
func stopWatch(ctx context.Context, t *testing.T, w *proc) {
	t.Helper()
	w.signal(t, syscall.SIGTERM)
	if code := w.wait(ctx, t); code != 0 {
		t.Errorf("watch exited %d after SIGTERM; stderr %q", code, w.stderr.all())
	}
}

// TestTypedPutWatch: every --type, with a schema from the TS vectors
// (watch prints the TS zero state first, put completes and validates) and
// with a bare --schema-hash; --merge patches, the default replaces.
func TestTypedPutWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := startServe(ctx, t, "--data", filepath.Join(t.TempDir(), "k.db"), "--drain-window", "-1s")
	url := srv.wsURL()
	for _, typ := range []string{"json", "ephemeral", "state"} {
		t.Run(typ+"/schema", func(t *testing.T) {
			vc, file := vector(t, "default-"+typ) // title, count, body: strings and numbers; data: any
			if vc.Binding != typ {
				t.Fatalf("vector binding %q", vc.Binding)
			}
			doc := "typed-" + typ
			flags := []string{"--type", typ, "--schema", file}
			w := startProc(t, append(append([]string{"watch"}, flags...), url, doc)...)
			i := waitJSON(ctx, t, w, 0, vc.ZeroJSON)
			if !sameJSON(w.stdout.all()[0], `{"title":"","count":0,"body":""}`) {
				t.Fatalf("first line %q is not the TS zero state", w.stdout.all()[0])
			}

			mustPut(ctx, t, append(flags, url, doc, `{"title":"a","data":{"k":[1,2]}}`)...)
			i = waitJSON(ctx, t, w, i+1, `{"title":"a","count":0,"body":"","data":{"k":[1,2]}}`)
			mustPut(ctx, t, append(append(flags, "--merge"), url, doc, `{"count":2}`)...)
			i = waitJSON(ctx, t, w, i+1, `{"title":"a","count":2,"body":"","data":{"k":[1,2]}}`)

			// A replace writes a whole document: the fields it lacks are
			// written as their zero, "data" (any: no zero) is deleted.
			r := runKyneta(ctx, t, append(append([]string{"put"}, flags...), url, doc, `{"body":"b"}`)...)
			if typ != "json" {
				// Last-writer-wins documents cannot delete a key.
				oneLineError(t, typ+" replace deleting a key", r, 1, "cannot delete keys", `"data"`)
				mustPut(ctx, t, append(flags, url, doc, `{"body":"b","data":null}`)...)
				waitJSON(ctx, t, w, i+1, `{"title":"","count":0,"body":"b","data":null}`)
			} else {
				if r.code != 0 {
					t.Fatalf("replace: exit %d stderr %q", r.code, r.stderr)
				}
				waitJSON(ctx, t, w, i+1, `{"title":"","count":0,"body":"b"}`)
			}

			// The schema is checked before anything is sent.
			oneLineError(t, "value not fitting the schema",
				runKyneta(ctx, t, append(append([]string{"put"}, flags...), url, doc, `{"title":7}`)...), 2, "$.title", "want string")
			oneLineError(t, "merge of an unknown field",
				runKyneta(ctx, t, append(append([]string{"put", "--merge"}, flags...), url, doc, `{"nope":1}`)...), 2, "nope")
			stopWatch(ctx, t, w)
			if errs := w.stderr.all(); len(errs) != 0 {
				t.Errorf("watch stderr %q", errs)
			}
		})
		t.Run(typ+"/schema-hash", func(t *testing.T) {
			doc := "hashed-" + typ
			flags := []string{"--type", typ, "--schema-hash", "02feedface"}
			w := startProc(t, append(append([]string{"watch"}, flags...), url, doc)...)
			i := waitJSON(ctx, t, w, 0, `{}`)
			mustPut(ctx, t, append(flags, url, doc, `{"a":1,"b":"x"}`)...)
			i = waitJSON(ctx, t, w, i+1, `{"a":1,"b":"x"}`)
			mustPut(ctx, t, append(append(flags, "--merge"), url, doc, `{"b":"y"}`)...)
			i = waitJSON(ctx, t, w, i+1, `{"a":1,"b":"y"}`)
			r := runKyneta(ctx, t, append(append([]string{"put"}, flags...), url, doc, `{"a":2}`)...)
			if typ != "json" {
				oneLineError(t, typ+" replace deleting a key", r, 1, "cannot delete keys", `"b"`)
			} else {
				if r.code != 0 {
					t.Fatalf("replace: exit %d stderr %q", r.code, r.stderr)
				}
				waitJSON(ctx, t, w, i+1, `{"a":2}`)
			}
			stopWatch(ctx, t, w)
		})
	}
	srv.stop(ctx, t)
}

// TestPutValueSources: VALUE as text, @FILE and - (stdin).
func TestPutValueSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := startServe(ctx, t, "--data", filepath.Join(t.TempDir(), "k.db"), "--drain-window", "-1s")
	url := srv.wsURL()
	_, file := vector(t, "default-json")
	w := startProc(t, "watch", "--schema", file, url, "src")
	i := waitJSON(ctx, t, w, 0, `{"title":"","count":0,"body":""}`)

	r := runKynetaStdin(ctx, t, "{\"title\":\"from stdin\"}\n", "put", "--schema", file, url, "src", "-")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("put -: exit %d stderr %q", r.code, r.stderr)
	}
	i = waitJSON(ctx, t, w, i+1, `{"title":"from stdin","count":0,"body":""}`)

	value := writeFile(t, "value.json", `{"title":"from a file","count":3}`)
	mustPut(ctx, t, "--schema", file, url, "src", "@"+value)
	waitJSON(ctx, t, w, i+1, `{"title":"from a file","count":3,"body":""}`)
	stopWatch(ctx, t, w)

	oneLineError(t, "missing @FILE", runKyneta(ctx, t, "put", "--schema", file, url, "src", "@"+value+".missing"), 1, "no such file")
	oneLineError(t, "stdin not an object", runKynetaStdin(ctx, t, "[1]", "put", "--schema", file, url, "src", "-"), 2, "stdin must be a JSON object")
	oneLineError(t, "two values on stdin", runKynetaStdin(ctx, t, "{} {}", "put", "--schema", file, url, "src", "-"), 2, "more than one JSON value")
	oneLineError(t, "@FILE not JSON", runKyneta(ctx, t, "put", "--schema", file, url, "src", "@"+writeFile(t, "bad.json", "{")), 2, "must be a JSON object")
	srv.stop(ctx, t)
}

// TestPutWithoutHash: put refuses to create a document without a schema
// hash, and uses the hash the server announces for one it holds; a Go
// program with the schema defined in Go syncs with what put wrote.
func TestPutWithoutHash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := startServe(ctx, t, "--data", filepath.Join(t.TempDir(), "k.db"), "--drain-window", "-1s")
	url := srv.wsURL()

	// An empty server: nothing is announced, nothing is created.
	oneLineError(t, "put without a hash", runKyneta(ctx, t, "put", url, "notes", `{"title":"x"}`), 1,
		`document "notes": the server does not hold it`, "--schema FILE or --schema-hash HASH")

	vc, file := vector(t, "default-json")
	mustPut(ctx, t, "--schema", file, url, "notes", `{"title":"typed"}`)
	// The server holds it now: its announced hash is used.
	mustPut(ctx, t, "--merge", url, "notes", `{"count":7}`)
	// Still refused for a document the server does not hold, even now
	// that it announces others.
	oneLineError(t, "put without a hash, other doc", runKyneta(ctx, t, "put", url, "other", `{"n":1}`), 1, `document "other": the server does not hold it`)
	// An untyped document only on purpose.
	mustPut(ctx, t, "--schema-hash", "", url, "other", `{"n":1}`)

	// A Go program, with the schema defined in Go (no pasted hash),
	// reads what put wrote with the TS zero values, and its write reaches
	// a watch that learned the hash from the server.
	w := startProc(t, "watch", url, "notes")
	i := waitJSON(ctx, t, w, 0, `{"title":"typed","count":7,"body":""}`)
	bound, err := schema.Bind(schema.BindingJSON, schema.Struct(
		schema.F("title", schema.String()),
		schema.F("count", schema.Number()),
		schema.F("body", schema.String()),
		schema.F("data", schema.Any()),
	))
	if err != nil {
		t.Fatal(err)
	}
	if bound.Hash() != vc.SchemaHash {
		t.Fatalf("Go schema hash %s, TS vector %s", bound.Hash(), vc.SchemaHash)
	}
	ex, doc := goPeer(ctx, t, url, "notes", exchange.DocType{Name: "json", Mode: wire.Authoritative,
		SchemaHash: bound.Hash(), Defaults: json.RawMessage(bound.ZeroJSON())})
	var got struct {
		Title string  `json:"title"`
		Count float64 `json:"count"`
		Body  *string `json:"body"`
	}
	if err := doc.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Title != "typed" || got.Count != 7 || got.Body == nil || *got.Body != "" {
		t.Errorf("Go reader sees %+v (body %v), want title typed, count 7, body \"\"", got, got.Body)
	}
	if err := doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("body"), "from Go"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := doc.WaitAcknowledged(ctx); err != nil {
		t.Fatal(err)
	}
	waitJSON(ctx, t, w, i+1, `{"title":"typed","count":7,"body":"from Go"}`)
	shutdown(t, ex)
	stopWatch(ctx, t, w)
	srv.stop(ctx, t)
}

// goPeer connects an in-process exchange to url and syncs doc.
func goPeer(ctx context.Context, t *testing.T, url, id string, dt exchange.DocType) (*exchange.Exchange, *exchange.Doc) {
	t.Helper()
	policy := backoff.Default
	cl, err := client.New(client.Options{URL: url, Reconnect: &policy})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exchange.New(exchange.Options{PeerID: "go-" + id, Transports: []transport.Transport{cl}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ex.Get(id, dt)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	return ex, doc
}

func shutdown(t *testing.T, ex *exchange.Exchange) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ex.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// TestWatchSurvivesRestart: a watch outlives its server, stopped cleanly
// or killed, and prints the next change once a new server runs on the
// same address and data.
func TestWatchSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	data := filepath.Join(t.TempDir(), "k.db")
	serveArgs := []string{"--data", data, "--drain-window", "100ms"}
	srv := startServe(ctx, t, serveArgs...)
	addr := srv.addr
	url := srv.wsURL()
	_, file := vector(t, "default-json")

	w := startProc(t, "watch", "--schema", file, url, "live")
	i := waitJSON(ctx, t, w, 0, `{"title":"","count":0,"body":""}`)
	mustPut(ctx, t, "--schema", file, url, "live", `{"title":"before"}`)
	i = waitJSON(ctx, t, w, i+1, `{"title":"before","count":0,"body":""}`)

	lines := 0
	for round, stop := range []string{"SIGTERM", "SIGKILL"} {
		if stop == "SIGTERM" {
			srv.stop(ctx, t) // drains: the watch's connection is closed
		} else {
			srv.signal(t, syscall.SIGKILL)
			srv.wait(ctx, t)
		}
		at, err := w.stderr.waitFor(ctx, lines, func(s string) bool { return strings.Contains(s, "lost the connection to the server; reconnecting") })
		if err != nil {
			t.Fatalf("%s: watch did not report the lost connection: %v\nstderr %q", stop, err, w.stderr.all())
		}
		srv = startServe(ctx, t, append(serveArgs, "--addr", addr)...)
		value := fmt.Sprintf(`{"title":"after %s","count":%d}`, stop, round+1)
		mustPut(ctx, t, "--schema", file, url, "live", value)
		i = waitJSON(ctx, t, w, i+1, fmt.Sprintf(`{"title":"after %s","count":%d,"body":""}`, stop, round+1))
		if lines, err = w.stderr.waitFor(ctx, at+1, func(s string) bool { return s == "kyneta: reconnected to the server" }); err != nil {
			t.Fatalf("%s: watch did not report the reconnection: %v\nstderr %q", stop, err, w.stderr.all())
		}
		lines++
	}
	stopWatch(ctx, t, w)
	for _, l := range w.stderr.all() {
		if !strings.HasPrefix(l, "kyneta: lost the connection") && l != "kyneta: reconnected to the server" {
			t.Errorf("unexpected watch stderr line %q", l)
		}
	}
	srv.stop(ctx, t)
}

// TestMismatchIsReported: a schema hash or type that differs from the
// server's document fails put and watch with both sides named, instead of
// a timeout or an empty document.
func TestMismatchIsReported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := startServe(ctx, t, "--data", filepath.Join(t.TempDir(), "k.db"), "--drain-window", "-1s")
	url := srv.wsURL()
	vc, file := vector(t, "default-json")
	mustPut(ctx, t, "--schema", file, url, "doc", `{"title":"t"}`)

	oneLineError(t, "put with another hash", runKyneta(ctx, t, "put", "--schema-hash", "02deadbeef", url, "doc", `{}`), 1,
		"schema-hash-mismatch", vc.SchemaHash, "02deadbeef")
	oneLineError(t, "watch with another hash", runKyneta(ctx, t, "watch", "--schema-hash", "02deadbeef", url, "doc"), 1,
		"schema-hash-mismatch", vc.SchemaHash, "02deadbeef")
	_, other := vector(t, "no-decay-scalar-ephemeral")
	oneLineError(t, "watch with another schema", runKyneta(ctx, t, "watch", "--type", "ephemeral", "--schema", other, url, "doc"), 1,
		"--type ephemeral", "json (")
	srv.stop(ctx, t)
}
