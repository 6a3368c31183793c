package line

import (
	"context"
	"testing"

	"pgregory.net/rapid"

	"github.com/kyneta-go/kyneta"
)

// Two exchanges with stores, one line between them, over the bridge with
// drops, partitions, disconnects and graceful restarts (exchange and line
// closed and started again from the store): at every step each direction
// has received a prefix of what was sent, in order and without duplicates;
// once the network heals, everything sent has been received exactly once and
// both outboxes are pruned.
func TestLineModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newLineModel(t)
		defer m.close()
		rt.Repeat(map[string]func(*rapid.T){
			"send": func(rt *rapid.T) {
				p := rapid.SampledFrom(peers).Draw(rt, "from")
				k := rapid.IntRange(1, 5).Draw(rt, "n")
				for range k {
					if err := m.lines[p].Send(context.Background(), Msg{Text: p, N: float64(m.sent[p])}); err != nil {
						rt.Fatalf("send %s: %v", p, err)
					}
					m.sent[p]++
				}
			},
			"receive": func(rt *rapid.T) {
				// Some of what is queued, so that closes and restarts
				// find messages queued but not yet received.
				m.receive(rt, rapid.SampledFrom(peers).Draw(rt, "who"), rapid.IntRange(1, 8).Draw(rt, "max"))
			},
			"drop": func(rt *rapid.T) {
				from := rapid.SampledFrom(peers).Draw(rt, "from")
				m.n.bridge.DropNext(from, other(from), rapid.IntRange(1, 3).Draw(rt, "n"))
			},
			"partition": func(*rapid.T) { m.n.bridge.Partition("a", "b") },
			"heal":      func(*rapid.T) { m.n.bridge.Heal("a", "b") },
			"disconnect": func(rt *rapid.T) {
				m.n.bridge.Disconnect(rapid.SampledFrom(peers).Draw(rt, "who"))
			},
			"reconnect": func(rt *rapid.T) {
				m.n.bridge.Reconnect(rapid.SampledFrom(peers).Draw(rt, "who"))
			},
			"settle": func(*rapid.T) { m.settle() },
			"restart": func(rt *rapid.T) {
				m.restart(rapid.SampledFrom(peers).Draw(rt, "who"))
			},
			"reopen": func(rt *rapid.T) {
				m.reopen(rapid.SampledFrom(peers).Draw(rt, "who"))
			},
			"": func(rt *rapid.T) { m.check(rt) },
		})
		// Heal everything; fresh channels resync whatever a drop lost.
		m.n.bridge.ClearFaults()
		m.n.bridge.Heal("a", "b")
		for _, p := range peers {
			m.n.bridge.Disconnect(p)
			m.n.bridge.Reconnect(p)
		}
		for round := 0; ; round++ {
			m.settle()
			m.drain(rt, "a")
			m.drain(rt, "b")
			if m.got["a"] == m.sent["b"] && m.got["b"] == m.sent["a"] {
				break
			}
			if round > 20 {
				rt.Fatalf("not delivered after healing: a got %d of %d, b got %d of %d",
					m.got["a"], m.sent["b"], m.got["b"], m.sent["a"])
			}
		}
		m.settle()
		for _, p := range peers {
			if b := readBox(t, m.lines[p].out); len(b.Messages) != 0 {
				rt.Fatalf("%s's outbox keeps %d acknowledged messages", p, len(b.Messages))
			}
		}
	})
}

var peers = []string{"a", "b"}

func other(p string) string {
	if p == "a" {
		return "b"
	}
	return "a"
}

type lineModel struct {
	t     *testing.T
	n     *testNet
	p     *Protocol[Msg, Msg]
	lines map[string]*Line[Msg, Msg]
	sent  map[string]int // messages p sent
	got   map[string]int // messages p received
}

func newLineModel(t *testing.T) *lineModel {
	m := &lineModel{t: t, n: newNetNoCleanup(t), p: mustProto(t, "model"),
		lines: map[string]*Line[Msg, Msg]{}, sent: map[string]int{}, got: map[string]int{}}
	for _, p := range peers {
		m.n.start(p, true)
		m.open(p)
	}
	return m
}

func (m *lineModel) open(p string) {
	l, err := m.p.Open(m.n.exs[p], other(p))
	if err != nil {
		m.t.Fatalf("open %s: %v", p, err)
	}
	m.lines[p] = l
}

func (m *lineModel) settle() {
	m.n.settle(m.lines["a"], m.lines["b"])
}

// drain receives what p has queued, without waiting.
func (m *lineModel) drain(rt *rapid.T, p string) { m.receive(rt, p, -1) }

// receive receives up to max (all if negative) of the messages p has
// queued, without waiting.
func (m *lineModel) receive(rt *rapid.T, p string, max int) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for ; max != 0; max-- {
		msg, err := m.lines[p].Receive(ctx)
		if kyneta.ReasonOf(err) == reasonCanceled {
			return
		}
		if err != nil {
			rt.Fatalf("%s receive: %v", p, err)
		}
		if msg.Text != other(p) || msg.N != float64(m.got[p]) {
			rt.Fatalf("%s received %+v, want {%s %d}", p, msg, other(p), m.got[p])
		}
		m.got[p]++
	}
}

// reopen closes p's line and opens it again on the same exchange.
func (m *lineModel) reopen(p string) {
	if err := m.lines[p].Close(); err != nil {
		m.t.Fatalf("close %s: %v", p, err)
	}
	m.open(p)
}

// restart closes p's line, shuts its exchange down and starts both again
// from p's store.
func (m *lineModel) restart(p string) {
	if err := m.lines[p].Close(); err != nil {
		m.t.Fatalf("close %s: %v", p, err)
	}
	m.n.stop(p)
	m.n.start(p, true)
	m.open(p)
}

func (m *lineModel) check(rt *rapid.T) {
	for _, p := range peers {
		if m.got[p] > m.sent[other(p)] {
			rt.Fatalf("%s received %d messages, %s sent %d", p, m.got[p], other(p), m.sent[other(p)])
		}
	}
}

func (m *lineModel) close() {
	for _, l := range m.lines {
		_ = l.Close()
	}
	m.n.closeAll()
}
