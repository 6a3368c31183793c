package wirecore

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/rawbuf"
)

// Piece is the unit a transport carries: bytes for binary frames, a string
// for text frames. Fragment chunks have the same type as the pieces.
type Piece interface{ []byte | string }

// fragmentDecision is what the collector does with one fragment.
type fragmentDecision uint8

// fragmentCollector decisions, named as in the reference.
const (
	// decisionCreateAndAccept: first fragment of a new batch.
	decisionCreateAndAccept fragmentDecision = iota + 1
	// decisionAccept: a further fragment of an existing batch.
	decisionAccept
	// decisionComplete: the fragment completes its batch (or is the only
	// fragment of a one-piece message).
	decisionComplete
	decisionRejectDuplicate
	decisionRejectInvalidIndex
	decisionRejectTotalMismatch
	decisionRejectSizeMismatch
)

var decisionNames = [...]string{
	decisionCreateAndAccept:     "create_and_accept",
	decisionAccept:              "accept",
	decisionComplete:            "complete",
	decisionRejectDuplicate:     "reject_duplicate",
	decisionRejectInvalidIndex:  "reject_invalid_index",
	decisionRejectTotalMismatch: "reject_total_mismatch",
	decisionRejectSizeMismatch:  "reject_size_mismatch",
}

// String returns the reference's name for the decision.
func (d fragmentDecision) String() string {
	if int(d) < len(decisionNames) && decisionNames[d] != "" {
		return decisionNames[d]
	}
	return fmt.Sprintf("Decision(%d)", uint8(d))
}

// fragmentBatch is the part of a partially received message that decideFragment looks at.
type fragmentBatch struct {
	ExpectedTotal     float64
	ExpectedTotalSize float64
	ReceivedIndices   []float64
}

// decideFragment is the collector's pure decision for a fragment (index, total,
// totalSize) given the batch already open for its seq, or nil if none.
//
// Without a batch: an index outside [0, total) is rejected, total 1
// completes at once, anything else opens a batch. With a batch the checks
// run in the reference's order: total, totalSize, index range, duplicate;
// a fragment that brings the received count to the total completes.
func decideFragment(batch *fragmentBatch, index, total, totalSize float64) fragmentDecision {
	if batch == nil {
		return decide(false, 0, 0, 0, false, index, total, totalSize)
	}
	dup := slices.Contains(batch.ReceivedIndices, index)
	return decide(true, batch.ExpectedTotal, batch.ExpectedTotalSize, len(batch.ReceivedIndices), dup, index, total, totalSize)
}

func decide(exists bool, expTotal, expSize float64, received int, dup bool, index, total, totalSize float64) fragmentDecision {
	if !exists {
		switch {
		case index < 0 || index >= total:
			return decisionRejectInvalidIndex
		case total == 1:
			return decisionComplete
		}
		return decisionCreateAndAccept
	}
	switch {
	case total != expTotal:
		return decisionRejectTotalMismatch
	case totalSize != expSize:
		return decisionRejectSizeMismatch
	case index < 0 || index >= expTotal:
		return decisionRejectInvalidIndex
	case dup:
		return decisionRejectDuplicate
	case float64(received+1) == expTotal:
		return decisionComplete
	}
	return decisionAccept
}

// Reassembly defaults. The reference has no limits unless configured; the
// Go side bounds memory and time by default.
const (
	defaultReassemblyTimeout   = 10 * time.Second
	defaultMaxConcurrentFrames = 32
	defaultMaxTotalSize        = 50 << 20 // 50 MiB
	// NoLimit, given as MaxConcurrentFrames or MaxTotalSize, disables that
	// limit; given as Timeout it disables the timeout.
	NoLimit = -1
)

