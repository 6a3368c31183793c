// Command bench runs the workloads of the TypeScript reference's benchmark
// harness against the Go stack, with the same flags and the same output
// fields, so that the two can be run side by side on one machine and
// compared as ratios.
//
// Topology (as in the reference harness):
//
//   - --procs 1: peer A (an exchange behind the WebSocket server) and peer
//     B (an exchange behind the WebSocket client) run in this process and
//     talk over a real loopback WebSocket.
//   - --procs 2: B runs in a child process (this program with --child),
//     driven over stdin/stdout JSON lines. Write→observe latencies use
//     wall-clock nanoseconds taken in both processes.
//   - idle-conns always opens its idle clients in a child process, so the
//     server's memory counts only the server.
//
// Output: one JSON line per run ("kind":"run") and one per workload and
// parameter set ("kind":"result", min/median/max over the runs); errors
// and warnings go to stderr. The "raw" workload (Go only) measures plain
// coder/websocket in the same run, the baseline the kyneta numbers are
// compared with: echo round trips, the pipelined message rate, and one-way
// latency paced like the stream workload with one write in flight.
//
// With --ratios TS.jsonl GO.jsonl it reads two result files and prints the
// Go/TS ratio of every result present in both.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
)

// config holds the parsed flags.
type config struct {
	workloads []string
	procs     []int
	runs      int
	docs      []int
	writes    []int
	n         int
	windows   []int
	size      int
	largeReps int
	conns     []int
	idleKind  string
	settleMs  int
	frag      int // -1: transports' default
	// defaultQueue keeps the server's default send-queue limits (the
	// reference buffers without bound, so the comparison runs raise them).
	defaultQueue bool
	timeoutSec   int
	rawN         int
	child        bool
	ratios       bool
	cpuProfile   string
	traceFile    string
}

var allWorkloads = []string{"converge", "stream", "large", "idle-conns", "raw"}

func parseFlags(args []string, stderr io.Writer) (*config, []string, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workload := fs.String("workload", "all", "converge|stream|large|idle-conns|raw|all, comma-separated")
	procs := fs.String("procs", "1", `1 = A and B in one process; 2 = B in a child process; "1,2" = both`)
	runs := fs.Int("runs", 3, "runs per parameter set (min/median/max reported)")
	docs := fs.String("docs", "1000", "converge: documents (comma list = series)")
	writes := fs.String("writes", "100", "converge: writes per document (comma list allowed)")
	n := fs.Int("n", 10000, "stream: sequential writes")
	window := fs.String("window", "1,100,0", "stream: max writes in flight; comma list; 0 = unbounded")
	size := fs.Int("size", 1<<20, "large: string size in bytes")
	largeReps := fs.Int("large-reps", 10, "large: writes per run (median reported)")
	conns := fs.String("conns", "1000", "idle-conns: idle client connections (comma list allowed)")
	idleKind := fs.String("idle-kind", "raw", "idle-conns: raw (plain WebSocket + ready + establish) | exchange (client + exchange per connection)")
	settle := fs.Int("settle-ms", 1000, "idle-conns: wait after the last establish before measuring")
	frag := fs.Int("fragment-threshold", -1, "wire fragment threshold, both sides (-1: default 102400; 0: off)")
	defaultQueue := fs.Bool("default-queue", false, "keep the server's default send-queue limits (results then count slow-consumer closes)")
	timeout := fs.Int("timeout", 120, "per-run time limit in seconds")
	rawN := fs.Int("raw-n", 10000, "raw: round trips (and pipelined messages) per run")
	child := fs.Bool("child", false, "internal: run as peer B, driven over stdin/stdout")
	ratios := fs.Bool("ratios", false, "read two result files (TS first, then Go) and print Go/TS ratios")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process to FILE (the child writes FILE.child)")
	traceFile := fs.String("trace", "", "write an execution trace of this process to FILE (the child writes FILE.child); see go tool trace")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	c := &config{runs: *runs, n: *n, size: *size, largeReps: *largeReps, idleKind: *idleKind,
		settleMs: *settle, frag: *frag, defaultQueue: *defaultQueue, timeoutSec: *timeout, rawN: *rawN, child: *child, ratios: *ratios,
		cpuProfile: *cpuProfile, traceFile: *traceFile}
	var err error
	for _, w := range strings.Split(*workload, ",") {
		switch {
		case w == "all":
			c.workloads = append(c.workloads, allWorkloads...)
		case slices.Contains(allWorkloads, w):
			c.workloads = append(c.workloads, w)
		default:
			return nil, nil, fmt.Errorf("unknown workload %q", w)
		}
	}
	if c.procs, err = numList("procs", *procs); err != nil {
		return nil, nil, err
	}
	for _, p := range c.procs {
		if p != 1 && p != 2 {
			return nil, nil, fmt.Errorf("--procs: %d is neither 1 nor 2", p)
		}
	}
	if c.docs, err = numList("docs", *docs); err != nil {
		return nil, nil, err
	}
	if c.writes, err = numList("writes", *writes); err != nil {
		return nil, nil, err
	}
	if c.windows, err = numList("window", *window); err != nil {
		return nil, nil, err
	}
	if c.conns, err = numList("conns", *conns); err != nil {
		return nil, nil, err
	}
	if c.idleKind != "raw" && c.idleKind != "exchange" {
		return nil, nil, fmt.Errorf("--idle-kind: %q", c.idleKind)
	}
	if c.runs < 1 || c.n < 1 || c.size < 16 || c.largeReps < 1 || c.rawN < 1 {
		return nil, nil, errors.New("--runs, --n, --large-reps, --raw-n must be positive and --size at least 16")
	}
	return c, fs.Args(), nil
}

func numList(name, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("--%s: bad number %q", name, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, rest, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if cfg.ratios {
		if len(rest) != 2 {
			fmt.Fprintln(stderr, "bench: --ratios needs two files: TS results, then Go results")
			return 2
		}
		if err := printRatios(stdout, rest[0], rest[1]); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		return 0
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", rest[0])
		return 2
	}
	for _, rec := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{
		{cfg.cpuProfile, pprof.StartCPUProfile, pprof.StopCPUProfile},
		{cfg.traceFile, trace.Start, trace.Stop},
	} {
		stop, err := record(rec.path, rec.start, rec.stop)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer stop()
	}
	if cfg.child {
		if err := childMain(cfg, stdin, stdout); err != nil {
			fmt.Fprintln(stderr, "bench child:", err)
			return 2
		}
		return 0
	}
	o := &orchestrator{cfg: cfg, out: json.NewEncoder(stdout), warn: stderr}
	o.emit(map[string]any{
		"kind": "env", "go": runtime.Version(), "nproc": runtime.NumCPU(), "gomaxprocs": runtime.GOMAXPROCS(0),
		"platform": runtime.GOOS + "/" + runtime.GOARCH, "runs": cfg.runs, "fragment_threshold": cfg.fragThreshold(),
		"argv": args,
	})
	if failures := o.runAll(); len(failures) > 0 {
		fmt.Fprintf(stderr, "bench: %d failure(s):\n  %s\n", len(failures), strings.Join(failures, "\n  "))
		return 1
	}
	return 0
}

// record starts writing a profile or trace to path ("" records nothing)
// and returns what stops it and closes the file.
func record(path string, start func(io.Writer) error, stop func()) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { stop(); _ = f.Close() }, nil
}

// fragThreshold is the threshold both sides use, as reported.
func (c *config) fragThreshold() int {
	if c.frag < 0 {
		return 102400
	}
	return c.frag
}
