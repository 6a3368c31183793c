package wirecore

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Binary frame layout (wire v3), all integers big-endian:
//
//	version u8 | type u8 | payloadLength u32 | seq u32 | [index u16 | total u16 | totalSize u32] | payload
//
// The bracketed fragment metadata is present only when type is
// [KindFragment]; payloadLength counts only the payload (chunk) bytes.
const (
	// Version is the binary wire version written in every frame's first byte.
	Version = 3
	// HeaderSize is the size of the fixed frame header.
	HeaderSize = 10
	// fragmentMetaSize is the size of the index/total/totalSize block that
	// follows the header of a fragment frame.
	fragmentMetaSize = 8
	// FragmentHeaderSize is the size of a fragment frame without its chunk.
	FragmentHeaderSize = HeaderSize + fragmentMetaSize
	// fragmentMinSize is the smallest fragment frame the reference considers
	// useful: header, metadata and one chunk byte.
	fragmentMinSize = FragmentHeaderSize + 1
	// maxPayload is the largest payload a binary frame can describe.
	maxPayload = math.MaxUint32
	// MaxFragments is the largest fragment count (the u16 total field).
	MaxFragments = math.MaxUint16
)

// FrameKind is a frame's type byte.
type FrameKind uint8

// Frame kinds.
const (
	KindComplete FrameKind = 0x00
	KindFragment FrameKind = 0x01
)

// String returns "complete" or "fragment" (the reference's trace names).
func (k FrameKind) String() string {
	switch k {
	case KindComplete:
		return "complete"
	case KindFragment:
		return "fragment"
	}
	return fmt.Sprintf("FrameKind(0x%02x)", uint8(k))
}

// Frame is one binary frame. Index, Total and TotalSize are meaningful only
// for fragment frames. A Frame returned by [DecodeFrame] aliases the input:
// Payload points into the decoded buffer.
type Frame struct {
	Kind      FrameKind
	Seq       uint32
	Index     uint16 // fragment position, 0-based
	Total     uint16 // number of fragments of the message
	TotalSize uint32 // size of the reassembled payload
	Payload   []byte // whole message payload, or this fragment's chunk
}

// HeaderLen returns the size of f's header: [HeaderSize] for a complete
// frame, [FragmentHeaderSize] for a fragment.
func (f Frame) HeaderLen() int {
	if f.Kind == KindFragment {
		return FragmentHeaderSize
	}
	return HeaderSize
}

// EncodedLen returns the number of bytes [AppendFrame] writes for f.
func (f Frame) EncodedLen() int { return f.HeaderLen() + len(f.Payload) }

// PutHeader writes f's header (10 bytes, or 18 for a fragment) to the start
// of dst and returns the number of bytes written. dst must be at least
// f.HeaderLen() bytes long. The payload is not written.
func PutHeader(dst []byte, f Frame) (int, error) {
	if f.Kind != KindComplete && f.Kind != KindFragment {
		return 0, newError(reasonInvalidFrameType, fmt.Sprintf("cannot encode frame type 0x%02x", uint8(f.Kind)), nil)
	}
	if uint64(len(f.Payload)) > maxPayload {
		return 0, newError(reasonFrameTooLarge, fmt.Sprintf("payload of %d bytes does not fit a 32-bit length", len(f.Payload)), nil)
	}
	n := f.HeaderLen()
	if len(dst) < n {
		return 0, newError(reasonTruncatedFrame, fmt.Sprintf("header needs %d bytes, buffer has %d", n, len(dst)), nil)
	}
	putHeader(dst, f.Kind, uint32(len(f.Payload)), f.Seq)
	if f.Kind == KindFragment {
		putMeta(dst, f.Index, f.Total, f.TotalSize)
	}
	return n, nil
}

func putHeader(dst []byte, kind FrameKind, payloadLen, seq uint32) {
	_ = dst[HeaderSize-1]
	dst[0] = Version
	dst[1] = byte(kind)
	binary.BigEndian.PutUint32(dst[2:6], payloadLen)
	binary.BigEndian.PutUint32(dst[6:10], seq)
}

func putMeta(dst []byte, index, total uint16, totalSize uint32) {
	_ = dst[FragmentHeaderSize-1]
	binary.BigEndian.PutUint16(dst[10:12], index)
	binary.BigEndian.PutUint16(dst[12:14], total)
	binary.BigEndian.PutUint32(dst[14:18], totalSize)
}

// AppendFrame appends the encoding of f to dst and returns the extended
// buffer. It allocates only when dst lacks capacity. It fails only for a
// kind other than complete/fragment or a payload longer than maxPayload.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	var hdr [FragmentHeaderSize]byte
	n, err := PutHeader(hdr[:], f)
	if err != nil {
		return dst, err
	}
	dst = append(dst, hdr[:n]...)
	return append(dst, f.Payload...), nil
}

// DecodeFrame decodes one binary frame from b. The returned Frame's Payload
// aliases b; copy it if b will be reused. Bytes after the declared payload
// are ignored, as in the reference. Checks run in the reference's order:
// minimum length, version, type, then the declared length.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < HeaderSize {
		return Frame{}, newError(reasonTruncatedFrame, fmt.Sprintf("need at least %d header bytes, have %d", HeaderSize, len(b)), nil)
	}
	if b[0] != Version {
		return Frame{}, newError(reasonUnsupportedVersion, fmt.Sprintf("version %d, this decoder reads %d", b[0], Version), nil)
	}
	kind := FrameKind(b[1])
	payloadLen := binary.BigEndian.Uint32(b[2:6])
	seq := binary.BigEndian.Uint32(b[6:10])
	switch kind {
	case KindComplete:
		need := uint64(HeaderSize) + uint64(payloadLen)
		if uint64(len(b)) < need {
			return Frame{}, newError(reasonTruncatedFrame, fmt.Sprintf("complete frame needs %d bytes, have %d", need, len(b)), nil)
		}
		return Frame{Kind: KindComplete, Seq: seq, Payload: b[HeaderSize:need:need]}, nil
	case KindFragment:
		need := uint64(FragmentHeaderSize) + uint64(payloadLen)
		if uint64(len(b)) < need {
			return Frame{}, newError(reasonTruncatedFrame, fmt.Sprintf("fragment frame needs %d bytes, have %d", need, len(b)), nil)
		}
		return Frame{
			Kind:      KindFragment,
			Seq:       seq,
			Index:     binary.BigEndian.Uint16(b[10:12]),
			Total:     binary.BigEndian.Uint16(b[12:14]),
			TotalSize: binary.BigEndian.Uint32(b[14:18]),
			Payload:   b[FragmentHeaderSize:need:need],
		}, nil
	default:
		return Frame{}, newError(reasonInvalidFrameType, fmt.Sprintf("type byte 0x%02x", b[1]), nil)
	}
}
