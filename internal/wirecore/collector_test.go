package wirecore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"pgregory.net/rapid"
)

// recordingClock is a fake clock that also records the duration of every
// timer armed. The codec must arm none: the tests check that it stays
// empty.
type recordingClock struct {
	*clock.Fake
	mu    sync.Mutex
	armed []time.Duration
}

func newRecordingClock() *recordingClock {
	return &recordingClock{Fake: clock.NewFake(time.Unix(0, 0))}
}

func (c *recordingClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	c.armed = append(c.armed, d)
	c.mu.Unlock()
	return c.Fake.AfterFunc(d, f)
}

// take returns and clears the durations armed since the last call.
func (c *recordingClock) take() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.armed
	c.armed = nil
	return a
}

// vecCollectorConfig is a collector config as the vectors record it.
// Absent fields and a null config are JavaScript undefined.
type vecCollectorConfig struct {
	TimeoutMs           *float64 `json:"timeoutMs"`
	MaxConcurrentFrames *int     `json:"maxConcurrentFrames"`
	MaxTotalSize        *int64   `json:"maxTotalSize"`
}

// nodeUndefinedTimeout is what Node's setTimeout does with an undefined
// delay: it coerces it to 1 ms.
const nodeUndefinedTimeout = time.Millisecond

// reassemblyConfig builds the Go config that reproduces the reference with
// this vector config: explicit values as given, undefined as "no limit"
// (and Node's 1 ms for an undefined timeout), and the reference's size
// check, which the Go default tightens.
func (v *vecCollectorConfig) reassemblyConfig(clk clock.Clock, onEvent func(ReassemblyEvent)) ReassemblyConfig {
	cfg := ReassemblyConfig{
		Timeout: nodeUndefinedTimeout, MaxConcurrentFrames: NoLimit, MaxTotalSize: NoLimit,
		ReferenceSizeCheck: true, Clock: clk, OnEvent: onEvent,
	}
	if v == nil {
		return cfg
	}
	if v.TimeoutMs != nil {
		cfg.Timeout = time.Duration(*v.TimeoutMs * float64(time.Millisecond))
	}
	if v.MaxConcurrentFrames != nil {
		cfg.MaxConcurrentFrames = *v.MaxConcurrentFrames
	}
	if v.MaxTotalSize != nil {
		cfg.MaxTotalSize = *v.MaxTotalSize
	}
	return cfg
}

// deadlineLog records the deadline each new partial message sets: the
// reference arms a timer per message (the vectors' timersArmed), the Go
// collector records its deadline instead, so a message whose deadline is
// d after the clock's time when it first shows up is the reference's
// timer of d.
type deadlineLog struct{ seen map[any]bool }

// take returns the durations of the deadlines set since the last call, in
// creation order. It remembers only the messages still pending, since a
// completed message's record is reused for a later one.
func (l *deadlineLog) take(now time.Time, ds []pendingDeadline) []time.Duration {
	seen := make(map[any]bool, len(ds))
	var out []time.Duration
	for _, d := range ds {
		if !l.seen[d.batch] {
			out = append(out, d.at.Sub(now))
		}
		seen[d.batch] = true
	}
	l.seen = seen
	return out
}

// pendingDeadline is the deadline of one partial message.
type pendingDeadline struct {
	batch any // the *batch, for identity
	at    time.Time
}

// deadlines returns the deadline of every partial message that has one,
// in creation order.
func (c *fragmentCollector[C]) deadlines() []pendingDeadline {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []pendingDeadline
	for b := c.oldest; b != nil; b = b.next {
		if c.timeout >= 0 {
			out = append(out, pendingDeadline{b, b.deadline})
		}
	}
	return out
}

// checkTimersArmed compares the durations of new deadlines with a vector
// list of milliseconds, where {"$undefined":true} stands for Node's
// undefined delay.
func checkTimersArmed(t *testing.T, got []time.Duration, want []json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("timers armed %v, want %d: %s", got, len(want), want)
	}
	for i, w := range want {
		d := nodeUndefinedTimeout
		var ms float64
		if err := json.Unmarshal(w, &ms); err == nil {
			d = time.Duration(ms * float64(time.Millisecond))
		} else {
			var u map[string]bool
			if err := json.Unmarshal(w, &u); err != nil || len(u) != 1 || !u["$undefined"] {
				t.Fatalf("timersArmed entry %s", w)
			}
		}
		if got[i] != d {
			t.Fatalf("timer %d armed for %v, want %v", i, got[i], d)
		}
	}
}

type vecEvent struct {
	Type string  `json:"type"`
	Seq  float64 `json:"seq"`
}

// checkReassemblyError compares a Go error with a vector error object key
// by key; "message" is informational and only checked for presence.
func checkReassemblyError(t *testing.T, err error, want map[string]any) {
	t.Helper()
	var re *ReassemblyError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want *ReassemblyError %v", err, want)
	}
	for k, w := range want {
		var got any
		switch k {
		case "type":
			got = re.Reason
		case "seq":
			got = re.Seq
		case "index":
			got = re.Index
		case "max":
			got = re.Max
		case "expected":
			got = re.Expected
		case "got", "actual":
			got = re.Got
		case "message":
			if re.Msg == "" {
				t.Fatalf("error %v has no message", err)
			}
			continue
		default:
			t.Fatalf("unknown vector error field %q", k)
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("error %s = %v, want %v (error %v)", k, got, w, err)
		}
	}
}

type vecResult struct {
	Status string         `json:"status"`
	Data   *string        `json:"data"`
	Frame  *vecFrame      `json:"frame"`
	Error  map[string]any `json:"error"`
}

