package server

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/wire"
)

// TestHostileRandomBytes: random binary messages close the sender with
// 1007 and never disturb anyone else.
func TestHostileRandomBytes(t *testing.T) {
	h := newHarness(t, Options{})
	control := h.connect("peerId=control")
	rng := rand.New(rand.NewPCG(1, 2))
	const clients = 12
	for i := range clients {
		c := h.connect("")
		for range 20 {
			b := make([]byte, rng.IntN(400))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			if i%3 == 0 && len(b) > 0 {
				b[0] = wirecore.Version // get past the version check sometimes
			}
			if c.writeBinary(b) != nil {
				break // the server already closed us
			}
		}
		c.expectClose(statusInvalidData, "")
	}
	h.waitDone(clients)
	if st := h.srv.Stats(); st.InvalidFrames != clients || st.Closed[statusInvalidData] != clients {
		t.Fatalf("stats %+v", st)
	}
	control.writeText("ping")
	control.expectText("pong")
}

// TestHostileMalformedFrames covers truncated frames and bad payloads.
func TestHostileMalformedFrames(t *testing.T) {
	h := newHarness(t, Options{MaxReassemblySize: 1 << 20})
	control := h.connect("")
	good, err := h.connect("").pipe.Send(&wire.Interest{DocID: "doc"})
	if err != nil {
		t.Fatal(err)
	}
	frame := good[0]
	garbage := make([]byte, wirecore.HeaderSize+5)
	_, _ = wirecore.PutHeader(garbage, wire.Frame{Kind: wire.KindComplete, Seq: 1, Payload: make([]byte, 5)})
	copy(garbage[wirecore.HeaderSize:], "\xff\xfe\x00\x01\x02")

	cases := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"empty", nil, "Invalid frame: truncated_frame: need at least 10 header bytes, have 0"},
		{"header only", frame[:wirecore.HeaderSize-1], "Invalid frame: truncated_frame: need at least 10 header bytes, have 9"},
		{"payload cut", frame[:len(frame)-1], fmt.Sprintf("Invalid frame: truncated_frame: complete frame needs %d bytes, have %d", len(frame), len(frame)-1)},
		{"bad version", append([]byte{9}, frame[1:]...), "Invalid frame: unsupported_version: version 9, this decoder reads 3"},
		{"bad type", append([]byte{wirecore.Version, 7}, frame[2:]...), "Invalid frame: invalid_type: type byte 0x07"},
		{"undecodable payload", garbage, "Invalid frame: decode-failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := h.connect("")
			if err := c.writeBinary(tc.data); err != nil {
				t.Fatal(err)
			}
			c.expectClose(statusInvalidData, tc.reason)
		})
	}
	control.writeText("ping")
	control.expectText("pong")
}

// TestHostileFragmentFlood: a stream of fragments that never complete is
// bounded by the reassembly limits (oldest groups evicted); the connection
// stays usable and memory does not grow with the flood.
func TestHostileFragmentFlood(t *testing.T) {
	const limit = 16 << 10
	h := newHarness(t, Options{MaxReassemblySize: limit})
	c := h.connect("")
	chunk := make([]byte, 1<<10)
	frame := make([]byte, wirecore.FragmentHeaderSize+len(chunk))
	flood := func(from, n int) {
		for seq := from; seq < from+n; seq++ {
			_, _ = wirecore.PutHeader(frame, wire.Frame{Kind: wire.KindFragment, Seq: uint32(seq), Index: 0, Total: 2, TotalSize: uint32(2 * len(chunk)), Payload: chunk})
			binary.BigEndian.PutUint32(frame[6:10], uint32(seq))
			if err := c.writeBinary(frame); err != nil {
				t.Fatalf("write %d: %v", seq, err)
			}
		}
		c.writeText("ping") // a round trip: the server has read everything before
		c.expectText("pong")
	}
	flood(1, 500) // warm up pools and buffers
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	flood(1000, 4000) // 4 MiB of fragments that never complete
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Fatalf("heap grew by %d bytes during a 4 MiB flood", grown)
	}
	h.srv.mu.Lock()
	var groups int
	var held int64
	for _, sc := range h.srv.conns {
		sc.mu.Lock()
		p := sc.pipe
		sc.mu.Unlock()
		if p != nil {
			groups += p.PendingFragments()
			held += p.PendingBytes()
		}
	}
	h.srv.mu.Unlock()
	if groups > 32 || held > limit {
		t.Fatalf("%d fragment groups, %d bytes held", groups, held)
	}
	// The connection still works end to end.
	c.send(&wire.Interest{DocID: "after-flood"})
	h.rec.waitFor(t, "message after flood", func() bool { return len(h.rec.received) == 1 })
}
