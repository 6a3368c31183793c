//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// runKynetaEnv is runKyneta with extra environment variables.
func runKynetaEnv(ctx context.Context, t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, kynetaBinary(t), args...)
	cmd.Env = append(childEnviron(), env...)
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
	raceReport(t, strings.Join(args, " "), stderr.String())
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// waitLogFrom waits for a log line with msg at or after line from and
// returns its index and content.
func (s *serveProc) waitLogFrom(ctx context.Context, t *testing.T, from int, msg string) (int, map[string]any) {
	t.Helper()
	i, err := s.stderr.waitFor(ctx, from, isMsg(msg))
	if err != nil {
		t.Fatalf("serve never logged %q after line %d: %v\nlog:\n%s", msg, from, err, strings.Join(s.stderr.all(), "\n"))
	}
	return i, logLine(s.stderr.all()[i])
}

func (s *serveProc) lines() int { return len(s.stderr.all()) }

// Without a token file serve is reachable from this machine only: a bare
// port listens on loopback, a network address is refused unless
// --insecure, and the log says which.
func TestServeSecureDefault(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	for _, addr := range []string{"0.0.0.0:0", "[::]:0"} {
		oneLineError(t, "network address without auth",
			runKyneta(ctx, t, "serve", "--addr", addr, "--data", filepath.Join(dir, "k.db")), 2, "refusing to serve", "--insecure")
	}
	// The variable counts like the flag.
	oneLineError(t, "network address from the environment",
		runKynetaEnv(ctx, t, []string{"KYNETA_ADDR=0.0.0.0:0"}, "serve", "--data", filepath.Join(dir, "k.db")), 2, "refusing to serve")

	srv := startServe(ctx, t, "--addr", ":0", "--data", filepath.Join(dir, "k.db"), "--drain-window", "-1s")
	line := srv.waitLog(ctx, t, "serving")
	if line["exposure"] != exposeLoopback || line["auth"] != false || !strings.HasPrefix(srv.addr, "127.0.0.1:") {
		t.Errorf("serving line %v", line)
	}
	if w := srv.waitLog(ctx, t, "no --token-file: listening on loopback only; give --token-file to serve the network, or --insecure to serve it without authentication"); w["level"] != "WARN" {
		t.Errorf("warning %v", w)
	}
	srv.stop(ctx, t)

	srv = startServe(ctx, t, "--addr", "0.0.0.0:0", "--insecure", "--data", filepath.Join(dir, "k.db"), "--drain-window", "-1s")
	if line := srv.waitLog(ctx, t, "serving"); line["exposure"] != exposeInsecure {
		t.Errorf("serving line %v", line)
	}
	srv.waitLog(ctx, t, "serving without authentication on a non-loopback address (--insecure): anyone who can reach it can read and write every document")
	srv.stop(ctx, t)
}

