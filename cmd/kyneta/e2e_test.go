//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real kyneta binary (built once, see kynetaBinary)
// as a user would: serve in the background, put and watch against it.
// Every wait is on a log line, an output line or a process exit, each
// under a deadline; nothing sleeps.

// bin is the kyneta binary, built once on first use by the tests that run
// it (unit tests do not pay for the build).
var bin struct {
	once sync.Once
	path string
	err  error
}

// kynetaBinary builds this package with the go command that is running the
// tests and returns the binary's path.
func kynetaBinary(t testing.TB) string {
	t.Helper()
	bin.once.Do(func() {
		dir, err := os.MkdirTemp("", "kyneta-bin-")
		if err != nil {
			bin.err = err
			return
		}
		afterAll = append(afterAll, func() { _ = os.RemoveAll(dir) })
		out := filepath.Join(dir, "kyneta")
		args := []string{"build", "-o", out}
		if raceEnabled {
			args = append(args, "-race")
		}
		gotool, err := exec.LookPath("go")
		if err != nil {
			bin.err = fmt.Errorf("the end-to-end tests build the binary and need the go command: %v", err)
			return
		}
		cmd := exec.Command(gotool, append(args, ".")...)
		if b, err := cmd.CombinedOutput(); err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, b)
			return
		}
		bin.path = out
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.path
}

// lineLog collects the lines of one output stream and lets tests wait for
// a line to appear.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	eof     bool
	changed chan struct{} // closed and replaced whenever lines or eof change
	done    chan struct{} // closed when the stream ended
}

func newLineLog() *lineLog {
	return &lineLog{changed: make(chan struct{}), done: make(chan struct{})}
}

func (l *lineLog) read(r io.Reader) {
	defer close(l.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r) // a line beyond the buffer: keep the writer unblocked
	l.mu.Lock()
	l.eof = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

var errStreamEnded = errors.New("stream ended")

// waitFor returns the index of the first line at or after from that
// matches, waiting for more output until ctx ends or the stream ends.
func (l *lineLog) waitFor(ctx context.Context, from int, match func(string) bool) (int, error) {
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if match(l.lines[i]) {
				l.mu.Unlock()
				return i, nil
			}
		}
		from = len(l.lines)
		eof, changed := l.eof, l.changed
		l.mu.Unlock()
		if eof {
			return -1, errStreamEnded
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
}

// proc is a running kyneta command with its output streams.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *lineLog
	exited         chan struct{}
	waitErr        error
}

// childEnviron is the environment of every kyneta process the tests run.
// A -race binary sleeps a second at exit by default (atexit_sleep_ms) so
// late race reports can print; the tests read every report from stderr
// after the exit anyway.
func childEnviron() []string {
	env := os.Environ()
	env = append(env, extraEnv...)
	return append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// extraEnv is added to the environment of processes started while it is
// set (see startProcEnv).
var extraEnv []string

// raceReport fails the test if a -race child reported a data race.
func raceReport(t testing.TB, what, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "WARNING: DATA RACE") {
		t.Errorf("%s reported a data race:\n%s", what, stderr)
	}
}

func startProc(t testing.TB, args ...string) *proc {
	t.Helper()
	p := &proc{name: strings.Join(args[:1], " "), cmd: exec.Command(kynetaBinary(t), args...),
		stdout: newLineLog(), stderr: newLineLog(), exited: make(chan struct{})}
	p.cmd.Env = childEnviron()
	so, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	se, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.stdout.read(so)
	go p.stderr.read(se)
	go func() {
		// Wait closes the pipes: only after both readers reached EOF.
		<-p.stdout.done
		<-p.stderr.done
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		raceReport(t, p.name, strings.Join(p.stderr.all(), "\n"))
	})
	return p
}

func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

