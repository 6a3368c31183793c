package outbox

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestOrderAndPanicSurvival(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	o := &Outbox{Name: "test", Log: slog.New(slog.NewTextHandler(&syncWriter{w: &buf, mu: &mu}, nil))}
	var got []int
	for i := range 100 {
		if i == 50 {
			o.Post(func() { panic("boom") })
		}
		o.Post(func() { got = append(got, i) })
	}
	if err := o.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := o.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("callback %d ran as %d: %v", i, v, got)
		}
	}
	if len(got) != 100 {
		t.Fatalf("ran %d callbacks, want 100 (a panic must not lose later ones)", len(got))
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "test: callback panicked") {
		t.Fatalf("panic not logged: %q", buf.String())
	}
}

// A callback may call Sync and check OnWorker without deadlocking.
func TestSyncOnWorker(t *testing.T) {
	o := &Outbox{}
	if o.OnWorker() {
		t.Fatal("OnWorker outside a callback")
	}
	res := make(chan error, 1)
	inside := make(chan bool, 1)
	o.Post(func() {
		inside <- o.OnWorker()
		res <- o.Sync(context.Background())
	})
	if !<-inside {
		t.Fatal("OnWorker false inside a callback")
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if err := o.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Wait and Sync give up with the context while a callback blocks.
func TestWaitHonoursContext(t *testing.T) {
	o := &Outbox{}
	release := make(chan struct{})
	started := make(chan struct{})
	o.Post(func() { close(started); <-release })
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if err := o.Sync(ctx); err != context.Canceled {
		t.Fatalf("Sync = %v, want context.Canceled", err)
	}
	close(release)
	if err := o.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestGoidDistinct(t *testing.T) {
	me := Goid()
	if me == 0 {
		t.Fatal("Goid = 0")
	}
	other := make(chan uint64)
	go func() { other <- Goid() }()
	if g := <-other; g == me || g == 0 {
		t.Fatalf("Goid of another goroutine = %d, mine %d", g, me)
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
