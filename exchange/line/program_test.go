package line

import (
	"math"
	"reflect"
	"testing"
)

// Every state class × every event of the receive cursor.
func TestStepRecvTable(t *testing.T) {
	fresh := recvState{Lineage: "L"}
	behind := recvState{Lineage: "L", Queued: 5, Consumed: 3, Acked: 2, AckLineage: "L"}
	caught := recvState{Lineage: "L", Queued: 5, Consumed: 5, Acked: 5, AckLineage: "L"}
	relin := recvState{Lineage: "M", Queued: 2, Consumed: 2, Acked: 9, AckLineage: "L"}
	farBehind := recvState{Lineage: "L", Queued: 100, Consumed: 70, Acked: 6, AckLineage: "L"}

	newL := evInbox{Lineage: "L", Seqs: []float64{3, 4, 5, 6, 7}}
	oldL := evInbox{Lineage: "L", Seqs: []float64{1, 2}}
	newLineage := evInbox{Lineage: "N", Seqs: []float64{1, 2}}
	consumeL := evConsumed{Lineage: "L", Seq: 4}
	consumeStale := evConsumed{Lineage: "X", Seq: 9}
	tickPending := evTick{Pending: 2}
	tickEmpty := evTick{}
	tickFinal := evTick{Pending: 2, Final: true}

	deliver := func(i ...int) []recvEffect { return []recvEffect{effDeliver{Index: i}} }
	ack := func(seq float64, lin string) []recvEffect { return []recvEffect{effAck{Seq: seq, Lineage: lin}} }
	with := func(s recvState, f func(*recvState)) recvState { f(&s); return s }

	cases := []struct {
		name string
		s    recvState
		ev   recvEvent
		want recvState
		effs []recvEffect
	}{
		{"fresh/new", fresh, newL, with(fresh, func(s *recvState) { s.Queued = 7 }), deliver(0, 1, 2, 3, 4)},
		{"fresh/old", fresh, oldL, with(fresh, func(s *recvState) { s.Queued = 2 }), deliver(0, 1)},
		{"fresh/lineage", fresh, newLineage, recvState{Lineage: "N", Queued: 2}, deliver(0, 1)},
		{"fresh/consume", fresh, consumeL, with(fresh, func(s *recvState) { s.Consumed = 4 }), nil},
		{"fresh/consume-stale", fresh, consumeStale, fresh, nil},
		{"fresh/tick-pending", fresh, tickPending, fresh, nil},
		{"fresh/tick-empty", fresh, tickEmpty, fresh, nil},
		{"fresh/tick-final", fresh, tickFinal, fresh, nil},

		{"behind/new", behind, newL, with(behind, func(s *recvState) { s.Queued = 7 }), deliver(3, 4)},
		{"behind/old", behind, oldL, behind, nil},
		{"behind/lineage", behind, newLineage, recvState{Lineage: "N", Queued: 2, Acked: 2, AckLineage: "L"}, deliver(0, 1)},
		{"behind/consume", behind, consumeL, with(behind, func(s *recvState) { s.Consumed = 4 }), nil},
		{"behind/consume-stale", behind, consumeStale, behind, nil},
		{"behind/tick-pending", behind, tickPending, behind, nil},
		{"behind/tick-empty", behind, tickEmpty, with(behind, func(s *recvState) { s.Acked = 3 }), ack(3, "L")},
		{"behind/tick-final", behind, tickFinal, with(behind, func(s *recvState) { s.Acked = 3 }), ack(3, "L")},

		{"caught/new", caught, newL, with(caught, func(s *recvState) { s.Queued = 7 }), deliver(3, 4)},
		{"caught/old", caught, oldL, caught, nil},
		{"caught/lineage", caught, newLineage, recvState{Lineage: "N", Queued: 2, Acked: 5, AckLineage: "L"}, deliver(0, 1)},
		{"caught/consume-older", caught, consumeL, caught, nil},
		{"caught/consume-stale", caught, consumeStale, caught, nil},
		{"caught/tick-pending", caught, tickPending, caught, nil},
		{"caught/tick-empty", caught, tickEmpty, caught, nil},
		{"caught/tick-final", caught, tickFinal, caught, nil},

		{"relin/new", relin, newL, recvState{Lineage: "L", Queued: 7, Acked: 9, AckLineage: "L"}, deliver(0, 1, 2, 3, 4)},
		{"relin/old", relin, oldL, recvState{Lineage: "L", Queued: 2, Acked: 9, AckLineage: "L"}, deliver(0, 1)},
		{"relin/lineage", relin, newLineage, recvState{Lineage: "N", Queued: 2, Acked: 9, AckLineage: "L"}, deliver(0, 1)},
		{"relin/consume-other", relin, consumeL, relin, nil},
		{"relin/consume-stale", relin, consumeStale, relin, nil},
		// An ack naming an old lineage is rewritten at once, pending or not.
		{"relin/tick-pending", relin, tickPending, with(relin, func(s *recvState) { s.Acked, s.AckLineage = 2, "M" }), ack(2, "M")},
		{"relin/tick-empty", relin, tickEmpty, with(relin, func(s *recvState) { s.Acked, s.AckLineage = 2, "M" }), ack(2, "M")},
		{"relin/tick-final", relin, tickFinal, with(relin, func(s *recvState) { s.Acked, s.AckLineage = 2, "M" }), ack(2, "M")},

		// A consumer that keeps reading acks every ackEvery messages.
		{"far-behind/tick-pending", farBehind, tickPending, with(farBehind, func(s *recvState) { s.Acked = 70 }), ack(70, "L")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.s
			var seqs []float64
			if e, ok := c.ev.(evInbox); ok {
				seqs = append([]float64(nil), e.Seqs...)
			}
			got, effs := stepRecv(c.s, c.ev)
			if got != c.want {
				t.Errorf("state = %+v, want %+v", got, c.want)
			}
			if !reflect.DeepEqual(effs, c.effs) {
				t.Errorf("effects = %+v, want %+v", effs, c.effs)
			}
			if in != c.s {
				t.Error("input state modified")
			}
			if e, ok := c.ev.(evInbox); ok && !reflect.DeepEqual(e.Seqs, seqs) {
				t.Error("input seqs modified")
			}
		})
	}
}