// ReassemblyConfig configures a [Reassembler]. The zero value is safe: a
// 10 s timeout per message, at most 32 messages in flight and 50 MiB of
// buffered chunks, with the oldest message evicted beyond either
// limit, and the wall clock.
//
// Nothing fires by itself: the reassembler arms no timers and starts no
// goroutines. A partial message records a deadline, and only a call of
// [Reassembler.Expire] drops the messages whose deadline has passed; the
// caller makes that call, e.g. from its own timer set for
// [Reassembler.NextDeadline].
type ReassemblyConfig struct {
	// Timeout is how long a message may wait for its remaining fragments,
	// counted from its first fragment: its deadline, which Expire
	// enforces. 0 means 10 s; a negative value means no deadline.
	Timeout time.Duration
	// MaxConcurrentFrames bounds the number of partially received messages.
	// 0 means 32; negative means unlimited.
	MaxConcurrentFrames int
	// MaxTotalSize bounds the memory reserved for all partial messages, in
	// bytes: message buffers by capacity (a buffer sized from a fragment's
	// header counts in full before anything is copied into it) and chunks
	// kept out of order. Room is made before memory is taken, by evicting
	// the oldest messages. 0 means 50 MiB; negative means
	// unlimited.
	MaxTotalSize int64
	// ReferenceSizeCheck restores the reference's accounting: MaxTotalSize
	// counts the chunk sizes received (bytes for binary, code points for
	// text) and is checked only after a fragment joined an existing
	// message. By default the Go side counts reserved memory and checks
	// every fragment, the first of a message included.
	ReferenceSizeCheck bool
	// Budget, if set, is a reservation budget shared with other collectors
	// (a server-wide cap). Memory this collector reserves is charged to it
	// as well; when it is exhausted the collector evicts its own oldest
	// messages, and if that is not enough the fragment fails with
	// over_budget (its message is dropped). With a budget, binary buffers
	// of 64 KiB and more are sized in powers of two (when that stays
	// within the limits) and reused through the budget's pool.
	Budget *ReassemblyBudget
	// Clock is read (Now, never AfterFunc) when a message's first
	// fragment arrives, to set its deadline; nil means clock.Real.
	Clock clock.Clock
	// OnEvent, if set, is called when a message times out or is evicted. It
	// runs without the collector's lock held, on the caller's goroutine:
	// from inside Add/Receive for evictions, and from inside Expire for
	// timeouts.
	OnEvent func(ReassemblyEvent)
}

// ReassemblyEvent reports a partial message that was dropped.
type ReassemblyEvent struct {
	// Reason is "timeout" (the message did not complete in time) or
	// "evicted" (it was dropped to stay within the limits), the reasons of
	// the matching *ReassemblyError.
	Reason string
	Seq    float64
	// PartialCount is the number of fragments that had arrived.
	PartialCount int
}

// ReassemblyBudget is a memory budget in bytes shared by several
// collectors, e.g. every connection of a server. It also keeps the buffers
// of partial messages that were evicted, timed out or reset, and hands
// them to the next messages that need that size, keeping idle buffers and
// reservations together within the budget: a peer that keeps filling its
// limit and having its messages evicted makes no garbage, so the process
// stays near the budget without a soft memory limit. It is safe for
// concurrent use.
type ReassemblyBudget struct {
	limit int64
	used  atomic.Int64
	// pool keeps dropped message buffers for reuse; idle buffers and
	// reservations together stay within limit.
	pool bufPool
}

// NewReassemblyBudget returns a budget of limit bytes.
func NewReassemblyBudget(limit int64) *ReassemblyBudget {
	return &ReassemblyBudget{limit: limit}
}

// Limit returns the budget's size in bytes.
func (b *ReassemblyBudget) Limit() int64 { return b.limit }

// Used returns the bytes currently reserved against the budget.
func (b *ReassemblyBudget) Used() int64 { return b.used.Load() }

func (b *ReassemblyBudget) reserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *ReassemblyBudget) release(n int64) { b.used.Add(-n) }

// room is what the budget has not reserved: the most its pool may keep.
func (b *ReassemblyBudget) room() int64 { return b.limit - b.used.Load() }

// substrate holds the per-chunk-type operations, chosen once at
// construction so the hot path does no interface conversions.
type substrate[C Piece] struct {
	size  func(C) int
	mem   func(C) int // bytes a stored chunk occupies
	clone func(C) C
	join  func(parts []C) C
	// contiguous substrates (binary) copy chunks that arrive in order
	// straight into the message buffer, so an in-order message is copied
	// once, not stored and then joined.
	contiguous bool
	appendTo   func(buf []byte, c C) []byte
	fromBuf    func(buf []byte) C
	// bytes views a contiguous substrate's chunk as the buffer it is, so
	// stored chunks can go back to the pool.
	bytes func(C) []byte
}

