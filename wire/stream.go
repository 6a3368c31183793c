package wire

import "encoding/binary"

// DefaultMaxStreamFrameSize is the largest frame (header, metadata and
// payload) a [StreamParser] accepts unless configured otherwise. The
// reference has no limit; without one, a corrupt or hostile length field
// would make the parser wait for (and buffer up to) 4 GiB.
const DefaultMaxStreamFrameSize = 64 << 20

// StreamPhase is what a [StreamParser] is waiting for.
type StreamPhase uint8

// Stream parser phases.
const (
	StreamHeader StreamPhase = iota // accumulating the 10-byte header
	StreamBody                      // accumulating metadata and payload
)

// String returns "header" or "body", the reference's phase names.
func (p StreamPhase) String() string {
	if p == StreamBody {
		return "body"
	}
	return "header"
}

// StreamParser splits a byte stream (a Unix socket, a pipe) into binary
// frames using the length in each frame's header. Like the reference it
// does not validate the version or type: any type other than fragment is
// delimited as a complete frame, and validation is left to [DecodeFrame].
// Unlike the reference it rejects frames above a maximum size.
//
// A StreamParser is not safe for concurrent use.
type StreamParser struct {
	max   int // < 0: unlimited
	phase StreamPhase
	hdr   [HeaderSize]byte
	hlen  int    // header bytes held
	frame []byte // current frame: header, then body bytes as they arrive
	body  int    // body length of the current frame
	err   error  // sticky limit error
}

// NewStreamParser returns a parser that rejects frames larger than
// maxFrameSize bytes in total. 0 means [DefaultMaxStreamFrameSize]; a
// negative value means no limit beyond the format's own (2^32-1 payload
// bytes).
func NewStreamParser(maxFrameSize int) *StreamParser {
	if maxFrameSize == 0 {
		maxFrameSize = DefaultMaxStreamFrameSize
	}
	return &StreamParser{max: maxFrameSize}
}

// Feed consumes the next chunk of the stream and returns the frames it
// completes, in order. Each returned frame is a fresh slice the caller
// owns; chunk is not retained. When a header declares a frame above the
// limit, Feed returns the frames completed before it and a *[StreamError];
// the stream cannot be resynchronised, so every later Feed returns the same
// error until [StreamParser.Reset].
func (p *StreamParser) Feed(chunk []byte) ([][]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	var frames [][]byte
	for len(chunk) > 0 {
		if p.phase == StreamHeader {
			n := copy(p.hdr[p.hlen:], chunk)
			p.hlen += n
			chunk = chunk[n:]
			if p.hlen < HeaderSize {
				break
			}
			body := uint64(binary.BigEndian.Uint32(p.hdr[2:6]))
			if FrameKind(p.hdr[1]) == KindFragment {
				body += FragmentMetaSize
			}
			if size := HeaderSize + body; p.max >= 0 && size > uint64(p.max) {
				p.err = &StreamError{Size: size, Limit: p.max}
				return frames, p.err
			}
			p.body = int(body)
			// Allocate for what has arrived, not for what the header
			// claims: a frame that never comes costs nothing.
			p.frame = make([]byte, HeaderSize, HeaderSize+min(p.body, len(chunk)))
			copy(p.frame, p.hdr[:])
			p.hlen = 0
			p.phase = StreamBody
		}
		// A zero-length body completes together with its header.
		take := min(p.body-(len(p.frame)-HeaderSize), len(chunk))
		p.frame = append(p.frame, chunk[:take]...)
		chunk = chunk[take:]
		if len(p.frame)-HeaderSize == p.body {
			frames = append(frames, p.frame)
			p.frame = nil
			p.phase = StreamHeader
		}
	}
	return frames, nil
}

// Phase reports what the parser is waiting for.
func (p *StreamParser) Phase() StreamPhase { return p.phase }

// Offset reports how many bytes of the current phase have arrived: header
// bytes in the header phase, body bytes in the body phase.
func (p *StreamParser) Offset() int {
	if p.phase == StreamBody {
		return len(p.frame) - HeaderSize
	}
	return p.hlen
}

// Reset drops any partial frame and a sticky limit error.
func (p *StreamParser) Reset() {
	*p = StreamParser{max: p.max}
}
