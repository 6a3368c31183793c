//go:build unix

package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
)

// browserSetup finds node, the playwright-core and ws packages and
// Chromium, which .ci/run installs. Without them the test fails with one
// line saying so; KYNETA_SKIP_BROWSER=1 skips it explicitly.
func browserSetup(t *testing.T) (node, modules string) {
	t.Helper()
	if os.Getenv("KYNETA_SKIP_BROWSER") == "1" {
		t.Skip("KYNETA_SKIP_BROWSER=1")
	}
	modules = os.Getenv("KYNETA_BROWSER_NODE_MODULES")
	if modules == "" {
		modules, _ = filepath.Abs(filepath.Join("..", "..", ".ci", "browser", "node_modules"))
	}
	chromium := os.Getenv("KYNETA_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err := exec.LookPath("node")
	_, errPW := os.Stat(filepath.Join(modules, "playwright-core", "package.json"))
	if errPW == nil {
		_, errPW = os.Stat(filepath.Join(modules, "ws", "package.json"))
	}
	_, errCr := os.Stat(chromium)
	if err != nil || errPW != nil || errCr != nil {
		t.Fatalf("the browser tests need node, playwright-core and ws in %s and Chromium at %s (run .ci/run, or set KYNETA_SKIP_BROWSER=1): node %v, playwright %v, chromium %v",
			modules, chromium, err, errPW, errCr)
	}
	return node, modules
}

// dashPeer is an in-process peer with a known id, connected to serve.
func dashPeer(ctx context.Context, t *testing.T, url, id string) *exchange.Doc {
	t.Helper()
	cl, err := client.New(client.Options{URL: url, CompressionMode: websocket.CompressionContextTakeover})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exchange.New(exchange.Options{PeerID: id, Transports: []transport.Transport{cl}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ex.Shutdown(sctx)
	})
	doc, err := ex.Get("dashboard-demo", exchange.JSONDoc(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	return doc
}

// The dashboard, in headless Chromium: kyneta serve runs, /ui is opened,
// two clients connect, and the page shows both of them live. A screenshot
// is left in the test's temporary directory (and copied to
// $KYNETA_TEST_ARTIFACTS when set).
func TestDashboardInChromium(t *testing.T) {
	node, modules := browserSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	srv := startServe(ctx, t, "--data", filepath.Join(dir, "k.db"), "--drain-window", "-1s", "--stats-interval", "200ms",
		"--compression", "context-takeover", "--compression-threshold", "1")
	base := "http://" + srv.addr
	if code, body := httpGet(ctx, t, base+"/ui"); code != http.StatusOK || !strings.Contains(body, "kyneta relay") {
		t.Fatalf("/ui: %d", code)
	}

	peers := []string{"dash-alice", "dash-bob"}
	var docs []*exchange.Doc
	for _, p := range peers {
		docs = append(docs, dashPeer(ctx, t, srv.wsURL(), p))
	}
	// Traffic for the charts while the page is open: each peer writes
	// every 50 ms until the browser is done.
	writing, stopWriting := context.WithCancel(ctx)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			for _, d := range docs {
				_ = d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("n"), n); return nil })
			}
			select {
			case <-tick.C:
			case <-writing.Done():
				return
			}
		}
	}()

	shot := filepath.Join(dir, "dashboard.png")
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", "dashboard.cjs"), base + "/ui", srv.wsURL(), shot}, peers...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	stopWriting()
	<-wrote
	if err != nil {
		t.Fatalf("browser: %v\n%s\nserve log:\n%s", err, stderr.String(), strings.Join(srv.stderr.all(), "\n"))
	}
	var res struct {
		Shown struct {
			Connections string
			Peers       []string
			Feed, Store string
			MsgsIn      string
		}
		WS struct {
			Extensions string
			First      string
		}
		Errors []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("browser output %q: %v", out, err)
	}
	if res.Shown.Connections != "2" || !slices.Equal(res.Shown.Peers, peers) || res.Shown.Feed != "live" || res.Shown.Store != "store healthy" {
		t.Errorf("the page shows %+v, want 2 connections and peers %v, live, store healthy", res.Shown, peers)
	}
	if len(res.Errors) > 0 {
		t.Errorf("page errors: %q", res.Errors)
	}
	if !strings.Contains(res.WS.Extensions, "permessage-deflate") || res.WS.First != "ready" {
		t.Errorf("browser WebSocket: extensions %q, first message %q", res.WS.Extensions, res.WS.First)
	}
	info, err := os.Stat(shot)
	if err != nil || info.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	if a := os.Getenv("KYNETA_TEST_ARTIFACTS"); a != "" {
		if err := copyFile(shot, filepath.Join(a, "dashboard.png")); err != nil {
			t.Errorf("copy screenshot: %v", err)
		}
	}
	srv.stop(ctx, t)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Node's ws client (what TypeScript peers use) negotiates permessage-deflate
// with serve --compression, and compressed text flows both ways.
func TestNodeWSCompression(t *testing.T) {
	node, modules := browserSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := startServe(ctx, t, "--data", filepath.Join(t.TempDir(), "k.db"), "--drain-window", "-1s",
		"--compression", "no-context-takeover", "--compression-threshold", "1")
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "nodews.cjs"), srv.wsURL())
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node ws: %v\n%s", err, stderr.String())
	}
	var res struct {
		Extensions string
		Got        []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	if !strings.Contains(res.Extensions, "permessage-deflate") || !strings.Contains(res.Extensions, "server_no_context_takeover") ||
		!slices.Equal(res.Got, []string{"ready", "pong"}) {
		t.Errorf("node ws: extensions %q, messages %q", res.Extensions, res.Got)
	}
	srv.stop(ctx, t)
}