func newSubstrate[C Piece]() substrate[C] {
	var s any
	var zero C
	switch any(zero).(type) {
	case []byte:
		s = substrate[[]byte]{
			size:  func(b []byte) int { return len(b) },
			mem:   func(b []byte) int { return cap(b) },
			clone: func(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) },
			join: func(parts [][]byte) []byte {
				n := 0
				for _, p := range parts {
					n += len(p)
				}
				out := make([]byte, 0, n)
				for _, p := range parts {
					out = append(out, p...)
				}
				return out
			},
			contiguous: true,
			appendTo:   func(buf []byte, c []byte) []byte { return append(buf, c...) },
			fromBuf:    func(buf []byte) []byte { return buf },
			bytes:      func(b []byte) []byte { return b },
		}
	case string:
		s = substrate[string]{
			size:  textSize,
			mem:   func(s string) int { return len(s) },
			clone: func(s string) string { return s },
			join:  func(parts []string) string { return strings.Join(parts, "") },
		}
	}
	return s.(substrate[C])
}

type batch[C Piece] struct {
	seq      float64
	expTotal float64
	expSize  float64
	// chunks holds the received chunks not yet in buf (all of them for
	// substrates that are not contiguous). It is made on first use: a
	// message that arrives in order never needs it.
	chunks map[float64]C
	// buf is the message so far for contiguous substrates: chunks
	// 0..nextIndex-1, in order.
	buf       []byte
	nextIndex float64
	size      int64 // sum of chunk sizes (the reference's accounting)
	mem       int64 // bytes reserved: cap(buf) plus stored chunks
	// deadline is when the batch times out: its first fragment's arrival
	// plus the timeout. Zero when the timeout is disabled.
	deadline   time.Time
	prev, next *batch[C] // creation order
}

// received is how many distinct chunks b has: those in buf and those held.
func (b *batch[C]) received() int { return int(b.nextIndex) + len(b.chunks) }

// has reports whether chunk index was received.
func (b *batch[C]) has(index float64) bool {
	if index < b.nextIndex && index == math.Trunc(index) {
		return true
	}
	_, ok := b.chunks[index]
	return ok
}

// hold keeps a chunk that cannot go into buf yet.
func (b *batch[C]) hold(index float64, chunk C) {
	if b.chunks == nil {
		b.chunks = make(map[float64]C, 4)
	}
	b.chunks[index] = chunk
}

// fragmentCollector gathers fragments into whole messages: the reference's
// FragmentCollector. It is safe for concurrent use. It arms no timers: a
// batch records its deadline and Expire drops the batches that are due.
type fragmentCollector[C Piece] struct {
	sub          substrate[C]
	timeout      time.Duration // < 0: none
	maxFrames    int           // < 0: unlimited
	maxSize      int64         // < 0: unlimited
	refSizeCheck bool
	budget       *ReassemblyBudget
	clk          clock.Clock
	onEvent      func(ReassemblyEvent)

	mu          sync.Mutex
	batches     map[float64]*batch[C]
	oldest      *batch[C]
	newest      *batch[C]
	pendingSize int64
	pendingMem  int64
	disposed    bool
	// spare is the record of the last batch completed in order, reused
	// by the next one: a fragmented message then allocates only its
	// buffer, and no small object lands between two large buffers in
	// the heap (which makes the next one fault in fresh pages).
	spare *batch[C]
}

// newFragmentCollector returns an empty collector with cfg's limits; C is []byte
// for binary chunks (sizes in bytes) or string for text chunks (sizes in
// code points).
func newFragmentCollector[C Piece](cfg ReassemblyConfig) *fragmentCollector[C] {
	c := &fragmentCollector[C]{
		sub:          newSubstrate[C](),
		timeout:      cfg.Timeout,
		maxFrames:    cfg.MaxConcurrentFrames,
		maxSize:      cfg.MaxTotalSize,
		refSizeCheck: cfg.ReferenceSizeCheck,
		budget:       cfg.Budget,
		clk:          clock.OrReal(cfg.Clock),
		onEvent:      cfg.OnEvent,
		batches:      make(map[float64]*batch[C]),
	}
	if c.timeout == 0 {
		c.timeout = defaultReassemblyTimeout
	}
	if c.maxFrames == 0 {
		c.maxFrames = defaultMaxConcurrentFrames
	}
	if c.maxSize == 0 {
		c.maxSize = defaultMaxTotalSize
	}
	return c
}

