package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The whole program, as `go run ./examples/config-sync` prints it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Println("run:", err)
	}
	// Output:
	// relay up, bearer token required
	// intruder refused: client: unauthorized: refused with HTTP 401
	// billing-admin wrote config/billing
	// billing-api got config: {"rateLimit":100,"features":{"invoicesV2":false},"regions":["eu-west","us-east"]}
	// billing-admin enabled invoicesV2
	// billing-api got update: {"rateLimit":250,"features":{"invoicesV2":true},"regions":["eu-west","us-east"]}
	// relay stopped; its store holds [config/billing]
}

// cancelOn cancels a context once a line containing after is written.
type cancelOn struct {
	bytes.Buffer
	after  string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.after)) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

// TestRunCancelled: a run interrupted at any stage returns the context's
// error and still stops everything it started (goleak checks that after
// the tests).
func TestRunCancelled(t *testing.T) {
	for _, after := range []string{"", "relay up", "intruder refused", "billing-admin wrote", "billing-api got config", "billing-api got update"} {
		ctx, cancel := context.WithCancel(context.Background())
		if after == "" {
			cancel()
		}
		out := &cancelOn{after: after, cancel: cancel}
		err := run(ctx, out)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled after %q: run returned %v, want context.Canceled\n%s", after, err, out.String())
		}
	}
}
