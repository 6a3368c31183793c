package main

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta/exchange"
)

// privateNATS runs a NATS server of the test's own (the shared one must
// not be restarted under other tests), on a fixed port so a restart comes
// back at the same address.
type privateNATS struct {
	t    *testing.T
	port string
	dir  string
	cmd  *exec.Cmd
}

func startPrivateNATS(ctx context.Context, t *testing.T) *privateNATS {
	t.Helper()
	bin := natsBinary()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	n := &privateNATS{t: t, port: port, dir: t.TempDir()}
	n.start(ctx, bin)
	t.Cleanup(n.stop)
	return n
}

// natsBinary finds nats-server (Debian installs it in /usr/sbin).
func natsBinary() string {
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin
	}
	return "/usr/sbin/nats-server"
}

func (n *privateNATS) url() string { return "nats://127.0.0.1:" + n.port }

func (n *privateNATS) start(ctx context.Context, bin string) {
	n.t.Helper()
	n.cmd = exec.Command(bin, "-a", "127.0.0.1", "-p", n.port, "-js", "-sd", n.dir)
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("nats-server (Debian package nats-server) is needed for this test: %v", err)
	}
	// Wait until it accepts clients.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if nc, err := natsgo.Connect(n.url(), natsgo.Timeout(time.Second)); err == nil {
			nc.Close()
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			n.t.Fatalf("private nats-server did not start on %s", n.url())
		}
	}
}

func (n *privateNATS) stop() {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		_ = n.cmd.Wait()
		n.cmd = nil
	}
}

// TestClusterNATSRestart: the NATS server between two nodes restarts while
// clients on both keep writing; once it is back, every client converges
// and nothing is stored twice.
func TestClusterNATSRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ci := newClusterInfra(ctx, t)
	ns := startPrivateNATS(ctx, t)
	n1, n2 := ci.startNode(ctx, t, "n1", ns.url()), ci.startNode(ctx, t, "n2", ns.url())
	c1, c2 := newTClient(ctx, t, "c1", n1.wsURL()), newTClient(ctx, t, "c2", n2.wsURL())
	set(t, c1.doc(t, "restart/hello", jsonDoc), "hi", 1.0)
	waitDocs(ctx, t, "n1 → n2", []*exchange.Doc{c2.doc(t, "restart/hello", jsonDoc)}, hasKeys(map[string]any{"hi": 1}))

	ns.stop()
	pollHTTP(ctx, t, "http://"+n1.addr+"/readyz", 503)
	d1, d2 := c1.doc(t, "restart/a", jsonDoc), c2.doc(t, "restart/b", jsonDoc)
	s1, s2 := c1.doc(t, "restart/state", stateDoc), c2.doc(t, "restart/state", stateDoc)
	want := map[string]any{}
	for i := range 20 {
		k := "k" + strconv.Itoa(i)
		set(t, d1, k, float64(i))
		set(t, d2, k, float64(i))
		set(t, s1, "a"+k, float64(i))
		set(t, s2, "b"+k, float64(i))
		want[k] = i
	}
	ns.start(ctx, natsBinary())
	pollHTTP(ctx, t, "http://"+n1.addr+"/readyz", 200)
	pollHTTP(ctx, t, "http://"+n2.addr+"/readyz", 200)

	for _, id := range []string{"restart/a", "restart/b"} {
		waitDocs(ctx, t, id+" converges", []*exchange.Doc{c1.doc(t, id, jsonDoc), c2.doc(t, id, jsonDoc)}, hasKeys(want))
	}
	stWant := map[string]any{}
	for k, v := range want {
		stWant["a"+k], stWant["b"+k] = v, v
	}
	waitDocs(ctx, t, "state converges", []*exchange.Doc{s1, s2}, hasKeys(stWant))
	pg := ci.openStore(ctx, t)
	for _, id := range []string{"restart/a", "restart/b", "restart/state"} {
		checkStream(ctx, t, pg, id)
	}
	n1.stop(ctx, t)
	n2.stop(ctx, t)
}
