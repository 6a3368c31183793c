package nats

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

const envNATS = "KYNETA_TEST_NATS"

// natsURL is the NATS server the tests use, checked by TestMain.
var natsURL = "nats://127.0.0.1:4222"

func TestMain(m *testing.M) {
	if v := os.Getenv(envNATS); v != "" {
		natsURL = v
	}
	nc, err := natsgo.Connect(natsURL, natsgo.Timeout(5*time.Second))
	if err != nil {
		// One clear line: these tests need a real NATS and never skip.
		fmt.Fprintf(os.Stderr, "nats transport tests: NATS at %s unreachable (%v); set %s\n", redactURL(natsURL), err, envNATS)
		os.Exit(1)
	}
	nc.Close()
	// Examples (package nats_test) read the variable.
	_ = os.Setenv(envNATS, natsURL)
	goleak.VerifyTestMain(m)
}

// testPrefix returns a subject prefix no other test or run shares.
func testPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "kt" + hex.EncodeToString(b[:])
}

// proxy is a TCP relay between one node and NATS that a test can cut, as
// a network failure would: Cut closes the node's connection and refuses
// new ones until Heal. nats.go then reconnects on its own.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t testing.TB) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: hostPort(natsURL), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// hostPort is the host:port of the first server of a NATS URL list.
func hostPort(list string) string {
	first := strings.TrimSpace(strings.Split(list, ",")[0])
	if u, err := url.Parse(first); err == nil && u.Host != "" {
		return u.Host
	}
	return first
}

func (p *proxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut drops the node's connection and refuses new ones.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Heal accepts connections again.
func (p *proxy) Heal() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}