// wait returns the exit code, killing the process if ctx ends first.
func (p *proc) wait(ctx context.Context, t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("%s did not exit in time\nstdout:\n%s\nstderr:\n%s", p.name,
			strings.Join(p.stdout.all(), "\n"), strings.Join(p.stderr.all(), "\n"))
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		t.Fatalf("%s: %v", p.name, p.waitErr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// serveProc is a running "kyneta serve".
type serveProc struct {
	*proc
	addr string
}

// logLine decodes one JSON log line ("" msg if it is not one).
func logLine(s string) map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

func isMsg(msg string) func(string) bool {
	return func(s string) bool { return logLine(s)["msg"] == msg }
}

// waitLog waits for serve's log line with this msg and returns it decoded.
func (s *serveProc) waitLog(ctx context.Context, t testing.TB, msg string) map[string]any {
	t.Helper()
	i, err := s.stderr.waitFor(ctx, 0, isMsg(msg))
	if err != nil {
		t.Fatalf("serve never logged %q: %v\nlog:\n%s", msg, err, strings.Join(s.stderr.all(), "\n"))
	}
	return logLine(s.stderr.all()[i])
}

func startServe(ctx context.Context, t testing.TB, args ...string) *serveProc {
	t.Helper()
	s := &serveProc{proc: startProc(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)}
	line := s.waitLog(ctx, t, "serving")
	addr, _ := line["addr"].(string)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("serving line without an address: %v", line)
	}
	s.addr = addr
	return s
}

func (s *serveProc) wsURL() string { return "ws://" + s.addr + "/ws" }

// stop sends SIGTERM and checks the drain is logged and the exit clean.
func (s *serveProc) stop(ctx context.Context, t testing.TB) (drained map[string]any) {
	t.Helper()
	s.signal(t, syscall.SIGTERM)
	if code := s.wait(ctx, t); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM\nlog:\n%s", code, strings.Join(s.stderr.all(), "\n"))
	}
	drained = s.waitLog(ctx, t, "drained")
	lines := s.stderr.all()
	if last := logLine(lines[len(lines)-1]); last["msg"] != "stopped" {
		t.Errorf("last log line is %q, want msg stopped", lines[len(lines)-1])
	}
	for _, l := range lines {
		if logLine(l) == nil {
			t.Errorf("serve wrote a line that is not JSON: %q", l)
		}
	}
	if drained["timed_out"] != false || drained["err"] != "" {
		t.Errorf("drain did not finish cleanly: %v", drained)
	}
	return drained
}

// result is a finished short command (put, or a failing one).
type result struct {
	code           int
	stdout, stderr string
}

func runKyneta(ctx context.Context, t testing.TB, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, kynetaBinary(t), args...)
	cmd.Env = childEnviron()
	var stdout, stderr bytes.Buffer
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

