package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport"
)

func TestRunUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in the message
	}{
		{"no command", nil, "no command given"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"serve unknown flag", []string{"serve", "--nope"}, "flag provided but not defined: -nope"},
		{"serve bad duration", []string{"serve", "--drain-window", "soon"}, "drain-window"},
		{"serve bad int", []string{"serve", "--max-connections", "many"}, "max-connections"},
		{"serve extra argument", []string{"serve", "extra"}, `unexpected argument "extra"`},
		{"serve bad log level", []string{"serve", "--log-level", "loud"}, `bad --log-level "loud"`},
		{"put no arguments", []string{"put"}, "put: want 3 arguments, got 0"},
		{"put two arguments", []string{"put", "ws://x/ws", "doc"}, "put: want 3 arguments, got 2"},
		{"put four arguments", []string{"put", "ws://x/ws", "doc", "{}", "more"}, "got 4"},
		{"put not JSON", []string{"put", "ws://x/ws", "doc", "{"}, "put: JSON must be an object"},
		{"put JSON array", []string{"put", "ws://x/ws", "doc", "[1]"}, "put: JSON must be an object"},
		{"put JSON null", []string{"put", "ws://x/ws", "doc", "null"}, "put: JSON must be an object: null"},
		{"put unknown flag", []string{"put", "--nope", "ws://x/ws", "doc", "{}"}, "flag provided but not defined: -nope"},
		{"put bad timeout", []string{"put", "--timeout", "x", "ws://x/ws", "doc", "{}"}, "timeout"},
		{"watch one argument", []string{"watch", "ws://x/ws"}, "watch: want 2 arguments, got 1"},
		{"watch three arguments", []string{"watch", "ws://x/ws", "doc", "x"}, "watch: want 2 arguments, got 3"},
		{"watch missing flag value", []string{"watch", "--token"}, "flag needs an argument: -token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
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
				t.Errorf("a usage error wrote output: stdout %q stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{arg}, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, cmd := range []string{"kyneta serve", "kyneta put", "kyneta watch"} {
			if !strings.Contains(stdout.String(), cmd) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, cmd, stdout.String())
			}
		}
	}
}

// "kyneta serve -h" (and put/watch) lists every flag with its default on
// stdout and succeeds.
func TestCommandHelpListsEveryFlag(t *testing.T) {
	var sc serveConfig
	var cc clientConfig
	for _, tc := range []struct {
		args  []string
		flags *flag.FlagSet
	}{
		{[]string{"serve", "-h"}, serveFlags(&sc)},
		{[]string{"serve", "--help"}, serveFlags(&sc)},
		{[]string{"serve", "--addr", ":1", "-help"}, serveFlags(&sc)},
		{[]string{"put", "-h"}, clientFlags("put", &cc)},
		{[]string{"watch", "--help"}, clientFlags("watch", &cc)},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), tc.args, &stdout, &stderr); err != nil {
			t.Fatalf("run(%q) = %v", tc.args, err)
		}
		out := stdout.String()
		if !strings.HasPrefix(out, "usage: kyneta "+tc.args[0]) || stderr.Len() != 0 {
			t.Fatalf("run(%q): stdout %q stderr %q", tc.args, out, stderr.String())
		}
		n := 0
		tc.flags.VisitAll(func(f *flag.Flag) {
			n++
			def := f.DefValue
			if typ, _ := flag.UnquoteUsage(f); typ == "string" {
				def = strconv.Quote(def)
			}
			line := "  --" + f.Name + " "
			i := strings.Index(out, line)
			if i < 0 {
				t.Errorf("run(%q): no %q in\n%s", tc.args, line, out)
				return
			}
			entry, _, _ := strings.Cut(out[i+len(line):], "\n  --")
			if !strings.HasSuffix(strings.TrimSpace(entry), "(default "+def+")") {
				t.Errorf("run(%q): --%s lacks its default %s: %q", tc.args, f.Name, def, entry)
			}
		})
		if n < 3 || strings.Count(out, "\n  --") != n {
			t.Errorf("run(%q): %d flags defined, output lists %d", tc.args, n, strings.Count(out, "\n  --"))
		}
	}
}

