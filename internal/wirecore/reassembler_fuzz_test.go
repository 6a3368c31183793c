package wirecore

import (
	"errors"
	"testing"
	"time"
)

// fuzzPieces splits fuzz input into pieces: each piece is one length byte
// followed by that many bytes (fewer at the end). A zero length byte is a
// clock tick rather than a piece, reported as nil.
func fuzzPieces(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := int(data[0])
		data = data[1:]
		if n == 0 {
			out = append(out, nil)
			continue
		}
		n = min(n, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// joinPieces is the inverse of fuzzPieces for building seeds.
func joinPieces(pieces ...[]byte) []byte {
	var out []byte
	for _, p := range pieces {
		out = append(out, byte(len(p)))
		out = append(out, p...)
	}
	return out
}

func fuzzSeedPieces(t testing.TB) [][]byte {
	frames, err := FragmentBinary([]byte("a fragmented payload of some length"), 8, 77)
	if err != nil {
		t.Fatal(err)
	}
	complete, _ := AppendFrame(nil, Frame{Kind: KindComplete, Seq: 5, Payload: []byte{0xa1, 0x61, 0x74, 0x02}})
	return append(frames, complete, []byte{3, 0})
}

func FuzzReassembler(f *testing.F) {
	p := fuzzSeedPieces(f)
	f.Add(joinPieces(p...), false)
	f.Add(joinPieces(p[4], p[0], p[0], nil, p[1], p[2], p[3], p[5], p[6]), false)
	txt, _ := FragmentText(`{"t":1,"id":"😀peer","n":"a\"b","y":"user"}`, 9, 4294967295)
	var tp [][]byte
	for _, s := range txt {
		tp = append(tp, []byte(s))
	}
	f.Add(joinPieces(tp...), true)
	f.Add(joinPieces([]byte(`["2f",5,0.5,2,2,"a"]`), []byte(`["2f",5,1,2,2,"b"]`), []byte(`["2c",1,{}]`)), true)
	// Pool even tiny buffers, so the budget's pool runs under the fuzzer.
	old := poolMinSize
	poolMinSize = 4
	f.Cleanup(func() { poolMinSize = old })
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		const maxFrames, maxSize = 3, 64
		var clk *recordingClock
		var bin *Reassembler[[]byte]
		var txtR *Reassembler[string]
		var budget *ReassemblyBudget
		n := allocated(func() {
			clk = newRecordingClock()
			budget = NewReassemblyBudget(100)
			cfg := ReassemblyConfig{Timeout: time.Second, MaxConcurrentFrames: maxFrames, MaxTotalSize: maxSize, Clock: clk, Budget: budget}
			bin = NewReassembler[[]byte](cfg)
			txtR = NewReassembler[string](cfg)
			for _, piece := range fuzzPieces(data) {
				if piece == nil {
					clk.Advance(400 * time.Millisecond)
					bin.Expire(clk.Now())
					txtR.Expire(clk.Now())
					continue
				}
				var err error
				var size int
				var done bool
				if text {
					var r Reassembled[string]
					r, done, err = txtR.Receive(string(piece))
					size = len(r.Payload)
				} else {
					var r Reassembled[[]byte]
					r, done, err = bin.Receive(piece)
					size = len(r.Payload)
				}
				if err != nil {
					var re *ReassemblyError
					if !errors.As(err, &re) || done {
						t.Fatalf("error %v (done %v)", err, done)
					}
				}
				if done && size > len(data)*4 {
					t.Fatalf("completed message of %d bytes from %d input bytes", size, len(data))
				}
				for _, r := range []interface {
					Len() int
					PendingSize() int64
					Reserved() int64
				}{bin, txtR} {
					if r.Len() > maxFrames || r.Reserved() > maxSize || r.PendingSize() < 0 || r.PendingSize() > r.Reserved() {
						t.Fatalf("limits exceeded: %d messages, %d pending, %d reserved", r.Len(), r.PendingSize(), r.Reserved())
					}
				}
				if used, idle := budget.Used(), budget.pool.idleBytes(); used != bin.Reserved()+txtR.Reserved() || used+idle > budget.Limit() {
					t.Fatalf("budget used %d (collectors reserve %d), %d idle, limit %d", used, bin.Reserved()+txtR.Reserved(), idle, budget.Limit())
				}
			}
		})
		if n > uint64(64*len(data))+allocSlack {
			t.Fatalf("%d input bytes allocated %d bytes", len(data), n)
		}
		if clk.Pending() != 0 {
			t.Fatalf("%d timers armed", clk.Pending())
		}
		if n := len(bin.c.deadlines()) + len(txtR.c.deadlines()); n != bin.Len()+txtR.Len() {
			t.Fatalf("%d deadlines for %d partial messages", n, bin.Len()+txtR.Len())
		}
		bin.Dispose()
		txtR.Dispose()
		_, binOK := bin.NextDeadline()
		_, txtOK := txtR.NextDeadline()
		if binOK || txtOK {
			t.Fatal("deadlines left after Dispose")
		}
	})
}
