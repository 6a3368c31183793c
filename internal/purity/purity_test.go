package purity

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// short renders a violation as file:line rule message, the file relative to
// testdata, so expectations read like the fixture.
func short(v Violation) string {
	rel, err := filepath.Rel("testdata", v.Pos.Filename)
	if err != nil {
		rel = v.Pos.Filename
	}
	return fmt.Sprintf("%s:%d %s %s", filepath.ToSlash(rel), v.Pos.Line, v.Rule, v.Message)
}

func TestImpureFixture(t *testing.T) {
	want := []string{
		`impure/program.go:6 import import of "crypto/rand"`,
		`impure/program.go:8 import import of "io"`,
		`impure/program.go:9 import import of "log/slog"`,
		`impure/program.go:10 import import of "math/rand"`,
		`impure/program.go:11 import import of "math/rand/v2"`,
		`impure/program.go:12 import import of "net/http"`,
		`impure/program.go:13 import import of "os"`,
		`impure/program.go:14 import import of "sync"`,
		`impure/program.go:15 import import of "sync/atomic"`,
		`impure/program.go:30 clock use of time.Now`,
		`impure/program.go:31 clock use of time.Since`,
		`impure/program.go:32 clock use of time.After`,
		`impure/program.go:34 clock use of time.Sleep`,
		`impure/program.go:35 goroutine go statement`,
		`impure/timer_program.go:8 clock use of time.NewTicker (dot import)`,
		`impure/timer_program.go:9 goroutine go statement`,
		`impure/timer_program.go:13 clock use of time.Tick (dot import)`,
	}
	var got []string
	for _, v := range Check("testdata/impure") {
		got = append(got, short(v))
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", lines(got), lines(want))
	}
}

func lines(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

func TestFiles(t *testing.T) {
	want := []string{
		filepath.Join("testdata", "pure", "program.go"),
		filepath.Join("testdata", "pure", "sub", "reconnect_program.go"),
	}
	if got := Files(filepath.Join("testdata", "pure")); !slices.Equal(got, want) {
		t.Errorf("Files = %q, want %q (testdata and nested modules skipped)", got, want)
	}
	want = []string{
		filepath.Join("testdata", "impure", "program.go"),
		filepath.Join("testdata", "impure", "timer_program.go"),
	}
	if got := Files(filepath.Join("testdata", "impure")); !slices.Equal(got, want) {
		t.Errorf("Files = %q, want %q (shell.go and program_test.go are not programs)", got, want)
	}
}

func TestPureFixture(t *testing.T) {
	// Also proves the skipping: testdata/pure/testdata and the nested module
	// hold impure program.go files.
	if vs := Check("testdata/pure"); len(vs) != 0 {
		t.Errorf("pure fixture reported %v", vs)
	}
	if vs := Check("testdata/pure/nested"); len(vs) != 1 {
		t.Errorf("checking the nested module directly found %d violations, want 1 (it is only skipped from above)", len(vs))
	}
}

func TestCheckSingleFileAndErrors(t *testing.T) {
	if vs := Check("testdata/impure/timer_program.go"); len(vs) != 3 {
		t.Errorf("single file: %d violations, want 3: %v", len(vs), vs)
	}
	if vs := Check("testdata/does-not-exist"); len(vs) != 1 || vs[0].Rule != RuleParse {
		t.Errorf("missing path: %v, want one parse violation", vs)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken_program.go"), []byte("package x\nfunc {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if vs := Check(dir); len(vs) != 1 || vs[0].Rule != RuleParse {
		t.Errorf("unparsable program: %v, want one parse violation", vs)
	}
}

func TestIsProgramFile(t *testing.T) {
	for name, want := range map[string]bool{
		"program.go":               true,
		"client/program.go":        true,
		"drain_program.go":         true,
		"program_test.go":          false,
		"myprogram.go":             false,
		"drain_program_test.go":    false,
		"program.go.orig":          false,
		"internal/x/_program.go":   true,
		"client/lifecycle.go":      false,
		"server/conn_program.go":   true,
		"server/conn_programs.go":  false,
		"server/conn_program.goxx": false,
	} {
		if got := IsProgramFile(name); got != want {
			t.Errorf("%s: program file = %v, want %v", name, got, want)
		}
	}
}

func TestFindModuleRoot(t *testing.T) {
	root, err := FindModuleRoot("testdata/pure/sub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("root %s has no go.mod", root)
	}
	if !dirExists(filepath.Join(root, "internal", "purity", "testdata")) {
		t.Errorf("root %s is not this module's root", root)
	}
	nested, err := FindModuleRoot("testdata/pure/nested")
	if err != nil || filepath.Base(nested) != "nested" {
		t.Errorf("nested root = %q, %v", nested, err)
	}
	if _, err := FindModuleRoot(string(filepath.Separator)); err == nil {
		t.Error("expected an error above the filesystem root")
	}
}

func dirExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// TestModuleIsPure is the enforcement: every program file in the module.
func TestModuleIsPure(t *testing.T) {
	root, err := FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	// Not vacuous: the walk reaches the module's own programs.
	if files := Files(root); !slices.Contains(files, filepath.Join(root, "machine", "program.go")) {
		t.Fatalf("Files(%s) misses machine/program.go: %v", root, files)
	}
	for _, v := range Check(root) {
		rel, _ := filepath.Rel(root, v.Pos.Filename)
		t.Errorf("%s:%d: %s (%s)", rel, v.Pos.Line, v.Message, v.Rule)
	}
}
