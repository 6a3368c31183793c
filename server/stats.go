package server

import (
	"sync/atomic"

	"github.com/coder/websocket"
)

var rejectReasons = [...]string{
	reasonClosed, reasonDraining, reasonNotStarted, reasonAuth, reasonBadRequest,
	reasonOrigin, reasonHandshake, reasonMaxConnections, reasonPeerIDInUse, reasonPerIP, reasonPerPrincipal,
}

// Stats is a snapshot of the server's counters. Counters are cumulative
// since New.
type Stats struct {
	// Open is the number of registered connections now.
	Open int
	// Accepted counts connections that were registered.
	Accepted uint64
	// Rejected counts refused connection attempts by reason.
	Rejected map[string]uint64
	// Closed counts connections the server closed, by the close code it
	// sent (StatusSlowConsumer, websocket.StatusMessageTooBig, ...). Closes started
	// by the peer are not counted here.
	Closed map[websocket.StatusCode]uint64
	// BytesIn, FramesIn: WebSocket messages read (binary and text).
	BytesIn, FramesIn uint64
	// BytesOut, FramesOut: WebSocket messages written.
	BytesOut, FramesOut uint64
	// QueueHighWaterBytes and QueueHighWaterMessages are the largest send
	// queue any connection reached.
	QueueHighWaterBytes, QueueHighWaterMessages int
	// InvalidFrames counts binary messages the wire pipeline rejected.
	InvalidFrames uint64
	// Drains counts Drain rounds started (joined calls are not counted).
	Drains uint64
	// ReassemblyReserved is the memory all connections reserve now for
	// incomplete fragmented messages; ReassemblyBudget is its cap (0:
	// none).
	ReassemblyReserved, ReassemblyBudget int64
}

type counters struct {
	accepted              atomic.Uint64
	rejected              [len(rejectReasons)]atomic.Uint64
	bytesIn, framesIn     atomic.Uint64
	bytesOut, framesOut   atomic.Uint64
	hwBytes, hwMsgs       atomic.Int64
	invalidFrames, drains atomic.Uint64
}

func (c *counters) reject(r string) {
	for i, x := range rejectReasons {
		if x == r {
			c.rejected[i].Add(1)
			return
		}
	}
}

func raiseTo(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if n <= cur || v.CompareAndSwap(cur, n) {
			return
		}
	}
}
