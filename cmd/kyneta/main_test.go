package main

import (
	"fmt"
	"os"
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

// afterAll holds cleanups for resources shared by several tests (the built
// binary); they run after the tests and before goleak's check, which ends
// the process.
var afterAll []func()

type cleanupRun struct{ m *testing.M }

func (c cleanupRun) Run() int {
	code := c.m.Run()
	for _, f := range afterAll {
		f()
	}
	return code
}

// childRoles maps a childEnv value to the helper it runs with the
// process's arguments; test files register theirs in init.
var childRoles = map[string]func(args []string) int{}

func runChild(role string) int {
	if f, ok := childRoles[role]; ok {
		return f(os.Args[1:])
	}
	fmt.Fprintf(os.Stderr, "unknown %s role %q\n", childEnv, role)
	return 2
}