// Add offers one fragment. It returns the whole message and true when the
// fragment completes it, (zero, false, nil) while the message is pending,
// or a *[ReassemblyError]. A rejected fragment leaves its batch as it was,
// except a size mismatch found on completion, which discards the batch.
// For binary chunks the collector keeps its own copy, so the caller may
// reuse chunk; the result of a one-fragment message may alias chunk.
func (c *fragmentCollector[C]) Add(seq, index, total, totalSize float64, chunk C) (C, bool, error) {
	var zero C
	var events []ReassemblyEvent
	data, done, err := c.add(seq, index, total, totalSize, chunk, &events)
	c.emit(events)
	if err != nil || !done {
		return zero, false, err
	}
	return data, true, nil
}

func (c *fragmentCollector[C]) emit(events []ReassemblyEvent) {
	if c.onEvent == nil {
		return
	}
	for _, e := range events {
		c.onEvent(e)
	}
}

func (c *fragmentCollector[C]) add(seq, index, total, totalSize float64, chunk C, events *[]ReassemblyEvent) (C, bool, error) {
	var zero C
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disposed {
		return zero, false, &ReassemblyError{Reason: reasonDisposed}
	}
	b := c.batches[seq]
	var d fragmentDecision
	if b == nil {
		d = decide(false, 0, 0, 0, false, index, total, totalSize)
	} else {
		d = decide(true, b.expTotal, b.expSize, b.received(), b.has(index), index, total, totalSize)
	}
	switch d {
	case decisionRejectInvalidIndex:
		maxIndex := total - 1
		if b != nil {
			maxIndex = b.expTotal - 1
		}
		return zero, false, &ReassemblyError{Reason: reasonInvalidIndex, Seq: seq, Index: index, Max: maxIndex}
	case decisionRejectTotalMismatch:
		return zero, false, &ReassemblyError{Reason: reasonTotalMismatch, Seq: seq, Expected: b.expTotal, Got: total}
	case decisionRejectSizeMismatch:
		return zero, false, &ReassemblyError{Reason: reasonSizeMismatch, Seq: seq, Expected: b.expSize, Got: totalSize}
	case decisionRejectDuplicate:
		return zero, false, &ReassemblyError{Reason: reasonDuplicateFragment, Seq: seq, Index: index}
	case decisionComplete:
		if b == nil {
			size := float64(c.sub.size(chunk))
			if totalSize != 0 && size != totalSize {
				return zero, false, &ReassemblyError{Reason: reasonSizeMismatch, Seq: seq, Expected: totalSize, Got: size}
			}
			return chunk, true, nil
		}
		size := float64(b.size) + float64(c.sub.size(chunk))
		if c.sub.contiguous && index == b.nextIndex {
			// The whole message is here now: its buffer is the last
			// reservation, checked like any other.
			if err := c.grow(b, int(size), events); err != nil {
				return zero, false, err
			}
			c.appendInOrder(b, index, chunk)
		}
		c.remove(b)
		if c.sub.contiguous {
			if b.nextIndex != b.expTotal {
				err := missingChunk(b, b.nextIndex)
				c.recycle(b)
				return zero, false, err
			}
			if b.expSize != 0 && size != b.expSize {
				c.recycle(b)
				return zero, false, &ReassemblyError{Reason: reasonSizeMismatch, Seq: seq, Expected: b.expSize, Got: size}
			}
			// The caller owns the message; its capacity is cut to its
			// length so a pooled buffer's older bytes stay out of reach.
			msg := c.sub.fromBuf(b.buf[:len(b.buf):len(b.buf)])
			*b = batch[C]{}
			c.spare = b
			return msg, true, nil
		}
		b.hold(index, chunk) // joined below, so no copy needed
		parts := make([]C, 0, len(b.chunks))
		for i := 0; float64(i) < b.expTotal; i++ {
			p, ok := b.chunks[float64(i)]
			if !ok {
				return zero, false, missingChunk(b, float64(i))
			}
			parts = append(parts, p)
		}
		if b.expSize != 0 && size != b.expSize {
			return zero, false, &ReassemblyError{Reason: reasonSizeMismatch, Seq: seq, Expected: b.expSize, Got: size}
		}
		return c.sub.join(parts), true, nil
	case decisionCreateAndAccept:
		if c.maxFrames > 0 {
			for len(c.batches) >= c.maxFrames {
				*events = append(*events, c.evictOldest())
			}
		}
		if b = c.spare; b != nil {
			c.spare = nil
			b.seq, b.expTotal, b.expSize = seq, total, totalSize
		} else {
			b = &batch[C]{seq: seq, expTotal: total, expSize: totalSize}
		}
		c.batches[seq] = b
		if c.newest == nil {
			c.oldest, c.newest = b, b
		} else {
			b.prev, c.newest.next, c.newest = c.newest, b, b
		}
		if c.timeout >= 0 {
			b.deadline = c.clk.Now().Add(c.timeout)
		}
		if err := c.store(b, index, chunk, events); err != nil {
			return zero, false, err
		}
		return zero, false, nil
	default: // decisionAccept
		if err := c.store(b, index, chunk, events); err != nil {
			return zero, false, err
		}
		if c.refSizeCheck {
			if err := c.enforceSize(b, events); err != nil {
				return zero, false, err
			}
		}
		return zero, false, nil
	}
}

