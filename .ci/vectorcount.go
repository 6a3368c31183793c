//go:build ignore

// Command vectorcount checks that the golden vector tests ran every vector:
// it reads `go test -json` output of the vector tests on stdin and compares
// the passed subtests per section with the count table of the vector
// README (and, for the transports' pipeline package, with the binary cases of the
// vector files). A section that lost cases, or whose cases were skipped,
// fails the run. Run from the module root:
//
//	go test -count=1 -json -run Vectors ./wire/... ./transport/ ./internal/... | go run .ci/vectorcount.go testdata/wire
//
// Vector subtests are named <file>/<section>/<case>, e.g.
// TestVectorsMessages/messages/cases/depart. A section's count is the number
// of passed case subtests (subtests nested in a case, like a scenario's
// steps, are not cases); the README's "<file>.steps" rows count the
// innermost subtests of "<file>/scenarios".
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// transportPkg holds the transports' shared pipeline, which runs the
// pipeline vectors with its binary codec.
const transportPkg = "github.com/kyneta-go/kyneta/internal/pipeline"

// transportRows are the vector sections the pipeline package runs: the
// binary cases only (its Pipeline is binary).
var transportRows = []struct{ file, section string }{
	{"pipeline", "scenarios"},
	{"invalid", "pipelineReceive"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go test -json ... | go run .ci/vectorcount.go VECTOR_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	readme, err := readmeCounts(filepath.Join(dir, "README.md"))
	if err != nil {
		fail(err)
	}
	passed, err := readEvents(os.Stdin)
	if err != nil {
		fail(err)
	}

	bad := 0
	check := func(pkg, row string, want, got int) {
		mark := "ok"
		if got != want {
			mark = "MISMATCH"
			bad++
		}
		fmt.Printf("%-9s %-40s %-32s want %4d ran %4d\n", mark, strings.TrimPrefix(pkg, "github.com/kyneta-go/kyneta/"), row, want, got)
	}

	var wireNames []string // every package but transport runs README sections
	for pkg, names := range passed {
		if pkg != transportPkg {
			wireNames = append(wireNames, names...)
		}
	}
	for _, r := range readme {
		file, section, _ := strings.Cut(r.row, ".")
		var got int
		if section == "steps" {
			got = len(leaves(under(wireNames, file+"/scenarios/")))
		} else {
			got = len(topmost(under(wireNames, file+"/"+section+"/")))
		}
		check("wire vectors", r.row, r.n, got)
	}
	for _, tr := range transportRows {
		want, err := binaryCases(filepath.Join(dir, tr.file+".json"), tr.section)
		if err != nil {
			fail(err)
		}
		got := len(topmost(under(passed[transportPkg], tr.file+"/"+tr.section+"/")))
		check(transportPkg, tr.file+"."+tr.section+" (binary)", want, got)
	}
	if bad > 0 {
		fail(fmt.Errorf("%d vector sections ran a different number of cases than the vectors hold", bad))
	}
}

type row struct {
	row string
	n   int
}

var countRow = regexp.MustCompile("^\\| `([a-z_]+\\.[A-Za-z]+)` \\| ([0-9]+) \\|")

// readmeCounts reads the README's "Counts in this set" table.
func readmeCounts(path string) ([]row, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []row
	for _, line := range strings.Split(string(data), "\n") {
		if m := countRow.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[2])
			rows = append(rows, row{m[1], n})
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no count table", path)
	}
	return rows, nil
}

// readEvents returns the passed (sub)tests per package.
func readEvents(f *os.File) (map[string][]string, error) {
	passed := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct{ Action, Package, Test string }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("not go test -json output: %v", err)
		}
		if ev.Action == "pass" && ev.Test != "" {
			passed[ev.Package] = append(passed[ev.Package], ev.Test)
		}
	}
	return passed, sc.Err()
}

// under returns the names below TestX/<prefix>, with TestX/ kept.
func under(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if _, rest, ok := strings.Cut(n, "/"); ok && strings.HasPrefix(rest, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// topmost keeps the names none of whose ancestors is in the set (a case's
// name may itself contain slashes, so depth alone cannot tell).
func topmost(names []string) []string {
	slices.Sort(names)
	var out []string
	for _, n := range names {
		if len(out) == 0 || !strings.HasPrefix(n, out[len(out)-1]+"/") {
			out = append(out, n)
		}
	}
	return out
}

// leaves keeps the names that are no other name's ancestor.
func leaves(names []string) []string {
	slices.Sort(names)
	var out []string
	for i, n := range names {
		if i+1 < len(names) && strings.HasPrefix(names[i+1], n+"/") {
			continue
		}
		out = append(out, n)
	}
	return out
}

// binaryCases counts the entries of a vector file's section whose encoding
// is binary.
func binaryCases(path, section string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(data, &file); err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	var cases []struct{ Encoding string }
	if err := json.Unmarshal(file[section], &cases); err != nil {
		return 0, fmt.Errorf("%s: %s: %v", path, section, err)
	}
	n := 0
	for _, c := range cases {
		if c.Encoding == "binary" {
			n++
		}
	}
	return n, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vectorcount:", err)
	os.Exit(1)
}
