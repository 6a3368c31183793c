// Package pipeline is the stateful wire pipeline of the module's binary
// transports: the shell around the pure wire steps (alias, CBOR, frames
// and fragments), with the connection's alias table, reassembler and
// frame sequence. Its errors have Pkg "transport", as they did when it was
// part of that package.
package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/rawbuf"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/internal/wirestep"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Trace converts a step's frame trace into a [transport.FrameTrace].
func Trace(t wirestep.FrameTrace) transport.FrameTrace {
	return transport.FrameTrace{Dir: transport.Direction(t.Dir), Seq: t.Seq, Kind: t.Kind, Index: t.Index, Total: t.Total, Size: t.Size}
}

// Error is an error from a [Pipeline]: it carries the frame's
// direction and seq and unwraps to its *kyneta.Error classification.
// Reason is one of the pipeline's reasons (docs/errors.md); Detail is the
// lower layer's reason in short (the collector's "duplicate_fragment" for
// reassembly-failed, the validation reason for invalid-wire-message); Err
// is the step's error value (errors.As reaches it and, through it, e.g.
// the *wirecore.AliasError).
type Error struct {
	Reason string
	Dir    transport.Direction
	Seq    uint32 // the frame seq, when known
	Detail string
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	s := fmt.Sprintf("transport: pipeline %s: %s (seq %d)", e.Dir, e.Reason, e.Seq)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the classification, which wraps the step's error.
func (e *Error) Unwrap() error { return newError(e.Reason, e.Detail, e.Err) }

// Options configure a [Pipeline]. The zero value is usable: no
// fragmentation, the default reassembly limits, the real clock.
type Options struct {
	// Threshold fragments messages whose encoded payload is larger than
	// this many bytes. Zero never fragments.
	Threshold int
	// ReassemblyTimeout drops a fragment group that has not completed in
	// time. Zero means 10 s; negative disables. (The reference ran without any limits, issue P6; the Go
	// pipeline always bounds time and memory.)
	ReassemblyTimeout time.Duration
	// MaxConcurrentFrames caps the fragment groups held at once (oldest
	// evicted beyond). Zero means 32.
	MaxConcurrentFrames int
	// MaxReassemblySize caps the memory reserved for fragment groups, in
	// bytes (oldest evicted beyond; a group that cannot fit alone fails
	// with reassembly-failed, detail "evicted"). Zero means
	// 50 MiB.
	MaxReassemblySize int
	// ReassemblyBudget, if set, is shared with other pipelines: every
	// byte this one reserves for reassembly is also charged to it (a
	// server-wide cap). A fragment that does not fit fails with
	// reassembly-failed (detail "over_budget").
	ReassemblyBudget *wire.ReassemblyBudget
	// Alias caps the inbound alias table (announced aliases, entries per
	// present); the zero value has the wire package's defaults.
	Alias wire.AliasOptions
	// Clock dates the reassembly deadlines and runs the pipeline's one
	// reassembly timer, which drops what is due. Nil means clock.Real.
	Clock clock.Clock
	// OnError sees every error: the ones Send and Receive return, and the
	// asynchronous ones (reassembly-timeout, reassembly-evicted). Called
	// without the pipeline's lock; it may call back into the pipeline.
	OnError func(err error, dir transport.Direction)
	// OnFrame traces frames: one trace per sent frame, one per received
	// message (Size: all the frames that carried it). Called without the
	// lock.
	OnFrame func(transport.FrameTrace)
}

// Pipeline is the stateful wire pipeline of one binary connection: the
// shell around the pure send step (alias → CBOR → frame or
// fragments above the threshold) and receive step (reassemble →
// decode → unalias). It holds the connection's state: alias
// table, reassembler and the frame sequence counter, which starts at 1.
// The reassembler arms no timers; the pipeline owns one timer on the
// injected clock, armed for the reassembler's next deadline, that expires
// the partial messages that are due.
//
// A Pipeline is safe for concurrent use: Send, Receive, Reset and Close are
// serialized by a mutex (one writer goroutine and one reader goroutine is
// the usual pattern). Hooks run outside the lock.
type Pipeline struct {
	onError func(error, transport.Direction)
	onFrame func(transport.FrameTrace)
	thresh  int

	mu     sync.Mutex
	closed bool
	st     wirestep.PipelineState[[]byte]
	// evicted collects eviction events raised inside the receive step
	// (which runs under mu) so they are reported after mu is released.
	evicted []uint32
	// done mirrors closed for the timer path, which must not take mu.
	done atomic.Bool
	// expiry runs the reassembly timeouts; it calls the reassembler's
	// Expire without mu.
	expiry *ExpiryTimer
}

// New returns a pipeline in its initial state.
func New(opts Options) *Pipeline {
	p := &Pipeline{onError: opts.OnError, onFrame: opts.OnFrame, thresh: max(opts.Threshold, 0)}
	timeout := opts.ReassemblyTimeout
	if timeout < 0 {
		timeout = wirecore.NoLimit
	}
	p.st = wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{
		Timeout:             timeout,
		MaxConcurrentFrames: opts.MaxConcurrentFrames,
		MaxTotalSize:        int64(opts.MaxReassemblySize),
		Clock:               opts.Clock,
		OnEvent:             p.onReassemblyEvent,
		Budget:              opts.ReassemblyBudget,
	})
	p.st.Alias = wirecore.NewAliasState(opts.Alias)
	r := p.st.Reassembler // the same for the pipeline's life (Reset empties it)
	p.expiry = NewExpiryTimer(opts.Clock, r.NextDeadline, func(now time.Time) { r.Expire(now) })
	return p
}