// store keeps one accepted chunk: in order (binary) straight into the
// message buffer, otherwise as a copy. The memory is reserved first; if it
// cannot be, b is dropped and the error returned.
func (c *fragmentCollector[C]) store(b *batch[C], index float64, chunk C, events *[]ReassemblyEvent) error {
	n := int64(c.sub.size(chunk))
	if c.sub.contiguous && index == b.nextIndex {
		need := len(b.buf) + c.sub.size(chunk)
		for i := b.nextIndex + 1; ; i++ {
			p, ok := b.chunks[i]
			if !ok {
				break
			}
			need += c.sub.size(p)
		}
		if err := c.grow(b, need, events); err != nil {
			return err
		}
		c.appendInOrder(b, index, chunk)
	} else if c.sub.contiguous && c.budget != nil {
		// Out of order: a pooled copy, reserved before it is taken.
		buf, err := c.obtain(b, 0, roundSize(c.sub.size(chunk), c.roundLimit()), events)
		if err != nil {
			return err
		}
		b.hold(index, c.sub.fromBuf(c.sub.appendTo(buf, chunk)))
	} else {
		kept := c.sub.clone(chunk)
		if err := c.reserve(b, int64(c.sub.mem(kept)), events); err != nil {
			return err
		}
		b.hold(index, kept)
	}
	b.size += n
	c.pendingSize += n
	return nil
}

// grow makes b.buf hold at least need bytes, reserving the new capacity
// before allocating it. The first buffer of a message is sized for the
// whole message when the header is consistent, but never more than 16
// times what has arrived (nor the size limit), so a header that lies about
// its size cannot make the collector reserve much more memory than the
// peer sent; later growth doubles, up to the declared size.
func (c *fragmentCollector[C]) grow(b *batch[C], need int, events *[]ReassemblyEvent) error {
	have := cap(b.buf)
	if need <= have {
		return nil
	}
	var want float64
	if b.buf == nil {
		want = float64(need) * min(b.expTotal, 16)
	} else {
		want = float64(2 * have)
	}
	if b.expSize > 0 {
		want = min(want, b.expSize)
	}
	if c.maxSize >= 0 && !c.refSizeCheck {
		want = min(want, float64(c.maxSize))
	}
	size := max(int(max(want, 0)), need)
	if c.budget != nil && (b.expSize <= 0 || float64(size) < b.expSize) {
		// A guess, not the message's declared size: a power of two,
		// which evicted buffers of other messages are likely to match.
		size = roundSize(size, c.roundLimit())
	}
	buf, err := c.obtain(b, have, size, events)
	if err != nil {
		return err
	}
	buf = buf[:len(b.buf)]
	copy(buf, b.buf)
	c.free(b.buf)
	b.buf = buf
	return nil
}

// roundLimit is the largest buffer the collector may reserve at once: the
// size limit (when it counts reserved memory) and the budget.
func (c *fragmentCollector[C]) roundLimit() int64 {
	limit := c.budget.Limit()
	if c.maxSize >= 0 && !c.refSizeCheck {
		limit = min(limit, c.maxSize)
	}
	return limit
}

// obtain reserves and returns an empty buffer to replace one of capacity
// have (0: none) that must hold size bytes. An idle buffer of the budget's
// pool is preferred, reserved in full, if it is at most twice size and
// fits without evicting anything. Otherwise size is reserved as usual,
// evicting older messages if needed (whose buffers go to the pool), and
// the pool is asked again, now for a buffer that fits in what is left.
func (c *fragmentCollector[C]) obtain(b *batch[C], have, size int, events *[]ReassemblyEvent) ([]byte, error) {
	if buf := c.reuse(b, have, size); buf != nil {
		return buf, nil
	}
	if err := c.reserve(b, int64(size-have), events); err != nil {
		return nil, err
	}
	if buf := c.reuse(b, size, size); buf != nil {
		return buf, nil
	}
	return c.alloc(size), nil
}

