package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// A result line as both harnesses print it.
type resultLine struct {
	Kind   string         `json:"kind"`
	Bench  string         `json:"bench"`
	Procs  int            `json:"procs"`
	Params map[string]any `json:"params"`
	rest   map[string]json.RawMessage
}

// readResults returns, per result key, every median seen for each metric
// (a file may hold several rounds of the same workloads).
func readResults(path string) (map[string]map[string][]float64, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := map[string]map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r resultLine
		if json.Unmarshal(line, &r) != nil || r.Kind != "result" {
			continue
		}
		if json.Unmarshal(line, &r.rest) != nil {
			continue
		}
		key := resultKey(r)
		if out[key] == nil {
			out[key] = map[string][]float64{}
			order = append(order, key)
		}
		for metric, raw := range r.rest {
			var m struct {
				Median *float64 `json:"median"`
			}
			if json.Unmarshal(raw, &m) == nil && m.Median != nil {
				out[key][metric] = append(out[key][metric], *m.Median)
			}
		}
	}
	return out, order, sc.Err()
}

// resultKey names a workload and parameter set; parameters only one
// harness has (settle time, fragment threshold) are left out.
func resultKey(r resultLine) string {
	keys := slices.Sorted(maps.Keys(r.Params))
	var b strings.Builder
	fmt.Fprintf(&b, "%s procs=%d", r.Bench, r.Procs)
	for _, k := range keys {
		if k == "settle_ms" || k == "fragment_threshold" {
			continue
		}
		fmt.Fprintf(&b, " %s=%v", k, r.Params[k])
	}
	return b.String()
}

// lowerIsBetter tells how a metric reads: times and memory shrink when
// things get better, rates grow.
func lowerIsBetter(metric string) bool {
	return !strings.HasSuffix(metric, "_per_s")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// printRatios prints, for every workload both files measured, each
// metric's median (median over rounds) for TS and Go and how many times
// better Go is (>1: Go better).
func printRatios(w io.Writer, tsPath, goPath string) error {
	ts, _, err := readResults(tsPath)
	if err != nil {
		return err
	}
	gor, order, err := readResults(goPath)
	if err != nil {
		return err
	}
	printRaw(w, gor)
	if len(ts) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n%-44s %-24s %14s %14s %10s\n", "workload", "metric", "TS", "Go", "Go better")
	for _, key := range order {
		t, ok := ts[key]
		if !ok {
			continue
		}
		g := gor[key]
		for _, metric := range slices.Sorted(maps.Keys(g)) {
			tv, ok := t[metric]
			if !ok {
				continue
			}
			a, b := median(tv), median(g[metric])
			ratio := "-"
			switch {
			case lowerIsBetter(metric) && b > 0:
				ratio = fmt.Sprintf("%.2fx", a/b)
			case !lowerIsBetter(metric) && a > 0:
				ratio = fmt.Sprintf("%.2fx", b/a)
			}
			fmt.Fprintf(w, "%-44s %-24s %14.3f %14.3f %10s\n", key, metric, a, b, ratio)
		}
	}
	return nil
}

// printRaw compares the Go stack with raw coder/websocket measured by the
// same runner: stream window-1 write→observe p50 against the raw echo's
// round-trip p50 and against a raw message's one-way p50 paced the same
// way, per process layout.
func printRaw(w io.Writer, gor map[string]map[string][]float64) {
	header := false
	for _, procs := range []int{1, 2} {
		var stream, raw map[string][]float64
		for key, m := range gor {
			switch {
			case strings.HasPrefix(key, fmt.Sprintf("stream procs=%d ", procs)) && strings.HasSuffix(key, " window=1"):
				stream = m
			case strings.HasPrefix(key, fmt.Sprintf("raw procs=%d ", procs)):
				raw = m
			}
		}
		if stream == nil || raw == nil || len(stream["lat_p50_us"]) == 0 || len(raw["rtt_p50_us"]) == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(w, "%-44s %14s %14s %10s\n", "Go vs raw coder/websocket (same run)", "kyneta", "raw", "ratio")
			header = true
		}
		s, r := median(stream["lat_p50_us"]), median(raw["rtt_p50_us"])
		fmt.Fprintf(w, "%-44s %14.1f %14.1f %9.2fx\n", fmt.Sprintf("procs=%d stream w=1 p50 us / raw RTT p50 us", procs), s, r, s/r)
		if len(raw["oneway_p50_us"]) > 0 {
			r := median(raw["oneway_p50_us"])
			fmt.Fprintf(w, "%-44s %14.1f %14.1f %9.2fx\n", fmt.Sprintf("procs=%d stream w=1 p50 us / raw one-way p50", procs), s, r, s/r)
		}
	}
}
