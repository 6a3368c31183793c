package wirecore

import "time"

// Reassembled is a whole message payload recovered by a [Reassembler]: the
// reference's synthesized complete frame. Seq is the sender's sequence
// number (always an integer for binary frames).
type Reassembled[P Piece] struct {
	Seq     float64
	Payload P
	// Owned: Payload is a buffer the reassembler built from several
	// fragments and no longer holds (never the piece passed in).
	Owned bool
}

// parsedPiece is a decoded frame in substrate-neutral form.
type parsedPiece[P Piece] struct {
	fragment                bool
	seq                     float64
	index, total, totalSize float64
	payload                 P
}

// Reassembler turns received pieces (whole frames) into message payloads:
// complete frames pass straight through, fragment frames go through a
// fragment collector. P is []byte for binary frames or string for text
// frames. It is safe for concurrent use.
//
// A Reassembler arms no timers and starts no goroutines: a partial
// message's timeout is a deadline it records, and nothing fires by
// itself. The caller calls [Reassembler.Expire] to drop the messages that
// are due, e.g. from its own timer set for [Reassembler.NextDeadline].
type Reassembler[P Piece] struct {
	c     *fragmentCollector[P]
	parse func(P) (parsedPiece[P], error)
}

// NewReassembler returns a reassembler for binary ([]byte) or text
// (string) frames with cfg's limits; the zero config is safe (see
// [ReassemblyConfig]).
func NewReassembler[P Piece](cfg ReassemblyConfig) *Reassembler[P] {
	r := &Reassembler[P]{c: newFragmentCollector[P](cfg)}
	var parse any
	var zero P
	switch any(zero).(type) {
	case []byte:
		parse = parseBinaryPiece
	case string:
		parse = parseTextPiece
	}
	r.parse = parse.(func(P) (parsedPiece[P], error))
	return r
}

func parseBinaryPiece(b []byte) (parsedPiece[[]byte], error) {
	f, err := DecodeFrame(b)
	if err != nil {
		return parsedPiece[[]byte]{}, err
	}
	return parsedPiece[[]byte]{
		fragment: f.Kind == KindFragment,
		seq:      float64(f.Seq),
		index:    float64(f.Index), total: float64(f.Total), totalSize: float64(f.TotalSize),
		payload: f.Payload,
	}, nil
}

func parseTextPiece(s string) (parsedPiece[string], error) {
	f, err := DecodeTextFrame(s)
	if err != nil {
		return parsedPiece[string]{}, err
	}
	return parsedPiece[string]{
		fragment: f.Kind == KindFragment,
		seq:      f.Seq,
		index:    f.Index, total: f.Total, totalSize: f.TotalSize,
		payload: f.Payload,
	}, nil
}

// Receive takes one piece. It returns the message and true when the piece
// is a complete frame or completes a fragmented one, (zero, false, nil)
// while fragments are pending, or a *[ReassemblyError]: parse_error (with
// the frame decode error as Err) for an undecodable piece, or a collector
// rejection. For binary pieces, the payload of a complete frame (or of a
// message sent as a single fragment) aliases piece; other fragments are
// copied, so the caller may reuse a piece once Receive returns unless the
// result aliases it.
func (r *Reassembler[P]) Receive(piece P) (Reassembled[P], bool, error) {
	if r.c.isDisposed() {
		return Reassembled[P]{}, false, &ReassemblyError{Reason: reasonDisposed}
	}
	p, err := r.parse(piece)
	if err != nil {
		return Reassembled[P]{}, false, &ReassemblyError{Reason: reasonParseError, Msg: err.Error(), Err: err}
	}
	if !p.fragment {
		return Reassembled[P]{Seq: p.seq, Payload: p.payload}, true, nil
	}
	data, done, err := r.c.Add(p.seq, p.index, p.total, p.totalSize, p.payload)
	if err != nil || !done {
		return Reassembled[P]{}, false, err
	}
	return Reassembled[P]{Seq: p.seq, Payload: data, Owned: p.total > 1}, true, nil
}

// Len returns the number of partially received messages.
func (r *Reassembler[P]) Len() int { return r.c.Len() }

// PendingSize returns the chunk size received for partial messages
// (bytes, or code points for text).
func (r *Reassembler[P]) PendingSize() int64 { return r.c.PendingSize() }

// Reserved returns the memory, in bytes, held for partial messages.
func (r *Reassembler[P]) Reserved() int64 { return r.c.Reserved() }

// Reset drops all partial messages without reporting them; the
// reassembler stays usable.
func (r *Reassembler[P]) Reset() { r.c.Reset() }

// Dispose drops all partial messages; every later Receive fails with a
// disposed error.
func (r *Reassembler[P]) Dispose() { r.c.Dispose() }

// Expire drops every partial message whose deadline (its first fragment's
// arrival on the configured clock plus the timeout) is at or before now,
// oldest first, and releases its memory. Each one is reported to OnEvent
// (reason "timeout") and returned. Nothing times out unless Expire is
// called.
func (r *Reassembler[P]) Expire(now time.Time) []ReassemblyEvent { return r.c.Expire(now) }

// NextDeadline returns the earliest deadline of the partial messages, when
// the caller should next call Expire, and false when there is none
// (nothing pending, or the timeout is disabled).
func (r *Reassembler[P]) NextDeadline() (time.Time, bool) { return r.c.NextDeadline() }

func (c *fragmentCollector[C]) isDisposed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.disposed
}