// reuse takes an idle buffer of at least size (and at most twice that)
// for b, which has reserved have bytes for it, if the rest can be
// reserved without eviction; nil if there is none.
func (c *fragmentCollector[C]) reuse(b *batch[C], have, size int) []byte {
	if c.budget == nil || size < poolMinSize {
		return nil
	}
	free := c.budget.room()
	if c.maxSize >= 0 && !c.refSizeCheck {
		free = min(free, c.maxSize-c.pendingMem)
	}
	limit := min(int64(2*size), int64(have)+free)
	if limit < int64(size) {
		return nil
	}
	buf := c.budget.pool.get(size, int(limit))
	if buf == nil {
		return nil
	}
	if !c.tryReserve(b, int64(cap(buf)-have)) {
		c.free(buf) // another collector took the room meanwhile
		return nil
	}
	return buf
}

// tryReserve reserves n bytes for b only if that needs no eviction.
func (c *fragmentCollector[C]) tryReserve(b *batch[C], n int64) bool {
	if n > 0 {
		if c.maxSize >= 0 && !c.refSizeCheck && c.pendingMem+n > c.maxSize {
			return false
		}
		if c.budget != nil && !c.budget.reserve(n) {
			return false
		}
	}
	b.mem += n
	c.pendingMem += n
	return true
}

// alloc returns a new empty buffer of capacity size, already reserved,
// first making the budget's pool drop what no longer fits beside the
// reservations.
func (c *fragmentCollector[C]) alloc(size int) []byte {
	if c.budget != nil {
		c.budget.pool.trim(c.budget.room())
	}
	// Fragments are appended in order, so nothing reads what was not
	// written: clearing a large buffer first would be one more pass.
	return rawbuf.Alloc(size)
}

// free hands a buffer the collector no longer uses (and no longer
// reserves) to the budget's pool.
func (c *fragmentCollector[C]) free(buf []byte) {
	if c.budget != nil && buf != nil {
		c.budget.pool.put(buf, c.budget.room())
	}
}

// recycle frees the buffers of a batch that was removed without being
// delivered.
func (c *fragmentCollector[C]) recycle(b *batch[C]) {
	if c.budget == nil || !c.sub.contiguous {
		return
	}
	c.free(b.buf)
	b.buf = nil
	for i, p := range b.chunks {
		if buf := c.sub.bytes(p); cap(buf) > 0 {
			c.free(buf)
			var zero C
			b.chunks[i] = zero
		}
	}
}

// reserve accounts n more bytes to b, making room first: beyond the size
// limit (unless the reference's accounting is on) or the shared budget,
// the oldest messages are evicted. If b itself has to go, it is dropped
// and the error says why: evicted (the limit) or over_budget.
func (c *fragmentCollector[C]) reserve(b *batch[C], n int64, events *[]ReassemblyEvent) error {
	if n <= 0 {
		return nil
	}
	if c.maxSize >= 0 && !c.refSizeCheck {
		for c.pendingMem+n > c.maxSize && c.oldest != nil {
			self := c.oldest == b
			*events = append(*events, c.evictOldest())
			if self {
				return &ReassemblyError{Reason: reasonEvicted, Seq: b.seq}
			}
		}
	}
	if c.budget != nil {
		for !c.budget.reserve(n) {
			if c.oldest == nil {
				return &ReassemblyError{Reason: reasonOverBudget, Seq: b.seq}
			}
			self := c.oldest == b
			*events = append(*events, c.evictOldest())
			if self {
				return &ReassemblyError{Reason: reasonOverBudget, Seq: b.seq}
			}
		}
	}
	b.mem += n
	c.pendingMem += n
	return nil
}

// appendInOrder copies the chunk at b.nextIndex into b.buf, then any stored
// chunks that now follow it, releasing their separate copies. b.buf has
// room for all of them (see grow).
func (c *fragmentCollector[C]) appendInOrder(b *batch[C], index float64, chunk C) {
	b.buf = c.sub.appendTo(b.buf, chunk)
	delete(b.chunks, index)
	b.nextIndex++
	for {
		p, ok := b.chunks[b.nextIndex]
		if !ok {
			return
		}
		b.buf = c.sub.appendTo(b.buf, p)
		c.unreserve(b, int64(c.sub.mem(p)))
		if c.sub.contiguous {
			c.free(c.sub.bytes(p))
		}
		delete(b.chunks, b.nextIndex)
		b.nextIndex++
	}
}

