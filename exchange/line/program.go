package line

// The pure part of a Line: which inbox messages to deliver, when to write an
// acknowledgement, how many outbox messages an acknowledgement frees, and which
// sequence number the next send takes. The shell (line.go) reads the two
// documents, steps these functions and carries out the writes.

// ackEvery bounds how many consumed messages may wait for an ack while the
// consumer keeps reading: the ack is otherwise written when the queue runs
// dry (one ack per burst, as the reference acks per inbox change).
const ackEvery = 64

// recvState is the receive cursor. Counters are sequence numbers of the inbox
// lineage Lineage; Acked/AckLineage are what the outbox's ack fields hold.
type recvState struct {
	Lineage    string  // inbox lineage Queued and Consumed refer to
	Queued     float64 // highest seq handed to the queue
	Consumed   float64 // highest seq the consumer took
	Acked      float64 // ackSeq last written
	AckLineage string  // ackLineage last written ("" = never)
}

// recvEvent is an input of the receive cursor.
type recvEvent interface{ recvEvent() }

// evInbox: the inbox now holds messages with these seqs (in list order)
// under this lineage.
type evInbox struct {
	Lineage string
	Seqs    []float64
}

// evConsumed: the consumer took the queued message (Lineage, Seq).
type evConsumed struct {
	Lineage string
	Seq     float64
}

// evTick: decide whether an ack is due. Pending is the number of queued
// messages not yet consumed; Final is set when the line closes.
type evTick struct {
	Pending int
	Final   bool
}

func (evInbox) recvEvent()    {}
func (evConsumed) recvEvent() {}
func (evTick) recvEvent()     {}

// recvEffect is an output of the receive cursor.
type recvEffect interface{ recvEffect() }

// effDeliver: queue the inbox messages at these list indices, in order.
type effDeliver struct{ Index []int }

// effAck: write ackSeq/ackLineage into the outbox.
type effAck struct {
	Seq     float64
	Lineage string
}

func (effDeliver) recvEffect() {}
func (effAck) recvEffect()     {}

// resumeRecv rebuilds the cursor from the outbox's persisted ack fields: if
// they acknowledge the inbox's current lineage, everything up to ackSeq was
// consumed before; otherwise the inbox starts over.
func resumeRecv(ackSeq float64, ackLineage, inboxLineage string) recvState {
	s := recvState{Lineage: inboxLineage, Acked: ackSeq, AckLineage: ackLineage}
	if ackLineage != "" && ackLineage == inboxLineage && ackSeq > 0 {
		s.Queued, s.Consumed = ackSeq, ackSeq
	}
	return s
}

// stepRecv is the receive cursor's transition function. It never mutates
// its inputs.
func stepRecv(s recvState, ev recvEvent) (recvState, []recvEffect) {
	switch ev := ev.(type) {
	case evInbox:
		if ev.Lineage != s.Lineage {
			// The remote writer started a new lineage (it restarted
			// without its store): its seqs start over.
			s.Lineage, s.Queued, s.Consumed = ev.Lineage, 0, 0
		}
		var idx []int
		for i, seq := range ev.Seqs {
			if seq <= s.Queued {
				continue
			}
			idx = append(idx, i)
			s.Queued = seq
		}
		if len(idx) == 0 {
			return s, nil
		}
		return s, []recvEffect{effDeliver{Index: idx}}
	case evConsumed:
		// A message queued under an older lineage is still delivered, but
		// it cannot be acknowledged: the remote's outbox is a new one.
		if ev.Lineage == s.Lineage && ev.Seq > s.Consumed {
			s.Consumed = ev.Seq
		}
		return s, nil
	case evTick:
		if s.Consumed <= 0 || (s.AckLineage == s.Lineage && s.Acked == s.Consumed) {
			return s, nil
		}
		if !ev.Final && ev.Pending > 0 && s.AckLineage == s.Lineage && s.Consumed-s.Acked < ackEvery {
			return s, nil
		}
		s.Acked, s.AckLineage = s.Consumed, s.Lineage
		return s, []recvEffect{effAck{Seq: s.Acked, Lineage: s.AckLineage}}
	}
	return s, nil
}

// pruneCount is how many messages from the front of the outbox (seqs in
// list order) the remote's acknowledgement frees. An ack counts only when it
// names the outbox's current lineage: after a restart without a store the
// outbox is a new lineage and old acks mean nothing ("" = never acked).
func pruneCount(outLineage, ackLineage string, ackSeq float64, seqs []float64) int {
	if ackLineage == "" || ackLineage != outLineage || ackSeq <= 0 {
		return 0
	}
	n := 0
	for _, seq := range seqs {
		if seq > ackSeq {
			break
		}
		n++
	}
	return n
}

// maxSeq is the largest sequence number a JavaScript number holds exactly.
const maxSeq = 1<<53 - 1

// seqFor is the sequence number the next send takes, from the outbox's
// persisted nextSeq: 0 (never sent) and anything that is not a usable
// integer start at 1.
func seqFor(nextSeq float64) float64 {
	if !(nextSeq >= 1) || nextSeq > maxSeq || nextSeq != float64(int64(nextSeq)) {
		return 1
	}
	return nextSeq
}

// compactDue says whether the outbox should be compacted now: when a prune
// emptied it (the reference's rule). A receive-only line's outbox takes one
// op per ack write and never prunes; the exchange compacts such a log by
// itself once it passes its size threshold.
func compactDue(pruned, remaining int) bool {
	return pruned > 0 && remaining == 0
}