func TestCollectorDecideVectors(t *testing.T) {
	var v struct {
		Decide []struct {
			Name  string `json:"name"`
			Batch *struct {
				ExpectedTotal     float64   `json:"expectedTotal"`
				ExpectedTotalSize float64   `json:"expectedTotalSize"`
				ReceivedIndices   []float64 `json:"receivedIndices"`
			} `json:"batch"`
			Index     float64 `json:"index"`
			Total     float64 `json:"total"`
			TotalSize float64 `json:"totalSize"`
			Decision  string  `json:"decision"`
		} `json:"decide"`
	}
	loadVectors(t, "collector.json", &v)
	checkCount(t, "collector.decide", len(v.Decide))
	for _, c := range v.Decide {
		t.Run("collector/decide/"+c.Name, func(t *testing.T) {
			var b *fragmentBatch
			if c.Batch != nil {
				b = &fragmentBatch{ExpectedTotal: c.Batch.ExpectedTotal, ExpectedTotalSize: c.Batch.ExpectedTotalSize, ReceivedIndices: c.Batch.ReceivedIndices}
			}
			if got := decideFragment(b, c.Index, c.Total, c.TotalSize); got.String() != c.Decision {
				t.Fatalf("Decide = %s, want %s", got, c.Decision)
			}
		})
	}
}

type sequenceStep struct {
	Op                string            `json:"op"`
	Seq               float64           `json:"seq"`
	Index             float64           `json:"index"`
	Total             float64           `json:"total"`
	TotalSize         float64           `json:"totalSize"`
	Chunk             string            `json:"chunk"`
	Ms                float64           `json:"ms"`
	Result            *vecResult        `json:"result"`
	Events            []vecEvent        `json:"events"`
	TimersArmed       []json.RawMessage `json:"timersArmed"`
	PendingFrameCount int               `json:"pendingFrameCount"`
	PendingSize       int64             `json:"pendingSize"`
}

// collectorUnderTest hides the chunk type of a fragmentCollector for table tests.
type collectorUnderTest interface {
	add(t *testing.T, s sequenceStep) (string, bool, error)
	Expire(now time.Time) []ReassemblyEvent
	deadlines() []pendingDeadline
	Len() int
	PendingSize() int64
	Reset()
	Dispose()
}

type binaryCUT struct{ *fragmentCollector[[]byte] }

func (c binaryCUT) add(t *testing.T, s sequenceStep) (string, bool, error) {
	data, done, err := c.Add(s.Seq, s.Index, s.Total, s.TotalSize, mustHex(t, s.Chunk))
	return hex.EncodeToString(data), done, err
}

type textCUT struct{ *fragmentCollector[string] }

func (c textCUT) add(t *testing.T, s sequenceStep) (string, bool, error) {
	return c.Add(s.Seq, s.Index, s.Total, s.TotalSize, s.Chunk)
}

func TestCollectorSequenceVectors(t *testing.T) {
	var v struct {
		Sequences []struct {
			Name      string              `json:"name"`
			Substrate string              `json:"substrate"`
			Config    *vecCollectorConfig `json:"config"`
			Steps     []sequenceStep      `json:"steps"`
		} `json:"sequences"`
	}
	loadVectors(t, "collector.json", &v)
	checkCount(t, "collector.sequences", len(v.Sequences))
	for _, sc := range v.Sequences {
		t.Run("collector/sequences/"+sc.Name, func(t *testing.T) {
			clk := newRecordingClock()
			var deadlines deadlineLog
			var events []vecEvent
			cfg := sc.Config.reassemblyConfig(clk, func(e ReassemblyEvent) {
				events = append(events, vecEvent{Type: e.Reason, Seq: e.Seq})
			})
			var c collectorUnderTest
			switch sc.Substrate {
			case "binary":
				c = binaryCUT{newFragmentCollector[[]byte](cfg)}
			case "text":
				c = textCUT{newFragmentCollector[string](cfg)}
			default:
				t.Fatalf("substrate %q", sc.Substrate)
			}
			for i, s := range sc.Steps {
				events = nil
				switch s.Op {
				case "add":
					data, done, err := c.add(t, s)
					switch s.Result.Status {
					case "pending":
						if done || err != nil {
							t.Fatalf("step %d: done %v err %v, want pending", i, done, err)
						}
					case "complete":
						if !done || err != nil || data != *s.Result.Data {
							t.Fatalf("step %d: %q done %v err %v, want complete %q", i, data, done, err, *s.Result.Data)
						}
					case "error":
						checkReassemblyError(t, err, s.Result.Error)
					default:
						t.Fatalf("step %d: status %q", i, s.Result.Status)
					}
				case "advance":
					// The reference's timers fire as the time passes; here
					// the caller expires what is due.
					clk.Advance(time.Duration(s.Ms * float64(time.Millisecond)))
					expired := c.Expire(clk.Now())
					if len(expired) != len(events) {
						t.Fatalf("step %d: Expire returned %v, reported %v", i, expired, events)
					}
				case "dispose":
					c.Dispose()
				case "reset":
					c.Reset()
				default:
					t.Fatalf("step %d: op %q", i, s.Op)
				}
				if !slices.Equal(events, s.Events) && !(len(events) == 0 && len(s.Events) == 0) {
					t.Fatalf("step %d (%s): events %v, want %v", i, s.Op, events, s.Events)
				}
				if armed := clk.take(); len(armed) != 0 {
					t.Fatalf("step %d: the collector armed timers %v", i, armed)
				}
				checkTimersArmed(t, deadlines.take(clk.Now(), c.deadlines()), s.TimersArmed)
				if c.Len() != s.PendingFrameCount || c.PendingSize() != s.PendingSize {
					t.Fatalf("step %d (%s): pending %d frames %d size, want %d, %d", i, s.Op, c.Len(), c.PendingSize(), s.PendingFrameCount, s.PendingSize)
				}
			}
		})
	}
}