// oneLineError checks a failure's stderr is a single "kyneta: ..." line
// containing every want.
func oneLineError(t *testing.T, what string, r result, wantCode int, want ...string) {
	t.Helper()
	if r.code != wantCode {
		t.Errorf("%s: exit %d, want %d (stderr %q)", what, r.code, wantCode, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "kyneta: ") || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("%s: stderr is not one \"kyneta: ...\" line: %q", what, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: stderr %q does not mention %q", what, r.stderr, w)
		}
	}
	if r.stdout != "" {
		t.Errorf("%s: wrote to stdout: %q", what, r.stdout)
	}
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// waitJSON waits for a watch output line holding the value js.
func waitJSON(ctx context.Context, t *testing.T, w *proc, from int, js string) int {
	t.Helper()
	i, err := w.stdout.waitFor(ctx, from, func(s string) bool { return sameJSON(s, js) })
	if err != nil {
		t.Fatalf("watch never printed %s: %v\nstdout:\n%s\nstderr:\n%s", js, err,
			strings.Join(w.stdout.all(), "\n"), strings.Join(w.stderr.all(), "\n"))
	}
	return i
}

func httpGet(ctx context.Context, t testing.TB, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	data := filepath.Join(dir, "k.db")
	tokens := writeFile(t, "tokens", "# one token per line\n\ns3cret\n")
	serveArgs := []string{"--data", data, "--token-file", tokens, "--drain-window", "100ms", "--peer-id", "e2e-relay"}

	srv := startServe(ctx, t, serveArgs...)
	if l := srv.waitLog(ctx, t, "serving"); l["auth"] != true || l["data"] != data || l["peer"] != "e2e-relay" {
		t.Errorf("serving line %v", l)
	}
	base := "http://" + srv.addr
	if code, body := httpGet(ctx, t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := httpGet(ctx, t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}

	// watch first: it sees the empty document, then every put.
	w := startProc(t, "watch", "--token", "s3cret", srv.wsURL(), "config")
	seen := waitJSON(ctx, t, w, 0, `{}`)

	first := `{"service":"billing","replicas":3,"limits":{"rps":100},"tags":["a","b"]}`
	r := runKyneta(ctx, t, "put", "--token", "s3cret", srv.wsURL(), "config", first)
	if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("put: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	seen = waitJSON(ctx, t, w, seen+1, first)

	// A second put replaces the content: keys it lacks are deleted.
	second := `{"service":"billing","replicas":5}`
	if r := runKyneta(ctx, t, "put", "--token", "s3cret", srv.wsURL(), "config", second); r.code != 0 {
		t.Fatalf("second put: exit %d stderr %q", r.code, r.stderr)
	}
	waitJSON(ctx, t, w, seen+1, second)

	// Without a token, or with a wrong one: refused, one line, exit 1.
	oneLineError(t, "put without token", runKyneta(ctx, t, "put", srv.wsURL(), "config", `{"x":1}`), 1, "401")
	oneLineError(t, "put with a wrong token", runKyneta(ctx, t, "put", "--token", "guess", srv.wsURL(), "config", `{"x":1}`), 1, "401")
	oneLineError(t, "watch without token", runKyneta(ctx, t, "watch", srv.wsURL(), "config"), 1, "401")
	// A browser-style token in the query string is accepted.
	if r := runKyneta(ctx, t, "put", "--schema-hash", "", srv.wsURL()+"?token=s3cret", "other", `{"via":"query"}`); r.code != 0 {
		t.Errorf("put with ?token=: exit %d stderr %q", r.code, r.stderr)
	}

	code, metrics := httpGet(ctx, t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"kyneta_connections_accepted_total ",
		`kyneta_connections_rejected_total{reason="auth"} 3`, // counted before the 401 is sent
		"kyneta_documents 2",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	// The watch is connected; the puts' connections may still be closing.
	if n := metricValue(metrics, "kyneta_connections_open"); n < 1 {
		t.Errorf("kyneta_connections_open = %v, want the watch counted:\n%s", n, metrics)
	}

	// SIGTERM: the watch's connection is drained, serve exits 0.
	drained := srv.stop(ctx, t)
	if n, _ := drained["closed"].(float64); n < 1 || drained["remaining"] != float64(0) {
		t.Errorf("drain should have closed the watch's connection: %v", drained)
	}
	// The watch says it lost the server and keeps retrying until stopped.
	if _, err := w.stderr.waitFor(ctx, 0, func(s string) bool { return strings.HasPrefix(s, "kyneta: lost the connection to the server") }); err != nil {
		t.Errorf("watch did not report the lost server: %v; stderr %q", err, w.stderr.all())
	}
	w.signal(t, syscall.SIGTERM)
	if code := w.wait(ctx, t); code != 0 {
		t.Errorf("reconnecting watch exited %d after SIGTERM, want 0", code)
	}

	// Restart on the same file: the data is there for a new reader.
	srv = startServe(ctx, t, serveArgs...)
	w = startProc(t, "watch", "--token", "s3cret", srv.wsURL(), "config")
	if i := waitJSON(ctx, t, w, 0, second); i != 0 {
		t.Errorf("watch after restart first printed %q, then the stored state", w.stdout.all()[:i])
	}
	w.signal(t, syscall.SIGTERM)
	if code := w.wait(ctx, t); code != 0 || len(w.stderr.all()) != 0 {
		t.Errorf("watch after SIGTERM: exit %d stderr %q", code, w.stderr.all())
	}
	w2 := startProc(t, "watch", "--token", "s3cret", srv.wsURL(), "other")
	waitJSON(ctx, t, w2, 0, `{"via":"query"}`)
	w2.signal(t, syscall.SIGINT)
	if code := w2.wait(ctx, t); code != 0 {
		t.Errorf("watch after SIGINT: exit %d", code)
	}
	srv.stop(ctx, t)
}

// metricValue returns an unlabelled sample's value from Prometheus text
// output, or -1 when it is absent.
func metricValue(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUnreachableServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := "ws://" + freeAddr(t) + "/ws"
	oneLineError(t, "put", runKyneta(ctx, t, "put", "--token", "x", url, "doc", `{"a":1}`), 1, "cannot reach server", "connection refused")
	oneLineError(t, "watch", runKyneta(ctx, t, "watch", "--timeout", "1s", url, "doc"), 1, "cannot reach server within 1s", "connection refused")
	oneLineError(t, "bad URL", runKyneta(ctx, t, "watch", "ftp://example.invalid/ws", "doc"), 1)
}

func TestBadCommandLines(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"serve", "--nope"},
		{"serve", "--addr"},
		{"serve", "--idle-timeout", "forever"},
		{"serve", "--log-level", "chatty"},
		{"serve", "stray"},
		{"put", "--nope", "ws://127.0.0.1:1/ws", "doc", "{}"},
		{"put", "ws://127.0.0.1:1/ws", "doc", "not json"},
		{"watch", "--timeout", "later", "ws://127.0.0.1:1/ws", "doc"},
	} {
		oneLineError(t, fmt.Sprint(args), runKyneta(ctx, t, args...), 2)
	}
	// Wrong command or argument count: the first line says what is wrong,
	// the usage follows.
	for _, args := range [][]string{nil, {"frobnicate"}, {"put", "ws://127.0.0.1:1/ws"}, {"watch"}} {
		r := runKyneta(ctx, t, args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "kyneta: ") || !strings.Contains(r.stderr, "usage:\n  kyneta serve") {
			t.Errorf("%q: exit %d stderr %q", args, r.code, r.stderr)
		}
	}
	if r := runKyneta(ctx, t, "help"); r.code != 0 || !strings.Contains(r.stdout, "kyneta watch") || r.stderr != "" {
		t.Errorf("help: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestServeStartupFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	data := filepath.Join(dir, "k.db")
	oneLineError(t, "missing token file",
		runKyneta(ctx, t, "serve", "--addr", "127.0.0.1:0", "--data", data, "--token-file", filepath.Join(dir, "none")), 1, "token file")
	oneLineError(t, "empty token file",
		runKyneta(ctx, t, "serve", "--addr", "127.0.0.1:0", "--data", data, "--token-file", writeFile(t, "empty", "# none\n")), 1, "holds no token")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	oneLineError(t, "address in use",
		runKyneta(ctx, t, "serve", "--addr", ln.Addr().String(), "--data", data), 1, "listen on "+ln.Addr().String())
	oneLineError(t, "unusable data path",
		runKyneta(ctx, t, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "no", "such", "dir", "k.db")), 1, "open store")
}

// TestServeWithoutAuth: with no token file every client is let in.
func TestServeWithoutAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := startServe(ctx, t, "--data", filepath.Join(t.TempDir(), "k.db"), "--drain-window", "-1s")
	if l := srv.waitLog(ctx, t, "serving"); l["auth"] != false {
		t.Errorf("serving line %v", l)
	}
	if r := runKyneta(ctx, t, "put", "--schema-hash", "", srv.wsURL(), "open", `{"n":1}`); r.code != 0 {
		t.Fatalf("put: exit %d stderr %q", r.code, r.stderr)
	}
	w := startProc(t, "watch", srv.wsURL(), "open")
	waitJSON(ctx, t, w, 0, `{"n":1}`)
	w.signal(t, syscall.SIGTERM)
	if code := w.wait(ctx, t); code != 0 {
		t.Errorf("watch: exit %d", code)
	}
	srv.stop(ctx, t)
}
