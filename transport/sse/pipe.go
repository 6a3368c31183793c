package sse

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/internal/wirestep"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// pipe is the wire pipeline of one SSE connection. Unlike
// pipeline.Pipeline it is asymmetric, as the reference's SSE pipelines
// are: the server sends text frames and receives binary ones (and, here,
// text ones too); the client sends binary frames and receives text. One
// alias table serves both directions; the sequence counter numbers the
// sent frames from 1.
//
// The reassemblers arm no timers: the pipe owns one reassembly timer on
// its clock, armed for the earliest deadline of either reassembler, that
// expires the partial messages that are due.
type pipe struct {
	threshold int
	cfg       wire.ReassemblyConfig
	onFrame   func(transport.FrameTrace)
	onError   func(error, transport.Direction)

	done   atomic.Bool // mirrors closed for the reassembly timer path
	expiry *pipeline.ExpiryTimer

	mu     sync.Mutex
	closed bool
	alias  *wirecore.AliasState
	seq    uint32
	// The reassemblers are created on first use, under mu; the timer
	// path reads them without it.
	bin atomic.Pointer[wirecore.Reassembler[[]byte]]
	txt atomic.Pointer[wirecore.Reassembler[string]]
}

type pipeOptions struct {
	threshold         int // 0: never fragment
	maxReassemblySize int
	budget            *wire.ReassemblyBudget // shared by a server's streams; nil: none
	alias             wire.AliasOptions
	clock             clock.Clock
	onFrame           func(transport.FrameTrace)
	onError           func(error, transport.Direction)
}

func newPipe(o pipeOptions) *pipe {
	p := &pipe{threshold: max(o.threshold, 0), onFrame: o.onFrame, onError: o.onError, alias: wirecore.NewAliasState(o.alias), seq: 1}
	p.cfg = wire.ReassemblyConfig{
		MaxTotalSize: int64(o.maxReassemblySize),
		Budget:       o.budget,
		Clock:        o.clock,
		OnEvent: func(ev wire.ReassemblyEvent) {
			// Evictions run inside the receive step (under mu), timeouts
			// inside Expire on the reassembly timer's goroutine (without
			// mu); both only report.
			if p.onError != nil && !p.done.Load() {
				p.onError(wirestep.EventError(ev), transport.DirReceive)
			}
		},
	}
	p.expiry = pipeline.NewExpiryTimer(o.clock, p.nextDeadline, p.expire)
	return p
}

// nextDeadline is the earliest deadline of the two reassemblers.
func (p *pipe) nextDeadline() (time.Time, bool) {
	var at time.Time
	var ok bool
	if r := p.bin.Load(); r != nil {
		at, ok = r.NextDeadline()
	}
	if r := p.txt.Load(); r != nil {
		if t, tok := r.NextDeadline(); tok && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	return at, ok
}

// expire drops the partial messages that are due at now.
func (p *pipe) expire(now time.Time) {
	if r := p.bin.Load(); r != nil {
		r.Expire(now)
	}
	if r := p.txt.Load(); r != nil {
		r.Expire(now)
	}
}

// sendPieces runs the send step with codec and returns the frames to
// write. Every call consumes one sequence number, also a failing one.
func sendPieces[S wirecore.Piece](p *pipe, codec wirestep.Codec[S], msg wire.ChannelMsg) ([]S, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, pipeline.ErrClosed()
	}
	seq := p.seq
	st := wirestep.PipelineState[[]byte]{Alias: p.alias, NextSeq: p.seq}
	st, outs := wirestep.SendStep(st, codec, p.threshold, msg)
	p.alias, p.seq = st.Alias, st.NextSeq
	p.mu.Unlock()
	if len(outs) == 1 && outs[0].Err != nil {
		err := pipeline.StepError(outs[0].Err, transport.DirSend, seq)
		if p.onError != nil {
			p.onError(err, transport.DirSend)
		}
		return nil, err
	}
	pieces := make([]S, len(outs))
	for i, o := range outs {
		pieces[i] = o.Piece
		if p.onFrame != nil {
			p.onFrame(pipeline.Trace(o.Trace))
		}
	}
	return pieces, nil
}

// receivePiece runs the receive step for one frame: the message, nil and
// no error while a fragmented message is incomplete, or a
// *pipeline.Error.
func receivePiece[R wirecore.Piece](p *pipe, re *atomic.Pointer[wirecore.Reassembler[R]], codec wirestep.Codec[R], piece R) (wire.ChannelMsg, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, pipeline.ErrClosed()
	}
	r := re.Load()
	if r == nil {
		r = wirecore.NewReassembler[R](p.cfg)
		re.Store(r)
	}
	st := wirestep.PipelineState[R]{Alias: p.alias, Reassembler: r, NextSeq: p.seq}
	st, out, ok := wirestep.ReceiveStep(st, codec, piece)
	p.alias = st.Alias
	p.mu.Unlock()
	p.expiry.Update()
	if !ok {
		return nil, nil
	}
	if out.Err != nil {
		err := pipeline.StepError(out.Err, transport.DirReceive, pieceSeq(piece))
		if p.onError != nil {
			p.onError(err, transport.DirReceive)
		}
		return nil, err
	}
	if p.onFrame != nil {
		p.onFrame(pipeline.Trace(out.Trace))
	}
	return out.Msg, nil
}

func (p *pipe) sendText(msg wire.ChannelMsg) ([]string, error) {
	return sendPieces(p, wirestep.TextCodec, msg)
}

func (p *pipe) sendBinary(msg wire.ChannelMsg) ([][]byte, error) {
	return sendPieces(p, wirestep.BinaryCodec, msg)
}

func (p *pipe) receiveText(s string) (wire.ChannelMsg, error) {
	return receivePiece(p, &p.txt, wirestep.TextCodec, s)
}

func (p *pipe) receiveBinary(b []byte) (wire.ChannelMsg, error) {
	return receivePiece(p, &p.bin, wirestep.BinaryCodec, b)
}

// close stops the reassembly timer; later calls fail with
// the transport's "closed" error.
func (p *pipe) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.done.Store(true)
	p.expiry.Stop()
	if r := p.bin.Load(); r != nil {
		r.Dispose()
	}
	if r := p.txt.Load(); r != nil {
		r.Dispose()
	}
}

// pieceSeq is the frame seq of a binary piece, for error reports (0 when
// unknown; text frames are not parsed twice for it).
func pieceSeq[P wirecore.Piece](piece P) uint32 {
	if b, ok := any(piece).([]byte); ok && len(b) >= wirecore.HeaderSize {
		return binary.BigEndian.Uint32(b[6:10])
	}
	return 0
}