func TestReassemblerVectors(t *testing.T) {
	var v struct {
		Reassembler []struct {
			Name        string              `json:"name"`
			Substrate   string              `json:"substrate"`
			Config      *vecCollectorConfig `json:"config"`
			TimersArmed []json.RawMessage   `json:"timersArmed"`
			Steps       []struct {
				Piece             string    `json:"piece"`
				Result            vecResult `json:"result"`
				PendingFrameCount int       `json:"pendingFrameCount"`
			} `json:"steps"`
		} `json:"reassembler"`
	}
	loadVectors(t, "collector.json", &v)
	checkCount(t, "collector.reassembler", len(v.Reassembler))
	for _, sc := range v.Reassembler {
		t.Run("collector/reassembler/"+sc.Name, func(t *testing.T) {
			clk := newRecordingClock()
			cfg := sc.Config.reassemblyConfig(clk, nil)
			bin := NewReassembler[[]byte](cfg)
			txt := NewReassembler[string](cfg)
			var deadlines deadlineLog
			var set []time.Duration
			for i, s := range sc.Steps {
				var seq float64
				var payload string
				var done bool
				var err error
				var pending int
				switch sc.Substrate {
				case "binary":
					var r Reassembled[[]byte]
					r, done, err = bin.Receive(mustHex(t, s.Piece))
					seq, payload, pending = r.Seq, hex.EncodeToString(r.Payload), bin.Len()
				case "text":
					var r Reassembled[string]
					r, done, err = txt.Receive(s.Piece)
					seq, payload, pending = r.Seq, r.Payload, txt.Len()
				default:
					t.Fatalf("substrate %q", sc.Substrate)
				}
				switch s.Result.Status {
				case "pending":
					if done || err != nil {
						t.Fatalf("step %d: done %v err %v, want pending", i, done, err)
					}
				case "complete":
					f := s.Result.Frame
					wantVersion := Version
					if sc.Substrate == "text" {
						wantVersion = textVersion
					}
					if !done || err != nil || f == nil || f.Version != wantVersion || f.Content.Kind != "complete" || f.Seq != seq || f.Content.Payload != payload {
						t.Fatalf("step %d: seq %v payload %q done %v err %v, want %+v", i, seq, payload, done, err, f)
					}
				case "error":
					checkReassemblyError(t, err, s.Result.Error)
				default:
					t.Fatalf("step %d: status %q", i, s.Result.Status)
				}
				if pending != s.PendingFrameCount {
					t.Fatalf("step %d: %d pending, want %d", i, pending, s.PendingFrameCount)
				}
				set = append(set, deadlines.take(clk.Now(), append(bin.c.deadlines(), txt.c.deadlines()...))...)
			}
			if armed := clk.take(); len(armed) != 0 {
				t.Fatalf("the reassembler armed timers %v", armed)
			}
			checkTimersArmed(t, set, sc.TimersArmed)
		})
	}
}

// TestCollectorDefaultsAreSafe checks the Go defaults where the reference has
// none: the limits apply without configuration and the first fragment of a
// message counts against the size limit.
func TestCollectorDefaultsAreSafe(t *testing.T) {
	clk := newRecordingClock()
	var events []ReassemblyEvent
	c := newFragmentCollector[[]byte](ReassemblyConfig{Clock: clk, OnEvent: func(e ReassemblyEvent) { events = append(events, e) }})
	for seq := range defaultMaxConcurrentFrames + 1 {
		if _, _, err := c.Add(float64(seq), 0, 2, 2, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != defaultMaxConcurrentFrames || len(events) != 1 || events[0] != (ReassemblyEvent{Reason: reasonEvicted, Seq: 0, PartialCount: 1}) {
		t.Fatalf("after %d messages: %d pending, events %v", defaultMaxConcurrentFrames+1, c.Len(), events)
	}
	// Every message got the default timeout as its deadline, and no timer.
	ds := c.deadlines()
	if armed := clk.take(); len(armed) != 0 || len(ds) != defaultMaxConcurrentFrames {
		t.Fatalf("timers %v, %d deadlines", armed, len(ds))
	}
	for _, d := range ds {
		if d.at.Sub(clk.Now()) != defaultReassemblyTimeout {
			t.Fatalf("deadline %v after now, want %v", d.at.Sub(clk.Now()), defaultReassemblyTimeout)
		}
	}
	if at, ok := c.NextDeadline(); !ok || at.Sub(clk.Now()) != defaultReassemblyTimeout {
		t.Fatalf("NextDeadline %v %v", at, ok)
	}
	clk.Advance(defaultReassemblyTimeout)
	expired := c.Expire(clk.Now())
	if c.Len() != 0 || c.PendingSize() != 0 || len(events) != 1+defaultMaxConcurrentFrames || len(expired) != defaultMaxConcurrentFrames {
		t.Fatalf("after the timeout: %d pending, %d events", c.Len(), len(events))
	}

	// The scenario of the reference's max-total-size-eviction vector, with
	// the Go default accounting (reserved memory, checked before every
	// fragment): seq 1's first fragment reserves a 10-byte buffer (12
	// declared, capped by the limit), so seq 2's first fragment evicts it;
	// seq 2's second fragment fits its buffer; seq 1's new first fragment
	// arrives out of order (index 1), needs 4 more bytes and evicts seq 2.
	events = nil
	c = newFragmentCollector[[]byte](ReassemblyConfig{MaxTotalSize: 10, Clock: clk, OnEvent: func(e ReassemblyEvent) { events = append(events, e) }})
	four := []byte{1, 2, 3, 4}
	mustPending := func(seq, index float64) {
		t.Helper()
		if _, done, err := c.Add(seq, index, 3, 12, four); done || err != nil {
			t.Fatalf("seq %v index %v: done %v err %v", seq, index, done, err)
		}
	}
	mustPending(1, 0)
	if c.Reserved() != 10 {
		t.Fatalf("reserved %d for seq 1, want its 10-byte buffer", c.Reserved())
	}
	mustPending(2, 0) // 10 + 10 > 10: evicts seq 1
	if len(events) != 1 || events[0].Seq != 1 || c.Reserved() != 10 {
		t.Fatalf("events %v reserved %d", events, c.Reserved())
	}
	mustPending(2, 1) // 8 bytes in a 10-byte buffer: nothing new reserved
	mustPending(1, 1) // 10 + 4 > 10: evicts seq 2
	if c.Len() != 1 || c.PendingSize() != 4 || c.Reserved() != 4 || len(events) != 2 || events[1].Seq != 2 {
		t.Fatalf("pending %d size %d reserved %d events %v", c.Len(), c.PendingSize(), c.Reserved(), events)
	}
	// A first fragment larger than the whole limit evicts its own batch.
	_, _, err := c.Add(9, 0, 2, 40, make([]byte, 11))
	if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonEvicted}) || c.Len() != 0 || c.PendingSize() != 0 {
		t.Fatalf("oversized first fragment: err %v, %d pending", err, c.Len())
	}
}

