package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
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
	"github.com/kyneta-go/kyneta/wire"
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
		{"put not JSON", []string{"put", "ws://x/ws", "doc", "{"}, "put: VALUE must be a JSON object"},
		{"put JSON array", []string{"put", "ws://x/ws", "doc", "[1]"}, "put: VALUE must be a JSON object"},
		{"put JSON null", []string{"put", "ws://x/ws", "doc", "null"}, "put: VALUE must be a JSON object: null"},
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
		for _, cmd := range []string{"kyneta serve", "kyneta put", "kyneta watch", "kyneta schema hash"} {
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
	want := serveConfig{addr: ":8080", data: "./kyneta.db", peerID: "kyneta-relay", reloadInterval: 5 * time.Second,
		maxConns: 10000, maxConnsPerIP: 1000, maxConnsPerPrincipal: 100, reassemblyBudget: 256 << 20, maxAliases: 100000, maxPresentDocs: 50000, maxInboundQueue: 10000, maxDocsPerPeer: 100000, maxDocsPerPrincipal: 1000000, maxMessageSize: 1 << 20, fragmentThreshold: 100 << 10, maxReassembly: 50 << 20,
		sendQueueMessages: 16384, sendQueueBytes: 8 << 20, idleTimeout: 90 * time.Second, writeTimeout: 10 * time.Second,
		closeTimeout: 5 * time.Second, drainWindow: 5 * time.Second, departureTimeout: 30 * time.Second,
		readBuffer: 4096, writeBuffer: 512, compression: "off", dashboard: true, statsInterval: time.Second,
		logLevel: "info", logFormat: "json", cluster: clusterConfig{prefix: "kyneta"}}
	if c != want {
		t.Errorf("defaults %+v, want %+v", c, want)
	}
	c, err = parseServe([]string{"--addr", "127.0.0.1:0", "--data=/tmp/x.db", "--token-file", "t", "--origins", "a.example,b.example",
		"--peer-id", "relay-2", "--drain-window", "250ms", "--idle-timeout", "0", "--max-connections", "3", "--log-level", "debug",
		"--insecure", "--metrics-token-file", "m", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--reload-interval", "0",
		"--max-connections-per-ip", "4", "--max-connections-per-token", "5", "--max-message-size", "200000",
		"--fragment-threshold", "-1", "--max-reassembly-size", "7", "--reassembly-budget", "11", "--max-aliases", "12",
		"--max-present-docs", "13", "--max-inbound-queue", "14", "--max-docs-per-peer", "15", "--max-docs-per-token", "16", "--send-queue-messages", "8", "--send-queue-bytes", "9",
		"--message-rate", "2.5", "--message-burst", "10", "--write-timeout", "1s", "--close-timeout", "2s",
		"--drain-deadline", "3s", "--departure-timeout", "-1s", "--read-buffer", "512", "--write-buffer", "4096",
		"--compression", "context-takeover", "--compression-threshold", "64", "--dashboard=false", "--stats-interval", "2s",
		"--trace", "--log-format", "text"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = serveConfig{addr: "127.0.0.1:0", data: "/tmp/x.db", tokenFile: "t", origins: "a.example,b.example", peerID: "relay-2",
		drainWindow: 250 * time.Millisecond, maxConns: 3, logLevel: "debug", insecure: true, metricsTokenFile: "m",
		tlsCert: "c.pem", tlsKey: "k.pem", maxConnsPerIP: 4, maxConnsPerPrincipal: 5, maxMessageSize: 200000,
		fragmentThreshold: -1, maxReassembly: 7, reassemblyBudget: 11, maxAliases: 12, maxPresentDocs: 13, maxInboundQueue: 14, maxDocsPerPeer: 15, maxDocsPerPrincipal: 16, sendQueueMessages: 8, sendQueueBytes: 9, messageRate: 2.5, messageBurst: 10,
		writeTimeout: time.Second, closeTimeout: 2 * time.Second, drainDeadline: 3 * time.Second, departureTimeout: -time.Second,
		readBuffer: 512, writeBuffer: 4096, compression: "context-takeover", compressionThreshold: 64, statsInterval: 2 * time.Second,
		trace: true, logFormat: "text", cluster: clusterConfig{prefix: "kyneta"}}
	if c != want {
		t.Errorf("parsed %+v, want %+v", c, want)
	}
}

// Every serve flag can come from KYNETA_<FLAG>; the command line wins.
func TestServeEnvironment(t *testing.T) {
	env := map[string]string{
		"KYNETA_ADDR":                   "127.0.0.1:9999",
		"KYNETA_MAX_MESSAGE_SIZE":       "300000",
		"KYNETA_MESSAGE_RATE":           "50",
		"KYNETA_MAX_CONNECTIONS_PER_IP": "12",
		"KYNETA_INSECURE":               "true",
		"KYNETA_DRAIN_WINDOW":           "1s",
		"KYNETA_UNRELATED":              "x",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := parseServe([]string{"--drain-window", "2s"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:9999" || c.maxMessageSize != 300000 || c.messageRate != 50 || c.maxConnsPerIP != 12 ||
		!c.insecure || c.drainWindow != 2*time.Second {
		t.Errorf("config %+v", c)
	}
	env["KYNETA_IDLE_TIMEOUT"] = "soon"
	_, err = parseServe(nil, lookup)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "KYNETA_IDLE_TIMEOUT") {
		t.Errorf("bad env value: %v", err)
	}
	// -h names each flag's variable.
	var sc serveConfig
	serveFlags(&sc).VisitAll(func(f *flag.Flag) {
		if !strings.HasSuffix(f.Usage, "[$"+envName(f.Name)+"]") {
			t.Errorf("--%s usage %q does not name $%s", f.Name, f.Usage, envName(f.Name))
		}
	})
	if _, err := parseServe([]string{"--compression", "max"}, nil); !errors.As(err, &ue) {
		t.Errorf("bad compression: %v", err)
	}
}

func TestSecureAddr(t *testing.T) {
	for _, tc := range []struct {
		addr            string
		auth, insecure  bool
		listen, expose  string
		defaulted, fail bool
	}{
		{addr: ":8080", listen: "127.0.0.1:8080", expose: exposeLoopback, defaulted: true},
		{addr: ":8080", auth: true, listen: ":8080", expose: exposeAuthenticated},
		{addr: ":8080", insecure: true, listen: ":8080", expose: exposeInsecure},
		{addr: "127.0.0.1:0", listen: "127.0.0.1:0", expose: exposeLoopback},
		{addr: "127.8.9.10:1", listen: "127.8.9.10:1", expose: exposeLoopback},
		{addr: "[::1]:80", listen: "[::1]:80", expose: exposeLoopback},
		{addr: "localhost:80", listen: "localhost:80", expose: exposeLoopback},
		{addr: "0.0.0.0:80", fail: true},
		{addr: "[::]:80", fail: true},
		{addr: "192.0.2.1:80", fail: true},
		{addr: "example.com:80", fail: true},
		{addr: "0.0.0.0:80", insecure: true, listen: "0.0.0.0:80", expose: exposeInsecure},
		{addr: "0.0.0.0:80", auth: true, listen: "0.0.0.0:80", expose: exposeAuthenticated},
		{addr: "no-port", fail: true},
	} {
		listen, expose, defaulted, err := secureAddr(tc.addr, tc.auth, tc.insecure)
		if tc.fail {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Errorf("%+v: err %v, want a usage error", tc, err)
			}
			continue
		}
		if err != nil || listen != tc.listen || expose != tc.expose || defaulted != tc.defaulted {
			t.Errorf("%+v: got %q %q %v %v", tc, listen, expose, defaulted, err)
		}
	}
}

func TestParseClient(t *testing.T) {
	c, rest, err := parseClient("put", []string{"--token", "s3", "--timeout", "2s", "--schema-hash", "h1", "--type", "state", "ws://h/ws", "doc", `{"a":1}`}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "s3" || c.timeout != 2*time.Second || c.schemaHash != "h1" || !c.hashGiven || c.docType != "state" || c.url != "ws://h/ws" || c.doc != "doc" {
		t.Errorf("parsed %+v", c)
	}
	if len(rest) != 1 || rest[0] != `{"a":1}` {
		t.Errorf("rest %q", rest)
	}
	c, rest, err = parseClient("watch", []string{"ws://h/ws", "doc"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" || c.timeout != 10*time.Second || c.docType != "json" || c.hashGiven || len(rest) != 0 {
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
	p := writeFile(t, "tokens", "# service tokens\n\n  alpha  \nbeta billing-* ops-1 # trailing comment\r\n# retired: gamma\n\tdelta\tdash-[12]\n")
	got, err := loadTokens(p)
	if err != nil {
		t.Fatal(err)
	}
	var names, peers []string
	for _, e := range got.entries {
		names = append(names, string(e.secret))
		peers = append(peers, strings.Join(e.peers, "+"))
		if got.byID[e.id] == nil || !strings.HasPrefix(e.id, "tok-") || strings.Contains(e.id, string(e.secret)) {
			t.Errorf("token id %q", e.id)
		}
	}
	if strings.Join(names, ",") != "alpha,beta,delta" || strings.Join(peers, ",") != ",billing-*+ops-1,dash-[12]" {
		t.Errorf("tokens %q peers %q", names, peers)
	}
	for _, tc := range []struct {
		token, peer string
		ok          bool
	}{
		{"alpha", "anyone", true}, {"beta", "billing-7", true}, {"beta", "ops-1", true}, {"beta", "ops-2", false},
		{"beta", "dash-1", false}, {"delta", "dash-2", true}, {"delta", "dash-3", false},
	} {
		if got := got.match(tc.token).mayClaim(tc.peer); got != tc.ok {
			t.Errorf("%s may claim %s: %v, want %v", tc.token, tc.peer, got, tc.ok)
		}
	}
	if got.match("alph") != nil || got.match("") != nil {
		t.Error("a prefix or nothing matched a token")
	}

	for _, content := range []string{"", "\n\n", "# only a comment\n   \n"} {
		p := writeFile(t, "empty", content)
		_, err := loadTokens(p)
		if err == nil || !strings.Contains(err.Error(), "holds no token") {
			t.Errorf("file %q: err %v, want 'holds no token'", content, err)
		}
	}
	for content, want := range map[string]string{
		"s3cret-one\ns3cret-one peer\n": "line 2: token repeated",
		"s3cret-two [bad\n":             `line 1: bad peer id pattern "[bad"`,
	} {
		_, err := loadTokens(writeFile(t, "bad", content))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("file %q: err %v, want %q without the token", content, err, want)
		}
	}

	_, err = loadTokens(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "token file: ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestBearerAuth(t *testing.T) {
	toks, err := openTokens(writeFile(t, "tokens", "alpha\nbeta\n"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	auth := toks.authenticate
	for _, tc := range []struct {
		name   string
		target string
		header string
		token  string // "": refused
	}{
		{"header first token", "/ws", "Bearer alpha", "alpha"},
		{"header second token", "/ws", "Bearer beta", "beta"},
		{"query token", "/ws?token=beta", "", "beta"},
		{"query token with other params", "/ws?peerId=p1&token=alpha", "", "alpha"},
		{"missing", "/ws", "", ""},
		{"empty bearer", "/ws", "Bearer ", ""},
		{"wrong header token", "/ws", "Bearer gamma", ""},
		{"wrong query token", "/ws?token=gamma", "", ""},
		{"prefix of a token", "/ws", "Bearer alph", ""},
		{"token with suffix", "/ws", "Bearer alphaX", ""},
		{"scheme is case-insensitive (RFC 6750)", "/ws", "bearer alpha", "alpha"},
		{"scheme in capitals", "/ws", "BEARER beta", "beta"},
		{"basic auth is not bearer", "/ws", "Basic YWxwaGE6", ""},
		{"header wins over query", "/ws?token=alpha", "Bearer gamma", ""},
		{"empty query token", "/ws?token=", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			p, err := auth(r)
			if tc.token != "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p != (tokenPrincipal{ID: tokenID(tc.token)}) {
					t.Errorf("principal %#v, want token %s", p, tc.token)
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

// The CanConnect policy admits a peer id only if the token may claim it,
// and no peer at all once its token is gone from the reloaded file.
func TestTokenPeerPolicyAndReload(t *testing.T) {
	file := writeFile(t, "tokens", "alpha billing-*\nbeta\n")
	toks, err := openTokens(file, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	req := func(token, peer string) exchange.ConnectRequest {
		return exchange.ConnectRequest{Identity: wire.PeerIdentity{PeerID: peer}, Principal: tokenPrincipal{ID: tokenID(token)}}
	}
	check := func(token, peer string, want exchange.Verdict) {
		t.Helper()
		if got := toks.canConnect(req(token, peer)); got != want {
			t.Errorf("%s as %s: %v, want %v", token, peer, got, want)
		}
	}
	check("alpha", "billing-1", exchange.Allow)
	check("alpha", "ops", exchange.Deny)
	check("beta", "ops", exchange.Allow)
	if v := toks.canConnect(exchange.ConnectRequest{Identity: wire.PeerIdentity{PeerID: "x"}}); v != exchange.Deny {
		t.Errorf("no principal: %v", v)
	}

	if err := os.WriteFile(file, []byte("alpha ops\ngamma\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, revoked, err := toks.reload()
	if err != nil || n != 2 || len(revoked) != 1 || revoked[0] != tokenID("beta") {
		t.Fatalf("reload = %d %v %v", n, revoked, err)
	}
	check("alpha", "ops", exchange.Allow)
	check("alpha", "billing-1", exchange.Deny)
	check("beta", "ops", exchange.Deny)
	check("gamma", "anyone", exchange.Allow)

	// A broken file keeps the tokens in force.
	if err := os.WriteFile(file, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := toks.reload(); err == nil {
		t.Fatal("reload of an empty file succeeded")
	}
	check("gamma", "anyone", exchange.Allow)
}

// The reloader reloads what changed (content, not time), everything on a
// signal, and retries a failed load only after another change.
func TestReloaderCheck(t *testing.T) {
	a := writeFile(t, "a", "one")
	b := writeFile(t, "b", "two")
	var loads []string
	fail := false
	r := &reloader{log: slog.New(slog.DiscardHandler)}
	r.add("a", func(trigger string) error {
		loads = append(loads, "a:"+trigger)
		if fail {
			return errors.New("broken")
		}
		return nil
	}, a)
	r.add("b", func(trigger string) error { loads = append(loads, "b:"+trigger); return nil }, b)
	r.check(false, "poll")
	if len(loads) != 0 {
		t.Fatalf("unchanged files reloaded: %q", loads)
	}
	if err := os.WriteFile(a, []byte("ONE"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.check(false, "poll")
	r.check(false, "poll")
	r.check(true, "signal")
	fail = true
	if err := os.WriteFile(a, []byte("uno"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.check(false, "poll")
	r.check(false, "poll") // the failure is not retried until the file changes again
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	r.check(false, "poll") // a vanished file is a change (its load fails and is logged)
	want := "a:poll a:signal b:signal a:poll b:poll"
	if got := strings.Join(loads, " "); got != want {
		t.Errorf("loads %q, want %q", got, want)
	}
}

// Put and watch take their token from --token, --token-file or
// $KYNETA_TOKEN, in that order.
func TestClientToken(t *testing.T) {
	env := map[string]string{}
	lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	defer func() { lookupEnv = os.LookupEnv }()
	file := writeFile(t, "token", "  from-file\n")
	parse := func(args ...string) (clientConfig, error) {
		c, _, err := parseClient("watch", append(args, "ws://h/ws", "doc"), 2)
		return c, err
	}
	env["KYNETA_TOKEN"] = "from-env"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "from-env"},
		{[]string{"--token-file", file}, "from-file"},
		{[]string{"--token", "from-flag"}, "from-flag"},
	} {
		c, err := parse(tc.args...)
		if err != nil || c.token != tc.want {
			t.Errorf("%q: token %q err %v, want %q", tc.args, c.token, err, tc.want)
		}
	}
	delete(env, "KYNETA_TOKEN")
	if c, err := parse(); err != nil || c.token != "" {
		t.Errorf("no token anywhere: %q %v", c.token, err)
	}
	var ue *usageError
	if _, err := parse("--token", "x", "--token-file", file); !errors.As(err, &ue) {
		t.Errorf("both: %v", err)
	}
	for content, want := range map[string]string{"\n": "is empty", "two words\n": "want the token alone", "a\nb\n": "want the token alone"} {
		_, err := parse("--token-file", writeFile(t, "bad", content))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "two") {
			t.Errorf("file %q: %v", content, err)
		}
	}
	if _, err := parse("--token-file", filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestBearerAuthOverHTTP checks the refusal status a client actually sees
// when the authenticator guards the WebSocket server.
func TestBearerAuthOverHTTP(t *testing.T) {
	toks, err := openTokens(writeFile(t, "tokens", "alpha\n"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Authenticate: toks.authenticate})
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
		{client.DisconnectReason{Reason: "unauthorized", HTTPStatus: 401}, "unauthorized (HTTP 401)"},
		{client.DisconnectReason{Reason: "max-retries-exceeded", Err: fmt.Errorf("dial: handshake: %w", refused)}, "dial tcp: connection refused"},
		{client.DisconnectReason{Reason: "max-retries-exceeded", Err: errors.New("boom")}, "max-retries-exceeded: boom"},
		{client.DisconnectReason{Reason: "max-retries-exceeded"}, "max-retries-exceeded"},
	} {
		if got := describeReason(&tc.r); got != tc.want {
			t.Errorf("describeReason(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
