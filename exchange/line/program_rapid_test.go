package line

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// A sender's outbox and a receiver's cursor, wired together only through
// snapshots that arrive late, out of step and never backwards (what the
// exchange guarantees for one document): every message of a lineage is
// consumed exactly once and in order, no message is pruned before it was
// consumed, and once everything has arrived nothing is left behind.
type pureModel struct {
	// sender
	lineage int
	outbox  []float64 // seqs
	nextSeq float64
	sent    map[string][]float64 // per lineage, in order
	// snapshots of the sender's outbox, oldest first; the receiver has seen
	// up to seenOut
	outSnaps []outSnap
	seenOut  int
	// receiver
	rs       recvState
	queue    []item
	consumed map[string][]float64
	// the receiver's ack fields, as written and as the sender saw them
	acks    []ackSnap
	seenAck int
	pruned  map[string]float64 // highest pruned seq per lineage
}

type outSnap struct {
	lineage string
	seqs    []float64
}

type ackSnap struct {
	seq     float64
	lineage string
}

func (m *pureModel) lin() string { return fmt.Sprintf("L%d", m.lineage) }

func (m *pureModel) snap() {
	m.outSnaps = append(m.outSnaps, outSnap{lineage: m.lin(), seqs: append([]float64(nil), m.outbox...)})
}

func (m *pureModel) send(t *rapid.T) {
	seq := seqFor(m.nextSeq)
	m.outbox = append(m.outbox, seq)
	m.nextSeq = seq + 1
	m.sent[m.lin()] = append(m.sent[m.lin()], seq)
	m.snap()
}

// observe: the receiver sees a newer snapshot of its inbox.
func (m *pureModel) observe(t *rapid.T) {
	if m.seenOut >= len(m.outSnaps)-1 {
		t.Skip("nothing new")
	}
	i := rapid.IntRange(m.seenOut+1, len(m.outSnaps)-1).Draw(t, "snapshot")
	m.observeAt(i)
}

func (m *pureModel) observeAt(i int) {
	m.seenOut = i
	s := m.outSnaps[i]
	var effs []recvEffect
	m.rs, effs = stepRecv(m.rs, evInbox{Lineage: s.lineage, Seqs: s.seqs})
	for _, e := range effs {
		for _, j := range e.(effDeliver).Index {
			m.queue = append(m.queue, item{lineage: s.lineage, seq: s.seqs[j]})
		}
	}
}

func (m *pureModel) consume(t *rapid.T) {
	if len(m.queue) == 0 {
		t.Skip("queue empty")
	}
	it := m.queue[0]
	m.queue = m.queue[1:]
	m.rs, _ = stepRecv(m.rs, evConsumed{Lineage: it.lineage, Seq: it.seq})
	m.consumed[it.lineage] = append(m.consumed[it.lineage], it.seq)
}

func (m *pureModel) tick(final bool) {
	var effs []recvEffect
	m.rs, effs = stepRecv(m.rs, evTick{Pending: len(m.queue), Final: final})
	for _, e := range effs {
		a := e.(effAck)
		m.acks = append(m.acks, ackSnap{seq: a.Seq, lineage: a.Lineage})
	}
}

// ackArrives: the sender sees a newer ack and prunes.
func (m *pureModel) ackArrives(t *rapid.T) {
	if m.seenAck >= len(m.acks) {
		t.Skip("no new ack")
	}
	m.seenAck = rapid.IntRange(m.seenAck+1, len(m.acks)).Draw(t, "ack")
	m.pruneTo(m.acks[m.seenAck-1])
}

func (m *pureModel) pruneTo(a ackSnap) {
	n := pruneCount(m.lin(), a.lineage, a.seq, m.outbox)
	if n > 0 {
		m.pruned[m.lin()] = max(m.pruned[m.lin()], m.outbox[n-1])
		m.outbox = m.outbox[n:]
		m.snap()
	}
}

// restartSender: the sender restarts without its store: a new lineage,
// an empty outbox, seqs from 1.
func (m *pureModel) restartSender(t *rapid.T) {
	m.lineage++
	m.outbox, m.nextSeq = nil, 0
	m.snap()
}

// reopenReceiver: the receiver closes (writing its last ack) and reopens
// from its persisted ack; what it queued but did not consume is gone from
// memory and must come again.
func (m *pureModel) reopenReceiver(t *rapid.T) {
	m.tick(true)
	last := ackSnap{}
	if len(m.acks) > 0 {
		last = m.acks[len(m.acks)-1]
	}
	m.rs = resumeRecv(last.seq, last.lineage, m.outSnaps[m.seenOut].lineage)
	m.queue = nil
	m.observeAt(m.seenOut)
}

func (m *pureModel) check(t *rapid.T) {
	for lin, got := range m.consumed {
		for i, seq := range got {
			if seq != float64(i+1) {
				t.Fatalf("lineage %s consumed %v: not 1..n exactly once in order", lin, got)
			}
		}
		if len(got) > len(m.sent[lin]) {
			t.Fatalf("lineage %s consumed %d messages, sent %d", lin, len(got), len(m.sent[lin]))
		}
	}
	for lin, p := range m.pruned {
		if n := len(m.consumed[lin]); p > float64(n) {
			t.Fatalf("lineage %s pruned up to %v, consumed only %d", lin, p, n)
		}
	}
	if m.rs.Consumed > m.rs.Queued {
		t.Fatalf("consumed %v beyond queued %v", m.rs.Consumed, m.rs.Queued)
	}
}

func TestRecvProgramModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &pureModel{sent: map[string][]float64{}, consumed: map[string][]float64{}, pruned: map[string]float64{}}
		m.snap()
		m.rs = resumeRecv(0, "", "genesis")
		t.Repeat(map[string]func(*rapid.T){
			"send":     m.send,
			"observe":  m.observe,
			"consume":  m.consume,
			"tick":     func(*rapid.T) { m.tick(false) },
			"ack":      m.ackArrives,
			"restartS": m.restartSender,
			"reopenR":  m.reopenReceiver,
			"":         m.check,
		})
		// Everything arrives: the current lineage is consumed completely
		// and the sender's outbox drains.
		m.observeAt(len(m.outSnaps) - 1)
		for len(m.queue) > 0 {
			m.consume(t)
		}
		m.tick(false)
		if len(m.acks) > 0 {
			m.pruneTo(m.acks[len(m.acks)-1])
		}
		m.check(t)
		if got, want := len(m.consumed[m.lin()]), len(m.sent[m.lin()]); got != want {
			t.Fatalf("current lineage: consumed %d of %d", got, want)
		}
		if len(m.outbox) != 0 {
			t.Fatalf("outbox not drained: %v", m.outbox)
		}
	})
}