func TestCollectorCopiesBinaryChunks(t *testing.T) {
	c := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock()})
	buf := []byte("ab")
	if _, _, err := c.Add(1, 0, 2, 4, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XX") // the caller reuses its buffer
	data, done, err := c.Add(1, 1, 2, 4, []byte("cd"))
	if err != nil || !done || string(data) != "abcd" {
		t.Fatalf("%q %v %v", data, done, err)
	}
}

func TestCollectorConcurrentTimeouts(t *testing.T) {
	// With the real clock, two goroutines call Expire (as shells' timers
	// would) while Add runs; the race detector checks the locking. A 1 ns
	// timeout is due at once, so the test waits on events, never on time.
	got := make(chan ReassemblyEvent, 64)
	c := newFragmentCollector[[]byte](ReassemblyConfig{Timeout: time.Nanosecond, OnEvent: func(e ReassemblyEvent) { got <- e }})
	var added, wg sync.WaitGroup
	added.Add(1)
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Expire(clock.Real.Now())
				c.NextDeadline()
				runtime.Gosched()
			}
		})
	}
	go func() {
		defer added.Done()
		for seq := range 20 {
			c.Add(float64(seq), 0, 2, 2, []byte{1})
		}
	}()
	seen := map[float64]bool{}
	for len(seen) < 20 {
		e := <-got
		if e.Reason != reasonTimeout || seen[e.Seq] {
			t.Fatalf("event %+v", e)
		}
		seen[e.Seq] = true
	}
	added.Wait()
	close(stop)
	wg.Wait()
	if c.Len() != 0 || c.PendingSize() != 0 {
		t.Fatalf("%d pending", c.Len())
	}
	c.Dispose()
}