func TestResumeRecv(t *testing.T) {
	cases := []struct {
		ackSeq      float64
		ackLin, lin string
		want        recvState
	}{
		{0, "", "kyneta.genesis", recvState{Lineage: "kyneta.genesis"}},
		{7, "L", "L", recvState{Lineage: "L", Queued: 7, Consumed: 7, Acked: 7, AckLineage: "L"}},
		{7, "L", "M", recvState{Lineage: "M", Acked: 7, AckLineage: "L"}}, // the remote restarted: start over
		{0, "L", "L", recvState{Lineage: "L", AckLineage: "L"}},
	}
	for _, c := range cases {
		if got := resumeRecv(c.ackSeq, c.ackLin, c.lin); got != c.want {
			t.Errorf("resumeRecv(%v,%q,%q) = %+v, want %+v", c.ackSeq, c.ackLin, c.lin, got, c.want)
		}
	}
}

func TestPruneCount(t *testing.T) {
	seqs := []float64{4, 5, 6, 7}
	cases := []struct {
		out, ackLin string
		ack         float64
		seqs        []float64
		want        int
	}{
		{"L", "L", 5, seqs, 2},
		{"L", "L", 3, seqs, 0},
		{"L", "L", 9, seqs, 4},
		{"L", "M", 9, seqs, 0}, // an ack of another outbox lineage
		{"L", "", 9, seqs, 0},  // never acked
		{"", "", 9, seqs, 0},
		{"L", "L", 0, seqs, 0},
		{"L", "L", 9, nil, 0},
		{"L", "L", 5, []float64{4, 9, 5}, 1}, // stops at the first unacked
	}
	for _, c := range cases {
		if got := pruneCount(c.out, c.ackLin, c.ack, c.seqs); got != c.want {
			t.Errorf("pruneCount(%q,%q,%v,%v) = %d, want %d", c.out, c.ackLin, c.ack, c.seqs, got, c.want)
		}
	}
}

func TestSeqFor(t *testing.T) {
	cases := map[float64]float64{0: 1, 1: 1, 7: 7, -3: 1, 2.5: 1, math.NaN(): 1, math.Inf(1): 1, maxSeq: maxSeq, maxSeq + 2: 1}
	for in, want := range cases {
		if got := seqFor(in); got != want {
			t.Errorf("seqFor(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestCompactDue(t *testing.T) {
	cases := []struct {
		pruned, remaining int
		want              bool
	}{
		{1, 0, true},
		{1, 1, false},
		{0, 0, false},
		{0, 2, false},
	}
	for _, c := range cases {
		if got := compactDue(c.pruned, c.remaining); got != c.want {
			t.Errorf("compactDue(%d,%d) = %v", c.pruned, c.remaining, got)
		}
	}
}
