//go:build linux

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Defect (disk full): with the file size limit reached, put exited 0, the
// store write failed, nothing retried, /readyz stayed 200 and the doc was
// empty after a restart. Now: put fails (no acknowledgement), /readyz says
// 503, the relay keeps the write and retries it, and once the disk has room
// again the write lands, the next put is acknowledged, and a restart
// serves it.
func TestDiskFullThroughTheBinary(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatalf("prlimit (util-linux) is needed to limit the relay's file size: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := filepath.Join(t.TempDir(), "k.db")
	srv := startServe(ctx, t, "--data", data)
	base := "http://" + srv.addr
	if r := runKyneta(ctx, t, "put", "--schema-hash", "", srv.wsURL(), "d", `{"v":1}`); r.code != 0 {
		t.Fatalf("first put: exit %d %q", r.code, r.stderr)
	}
	pid := strconv.Itoa(srv.cmd.Process.Pid)
	limit := func(v string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, "prlimit", "--pid", pid, "--fsize="+v).CombinedOutput(); err != nil {
			t.Fatalf("prlimit: %v %s", err, out)
		}
	}
	limit("1:unlimited") // soft limit: every write past the first byte of a file fails, as on a full disk

	r := runKyneta(ctx, t, "put", "--timeout", "2s", srv.wsURL(), "d", `{"v":2}`)
	oneLineError(t, "put while the relay cannot persist", r, 1, "did not acknowledge")
	pollHTTP(ctx, t, base+"/readyz", 503)

	limit("unlimited:unlimited") // room again: the retry lands
	pollHTTP(ctx, t, base+"/readyz", 200)
	if r := runKyneta(ctx, t, "put", "--timeout", "60s", srv.wsURL(), "d", `{"v":3}`); r.code != 0 {
		t.Fatalf("put after the disk has room: exit %d %q", r.code, r.stderr)
	}
	srv.stop(ctx, t)

	srv = startServe(ctx, t, "--data", data)
	w := startProc(t, "watch", srv.wsURL(), "d")
	waitJSON(ctx, t, w, 0, `{"v":3}`)
	w.signal(t, 15)
	w.wait(ctx, t)
	srv.stop(ctx, t)
}

// Defect: two relays on one database file both started and both
// acknowledged writes. The second now refuses to start with one line.
func TestSecondRelayOnOneFileRefusesToStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := filepath.Join(t.TempDir(), "k.db")
	first := startServe(ctx, t, "--data", data)
	second := startProc(t, "serve", "--addr", "127.0.0.1:0", "--data", data)
	if code := second.wait(ctx, t); code == 0 {
		t.Fatal("a second relay started on the same database file")
	}
	var found bool
	for _, l := range second.stderr.all() {
		if strings.Contains(l, "lock") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no line about the lock: %q", second.stderr.all())
	}
	first.stop(ctx, t)
}