// TestCollectorStateMachine drives random fragments, resets and clock
// advances into two collectors that share a budget, and checks the
// invariants: the limits and the budget hold after every step, the
// accounting matches the stored chunks and buffers, and timers never
// outlive their batches.
func TestCollectorStateMachine(t *testing.T) {
	// Pool even the tiny buffers of this test, so buffers dropped by one
	// collector are reused by both.
	old := poolMinSize
	poolMinSize = 4
	t.Cleanup(func() { poolMinSize = old })
	rapid.Check(t, func(t *rapid.T) {
		clk := newRecordingClock()
		maxFrames := rapid.IntRange(1, 4).Draw(t, "maxFrames")
		maxSize := int64(rapid.IntRange(1, 40).Draw(t, "maxSize"))
		budget := NewReassemblyBudget(int64(rapid.IntRange(1, 60).Draw(t, "budget")))
		var events []ReassemblyEvent
		var cs [2]*fragmentCollector[[]byte]
		for i := range cs {
			cs[i] = newFragmentCollector[[]byte](ReassemblyConfig{
				Timeout: 100 * time.Millisecond, MaxConcurrentFrames: maxFrames, MaxTotalSize: maxSize,
				Budget: budget, Clock: clk, OnEvent: func(e ReassemblyEvent) { events = append(events, e) },
			})
		}
		completed := 0
		type message struct {
			ci   int
			seq  float64
			data []byte
		}
		var delivered []message
		t.Repeat(map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				ci := rapid.IntRange(0, 1).Draw(t, "collector")
				c := cs[ci]
				seq := float64(rapid.IntRange(0, 5).Draw(t, "seq"))
				total := float64(rapid.IntRange(0, 4).Draw(t, "total"))
				index := float64(rapid.IntRange(-1, 4).Draw(t, "index"))
				// Every byte names its collector, message and fragment,
				// so a reused buffer's old bytes would show.
				chunk := bytes.Repeat([]byte{fingerprint(ci, seq, index)}, rapid.IntRange(0, 12).Draw(t, "chunk"))
				totalSize := float64(rapid.IntRange(0, 30).Draw(t, "totalSize"))
				data, done, err := c.Add(seq, index, total, totalSize, chunk)
				if done {
					completed++
					checkMessage(t, ci, seq, data)
					delivered = append(delivered, message{ci, seq, data})
					if totalSize != 0 && float64(len(data)) != totalSize {
						t.Fatalf("completed %d bytes, declared %v", len(data), totalSize)
					}
				}
				if err != nil && done {
					t.Fatal("error and done")
				}
				if errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonOverBudget}) || errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonEvicted}) {
					if c.batches[seq] != nil {
						t.Fatalf("seq %v failed with %v but is still held", seq, err)
					}
				}
			},
			"advance": func(t *rapid.T) {
				clk.Advance(time.Duration(rapid.IntRange(0, 120).Draw(t, "ms")) * time.Millisecond)
				for _, c := range cs {
					c.Expire(clk.Now())
				}
			},
			"reset": func(t *rapid.T) { cs[rapid.IntRange(0, 1).Draw(t, "collector")].Reset() },
			"": func(t *rapid.T) {
				var reserved int64
				for _, c := range cs {
					c.mu.Lock()
					checkCollector(t, c, maxFrames, maxSize)
					reserved += c.pendingMem
					c.mu.Unlock()
					checkDeadlines(t, c, clk.Now(), 100*time.Millisecond)
				}
				if used := budget.Used(); used != reserved || used > budget.Limit() {
					t.Fatalf("budget used %d, collectors reserve %d, limit %d", used, reserved, budget.Limit())
				}
				checkPool(t, budget, cs[:])
				// Delivered messages belong to their receiver: no later
				// message may reuse their buffers.
				for _, m := range delivered {
					checkMessage(t, m.ci, m.seq, m.data)
				}
				if p := clk.Pending(); p != 0 {
					t.Fatalf("%d timers armed", p)
				}
			},
		})
	})
}

// checkDeadlines: once what was due expired, every partial message has a
// deadline in (now, now+timeout], they follow creation order, and
// NextDeadline is the first one.
func checkDeadlines(t *rapid.T, c *fragmentCollector[[]byte], now time.Time, timeout time.Duration) {
	ds := c.deadlines()
	if len(ds) != c.Len() {
		t.Fatalf("%d deadlines for %d batches", len(ds), c.Len())
	}
	for i, d := range ds {
		if !d.at.After(now) || d.at.After(now.Add(timeout)) || (i > 0 && d.at.Before(ds[i-1].at)) {
			t.Fatalf("deadline %d is %v after now (timeout %v)", i, d.at.Sub(now), timeout)
		}
	}
	at, ok := c.NextDeadline()
	if ok != (len(ds) > 0) || (ok && !at.Equal(ds[0].at)) {
		t.Fatalf("NextDeadline %v %v, deadlines %v", at, ok, ds)
	}
}

func fingerprint(collector int, seq, index float64) byte {
	return byte(collector*60 + int(seq)*6 + int(index) + 2)
}

// checkMessage: a message of collector ci is its own fragments' bytes, in
// index order.
func checkMessage(t *rapid.T, ci int, seq float64, data []byte) {
	for j, last := 0, -2.0; j < len(data); j++ {
		i := float64(int(data[j])-2) - float64(ci*60) - seq*6
		if i < -1 || i > 4 || data[j] != fingerprint(ci, seq, i) || i < last {
			t.Fatalf("collector %d seq %v: byte %d of the message is %d", ci, seq, j, data[j])
		}
		last = i
	}
}

// checkPool: idle buffers and reservations stay within the budget, and no
// idle buffer is still held by a partial message.
func checkPool(t *rapid.T, budget *ReassemblyBudget, cs []*fragmentCollector[[]byte]) {
	p := &budget.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if budget.Used()+p.idle > budget.Limit() {
		t.Fatalf("budget used %d and %d idle, limit %d", budget.Used(), p.idle, budget.Limit())
	}
	idle := map[*byte]bool{}
	var n int64
	for _, l := range p.free {
		for _, b := range l {
			n += int64(cap(b))
			idle[&b[:1][0]] = true
		}
	}
	if n != p.idle {
		t.Fatalf("pool counts %d idle bytes, holds %d", p.idle, n)
	}
	held := func(b []byte) {
		if cap(b) > 0 && idle[&b[:1][0]] {
			t.Fatal("a buffer is both idle and held by a message")
		}
	}
	for _, c := range cs {
		c.mu.Lock()
		for b := c.oldest; b != nil; b = b.next {
			held(b.buf)
			for _, ch := range b.chunks {
				held(ch)
			}
		}
		c.mu.Unlock()
	}
}