func TestParseServe(t *testing.T) {
	c, err := parseServe(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := serveConfig{addr: ":8080", data: "./kyneta.db", peerID: "kyneta-relay", drainWindow: 5 * time.Second,
		idleTimeout: 90 * time.Second, maxConns: 10000, logLevel: "info", cluster: clusterConfig{prefix: "kyneta"}}
	if c != want {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	c, err = parseServe([]string{"--addr", "127.0.0.1:0", "--data=/tmp/x.db", "--token-file", "t", "--origins", "a.example,b.example",
		"--peer-id", "relay-2", "--drain-window", "250ms", "--idle-timeout", "0", "--max-connections", "3", "--log-level", "debug"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = serveConfig{addr: "127.0.0.1:0", data: "/tmp/x.db", tokenFile: "t", origins: "a.example,b.example", peerID: "relay-2",
		drainWindow: 250 * time.Millisecond, maxConns: 3, logLevel: "debug", cluster: clusterConfig{prefix: "kyneta"}}
	if c != want {
		t.Errorf("parsed %+v, want %+v", c, want)
	}
}

func TestParseClient(t *testing.T) {
	c, rest, err := parseClient("put", []string{"--token", "s3", "--timeout", "2s", "--schema", "h1", "ws://h/ws", "doc", `{"a":1}`}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "s3" || c.timeout != 2*time.Second || c.schema != "h1" || c.url != "ws://h/ws" || c.doc != "doc" {
		t.Errorf("parsed %+v", c)
	}
	if len(rest) != 1 || rest[0] != `{"a":1}` {
		t.Errorf("rest %q", rest)
	}
	c, rest, err = parseClient("watch", []string{"ws://h/ws", "doc"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" || c.timeout != 10*time.Second || len(rest) != 0 {
		t.Errorf("defaults %+v rest %q", c, rest)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTokens(t *testing.T) {
	p := writeFile(t, "tokens", "# service tokens\n\n  alpha  \nbeta\r\n# retired: gamma\n\tdelta\n")
	got, err := loadTokens(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "alpha,beta,delta" {
		t.Errorf("tokens %q", got)
	}

	for _, content := range []string{"", "\n\n", "# only a comment\n   \n"} {
		p := writeFile(t, "empty", content)
		_, err := loadTokens(p)
		if err == nil || !strings.Contains(err.Error(), "holds no token") {
			t.Errorf("file %q: err %v, want 'holds no token'", content, err)
		}
	}

	_, err = loadTokens(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "token file: ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestBearerAuth(t *testing.T) {
	auth := bearerAuth([]string{"alpha", "beta"})
	for _, tc := range []struct {
		name   string
		target string
		header string
		index  int // -1: refused
	}{
		{"header first token", "/ws", "Bearer alpha", 0},
		{"header second token", "/ws", "Bearer beta", 1},
		{"query token", "/ws?token=beta", "", 1},
		{"query token with other params", "/ws?peerId=p1&token=alpha", "", 0},
		{"missing", "/ws", "", -1},
		{"empty bearer", "/ws", "Bearer ", -1},
		{"wrong header token", "/ws", "Bearer gamma", -1},
		{"wrong query token", "/ws?token=gamma", "", -1},
		{"prefix of a token", "/ws", "Bearer alph", -1},
		{"token with suffix", "/ws", "Bearer alphaX", -1},
		{"scheme is case-insensitive (RFC 6750)", "/ws", "bearer alpha", 0},
		{"scheme in capitals", "/ws", "BEARER beta", 1},
		{"basic auth is not bearer", "/ws", "Basic YWxwaGE6", -1},
		{"header wins over query", "/ws?token=alpha", "Bearer gamma", -1},
		{"empty query token", "/ws?token=", "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			p, err := auth(r)
			if tc.index >= 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p != (tokenPrincipal{Index: tc.index}) {
					t.Errorf("principal %#v, want token %d", p, tc.index)
				}
				return
			}
			if p != nil {
				t.Errorf("principal %#v on refusal", p)
			}
			var ae *server.AuthError
			if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
				t.Fatalf("err %v, want *server.AuthError with 401", err)
			}
			if strings.Contains(ae.Message, "gamma") || strings.Contains(err.Error(), "alpha") {
				t.Errorf("refusal leaks a token: %v / %q", err, ae.Message)
			}
		})
	}
}

// TestBearerAuthOverHTTP checks the refusal status a client actually sees
// when the authenticator guards the WebSocket server.
func TestBearerAuthOverHTTP(t *testing.T) {
	srv, err := server.New(server.Options{Authenticate: bearerAuth([]string{"alpha"})})
	if err != nil {
		t.Fatal(err)
	}
	// The exchange starts the server transport (a stopped one answers 503).
	ex, err := exchange.New(exchange.Options{PeerID: "relay", Transports: []transport.Transport{srv}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ex.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	for _, tc := range []struct {
		name, query, header, challenge string
	}{
		{"missing", "", "", `Bearer realm="kyneta"`},
		{"wrong header", "", "Bearer nope", `Bearer realm="kyneta", error="invalid_token"`},
		{"wrong query", "?token=nope", "", `Bearer realm="kyneta", error="invalid_token"`},
	} {
		req, err := http.NewRequest(http.MethodGet, hs.URL+tc.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A well-formed upgrade request, so only the token is wrong.
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
			t.Errorf("%s: WWW-Authenticate %q, want %q", tc.name, got, tc.challenge)
		}
	}
}

func TestDescribeReason(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		r    client.DisconnectReason
		want string
	}{
		{client.DisconnectReason{Code: client.CodeUnauthorized, HTTPStatus: 401}, "unauthorized (HTTP 401)"},
		{client.DisconnectReason{Code: client.CodeMaxRetries, Err: fmt.Errorf("dial: handshake: %w", refused)}, "dial tcp: connection refused"},
		{client.DisconnectReason{Code: client.CodeMaxRetries, Err: errors.New("boom")}, "max-retries-exceeded: boom"},
		{client.DisconnectReason{Code: client.CodeMaxRetries}, "max-retries-exceeded"},
	} {
		if got := describeReason(&tc.r); got != tc.want {
			t.Errorf("describeReason(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
