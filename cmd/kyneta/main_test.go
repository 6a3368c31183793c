package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// childEnv selects a helper role when the test binary re-executes itself
// (the durability writer); empty for an ordinary test run.
const childEnv = "KYNETA_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(cleanupRun{m})
}

// cleanupRun removes the built binary after the tests and before goleak's
// check, which ends the process.
type cleanupRun struct{ m *testing.M }

func (c cleanupRun) Run() int {
	code := c.m.Run()
	if bin.dir != "" {
		_ = os.RemoveAll(bin.dir)
	}
	return code
}

func runChild(role string) int {
	switch role {
	case "durability-writer":
		return durabilityWriter(os.Args[1:])
	}
	fmt.Fprintf(os.Stderr, "unknown %s role %q\n", childEnv, role)
	return 2
}

// bin is the kyneta binary, built once on first use by the tests that run
// it (unit tests do not pay for the build).
var bin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// kynetaBinary builds this package with the go command that is running the
// tests and returns the binary's path.
func kynetaBinary(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		dir, err := os.MkdirTemp("", "kyneta-bin-")
		if err != nil {
			bin.err = err
			return
		}
		bin.dir = dir
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
