package transport

import (
	"container/list"
	"slices"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/wire"
)

// Reassembly defaults. The reference's collector has these defaults but its
// pipeline passes "undefined" for the two limits and so runs without any
// (issue P6); the Go pipeline always applies them.
const (
	DefaultReassemblyTimeout   = 10 * time.Second
	DefaultMaxConcurrentFrames = 32
	DefaultMaxReassemblySize   = 50 << 20
)

// reassembler collects fragment frames into payloads. It is not safe for
// concurrent use; the Pipeline serializes it. Timers run on the injected
// clock and report back through onExpire with the group's seq and the
// generation that armed them, so a late timer for a finished group is
// ignored.
type reassembler struct {
	clk       clock.Clock
	timeout   time.Duration
	maxFrames int
	maxSize   int

	groups  map[uint32]*fragGroup
	order   list.List // of *fragGroup, oldest first
	pending int       // bytes held
	gen     uint64
	// onExpire is called from a timer goroutine (or the fake clock's
	// Advance) with no lock held.
	onExpire func(seq uint32, gen uint64)
}

type fragGroup struct {
	seq       uint32
	gen       uint64
	total     int
	totalSize uint32
	have      []uint64 // bitset of received indices
	parts     []fragPart
	received  int
	size      int
	el        *list.Element
	stop      func() bool
}

type fragPart struct {
	index int
	data  []byte
}

func (g *fragGroup) has(i int) bool { return g.have[i>>6]&(1<<(i&63)) != 0 }

// reassemblyFailure is what a fragment did wrong; the Pipeline turns it
// into a *PipelineError with code reassembly-failed.
type reassemblyFailure struct {
	reason string // duplicate_fragment, invalid_index, total_mismatch, size_mismatch
	seq    uint32
}

func (r *reassembler) init(clk clock.Clock, timeout time.Duration, maxFrames, maxSize int) {
	r.clk, r.timeout, r.maxFrames, r.maxSize = clk, timeout, maxFrames, maxSize
	r.groups = make(map[uint32]*fragGroup)
	r.order.Init()
}

// add takes one fragment frame. It returns the whole payload once the last
// fragment arrived, the seqs of groups evicted to make room, or a failure.
func (r *reassembler) add(f wire.Frame) (payload []byte, evicted []uint32, fail *reassemblyFailure) {
	total := int(f.Total)
	index := int(f.Index)
	g, ok := r.groups[f.Seq]
	if !ok {
		if total == 0 || index >= total {
			return nil, nil, &reassemblyFailure{reason: "invalid_index", seq: f.Seq}
		}
		if total == 1 {
			if uint32(len(f.Payload)) != f.TotalSize && f.TotalSize != 0 {
				return nil, nil, &reassemblyFailure{reason: "size_mismatch", seq: f.Seq}
			}
			return append([]byte(nil), f.Payload...), nil, nil
		}
		if int64(f.TotalSize) > int64(r.maxSize) {
			// Could never complete within the limit: refuse up front
			// rather than evict everything else for it.
			return nil, nil, &reassemblyFailure{reason: "size_mismatch", seq: f.Seq}
		}
		evicted = r.makeRoom(len(f.Payload))
		r.gen++
		g = &fragGroup{seq: f.Seq, gen: r.gen, total: total, totalSize: f.TotalSize, have: make([]uint64, (total+63)/64)}
		g.el = r.order.PushBack(g)
		r.groups[f.Seq] = g
		seq, gen := g.seq, g.gen
		if r.timeout > 0 {
			g.stop = r.clk.AfterFunc(r.timeout, func() { r.onExpire(seq, gen) })
		}
	} else {
		switch {
		case total != g.total:
			return nil, nil, &reassemblyFailure{reason: "total_mismatch", seq: f.Seq}
		case f.TotalSize != g.totalSize:
			return nil, nil, &reassemblyFailure{reason: "size_mismatch", seq: f.Seq}
		case index >= g.total:
			return nil, nil, &reassemblyFailure{reason: "invalid_index", seq: f.Seq}
		case g.has(index):
			return nil, nil, &reassemblyFailure{reason: "duplicate_fragment", seq: f.Seq}
		}
		if r.pending+len(f.Payload) > r.maxSize || g.size+len(f.Payload) > int(g.totalSize) {
			r.drop(g)
			return nil, nil, &reassemblyFailure{reason: "size_mismatch", seq: f.Seq}
		}
	}
	// Memory grows with what arrived, not with the declared total.
	g.have[index>>6] |= 1 << (index & 63)
	g.parts = append(g.parts, fragPart{index: index, data: append([]byte(nil), f.Payload...)})
	g.received++
	g.size += len(f.Payload)
	r.pending += len(f.Payload)
	if g.received < g.total {
		return nil, evicted, nil
	}
	r.drop(g)
	if g.totalSize != 0 && uint32(g.size) != g.totalSize {
		return nil, evicted, &reassemblyFailure{reason: "size_mismatch", seq: f.Seq}
	}
	slices.SortFunc(g.parts, func(a, b fragPart) int { return a.index - b.index })
	out := make([]byte, 0, g.size)
	for _, p := range g.parts {
		out = append(out, p.data...)
	}
	return out, evicted, nil
}

// makeRoom evicts the oldest groups until a new group holding n bytes fits
// both limits.
func (r *reassembler) makeRoom(n int) []uint32 {
	var evicted []uint32
	for r.order.Len() > 0 && (r.order.Len() >= r.maxFrames || r.pending+n > r.maxSize) {
		g := r.order.Front().Value.(*fragGroup)
		r.drop(g)
		evicted = append(evicted, g.seq)
	}
	return evicted
}

func (r *reassembler) drop(g *fragGroup) {
	if g.stop != nil {
		g.stop()
	}
	r.order.Remove(g.el)
	delete(r.groups, g.seq)
	r.pending -= g.size
}

// expire drops the group if the timer that fired is still its own.
func (r *reassembler) expire(seq uint32, gen uint64) bool {
	g, ok := r.groups[seq]
	if !ok || g.gen != gen {
		return false
	}
	r.drop(g)
	return true
}

// reset drops every group and stops every timer.
func (r *reassembler) reset() {
	for r.order.Len() > 0 {
		r.drop(r.order.Front().Value.(*fragGroup))
	}
}

func (r *reassembler) groupCount() int { return r.order.Len() }