func checkCollector(t *rapid.T, c *fragmentCollector[[]byte], maxFrames int, maxSize int64) {
	if len(c.batches) > maxFrames {
		t.Fatalf("%d batches > %d", len(c.batches), maxFrames)
	}
	if c.pendingMem > maxSize || c.pendingSize > c.pendingMem || c.pendingSize < 0 {
		t.Fatalf("pending size %d, reserved %d, limit %d", c.pendingSize, c.pendingMem, maxSize)
	}
	var sum, mem int64
	n := 0
	for b := c.oldest; b != nil; b = b.next {
		n++
		if c.batches[b.seq] != b {
			t.Fatal("creation list and map disagree")
		}
		// Chunks live in the in-order buffer or, out of order, in the
		// map, never in both; the reservation is what they occupy.
		bs := int64(len(b.buf))
		bm := int64(cap(b.buf))
		for i, ch := range b.chunks {
			if i < b.nextIndex && len(ch) != 0 {
				t.Fatalf("batch %v: chunk %v kept twice", b.seq, i)
			}
			bs += int64(len(ch))
			bm += int64(cap(ch))
		}
		if bs != b.size || bm != b.mem || float64(len(b.chunks)) >= b.expTotal {
			t.Fatalf("batch %v: size %d recorded %d, memory %d recorded %d, %d chunks of %v", b.seq, bs, b.size, bm, b.mem, len(b.chunks), b.expTotal)
		}
		sum += bs
		mem += bm
	}
	if n != len(c.batches) || sum != c.pendingSize || mem != c.pendingMem {
		t.Fatalf("list %d map %d, sizes %d vs %d, memory %d vs %d", n, len(c.batches), sum, c.pendingSize, mem, c.pendingMem)
	}
}

// TestReassemblerAnyOrder: fragments delivered in any order, with
// duplicates mixed in, rebuild the payload exactly (in-order chunks go to
// the message buffer, the others wait in the map until the gap closes).
func TestReassemblerAnyOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		payload := rapid.SliceOfN(rapid.Byte(), 1, 200).Draw(t, "payload")
		thr := rapid.IntRange(1, 50).Draw(t, "threshold")
		frames, err := FragmentBinary(payload, thr, 3)
		if err != nil {
			t.Fatal(err)
		}
		order := rapid.Permutation(frames).Draw(t, "order")
		r := NewReassembler[[]byte](ReassemblyConfig{Clock: newRecordingClock()})
		for i, f := range order {
			if i > 0 && rapid.Bool().Draw(t, "dup") {
				if _, done, err := r.Receive(order[i-1]); done || !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonDuplicateFragment}) {
					t.Fatalf("duplicate: done %v err %v", done, err)
				}
			}
			msg, done, err := r.Receive(slices.Clone(f))
			if err != nil || done != (i == len(order)-1) {
				t.Fatalf("piece %d: done %v err %v", i, done, err)
			}
			if done && !slices.Equal(msg.Payload, payload) {
				t.Fatalf("reassembled %x, want %x", msg.Payload, payload)
			}
		}
		if r.Len() != 0 || r.PendingSize() != 0 {
			t.Fatalf("%d pending", r.Len())
		}
	})
}

// TestCollectorReserveIsBounded: a first fragment whose header claims a
// huge message makes the collector reserve at most 16 times the bytes that
// arrived.
func TestCollectorReserveIsBounded(t *testing.T) {
	c := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), MaxTotalSize: NoLimit})
	if _, _, err := c.Add(1, 0, 65535, 4<<30, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if b := c.batches[1]; cap(b.buf) > 160 {
		t.Fatalf("reserved %d bytes for a 10-byte chunk", cap(b.buf))
	}
	// A consistent header gets an exact buffer: no regrowth while the
	// message arrives.
	if _, _, err := c.Add(2, 0, 3, 25, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if b := c.batches[2]; cap(b.buf) != 25 {
		t.Fatalf("reserved %d bytes for a 25-byte message", cap(b.buf))
	}
}

// TestCollectorCountsReservedMemory: the limit counts what the collector
// reserves, not what arrived. A header claiming a large message makes the
// first buffer 16 times the chunk; that whole buffer counts at once, and
// is never allowed past the limit.
func TestCollectorCountsReservedMemory(t *testing.T) {
	c := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), MaxTotalSize: 64 << 10})
	if _, _, err := c.Add(1, 0, 100, 100<<20, make([]byte, 1<<10)); err != nil {
		t.Fatal(err)
	}
	if c.PendingSize() != 1<<10 || c.Reserved() != 16<<10 {
		t.Fatalf("received %d, reserved %d; want 1 KiB and 16 KiB", c.PendingSize(), c.Reserved())
	}
	// Three more such messages fill the 64 KiB; the fifth evicts the first.
	var evicted []float64
	c = newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), MaxTotalSize: 64 << 10,
		OnEvent: func(e ReassemblyEvent) { evicted = append(evicted, e.Seq) }})
	for seq := 1; seq <= 5; seq++ {
		if _, _, err := c.Add(float64(seq), 0, 100, 100<<20, make([]byte, 1<<10)); err != nil {
			t.Fatal(err)
		}
		if c.Reserved() > 64<<10 {
			t.Fatalf("seq %d: reserved %d over the limit", seq, c.Reserved())
		}
	}
	if !slices.Equal(evicted, []float64{1}) || c.Len() != 4 {
		t.Fatalf("evicted %v, %d pending", evicted, c.Len())
	}
	// Growth past the first buffer doubles and is checked before it
	// happens: message 6 would need 32 KiB next, which only fits after
	// everything older is gone.
	c = newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), MaxTotalSize: 32 << 10})
	for i := range 17 {
		_, _, err := c.Add(6, float64(i), 100, 0, make([]byte, 1<<10))
		if i < 16 && err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if i == 16 && err != nil {
			t.Fatalf("chunk 16 (buffer grows to 32 KiB): %v", err)
		}
	}
	if c.Reserved() != 32<<10 {
		t.Fatalf("reserved %d after growth, want 32 KiB", c.Reserved())
	}
	_, _, err := c.Add(6, 40, 100, 0, make([]byte, 1<<10)) // out of order: 1 KiB more
	if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonEvicted}) || c.Len() != 0 || c.Reserved() != 0 {
		t.Fatalf("over the limit: %v, %d pending, %d reserved", err, c.Len(), c.Reserved())
	}
}

