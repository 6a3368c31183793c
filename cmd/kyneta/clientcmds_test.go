//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
)

// In-process tests of put and watch: command lines, help, and the
// diagnostics a watch prints, against an exchange relay whose documents
// the test controls.

func TestClientCommandLines(t *testing.T) {
	schemaFile := writeFile(t, "s.json", `{"kind":"struct","fields":[["title",{"kind":"string"}],["n",{"kind":"counter"}]]}`)
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"unknown type", []string{"put", "--type", "loro", "ws://x/ws", "doc", "{}"}, "", `--type "loro": want json, ephemeral or state`},
		{"watch unknown type", []string{"watch", "--type", "", "ws://x/ws", "doc"}, "", `--type "": want`},
		{"schema and hash", []string{"put", "--schema", schemaFile, "--schema-hash", "h", "ws://x/ws", "doc", "{}"}, "", "--schema and --schema-hash both given"},
		{"hash too long", []string{"watch", "--schema-hash", strings.Repeat("h", 257), "ws://x/ws", "doc"}, "", "longer than 256 bytes"},
		{"stdin not an object", []string{"put", "ws://x/ws", "doc", "-"}, `"text"`, "put: stdin must be a JSON object"},
		{"stdin empty", []string{"put", "ws://x/ws", "doc", "-"}, "", "put: stdin must be a JSON object: EOF"},
		{"trailing value", []string{"put", "ws://x/ws", "doc", `{"a":1} 2`}, "", "more than one JSON value"},
		{"schema not a schema", []string{"put", "--schema", writeFile(t, "bad.json", `{"kind":"struct","fields":[["a",{"kind":"nope"}]]}`), "ws://x/ws", "doc", "{}"}, "", "--schema"},
		{"binding refuses the schema", []string{"watch", "--type", "ephemeral", "--schema", schemaFile, "ws://x/ws", "doc"}, "", "the ephemeral binding does not support counter"},
		{"value against the schema", []string{"put", "--schema", schemaFile, "ws://x/ws", "doc", `{"title":1}`}, "", "$.title: want string, got number"},
		{"merge against the schema", []string{"put", "--merge", "--schema", schemaFile, "ws://x/ws", "doc", `{"n":"x"}`}, "", "$.n"},
		{"replace with an unknown key", []string{"put", "--schema", schemaFile, "ws://x/ws", "doc", `{"extra":1}`}, "", "$.extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := stdin
			stdin = strings.NewReader(tc.stdin)
			defer func() { stdin = old }()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, tc.args, &stdout, &stderr)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("run(%q) = %v (%T), want a *usageError", tc.args, err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q does not contain %q", err, tc.want)
			}
			if stdout.Len() != 0 || stderr.Len() != 0 {
				t.Errorf("wrote output: stdout %q stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

// The help of put and watch says what the issue asks the user to know.
func TestClientHelpText(t *testing.T) {
	for cmd, wants := range map[string][]string{
		"put": {"@FILE", "- to read it\nfrom stdin", "REPLACES", "--merge it patches", "--schema FILE", "--schema-hash HASH",
			"refuses to\ncreate DOC", "--type string", "--timeout duration", "cannot delete keys"},
		"watch": {"retried with backoff", "server restart does not end watch", "Diagnostics", "stderr", "--type string", "--timeout duration"},
	} {
		var stdout bytes.Buffer
		if err := run(context.Background(), []string{cmd, "-h"}, &stdout, io.Discard); err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%s -h lacks %q:\n%s", cmd, w, stdout.String())
			}
		}
	}
}

// relayFixture is an in-process relay over a real loopback WebSocket.
type relayFixture struct {
	ex  *exchange.Exchange
	url string
}

