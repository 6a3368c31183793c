package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/wire"
)

// Pipeline error codes (the reference's WireError codes).
const (
	CodeAliasResolutionFailed Code = "alias-resolution-failed"
	CodeDecodeFailed          Code = "decode-failed"
	CodeReassemblyFailed      Code = "reassembly-failed"
	CodeReassemblyTimeout     Code = "reassembly-timeout"
	CodeReassemblyEvicted     Code = "reassembly-evicted"
	CodeFrameTooLarge         Code = "frame-too-large"
	CodeEmptyPayload          Code = "empty-payload"
	CodeTooManyFragments      Code = "too-many-fragments"
	CodeInvalidWireMessage    Code = "invalid-wire-message"
	CodeEncodeFailed          Code = "encode-failed"
)

// Reassembly defaults, applied when PipelineOptions leave a limit at zero.
// The reference's pipeline ran without any limits (issue P6); the Go
// pipeline always bounds time and memory.
const (
	DefaultReassemblyTimeout   = wire.DefaultReassemblyTimeout
	DefaultMaxConcurrentFrames = wire.DefaultMaxConcurrentFrames
	DefaultMaxReassemblySize   = wire.DefaultMaxTotalSize
)

// PipelineError is an error from a [Pipeline] step. Code is one of the
// pipeline codes; Detail is the lower layer's reason (e.g. the collector's
// "duplicate_fragment" for reassembly-failed); Err, if set, is the
// underlying error.
type PipelineError struct {
	Code   Code
	Dir    Direction
	Seq    uint32 // the frame seq, when known
	Detail string
	Err    error
}

func (e *PipelineError) Error() string {
	s := fmt.Sprintf("transport: pipeline %s: %s (seq %d)", e.Dir, e.Code, e.Seq)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *PipelineError) Unwrap() error { return e.Err }

// PipelineOptions configure a [Pipeline]. The zero value is usable: no
// fragmentation, the default reassembly limits, the real clock.
type PipelineOptions struct {
	// Threshold fragments messages whose encoded payload is larger than
	// this many bytes. Zero never fragments.
	Threshold int
	// ReassemblyTimeout drops a fragment group that has not completed in
	// time. Zero means DefaultReassemblyTimeout; negative disables.
	ReassemblyTimeout time.Duration
	// MaxConcurrentFrames caps the fragment groups held at once (oldest
	// evicted beyond). Zero means DefaultMaxConcurrentFrames.
	MaxConcurrentFrames int
	// MaxReassemblySize caps the bytes held in fragment groups (oldest
	// evicted beyond). Zero means DefaultMaxReassemblySize.
	MaxReassemblySize int
	// Clock runs the reassembly timers. Nil means clock.Real.
	Clock clock.Clock
	// OnError sees every error: the ones Send and Receive return, and the
	// asynchronous ones (reassembly-timeout, reassembly-evicted). Called
	// without the pipeline's lock; it may call back into the pipeline.
	OnError func(err error, dir Direction)
	// OnFrame traces frames (see FrameTrace). Called without the lock.
	OnFrame func(FrameTrace)
}

// Pipeline is the stateful wire pipeline of one connection: on send,
// alias → encode → frame (fragmenting above the threshold); on receive,
// frame decode → reassemble → decode → unalias. It holds the connection's
// alias state, frame sequence counter (from 1) and reassembler.
//
// A Pipeline is safe for concurrent use: Send, Receive, Reset and Close are
// serialized by a mutex (one writer goroutine and one reader goroutine is
// the usual pattern). Hooks run outside the lock.
type Pipeline struct {
	onError func(error, Direction)
	onFrame func(FrameTrace)
	thresh  int

	mu      sync.Mutex
	closed  bool
	nextSeq uint32
	codec   msgCodec
	reasm   *wire.Reassembler[[]byte]
	// evicted collects eviction events raised inside reasm.Receive (which
	// runs under mu) so they are reported after mu is released.
	evicted []uint32
	// done mirrors closed for the timer path, which must not take mu.
	done atomic.Bool
}

// msgCodec turns channel messages into frame payloads and back, holding
// the per-connection alias state. Errors are *PipelineError values without
// Dir and Seq, which the Pipeline fills in.
type msgCodec interface {
	encode(wire.ChannelMsg) ([]byte, error)
	decode([]byte) (wire.ChannelMsg, error)
	reset()
}

// NewPipeline returns a pipeline in its initial state.
func NewPipeline(opts PipelineOptions) *Pipeline {
	p := &Pipeline{onError: opts.OnError, onFrame: opts.OnFrame, thresh: max(opts.Threshold, 0), nextSeq: 1, codec: newMsgCodec()}
	timeout := opts.ReassemblyTimeout
	if timeout < 0 {
		timeout = wire.NoLimit
	}
	p.reasm = wire.NewReassembler[[]byte](wire.ReassemblyConfig{
		Timeout:             timeout,
		MaxConcurrentFrames: opts.MaxConcurrentFrames,
		MaxTotalSize:        int64(opts.MaxReassemblySize),
		Clock:               opts.Clock,
		OnEvent:             p.onReassemblyEvent,
	})
	return p
}