// TestCollectorSharedBudget: collectors sharing a budget together never
// reserve more than it; a collector that finds the budget full first gives
// up its own older messages, then fails with over_budget, and the others
// keep what they hold.
func TestCollectorSharedBudget(t *testing.T) {
	budget := NewReassemblyBudget(10 << 10)
	a := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), Budget: budget})
	var evicted []float64
	b := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), Budget: budget,
		OnEvent: func(e ReassemblyEvent) { evicted = append(evicted, e.Seq) }})
	if _, _, err := a.Add(1, 0, 2, 8<<10, make([]byte, 4<<10)); err != nil {
		t.Fatal(err)
	}
	if budget.Used() != 8<<10 {
		t.Fatalf("budget used %d, want 8 KiB", budget.Used())
	}
	if _, _, err := b.Add(1, 0, 2, 2<<10, make([]byte, 1<<10)); err != nil {
		t.Fatal(err)
	}
	_, _, err := b.Add(2, 0, 2, 4<<10, make([]byte, 2<<10))
	if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonOverBudget}) {
		t.Fatalf("over budget: %v", err)
	}
	if !slices.Equal(evicted, []float64{1, 2}) || b.Len() != 0 || b.Reserved() != 0 {
		t.Fatalf("b evicted %v, holds %d messages and %d bytes", evicted, b.Len(), b.Reserved())
	}
	if a.Len() != 1 || budget.Used() != a.Reserved() {
		t.Fatalf("a holds %d messages; budget used %d, a reserves %d", a.Len(), budget.Used(), a.Reserved())
	}
	// Completing a's message gives its reservation back.
	if _, done, err := a.Add(1, 1, 2, 8<<10, make([]byte, 4<<10)); !done || err != nil {
		t.Fatalf("complete: %v %v", done, err)
	}
	if budget.Used() != 0 {
		t.Fatalf("budget used %d after completion", budget.Used())
	}
	a.Dispose()
	b.Dispose()
}

// TestBudgetPoolReusesBuffers: a peer that keeps opening messages that
// claim to be huge and letting them be evicted makes the collector reuse
// the evicted buffers instead of allocating new ones (which would be
// garbage the heap grows by before a collection), and the pool never
// keeps more than the budget leaves free.
func TestBudgetPoolReusesBuffers(t *testing.T) {
	const chunk = 64 << 10 // the first buffer is 16 × the chunk: 1 MiB
	budget := NewReassemblyBudget(8 << 20)
	c := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), MaxTotalSize: 3 << 20, Budget: budget})
	defer c.Dispose()
	data := make([]byte, chunk)
	add := func(seq int) {
		if _, _, err := c.Add(float64(seq), 0, 65535, 4<<30, data); err != nil {
			t.Fatal(err)
		}
	}
	for seq := range 8 { // warm up: 3 live; each new one reuses the evicted one's buffer
		add(seq)
	}
	if c.Reserved() != 3<<20 || budget.pool.idleBytes() != 0 {
		t.Fatalf("reserved %d, idle %d; want 3 MiB and none", c.Reserved(), budget.pool.idleBytes())
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 64
	for seq := 8; seq < 8+n; seq++ {
		add(seq)
	}
	runtime.ReadMemStats(&after)
	// Without the pool every message allocates its 1 MiB buffer; with it,
	// only the bookkeeping (batch, map, timer): a few hundred bytes.
	if perMsg := (after.TotalAlloc - before.TotalAlloc) / n; perMsg > 64<<10 {
		t.Fatalf("%d bytes allocated per evicted message", perMsg)
	}
	// A message that completes takes its buffer with it, cut to its length.
	msg, done, err := c.Add(100, 0, 1, 0, data)
	if err != nil || !done || len(msg) != chunk {
		t.Fatalf("one-piece message: %d bytes, %v, %v", len(msg), done, err)
	}
	c.Reset()
	if c.Reserved() != 0 || budget.Used() != 0 || budget.pool.idleBytes() != 3<<20 {
		t.Fatalf("after reset: reserved %d, budget used %d, idle %d", c.Reserved(), budget.Used(), budget.pool.idleBytes())
	}
	// A message of another size reuses an idle buffer up to twice its
	// size, and reserves all of it.
	if _, _, err := c.Add(200, 0, 10, 600<<10, make([]byte, 60<<10)); err != nil {
		t.Fatal(err)
	}
	if c.Reserved() != 1<<20 || budget.pool.idleBytes() != 2<<20 {
		t.Fatalf("600 KiB message: reserved %d, idle %d; want 1 MiB and 2 MiB", c.Reserved(), budget.pool.idleBytes())
	}
	c.Reset()
	// The pool gives way to reservations: idle + used stays within the
	// budget when new buffers of other sizes are needed.
	big := make([]byte, 256<<10) // 4 MiB first buffers
	d := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), MaxTotalSize: NoLimit, Budget: budget})
	defer d.Dispose()
	for seq := range 2 {
		if _, _, err := d.Add(float64(seq), 0, 65535, 4<<30, big); err != nil {
			t.Fatal(err)
		}
		if used, idle := budget.Used(), budget.pool.idleBytes(); used+idle > budget.Limit() {
			t.Fatalf("used %d + idle %d > budget %d", used, idle, budget.Limit())
		}
	}
	if budget.pool.idleBytes() != 0 {
		t.Fatalf("%d idle bytes kept with the budget fully reserved", budget.pool.idleBytes())
	}
	// An outgrown buffer is kept only if it fits beside the reservations:
	// growing 1 MiB to 2 MiB under a 2.5 MiB budget drops the old one.
	tight := NewReassemblyBudget(5 << 19)
	e := newFragmentCollector[[]byte](ReassemblyConfig{Clock: newRecordingClock(), MaxTotalSize: NoLimit, Budget: tight})
	defer e.Dispose()
	for i := range 17 {
		if _, _, err := e.Add(1, float64(i), 65535, 4<<30, data); err != nil {
			t.Fatal(err)
		}
	}
	if used, idle := tight.Used(), tight.pool.idleBytes(); used != 2<<20 || idle != 0 {
		t.Fatalf("after growth: used %d, idle %d; want 2 MiB and none", used, idle)
	}
}

