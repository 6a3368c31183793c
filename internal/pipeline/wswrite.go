package pipeline

import (
	"context"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/internal/wirecore"
)

// CoalesceLimit: a frame in parts up to this size is copied into one
// buffer and written in one call; a larger one is written part by part
// (one WebSocket message in continuation frames), so its body, which may
// be a shared value or a document's own memory, is never copied.
const CoalesceLimit = 4096

// WriteFrame writes one frame given as parts to conn, as one WebSocket
// message of type typ: a frame in one part as it is, a small one joined
// in *scratch (the caller's buffer, grown to at most CoalesceLimit), a
// large one part by part. The WebSocket client and server both write
// their queues through it.
func WriteFrame(ctx context.Context, conn *websocket.Conn, typ websocket.MessageType, f wirecore.FramePart, scratch *[]byte) error {
	switch {
	case f.Body == nil && f.Tail == nil:
		return conn.Write(ctx, typ, f.Head)
	case f.Head == nil && f.Tail == nil:
		return conn.Write(ctx, typ, f.Body)
	case f.Len() <= CoalesceLimit:
		*scratch = append(append(append((*scratch)[:0], f.Head...), f.Body...), f.Tail...)
		return conn.Write(ctx, typ, *scratch)
	}
	w, err := conn.Writer(ctx, typ)
	if err != nil {
		return err
	}
	for _, p := range [...][]byte{f.Head, f.Body, f.Tail} {
		if len(p) == 0 {
			continue
		}
		if _, err := w.Write(p); err != nil {
			_ = w.Close()
			return err
		}
	}
	return w.Close()
}
