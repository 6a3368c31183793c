package client

import (
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// TestURLsFailOver: a client given three nodes starts on the one Rand
// draws, and when its node goes away reconnects — after the backoff — to
// the next one, skipping to the one after when a dial fails; and it
// wraps around the list.
func TestURLsFailOver(t *testing.T) {
	b, c := newRefServer(t), newRefServer(t)
	var urls []string
	h := newHarness(t, func(o *Options) {
		urls = []string{o.URL, b.url(), c.url()}
		o.URL, o.URLs = "", urls
		o.Rand = func() float64 { return 0.5 } // 0.5 × 3 nodes: starts on the second
	})
	if got := h.c.URL(); got != "" {
		t.Fatalf("URL before the first dial = %q", got)
	}
	h.start()
	recv(t, b.accepted, "first dial on node b")
	h.waitStatus(StatusReady)
	if got := h.c.URL(); got != urls[1] {
		t.Fatalf("ready on %q, want node b %q", got, urls[1])
	}
	h.advance(defaultBackoffResetAfter)

	// Node b dies: the reconnect waits for the backoff, then goes to c.
	b.shutdown()
	s := h.waitState("reconnecting", func(s State) bool { return s.Status == StatusReconnecting })
	if s.Attempt != 1 || s.Delay != time.Second {
		t.Fatalf("after losing node b: %v", s)
	}
	h.advance(time.Second)
	recv(t, c.accepted, "failover to node c")
	h.waitStatus(StatusReady)
	if got := h.c.URL(); got != urls[2] {
		t.Fatalf("failed over to %q, want node c %q", got, urls[2])
	}
	h.advance(defaultBackoffResetAfter)

	// Node c drops the connection; the rotation wraps around to a, which
	// is up: the next attempt lands there.
	c.closeAll(websocket.StatusGoingAway, "drain")
	h.waitState("reconnecting", func(s State) bool { return s.Status == StatusReconnecting })
	h.advance(time.Second)
	recv(t, h.srv.accepted, "wrap around to node a")
	h.waitStatus(StatusReady)
	if got := h.c.URL(); got != urls[0] {
		t.Fatalf("after c: on %q, want node a %q", got, urls[0])
	}
	h.advance(defaultBackoffResetAfter)

	// a goes too: the next dial goes to b, which is dead (refused, one
	// more backoff step), and the one after to c.
	h.srv.shutdown()
	h.waitState("reconnecting", func(s State) bool { return s.Status == StatusReconnecting && s.Attempt == 1 })
	h.advance(time.Second) // attempt 1: node b, refused
	s = h.waitState("retry 2", func(s State) bool { return s.Status == StatusReconnecting && s.Attempt == 2 })
	if s.Delay != 2*time.Second {
		t.Fatalf("after the refused dial on b: %v", s)
	}
	h.advance(2 * time.Second)
	recv(t, c.accepted, "second failover to node c")
	h.waitStatus(StatusReady)
	if got := h.c.URL(); got != urls[2] {
		t.Fatalf("ready on %q, want node c %q", got, urls[2])
	}
}

// TestURLsSpreadClients: the first node is drawn with Rand, so clients
// with different draws start on different nodes.
func TestURLsSpreadClients(t *testing.T) {
	urls := []string{"ws://a.invalid/ws", "ws://b.invalid/ws", "ws://c.invalid/ws"}
	for _, tc := range []struct {
		draw float64
		want int
	}{{0, 0}, {0.34, 1}, {0.99, 2}, {0.9999999999999999, 2}} {
		c, err := New(Options{URLs: urls, Rand: func() float64 { return tc.draw }})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.resolveURL("peer")
		if err != nil || got != urls[tc.want] {
			t.Errorf("draw %v: first dial %q (%v), want %q", tc.draw, got, err, urls[tc.want])
		}
		if got, _ := c.resolveURL("peer"); got != urls[(tc.want+1)%3] {
			t.Errorf("draw %v: second dial %q, want %q", tc.draw, got, urls[(tc.want+1)%3])
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestURLsInvalidConfig(t *testing.T) {
	p := backoff.Default
	for _, o := range []Options{
		{URL: "ws://x", URLs: []string{"ws://y"}},
		{URLs: []string{"ws://y"}, URLFunc: func(string) (string, error) { return "", nil }},
		{URLs: []string{"ws://y", "ftp://z"}},
		{URLs: []string{"ws://"}, Reconnect: &p},
	} {
		if _, err := New(o); !errors.Is(err, &kyneta.Error{Pkg: "client", Reason: reasonInvalidConfig}) {
			t.Errorf("New(%+v) = %v, want invalid-config", o, err)
		}
	}
}
