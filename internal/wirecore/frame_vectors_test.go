package wirecore

import (
	"bytes"
	"testing"
)

// vecFrame is a frame as the vector files describe it.
type vecFrame struct {
	Version int             `json:"version"`
	Seq     float64         `json:"seq"`
	Hash    *string         `json:"hash"`
	Content vecFrameContent `json:"content"`
}

type vecFrameContent struct {
	Kind      string  `json:"kind"`
	Index     float64 `json:"index"`
	Total     float64 `json:"total"`
	TotalSize float64 `json:"totalSize"`
	Payload   string  `json:"payload"`
}

// binaryFrame converts a vector frame to a Frame, checking the fields the
// Go type does not carry.
func (v vecFrame) binaryFrame(t *testing.T) Frame {
	t.Helper()
	if v.Version != Version || v.Hash != nil {
		t.Fatalf("vector frame version %d hash %v: not a plain v3 frame", v.Version, v.Hash)
	}
	f := Frame{Seq: uint32(v.Seq), Payload: mustHex(t, v.Content.Payload)}
	switch v.Content.Kind {
	case "complete":
		f.Kind = KindComplete
	case "fragment":
		f.Kind = KindFragment
		f.Index = uint16(v.Content.Index)
		f.Total = uint16(v.Content.Total)
		f.TotalSize = uint32(v.Content.TotalSize)
	default:
		t.Fatalf("unknown frame kind %q", v.Content.Kind)
	}
	return f
}

func framesEqual(a, b Frame) bool {
	return a.Kind == b.Kind && a.Seq == b.Seq && a.Index == b.Index && a.Total == b.Total &&
		a.TotalSize == b.TotalSize && bytes.Equal(a.Payload, b.Payload)
}