// Send encodes msg into the frames to write, in order. On error nothing is
// to be written. Every call consumes one frame seq, even a failing one (as
// in the reference), so peers see gaps but never reuse.
func (p *Pipeline) Send(msg wire.ChannelMsg) ([][]byte, error) {
	return p.AppendSend(nil, msg)
}

// AppendSend is Send appending the frames to dst, so that a caller with
// room for one frame (the usual case) allocates nothing for the list. On
// error dst is returned unchanged.
func (p *Pipeline) AppendSend(dst [][]byte, msg wire.ChannelMsg) ([][]byte, error) {
	// The frames are SendParts' joined: no second encoder to keep in step,
	// and one allocation fewer per message than a list of step outputs.
	var local [1]wirecore.FramePart
	parts, err := p.SendParts(msg, local[:0])
	if err != nil {
		return dst, err
	}
	if len(parts) == 1 && parts[0].Body == nil && parts[0].Tail == nil {
		h := parts[0].Head // the usual case: a complete frame
		return append(dst, h[:len(h):len(h)]), nil
	}
	size := 0
	for _, part := range parts {
		size += part.Len()
	}
	dst = slices.Grow(dst, len(parts))
	buf := rawbuf.Alloc(size) // every frame's bytes in one array
	for _, part := range parts {
		start := len(buf)
		buf = append(append(append(buf, part.Head...), part.Body...), part.Tail...)
		dst = append(dst, buf[start:len(buf):len(buf)])
	}
	return dst, nil
}

// SendParts is Send for writers that can write a frame in pieces (head,
// body, tail): a fragmented message comes back as fragment headers and
// slices of the message, and an offer's large value is written from where
// it is, copied neither into the encoding nor into frames (see
// [wirecore.FragmentSplitParts]). The bytes on the wire are those of Send.
// The value must not change while the parts are queued.
// The parts are appended to dst, which may be nil.
func (p *Pipeline) SendParts(msg wire.ChannelMsg, dst []wirecore.FramePart) ([]wirecore.FramePart, error) {
	if !p.lockOpen() {
		return nil, ErrClosed()
	}
	seq := p.st.NextSeq
	st, parts, werr := wirestep.SendStepParts(p.st, p.thresh, msg, dst)
	return p.sentLocked(seq, st, parts, len(dst), werr)
}

// SendOfferPieces is SendParts for an offer whose payload data is d rather
// than m.Payload.Data: a large body is written from where it is, never
// joined (see [wirestep.SendStepOfferPieces]). The frames are those of
// SendParts for the offer with the pieces joined.
func (p *Pipeline) SendOfferPieces(m *wire.Offer, d wire.Pieces, dst []wirecore.FramePart) ([]wirecore.FramePart, error) {
	if !p.lockOpen() {
		return nil, ErrClosed()
	}
	seq := p.st.NextSeq
	st, parts, werr := wirestep.SendStepOfferPieces(p.st, p.thresh, m, d, dst)
	return p.sentLocked(seq, st, parts, len(dst), werr)
}

// lockOpen takes mu unless the pipeline is closed.
func (p *Pipeline) lockOpen() bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	return true
}

// sentLocked keeps the state a send step left, releases mu and reports
// the step's error or traces its frames (those after the first kept ones).
func (p *Pipeline) sentLocked(seq uint32, st wirestep.PipelineState[[]byte], parts []wirecore.FramePart, kept int, werr *wirestep.WireError) ([]wirecore.FramePart, error) {
	p.st = st
	p.mu.Unlock()
	if werr != nil {
		err := StepError(werr, transport.DirSend, seq)
		p.reportError(err, transport.DirSend)
		return nil, err
	}
	if p.onFrame != nil {
		for _, t := range wirestep.PartTraces(seq, parts[kept:]) {
			p.onFrame(Trace(t))
		}
	}
	return parts, nil
}

