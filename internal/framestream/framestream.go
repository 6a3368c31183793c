package framestream

import (
	"encoding/binary"
	"fmt"

	"github.com/kyneta-go/kyneta"
	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

// DefaultMaxFrameSize is the largest frame (header, metadata and
// payload) a [Parser] accepts unless configured otherwise. The
// reference has no limit; without one, a corrupt or hostile length field
// would make the parser wait for (and buffer up to) 4 GiB.
const DefaultMaxFrameSize = 64 << 20

// Phase is what a [Parser] is waiting for.
type Phase uint8

// Stream parser phases.
const (
	PhaseHeader Phase = iota // accumulating the 10-byte header
	PhaseBody                // accumulating metadata and payload
)

// String returns "header" or "body", the reference's phase names.
func (p Phase) String() string {
	if p == PhaseBody {
		return "body"
	}
	return "header"
}

// Parser splits a byte stream (a Unix socket, a pipe) into binary
// frames using the length in each frame's header. Like the reference it
// does not validate the version or type: any type other than fragment is
// delimited as a complete frame, and validation is left to [wire.DecodeFrame].
// Unlike the reference it rejects frames above a maximum size.
//
// A Parser is not safe for concurrent use.
type Parser struct {
	max   int // < 0: unlimited
	phase Phase
	hdr   [wire.HeaderSize]byte
	hlen  int    // header bytes held
	frame []byte // current frame: header, then body bytes as they arrive
	body  int    // body length of the current frame
	err   error  // sticky limit error
}

// NewParser returns a parser that rejects frames larger than
// maxFrameSize bytes in total. 0 means [DefaultMaxFrameSize]; a
// negative value means no limit beyond the format's own (2^32-1 payload
// bytes).
func NewParser(maxFrameSize int) *Parser {
	if maxFrameSize == 0 {
		maxFrameSize = DefaultMaxFrameSize
	}
	return &Parser{max: maxFrameSize}
}

// Feed consumes the next chunk of the stream and returns the frames it
// completes, in order. Each returned frame is a fresh slice the caller
// owns; chunk is not retained. When a header declares a frame above the
// limit, Feed returns the frames completed before it and an error with reason
// "frame_too_large" (kyneta.CodeResourceExhausted);
// the stream cannot be resynchronised, so every later Feed returns the same
// error until [Parser.Reset].
func (p *Parser) Feed(chunk []byte) ([][]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	var frames [][]byte
	for len(chunk) > 0 {
		if p.phase == PhaseHeader {
			n := copy(p.hdr[p.hlen:], chunk)
			p.hlen += n
			chunk = chunk[n:]
			if p.hlen < wire.HeaderSize {
				break
			}
			body := uint64(binary.BigEndian.Uint32(p.hdr[2:6]))
			if wire.FrameKind(p.hdr[1]) == wire.KindFragment {
				body += wire.FragmentHeaderSize - wire.HeaderSize
			}
			if size := wire.HeaderSize + body; p.max >= 0 && size > uint64(p.max) {
				p.err = limitError(size, p.max)
				return frames, p.err
			}
			p.body = int(body)
			// Allocate for what has arrived, not for what the header
			// claims: a frame that never comes costs nothing.
			p.frame = make([]byte, wire.HeaderSize, wire.HeaderSize+min(p.body, len(chunk)))
			copy(p.frame, p.hdr[:])
			p.hlen = 0
			p.phase = PhaseBody
		}
		// A zero-length body completes together with its header.
		take := min(p.body-(len(p.frame)-wire.HeaderSize), len(chunk))
		p.frame = append(p.frame, chunk[:take]...)
		chunk = chunk[take:]
		if len(p.frame)-wire.HeaderSize == p.body {
			frames = append(frames, p.frame)
			p.frame = nil
			p.phase = PhaseHeader
		}
	}
	return frames, nil
}

// Phase reports what the parser is waiting for.
func (p *Parser) Phase() Phase { return p.phase }

// Offset reports how many bytes of the current phase have arrived: header
// bytes in the header phase, body bytes in the body phase.
func (p *Parser) Offset() int {
	if p.phase == PhaseBody {
		return len(p.frame) - wire.HeaderSize
	}
	return p.hlen
}

// Reset drops any partial frame and a sticky limit error.
func (p *Parser) Reset() {
	*p = Parser{max: p.max}
}

// reasonFrameTooLarge is the reason of the error for a frame on a byte
// stream whose declared size exceeds the [Parser]'s limit (the wire
// package's reason for frames over a limit). The stream cannot be
// resynchronised after it; the parser keeps returning the error until
// Reset.
const reasonFrameTooLarge = "frame_too_large"

// limitError returns the error for a declared frame size over the limit:
// a resource limit, so CodeResourceExhausted.
func limitError(size uint64, limit int) *kyneta.Error {
	return &kyneta.Error{Code: kyneta.CodeResourceExhausted, Reason: reasonFrameTooLarge, Pkg: "framestream",
		Detail: fmt.Sprintf("frame of %d bytes exceeds the limit of %d", size, limit)}
}