func newRelay(t *testing.T, policy exchange.Policy) *relayFixture {
	t.Helper()
	srv, err := server.New(server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exchange.New(exchange.Options{PeerID: "relay", Transports: []transport.Transport{srv},
		Replicas: relayReplicas(), Policies: []exchange.Policy{policy}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		shutdown(t, ex)
		hs.Close()
	})
	return &relayFixture{ex: ex, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

// inProcess runs a command with its stdout and stderr as line logs.
type inProcess struct {
	stdout, stderr *lineLog
	done           chan error
	cancel         context.CancelFunc
}

func runInProcess(t *testing.T, args ...string) *inProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	p := &inProcess{stdout: newLineLog(), stderr: newLineLog(), done: make(chan error, 1), cancel: cancel}
	go p.stdout.read(outR)
	go p.stderr.read(errR)
	go func() {
		err := run(ctx, args, outW, errW)
		outW.Close()
		errW.Close()
		p.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-p.stdout.done
		<-p.stderr.done
	})
	return p
}

func (p *inProcess) wait(ctx context.Context, t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-ctx.Done():
		t.Fatalf("command did not end in time; stderr %q", p.stderr.all())
		return nil
	}
}

// TestWatchPrintsDiagnostics: a diagnostic that arrives while watch runs
// is printed on stderr and the watch goes on; a mismatch for its document
// found by the exchange while connecting ends it with both hashes.
func TestWatchPrintsDiagnostics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	relay := newRelay(t, exchange.Policy{Name: "relay", Resolve: func(exchange.ResolveRequest) exchange.Resolution { return exchange.Replicate() }})
	doc, err := relay.ex.Get("d", exchange.JSONDoc("02aaaa"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("v"), 1); return nil }); err != nil {
		t.Fatal(err)
	}
	w := runInProcess(t, "watch", "--schema-hash", "02aaaa", relay.url, "d")
	if _, err := w.stdout.waitFor(ctx, 0, func(s string) bool { return sameJSON(s, `{"v":1}`) }); err != nil {
		t.Fatalf("watch never printed the doc: %v; stderr %q", err, w.stderr.all())
	}
	// The relay replaces the document by one with another schema: the
	// watch is told, on stderr, and keeps running.
	if err := relay.ex.Destroy("d"); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.ex.Get("d", exchange.JSONDoc("02bbbb")); err != nil {
		t.Fatal(err)
	}
	line, err := w.stderr.waitFor(ctx, 0, func(s string) bool { return strings.Contains(s, "schema-hash-mismatch") })
	if err != nil {
		t.Fatalf("no diagnostic on stderr: %v; stderr %q", err, w.stderr.all())
	}
	got := w.stderr.all()[line]
	for _, want := range []string{"kyneta: error: schema-hash-mismatch: ", `doc "d"`, "02aaaa", "02bbbb"} {
		if !strings.Contains(got, want) {
			t.Errorf("diagnostic line %q lacks %q", got, want)
		}
	}
	select {
	case err := <-w.done:
		t.Fatalf("watch ended after a diagnostic: %v", err)
	default:
	}
	w.cancel()
	if err := w.wait(ctx, t); err != nil {
		t.Errorf("watch after cancel: %v", err)
	}

	// A relay that interprets every announced doc with its own hash: the
	// mismatch shows up only as the exchange's diagnostic, after the doc
	// was announced with ours.
	other := newRelay(t, exchange.Policy{Name: "retype", Resolve: func(exchange.ResolveRequest) exchange.Resolution {
		return exchange.Interpret(exchange.JSONDoc("02cccc"))
	}})
	w = runInProcess(t, "watch", "--schema-hash", "02dddd", other.url, "e")
	err = w.wait(ctx, t)
	var me *mismatchError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), `"02cccc"`) || !strings.Contains(err.Error(), `"02dddd"`) {
		t.Fatalf("watch = %v, want a mismatch naming both hashes", err)
	}
	if errs := w.stderr.all(); len(errs) != 0 {
		t.Errorf("the mismatch was also printed: %q", errs)
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs("ws://a.example/ws?token=secret,wss://u:pw@b.example/ws?peerId=x")
	if strings.Contains(got, "secret") || strings.Contains(got, "pw") || !strings.Contains(got, "a.example") || !strings.Contains(got, "b.example") {
		t.Fatalf("redacted: %s", got)
	}
}