// Send encodes msg into the frames to write, in order. On error nothing is
// to be written. Every call consumes one frame seq, even a failing one (as
// in the reference), so peers see gaps but never reuse.
func (p *Pipeline) Send(msg wire.ChannelMsg) ([][]byte, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	seq := p.nextSeq
	p.nextSeq = wire.NextSeq(seq)
	payload, err := p.codec.encode(msg)
	var pieces [][]byte
	if err == nil {
		pieces, err = frames(payload, seq, p.thresh)
	}
	p.mu.Unlock()
	if err != nil {
		err = stamp(err, DirSend, seq)
		p.reportError(err, DirSend)
		return nil, err
	}
	if p.onFrame != nil {
		if len(pieces) == 1 && pieces[0][1] == byte(wire.KindComplete) {
			p.onFrame(FrameTrace{Dir: DirSend, Seq: seq, Kind: FrameComplete, Size: len(pieces[0])})
		} else {
			for i, pc := range pieces {
				p.onFrame(FrameTrace{Dir: DirSend, Seq: seq, Kind: FrameFragment, Index: i, Total: len(pieces), Size: len(pc)})
			}
		}
	}
	return pieces, nil
}

// frames encodes payload as one complete frame, or as fragments when a
// threshold is set and the payload exceeds it (the reference compares the
// payload size, not the frame size, issue P2).
func frames(payload []byte, seq uint32, threshold int) ([][]byte, error) {
	if threshold <= 0 || len(payload) <= threshold {
		if uint64(len(payload)) > wire.MaxPayload {
			return nil, &PipelineError{Code: CodeFrameTooLarge, Detail: fmt.Sprintf("size %d, limit %d", len(payload), uint64(wire.MaxPayload))}
		}
		out, err := wire.AppendFrame(make([]byte, 0, wire.HeaderSize+len(payload)), wire.Frame{Kind: wire.KindComplete, Seq: seq, Payload: payload})
		if err != nil {
			return nil, &PipelineError{Code: CodeFrameTooLarge, Err: err}
		}
		return [][]byte{out}, nil
	}
	out, err := wire.FragmentBinary(payload, threshold, seq)
	if err != nil {
		var fe *wire.FragmentError
		if errors.As(err, &fe) {
			// The fragment codes are the reference's pipeline codes.
			return nil, &PipelineError{Code: Code(fe.Code), Err: err}
		}
		return nil, &PipelineError{Code: CodeFrameTooLarge, Err: err}
	}
	return out, nil
}

// Receive takes one frame as read from the wire. It returns the decoded
// message, or nil and no error while a fragmented message is still
// incomplete. The piece is not retained.
func (p *Pipeline) Receive(piece []byte) (wire.ChannelMsg, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	r, ok, err := p.reasm.Receive(piece)
	evicted := p.takeEvicted()
	if err != nil || !ok {
		p.mu.Unlock()
		p.reportEvicted(evicted)
		if err != nil {
			err = reassemblyError(err)
			p.reportError(err, DirReceive)
		}
		return nil, err
	}
	seq := uint32(r.Seq)
	size := len(piece)
	if len(piece) >= wire.FragmentHeaderSize && wire.FrameKind(piece[1]) == wire.KindFragment {
		// The piece completed a fragmented message: count every frame.
		size = len(r.Payload) + int(binary.BigEndian.Uint16(piece[12:14]))*wire.FragmentHeaderSize
	}
	msg, err := p.codec.decode(r.Payload)
	p.mu.Unlock()
	p.reportEvicted(evicted)
	if err != nil {
		err = stamp(err, DirReceive, seq)
		p.reportError(err, DirReceive)
		return nil, err
	}
	if p.onFrame != nil {
		p.onFrame(FrameTrace{Dir: DirReceive, Seq: seq, Kind: FrameComplete, Size: size})
	}
	return msg, nil
}

// reassemblyError maps a wire reassembly error to reassembly-failed with
// the collector's reason as Detail.
func reassemblyError(err error) error {
	pe := &PipelineError{Code: CodeReassemblyFailed, Dir: DirReceive, Err: err}
	var re *wire.ReassemblyError
	if errors.As(err, &re) {
		pe.Detail = string(re.Type)
		pe.Seq = uint32(re.Seq)
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
		return ErrClosed
	}
	p.reasm.Reset()
	p.codec.reset()
	p.nextSeq = 1
	return nil
}

// Close releases the pipeline (stops reassembly timers). Afterwards Send,
// Receive and Reset return ErrClosed. Close is idempotent.
func (p *Pipeline) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.done.Store(true)
		p.reasm.Dispose()
	}
	return nil
}

// PendingFragments returns the number of fragment groups being reassembled.
func (p *Pipeline) PendingFragments() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reasm.Len()
}

// PendingBytes returns the bytes held by fragment groups being reassembled.
func (p *Pipeline) PendingBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reasm.PendingSize()
}

// onReassemblyEvent receives the reassembler's events. Evictions happen
// inside reasm.Receive, on the goroutine holding mu: they are queued and
// reported once mu is released. Timeouts come from the clock's timer,
// without mu, and are reported at once.
func (p *Pipeline) onReassemblyEvent(ev wire.ReassemblyEvent) {
	switch ev.Type {
	case wire.EventEvicted:
		p.evicted = append(p.evicted, uint32(ev.Seq))
	case wire.EventTimeout:
		if !p.done.Load() {
			p.reportError(&PipelineError{Code: CodeReassemblyTimeout, Dir: DirReceive, Seq: uint32(ev.Seq)}, DirReceive)
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
		p.reportError(&PipelineError{Code: CodeReassemblyEvicted, Dir: DirReceive, Seq: s}, DirReceive)
	}
}

func (p *Pipeline) reportError(err error, dir Direction) {
	if p.onError != nil {
		p.onError(err, dir)
	}
}

// stamp fills in direction and seq of a codec error.
func stamp(err error, dir Direction, seq uint32) error {
	if pe, ok := err.(*PipelineError); ok {
		cp := *pe
		cp.Dir, cp.Seq = dir, seq
		return &cp
	}
	code := CodeDecodeFailed
	if dir == DirSend {
		code = CodeEncodeFailed
	}
	return &PipelineError{Code: code, Dir: dir, Seq: seq, Err: err}
}
