package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The two-process workloads start this test binary as peer B.
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// results runs the runner and returns its result lines by bench/procs.
func results(t *testing.T, args ...string) map[string]map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	got := map[string]map[string]any{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		if r["kind"] == "result" {
			got[fmt.Sprintf("%v/%v/%v", r["bench"], r["procs"], r["params"])] = r
		}
	}
	return got
}

func medianOf(t *testing.T, r map[string]any, k string) float64 {
	t.Helper()
	m, ok := r[k].(map[string]any)
	if !ok {
		t.Fatalf("no %s in %v", k, r)
	}
	return m["median"].(float64)
}

// TestWorkloadsSmall runs every workload with small parameters in one and
// two processes and checks that each produced its result fields.
func TestWorkloadsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	got := results(t, "--workload", "all", "--procs", "1,2", "--runs", "1", "--docs", "20", "--writes", "5",
		"--n", "200", "--window", "1,0", "--size", "300000", "--large-reps", "2", "--conns", "20", "--raw-n", "200",
		"--settle-ms", "0", "--timeout", "60")
	want := map[string][]string{
		"converge":   {"wall_ms", "ops_per_s", "establish_ms"},
		"stream":     {"wall_ms", "lat_p50_us", "ops_per_s"},
		"large":      {"wall_ms", "mib_per_s"},
		"idle-conns": {"rss_kib_per_conn", "heap_used_kib_per_conn"},
		"raw":        {"rtt_p50_us", "msgs_per_s", "oneway_p50_us"},
	}
	n := 0
	for key, r := range got {
		for _, k := range want[r["bench"].(string)] {
			if v := medianOf(t, r, k); v < 0 || (k != "heap_used_kib_per_conn" && k != "rss_kib_per_conn" && v == 0) {
				t.Fatalf("%s: %s = %v", key, k, v)
			}
		}
		n++
	}
	// converge, stream ×2 windows, large, raw in 2 layouts + idle once.
	if n != 2*5+1 {
		t.Fatalf("%d results: %v", n, got)
	}
}

// TestRatios: results present in both files are compared, and the Go
// stream is set against the raw baseline of the same run.
func TestRatios(t *testing.T) {
	dir := t.TempDir()
	ts := `{"kind":"result","bench":"large","procs":2,"params":{"size":1048576,"reps":10,"fragment_threshold":102400},"wall_ms":{"median":8}}` + "\n"
	gol := `{"kind":"result","bench":"large","procs":2,"params":{"size":1048576,"reps":10},"wall_ms":{"median":2},"mib_per_s":{"median":500}}
{"kind":"result","bench":"stream","procs":2,"params":{"n":100,"window":1},"lat_p50_us":{"median":50}}
{"kind":"result","bench":"stream","procs":2,"params":{"n":100,"window":100},"lat_p50_us":{"median":900}}
{"kind":"result","bench":"raw","procs":2,"params":{"n":100,"size":128,"window":100},"rtt_p50_us":{"median":25},"oneway_p50_us":{"median":20}}
`
	tp, gp := filepath.Join(dir, "ts"), filepath.Join(dir, "go")
	if err := os.WriteFile(tp, []byte(ts), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gp, []byte(gol), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printRatios(&out, tp, gp); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "4.00x") || !strings.Contains(s, "2.00x") || !strings.Contains(s, "2.50x") || strings.Contains(s, "mib_per_s") {
		t.Fatalf("ratios:\n%s", s)
	}
}

func Example_resultKey() {
	fmt.Println(resultKey(resultLine{Bench: "stream", Procs: 2, Params: map[string]any{"window": 1, "n": 10000, "settle_ms": 5}}))
	// Output: stream procs=2 n=10000 window=1
}

// TestTraceFlag: --trace writes an execution trace of the runner and one of
// the child (peer B) next to it.
func TestTraceFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "stream.trace")
	results(t, "--workload", "stream", "--procs", "2", "--runs", "1", "--n", "50", "--window", "1", "--timeout", "60", "--trace", path)
	for _, p := range []string{path, path + ".child"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// An execution trace starts with its version header.
		if !bytes.HasPrefix(b, []byte("go 1.")) || len(b) < 1024 {
			t.Fatalf("%s: %d bytes, starts %q", p, len(b), b[:min(len(b), 16)])
		}
	}
}