// Receive takes one frame as read from the wire. It returns the decoded
// message, or nil and no error while a fragmented message is still
// incomplete. The piece is not retained.
func (p *Pipeline) Receive(piece []byte) (wire.ChannelMsg, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed()
	}
	st, out, ok := wirestep.ReceiveStep(p.st, wirestep.BinaryCodec, piece)
	p.st = st
	evicted := p.takeEvicted()
	p.mu.Unlock()
	// Only a fragment (or a failure, which may drop partial messages)
	// changes what is pending, so a complete frame leaves the expiry
	// timer as it is.
	if isFragment(piece) || (ok && out.Err != nil) {
		p.expiry.Update()
	}
	p.reportEvicted(evicted)
	if !ok {
		return nil, nil
	}
	if out.Err != nil {
		var seq uint32
		if len(piece) >= wirecore.HeaderSize {
			seq = binary.BigEndian.Uint32(piece[6:10])
		}
		err := StepError(out.Err, transport.DirReceive, seq)
		p.reportError(err, transport.DirReceive)
		return nil, err
	}
	if p.onFrame != nil {
		tr := Trace(out.Trace)
		if len(piece) >= wirecore.FragmentHeaderSize && isFragment(piece) {
			// The piece completed a fragmented message: count its frames,
			// not just the last one (reference issue P3).
			total := int(binary.BigEndian.Uint16(piece[12:14]))
			tr.Size = int(binary.BigEndian.Uint32(piece[14:18])) + total*wirecore.FragmentHeaderSize
		}
		p.onFrame(tr)
	}
	return out.Msg, nil
}

// StepError wraps a step's error with direction and seq, and a short
// detail from the layer below.
func StepError(we *wirestep.WireError, dir transport.Direction, seq uint32) *Error {
	pe := &Error{Reason: we.Reason, Dir: dir, Seq: seq, Err: we}
	var re *wire.ReassemblyError
	var ve *wire.ValidationError
	var ae *wirecore.AliasError
	switch {
	case errors.As(we, &re):
		pe.Detail = re.Reason
	case errors.As(we, &ve):
		pe.Detail = ve.Reason
	case errors.As(we, &ae):
		pe.Detail = ae.Reason
	}
	return pe
}

// Reset returns the pipeline to its initial state for a fresh connection:
// empty alias state, no pending fragments, next seq 1. A fresh connection's
// output is then byte-identical to the first one's.
func (p *Pipeline) Reset() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed()
	}
	p.st.Reassembler.Reset()
	p.expiry.Update()
	p.st.Alias.Reset()
	p.st.NextSeq = 1
	return nil
}

// Close releases the pipeline (stops its reassembly timer). Afterwards Send,
// Receive and Reset fail with the reason closed. Close is idempotent.
func (p *Pipeline) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.done.Store(true)
		p.expiry.Stop()
		p.st.Reassembler.Dispose()
	}
	return nil
}

// PendingFragments returns the number of fragment groups being reassembled.
func (p *Pipeline) PendingFragments() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.Reassembler.Len()
}

// PendingBytes returns the memory, in bytes, reserved for fragment groups
// being reassembled (buffers by capacity): what MaxReassemblySize bounds.
func (p *Pipeline) PendingBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.Reassembler.Reserved()
}

// onReassemblyEvent receives the reassembler's events. Evictions happen
// inside the receive step, on the goroutine holding mu: they are queued and
// reported once mu is released. Timeouts come from Expire, which the
// pipeline's reassembly timer calls without mu, and are reported at once.
func (p *Pipeline) onReassemblyEvent(ev wire.ReassemblyEvent) {
	switch ev.Reason {
	case "evicted":
		p.evicted = append(p.evicted, uint32(ev.Seq))
	case "timeout":
		if !p.done.Load() {
			p.reportError(&Error{Reason: reasonReassemblyTimeout, Dir: transport.DirReceive, Seq: uint32(ev.Seq),
				Err: wirestep.EventError(ev)}, transport.DirReceive)
		}
	}
}

func (p *Pipeline) takeEvicted() []uint32 {
	if len(p.evicted) == 0 {
		return nil
	}
	out := p.evicted
	p.evicted = nil
	return out
}

func (p *Pipeline) reportEvicted(seqs []uint32) {
	for _, s := range seqs {
		p.reportError(&Error{Reason: reasonReassemblyEvicted, Dir: transport.DirReceive, Seq: s,
			Err: wirestep.EventError(wire.ReassemblyEvent{Reason: "evicted", Seq: float64(s)})}, transport.DirReceive)
	}
}

func (p *Pipeline) reportError(err error, dir transport.Direction) {
	if p.onError != nil {
		p.onError(err, dir)
	}
}

func isFragment(piece []byte) bool {
	return len(piece) >= 2 && wire.FrameKind(piece[1]) == wire.KindFragment
}