// Tokens name the peer ids they may claim; the file is reloaded when it
// changes and on SIGHUP, and the connections of a removed token are
// closed. put and watch read the token from --token-file or KYNETA_TOKEN.
// /metrics, /stats and /ui require a metrics token when one is set.
func TestTokenReloadAndPeerBinding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	tokens := writeFile(t, "tokens", "# billing may only be billing-*\nt-billing billing-*\nt-ops\n")
	metricsTokens := writeFile(t, "metrics-tokens", "t-scrape\n")
	srv := startServe(ctx, t, "--data", filepath.Join(dir, "k.db"), "--token-file", tokens, "--metrics-token-file", metricsTokens,
		"--reload-interval", "50ms", "--drain-window", "-1s")
	if l := srv.waitLog(ctx, t, "serving"); l["exposure"] != exposeAuthenticated || l["metrics_auth"] != true {
		t.Errorf("serving line %v", l)
	}

	// put's peer id is "cli-…": t-billing may not claim it. The relay
	// refuses the establish and closes the connection with 1008 (counted
	// in /metrics below); put gives up when its timeout ends.
	r := runKyneta(ctx, t, "put", "--timeout", "1s", "--token", "t-billing", srv.wsURL(), "config", `{"a":1}`)
	oneLineError(t, "put with a token bound to other peer ids", r, 1, "did not sync")
	// KYNETA_TOKEN and --token-file carry t-ops.
	if r := runKynetaEnv(ctx, t, []string{"KYNETA_TOKEN=t-ops"}, "put", srv.wsURL(), "config", `{"a":1}`); r.code != 0 {
		t.Fatalf("put with KYNETA_TOKEN: exit %d stderr %q", r.code, r.stderr)
	}
	opsFile := writeFile(t, "ops-token", "t-ops\n")
	if r := runKyneta(ctx, t, "put", "--token-file", opsFile, srv.wsURL(), "config", `{"a":2}`); r.code != 0 {
		t.Fatalf("put with --token-file: exit %d stderr %q", r.code, r.stderr)
	}
	w := startProc(t, "watch", "--token-file", opsFile, srv.wsURL(), "config")
	waitJSON(ctx, t, w, 0, `{"a":2}`)

	// Observability endpoints want the metrics token (a WebSocket token
	// is not one).
	base := "http://" + srv.addr
	for _, path := range []string{"/metrics", "/stats", "/ui"} {
		if code, _ := httpGet(ctx, t, base+path); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", path, code)
		}
		if code, _ := httpGet(ctx, t, base+path+"?token=t-ops"); code != http.StatusUnauthorized {
			t.Errorf("%s with a peer token: %d", path, code)
		}
	}
	code, body := httpGetAuth(ctx, t, base+"/metrics", "t-scrape")
	if code != 200 || !strings.Contains(body, `kyneta_connections_closed_total{code="1008"} 1`) {
		t.Errorf("/metrics with the scrape token: %d, want the billing connection closed with 1008:\n%s", code, body)
	}
	if code, body := httpGet(ctx, t, base+"/ui?token=t-scrape"); code != 200 || !strings.Contains(body, `data-stats="/stats"`) {
		t.Errorf("/ui with ?token=: %d", code)
	}

	// Replace the file: t-ops is revoked, t-new appears. The change is
	// noticed, the watch's connection is closed.
	from := srv.lines()
	if err := os.WriteFile(tokens, []byte("t-billing billing-*\nt-new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, l := srv.waitLogFrom(ctx, t, from, "tokens reloaded")
	if l["trigger"] != "file-change" || l["tokens"] != float64(2) || l["revoked"] != float64(1) || l["closed"] != float64(1) {
		t.Errorf("reload line %v", l)
	}
	if code := w.wait(ctx, t); code != 1 {
		t.Errorf("watch of a revoked token exited %d", code)
	}
	if errs := w.stderr.all(); len(errs) != 1 || !strings.Contains(errs[0], "lost the server") {
		t.Errorf("watch stderr %q", errs)
	}
	oneLineError(t, "put with the revoked token", runKyneta(ctx, t, "put", "--token", "t-ops", srv.wsURL(), "config", `{"a":3}`), 1, "401")
	if r := runKyneta(ctx, t, "put", "--token", "t-new", srv.wsURL(), "config", `{"a":3}`); r.code != 0 {
		t.Fatalf("put with the new token: exit %d stderr %q", r.code, r.stderr)
	}

	// SIGHUP reloads even what did not change.
	from = srv.lines()
	srv.signal(t, syscall.SIGHUP)
	if _, l := srv.waitLogFrom(ctx, t, from, "tokens reloaded"); l["trigger"] != "signal" {
		t.Errorf("reload line %v", l)
	}
	srv.waitLogFrom(ctx, t, from, "metrics tokens reloaded")

	// A broken file keeps the tokens in force.
	from = srv.lines()
	if err := os.WriteFile(tokens, []byte("# emptied by mistake\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, l = srv.waitLogFrom(ctx, t, from, "reload failed; keeping the previous tokens")
	if !strings.Contains(l["err"].(string), "holds no token") {
		t.Errorf("failure line %v", l)
	}
	if r := runKyneta(ctx, t, "put", "--token", "t-new", srv.wsURL(), "config", `{"a":4}`); r.code != 0 {
		t.Fatalf("put after a failed reload: exit %d stderr %q", r.code, r.stderr)
	}
	for _, line := range srv.stderr.all() {
		for _, secret := range []string{"t-ops", "t-new", "t-billing", "t-scrape"} {
			if strings.Contains(line, secret) {
				t.Errorf("the log shows a token: %s", line)
			}
		}
	}
	srv.stop(ctx, t)
}

func httpGetAuth(ctx context.Context, t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kyneta test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	return ca
}

// issue writes a server certificate for 127.0.0.1 with this serial to
// certFile and keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "kyneta relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Key first: a poll between the two writes sees a mismatched pair and
	// keeps the old one; the certificate's write completes the change.
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// servedSerial opens a TLS connection that trusts only ca and returns the
// serial of the certificate the server presented.
func servedSerial(t *testing.T, addr string, ca *testCA) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// serve with --tls-cert/--tls-key: a client that trusts the CA syncs over
// wss://, one that does not is refused by its own verification, and a
// renewed certificate is served once its files change.
func TestTLSEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, 100, certFile, keyFile)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := writeFile(t, "tokens", "t-tls\n")
	srv := startServe(ctx, t, "--data", filepath.Join(dir, "k.db"), "--token-file", tokens, "--tls-cert", certFile, "--tls-key", keyFile,
		"--reload-interval", "50ms", "--drain-window", "-1s")
	line := srv.waitLog(ctx, t, "serving")
	url := "wss://" + srv.addr + "/ws"
	if line["tls"] != true || line["url"] != url || line["serial"] != "100" {
		t.Errorf("serving line %v", line)
	}
	if got := servedSerial(t, srv.addr, ca); got != "100" {
		t.Fatalf("served serial %s", got)
	}

	// The library client verifies the server against the CA it is given.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: ca.pool}
	hc := &http.Client{Transport: tr}
	defer hc.CloseIdleConnections()
	policy := backoff.Policy{Base: 50 * time.Millisecond, Max: 100 * time.Millisecond, MaxAttempts: 0}
	cl, err := client.New(client.Options{URL: url, HTTPClient: hc, Header: http.Header{"Authorization": {"Bearer t-tls"}}, Reconnect: &policy})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exchange.New(exchange.Options{PeerID: "tls-peer", Transports: []transport.Transport{cl}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ex.Get("secure", exchange.JSONDoc(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("over"), "tls"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := doc.WaitAcknowledged(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ex.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// Without the CA the client refuses the server (and never retries a
	// failed verification forever: the policy allows no retry here).
	plain, err := client.New(client.Options{URL: url, Reconnect: &policy})
	if err != nil {
		t.Fatal(err)
	}
	ex2, err := exchange.New(exchange.Options{PeerID: "untrusting", Transports: []transport.Transport{plain}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := plain.WaitForStatus(ctx, client.StatusDisconnected)
	if err != nil || st.Reason == nil || !strings.Contains(st.Reason.Error(), "certificate signed by unknown authority") {
		t.Errorf("untrusting client: %v %v", st.Reason, err)
	}
	_ = ex2.Shutdown(ctx)

	// The binary, trusting the CA through the system's variable.
	caEnv := []string{"SSL_CERT_FILE=" + caFile, "KYNETA_TOKEN=t-tls"}
	w := startProcEnv(t, caEnv, "watch", url, "secure")
	waitJSON(ctx, t, w, 0, `{"over":"tls"}`)
	if r := runKynetaEnv(ctx, t, caEnv, "put", url, "secure", `{"over":"tls","by":"put"}`); r.code != 0 {
		t.Fatalf("put over wss: exit %d stderr %q", r.code, r.stderr)
	}
	waitJSON(ctx, t, w, 0, `{"over":"tls","by":"put"}`)
	oneLineError(t, "put without the CA", runKynetaEnv(ctx, t, []string{"KYNETA_TOKEN=t-tls", "SSL_CERT_FILE=" + filepath.Join(dir, "none")},
		"put", url, "secure", `{}`), 1, "certificate")

	// Renewal: new files are picked up without a restart; connections
	// made before keep going.
	from := srv.lines()
	ca.issue(t, 200, certFile, keyFile)
	_, l := srv.waitLogFrom(ctx, t, from, "certificate reloaded")
	if l["serial"] != "200" || l["trigger"] != "file-change" {
		t.Errorf("reload line %v", l)
	}
	if got := servedSerial(t, srv.addr, ca); got != "200" {
		t.Errorf("after renewal the server presents serial %s", got)
	}
	if r := runKynetaEnv(ctx, t, caEnv, "put", url, "secure", `{"after":"renewal"}`); r.code != 0 {
		t.Fatalf("put after renewal: exit %d stderr %q", r.code, r.stderr)
	}
	waitJSON(ctx, t, w, 0, `{"after":"renewal"}`)
	code, body := httpsGet(ctx, t, "https://"+srv.addr+"/metrics", ca)
	if code != 200 || !strings.Contains(body, "kyneta_tls_certificate_expiry_timestamp_seconds") {
		t.Errorf("/metrics over https: %d", code)
	}
	w.signal(t, syscall.SIGTERM)
	w.wait(ctx, t)
	srv.stop(ctx, t)
}

func httpsGet(ctx context.Context, t *testing.T, url string, ca *testCA) (int, string) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// startProcEnv is startProc with extra environment variables.
func startProcEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	saved := extraEnv
	extraEnv = env
	defer func() { extraEnv = saved }()
	return startProc(t, args...)
}
