package sse

import (
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// TestPipeExpiryTimer: the pipe keeps one reassembly timer for both of its
// reassemblers, for the earliest deadline; a timeout is reported and the
// timer re-armed for the other; close stops it.
func TestPipeExpiryTimer(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	var mu sync.Mutex
	var reasons []string
	rx := newPipe(pipeOptions{clock: fc, onError: func(err error, _ transport.Direction) {
		mu.Lock()
		reasons = append(reasons, kyneta.ReasonOf(err))
		mu.Unlock()
	}})
	tx := newPipe(pipeOptions{threshold: 8})
	txt, err := tx.sendText(&wire.Interest{DocID: "a-text-doc"})
	if err != nil || len(txt) < 2 {
		t.Fatal(txt, err)
	}
	bin, err := tx.sendBinary(&wire.Interest{DocID: "a-binary-doc"})
	if err != nil || len(bin) < 2 {
		t.Fatal(bin, err)
	}
	if m, err := rx.receiveText(txt[0]); m != nil || err != nil {
		t.Fatal(m, err)
	}
	fc.Advance(3 * time.Second)
	if m, err := rx.receiveBinary(bin[0]); m != nil || err != nil {
		t.Fatal(m, err)
	}
	if d := fc.Durations(); len(d) != 1 || d[0] != 7*time.Second {
		t.Fatalf("timers %v", d)
	}
	fc.Advance(7 * time.Second)
	mu.Lock()
	got := append([]string(nil), reasons...)
	mu.Unlock()
	if len(got) != 1 || got[0] != "reassembly-timeout" {
		t.Fatalf("errors %v", got)
	}
	if d := fc.Durations(); len(d) != 1 || d[0] != 3*time.Second {
		t.Fatalf("timers after the first timeout %v", d)
	}
	rx.close()
	if fc.Pending() != 0 {
		t.Fatalf("%d timers after close", fc.Pending())
	}
	fc.Advance(time.Minute)
	mu.Lock()
	defer mu.Unlock()
	if len(reasons) != 1 {
		t.Fatalf("errors after close %v", reasons)
	}
}