// unreserve gives back n bytes b no longer holds.
func (c *fragmentCollector[C]) unreserve(b *batch[C], n int64) {
	b.mem -= n
	c.pendingMem -= n
	if c.budget != nil {
		c.budget.release(n)
	}
}

func missingChunk[C Piece](b *batch[C], index float64) *ReassemblyError {
	return &ReassemblyError{Reason: reasonParseError, Seq: b.seq,
		Msg: fmt.Sprintf("seq %v completed with %d chunks but index %v is missing", b.seq, b.received(), index)}
}

// enforceSize is the reference's size check: it evicts the oldest batches
// until the received size is within the limit, failing if that evicts b
// itself.
func (c *fragmentCollector[C]) enforceSize(b *batch[C], events *[]ReassemblyEvent) error {
	if c.maxSize < 0 {
		return nil
	}
	evictedSelf := false
	for c.pendingSize > c.maxSize && c.oldest != nil {
		if c.oldest == b {
			evictedSelf = true
		}
		*events = append(*events, c.evictOldest())
	}
	if evictedSelf {
		return &ReassemblyError{Reason: reasonEvicted, Seq: b.seq}
	}
	return nil
}

// remove unlinks b and releases its size. Lock held.
func (c *fragmentCollector[C]) remove(b *batch[C]) {
	delete(c.batches, b.seq)
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		c.oldest = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		c.newest = b.prev
	}
	b.prev, b.next = nil, nil
	c.pendingSize -= b.size
	c.unreserve(b, b.mem)
}

func (c *fragmentCollector[C]) evictOldest() ReassemblyEvent {
	b := c.oldest
	c.remove(b)
	c.recycle(b)
	return ReassemblyEvent{Reason: reasonEvicted, Seq: b.seq, PartialCount: b.received()}
}

// Expire drops every partial message whose deadline is at or before now,
// oldest first, releasing its memory as an eviction does. Each one is
// reported to OnEvent (reason "timeout", without the lock held) and
// returned. Nothing else ever times a message out: the caller calls
// Expire, e.g. when its own timer for NextDeadline fires.
func (c *fragmentCollector[C]) Expire(now time.Time) []ReassemblyEvent {
	if c.timeout < 0 {
		return nil
	}
	var events []ReassemblyEvent
	c.mu.Lock()
	for b := c.oldest; b != nil; {
		next := b.next
		if !b.deadline.After(now) {
			c.remove(b)
			c.recycle(b)
			events = append(events, ReassemblyEvent{Reason: reasonTimeout, Seq: b.seq, PartialCount: b.received()})
		}
		b = next
	}
	c.mu.Unlock()
	c.emit(events)
	return events
}

// NextDeadline returns the earliest deadline of the partial messages, and
// false when there is none (nothing pending, or no timeout). Deadlines
// follow the order in which messages began as long as the clock does not
// go back (clock.Real and clock.Fake do not), so this is the oldest
// message's.
func (c *fragmentCollector[C]) NextDeadline() (time.Time, bool) {
	if c.timeout < 0 {
		return time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oldest == nil {
		return time.Time{}, false
	}
	return c.oldest.deadline, true
}

// Len returns the number of partially received messages.
func (c *fragmentCollector[C]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.batches)
}

// PendingSize returns the chunk size received for all partial messages
// (bytes, or code points for text): the reference's pendingSize.
func (c *fragmentCollector[C]) PendingSize() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingSize
}

// Reserved returns the memory, in bytes, held for all partial messages:
// what MaxTotalSize and the Budget count.
func (c *fragmentCollector[C]) Reserved() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingMem
}

// Reset drops every partial message without reporting events. The collector stays usable.
func (c *fragmentCollector[C]) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
}

// Dispose drops every partial message like Reset and makes every later Add
// fail with a disposed error.
func (c *fragmentCollector[C]) Dispose() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	c.disposed = true
}

func (c *fragmentCollector[C]) clear() {
	for c.oldest != nil {
		b := c.oldest
		c.remove(b)
		c.recycle(b)
	}
}
