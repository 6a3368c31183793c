package wirecore

import (
	"math/bits"
	"sync"
)

// bufPool keeps the buffers of partial messages that were dropped
// (evicted, timed out, reset) or outgrown, so the next partial messages
// reuse them instead of allocating: a peer that keeps opening messages and
// letting them be evicted then makes no garbage, and the process's memory
// stays near the budget without a soft memory limit (garbage would let the
// heap grow to about twice the live memory before a collection).
//
// It belongs to a ReassemblyBudget: idle buffers plus the bytes reserved
// against the budget stay within the budget's limit, so the pool never
// holds memory the budget would not let the collectors hold.
type bufPool struct {
	mu sync.Mutex
	// free holds idle buffers by floor(log2(cap)).
	free [64][][]byte
	idle int64
}

// poolMinSize is the smallest buffer worth pooling (a variable so tests
// can pool small buffers); smaller ones are allocated and dropped as
// before.
var poolMinSize = 64 << 10

func sizeClass(n int) int { return bits.Len(uint(n)) - 1 }

// roundSize rounds a buffer size up to a power of two, the sizes the pool
// reuses, unless that would pass limit (limit < 0: none). Sizes below
// poolMinSize are kept.
func roundSize(n int, limit int64) int {
	if n < poolMinSize {
		return n
	}
	r := 1 << bits.Len(uint(n-1))
	if limit >= 0 && int64(r) > limit {
		return n
	}
	return r
}

// get returns the idle buffer with the smallest capacity in [lo, hi],
// emptied, or nil.
func (p *bufPool) get(lo, hi int) []byte {
	if lo < poolMinSize || hi < lo {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := sizeClass(lo); k <= sizeClass(hi); k++ {
		l := p.free[k]
		best := -1
		for i, b := range l {
			if c := cap(b); c >= lo && c <= hi && (best < 0 || c < cap(l[best])) {
				best = i
			}
		}
		if best >= 0 {
			b := l[best]
			l[best] = l[len(l)-1]
			l[len(l)-1] = nil
			p.free[k] = l[:len(l)-1]
			p.idle -= int64(cap(b))
			return b[:0]
		}
	}
	return nil
}

// put keeps b for reuse if the pool's idle bytes stay within room;
// otherwise b is left to the garbage collector.
func (p *bufPool) put(b []byte, room int64) {
	if cap(b) < poolMinSize {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle+int64(cap(b)) > room {
		return
	}
	k := sizeClass(cap(b))
	p.free[k] = append(p.free[k], b[:0])
	p.idle += int64(cap(b))
}

// trim drops idle buffers, smallest first (a large buffer can serve more
// requests), until the idle bytes are within room.
func (p *bufPool) trim(room int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := 0; k < len(p.free) && p.idle > max(room, 0); k++ {
		l := p.free[k]
		for len(l) > 0 && p.idle > max(room, 0) {
			p.idle -= int64(cap(l[len(l)-1]))
			l[len(l)-1] = nil
			l = l[:len(l)-1]
		}
		p.free[k] = l
	}
}

// idleBytes returns the bytes of buffers kept for reuse.
func (p *bufPool) idleBytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle
}