// TestBudgetPoolStateMachine: collectors sharing a budget and its pool
// receive well-formed messages in any order while others are evicted,
// time out or are reset. Every delivered message is exactly its fragments
// (so no buffer served two messages at once), stays intact afterwards (so
// no delivered buffer went back to the pool), idle buffers are never held
// by a message, and reservations plus idle buffers stay within the budget.
func TestBudgetPoolStateMachine(t *testing.T) {
	old := poolMinSize
	poolMinSize = 4
	t.Cleanup(func() { poolMinSize = old })
	rapid.Check(t, func(t *rapid.T) {
		clk := newRecordingClock()
		budget := NewReassemblyBudget(int64(rapid.IntRange(16, 200).Draw(t, "budget")))
		cs := make([]*fragmentCollector[[]byte], rapid.IntRange(1, 3).Draw(t, "collectors"))
		maxSize := int64(rapid.IntRange(8, 100).Draw(t, "maxSize"))
		for i := range cs {
			cs[i] = newFragmentCollector[[]byte](ReassemblyConfig{
				Timeout: 100 * time.Millisecond, MaxConcurrentFrames: rapid.IntRange(1, 4).Draw(t, "maxFrames"),
				MaxTotalSize: maxSize, Budget: budget, Clock: clk,
			})
		}
		// Message seq of any collector has 1 + seq%4 fragments of 3 + seq%5
		// bytes each; every byte names its collector, message and index.
		shape := func(seq int) (total, size int) { return 1 + seq%4, 3 + seq%5 }
		type message struct {
			ci, seq int
			data    []byte
		}
		var delivered []message
		check := func(t *rapid.T, m message) {
			total, size := shape(m.seq)
			want := make([]byte, 0, total*size)
			for i := range total {
				want = append(want, bytes.Repeat([]byte{fingerprint(m.ci, float64(m.seq), float64(i))}, size)...)
			}
			if !bytes.Equal(m.data, want) {
				t.Fatalf("collector %d message %d:\n got %v\nwant %v", m.ci, m.seq, m.data, want)
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				ci := rapid.IntRange(0, len(cs)-1).Draw(t, "collector")
				seq := rapid.IntRange(0, 9).Draw(t, "seq")
				total, size := shape(seq)
				i := rapid.IntRange(0, total-1).Draw(t, "index")
				chunk := bytes.Repeat([]byte{fingerprint(ci, float64(seq), float64(i))}, size)
				data, done, err := cs[ci].Add(float64(seq), float64(i), float64(total), float64(total*size), chunk)
				if done {
					m := message{ci, seq, data}
					check(t, m)
					delivered = append(delivered, m)
				}
				var re *ReassemblyError
				if err != nil && (!errors.As(err, &re) || (re.Reason != reasonDuplicateFragment && re.Reason != reasonEvicted && re.Reason != reasonOverBudget)) {
					t.Fatalf("unexpected error %v", err)
				}
			},
			"advance": func(t *rapid.T) {
				clk.Advance(time.Duration(rapid.IntRange(0, 120).Draw(t, "ms")) * time.Millisecond)
				for _, c := range cs {
					c.Expire(clk.Now())
				}
			},
			"reset": func(t *rapid.T) { cs[rapid.IntRange(0, len(cs)-1).Draw(t, "collector")].Reset() },
			"": func(t *rapid.T) {
				var reserved int64
				for _, c := range cs {
					reserved += c.Reserved()
				}
				if used := budget.Used(); used != reserved || used > budget.Limit() {
					t.Fatalf("budget used %d, collectors reserve %d, limit %d", used, reserved, budget.Limit())
				}
				checkPool(t, budget, cs)
				for _, m := range delivered {
					check(t, m)
				}
			},
		})
		for _, c := range cs {
			c.Dispose()
		}
	})
}

// TestInOrderReassemblyAllocations: a message whose fragments arrive in
// order costs its buffer and its batch record, nothing per fragment (no
// index map). Small allocations between large buffers fragment the heap,
// which then serves the next large buffer from pages the runtime has
// returned to the system.
func TestInOrderReassemblyAllocations(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 64<<10)
	frames, err := FragmentBinary(payload, 4<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReassembler[[]byte](ReassemblyConfig{})
	defer r.Dispose()
	allocs := testing.AllocsPerRun(50, func() {
		for i, f := range frames {
			if _, done, err := r.Receive(f); err != nil || done != (i == len(frames)-1) {
				t.Fatalf("frame %d: done %v err %v", i, done, err)
			}
		}
	})
	// The message's buffer only: the batch record is reused.
	if allocs > 1 {
		t.Fatalf("%v allocations per %d-fragment message, want at most 1", allocs, len(frames))
	}
}
