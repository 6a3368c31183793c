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

// The whole program, as `go run ./examples/presence` prints it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Println("run:", err)
	}
	// Output:
	// alice sees alice=online bob=online carol=online
	// bob sees alice=online bob=online carol=online
	// carol sees alice=online bob=online carol=online
	// alice sees alice=online bob=away carol=online
	// carol sees alice=online bob=away carol=online
	// alice sees alice=online bob=away carol=offline
	// bob sees alice=online bob=away carol=offline
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
// error and stops every peer and the relay (goleak checks after the tests).
func TestRunCancelled(t *testing.T) {
	for _, after := range []string{"", "carol sees alice=online bob=online", "alice sees alice=online bob=away"} {
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
