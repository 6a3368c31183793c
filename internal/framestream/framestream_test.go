package framestream

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	wire "github.com/kyneta-go/kyneta/internal/wirecore"
	"pgregory.net/rapid"
)

func TestStreamParserVectors(t *testing.T) {
	var v struct {
		Cases []struct {
			Name       string `json:"name"`
			Stream     string `json:"stream"`
			ChunkSizes []int  `json:"chunkSizes"`
			Feeds      []struct {
				Chunk  string   `json:"chunk"`
				Frames []string `json:"frames"`
			} `json:"feeds"`
			EmittedFrames []string `json:"emittedFrames"`
			FinalPhase    string   `json:"finalPhase"`
			FinalOffset   int      `json:"finalOffset"`
		} `json:"cases"`
	}
	loadVectors(t, "stream_parser.json", &v)
	checkCount(t, "stream_parser.cases", len(v.Cases))
	for _, c := range v.Cases {
		t.Run("stream_parser/cases/"+c.Name, func(t *testing.T) {
			stream := mustHex(t, c.Stream)
			p := NewParser(0)
			var emitted []string
			off := 0
			for i, n := range c.ChunkSizes {
				chunk := stream[off : off+n]
				off += n
				frames, err := p.Feed(chunk)
				if err != nil {
					t.Fatalf("feed %d: %v", i, err)
				}
				var got []string
				for _, f := range frames {
					got = append(got, hex.EncodeToString(f))
				}
				if c.Feeds != nil {
					if c.Feeds[i].Chunk != hex.EncodeToString(chunk) {
						t.Fatalf("feed %d: vector chunk does not match chunkSizes", i)
					}
					if len(got) != len(c.Feeds[i].Frames) {
						t.Fatalf("feed %d: %d frames %v, want %v", i, len(got), got, c.Feeds[i].Frames)
					}
					for j := range got {
						if got[j] != c.Feeds[i].Frames[j] {
							t.Fatalf("feed %d frame %d: %s, want %s", i, j, got[j], c.Feeds[i].Frames[j])
						}
					}
				}
				emitted = append(emitted, got...)
			}
			if off != len(stream) {
				t.Fatalf("chunk sizes cover %d of %d bytes", off, len(stream))
			}
			if len(emitted) != len(c.EmittedFrames) {
				t.Fatalf("emitted %d frames, want %d", len(emitted), len(c.EmittedFrames))
			}
			for i := range emitted {
				if emitted[i] != c.EmittedFrames[i] {
					t.Fatalf("frame %d: %s, want %s", i, emitted[i], c.EmittedFrames[i])
				}
			}
			if p.Phase().String() != c.FinalPhase || p.Offset() != c.FinalOffset {
				t.Fatalf("final %s/%d, want %s/%d", p.Phase(), p.Offset(), c.FinalPhase, c.FinalOffset)
			}
		})
	}
}

func TestStreamParserLimit(t *testing.T) {
	p := NewParser(30)
	ok, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindFragment, Payload: make([]byte, 12)})  // 30 bytes
	big, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindComplete, Payload: make([]byte, 21)}) // 31 bytes
	frames, err := p.Feed(append(append([]byte{}, ok...), big[:12]...))
	if err == nil || len(frames) != 1 || !bytes.Equal(frames[0], ok) {
		t.Fatalf("frames %d err %v", len(frames), err)
	}
	if err.Error() != "framestream: frame_too_large: frame of 31 bytes exceeds the limit of 30" || !errors.Is(err, tooLarge) ||
		kyneta.CodeOf(err) != kyneta.CodeResourceExhausted {
		t.Fatalf("err %#v", err)
	}
	if _, err2 := p.Feed(ok); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
	p.Reset()
	if frames, err := p.Feed(ok); err != nil || len(frames) != 1 {
		t.Fatalf("after reset: %d %v", len(frames), err)
	}

	// A lying header costs memory only for bytes that actually arrived.
	p = NewParser(wire.NoLimit)
	hdr := []byte{3, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 'x'}
	if frames, err := p.Feed(hdr); err != nil || len(frames) != 0 {
		t.Fatal(frames, err)
	}
	if cap(p.frame) > 64 || p.Phase() != PhaseBody || p.Offset() != 1 {
		t.Fatalf("buffer cap %d phase %s offset %d", cap(p.frame), p.Phase(), p.Offset())
	}
	if got := NewParser(0).max; got != DefaultMaxFrameSize {
		t.Fatalf("default max %d", got)
	}
}

// TestStreamParserSplits: any split of a stream of frames yields the same
// frames, and frames do not alias the chunks.
func TestStreamParserSplits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var stream []byte
		var want [][]byte
		for range rapid.IntRange(0, 6).Draw(t, "frames") {
			f := wire.Frame{Kind: wire.FrameKind(rapid.IntRange(0, 1).Draw(t, "kind")), Seq: rapid.Uint32().Draw(t, "seq"),
				Payload: rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "payload")}
			b, _ := wire.AppendFrame(nil, f)
			want = append(want, b)
			stream = append(stream, b...)
		}
		p := NewParser(0)
		var got [][]byte
		rest := bytes.Clone(stream)
		for len(rest) > 0 {
			n := rapid.IntRange(0, len(rest)).Draw(t, "chunk")
			chunk := bytes.Clone(rest[:n])
			rest = rest[n:]
			frames, err := p.Feed(chunk)
			if err != nil {
				t.Fatal(err)
			}
			for i := range chunk {
				chunk[i] ^= 0xff // the caller reuses its buffer
			}
			got = append(got, frames...)
		}
		if len(got) != len(want) {
			t.Fatalf("%d frames, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("frame %d: %x want %x", i, got[i], want[i])
			}
		}
		if p.Phase() != PhaseHeader || p.Offset() != 0 {
			t.Fatalf("left in %s/%d", p.Phase(), p.Offset())
		}
	})
}

func TestStrings(t *testing.T) {
	if PhaseHeader.String() != "header" || PhaseBody.String() != "body" {
		t.Error("Phase.String")
	}
	err := error(limitError(100, 50))
	if got := err.Error(); !strings.Contains(got, "100 bytes exceeds the limit of 50") {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(err, tooLarge) || errors.Is(err, &kyneta.Error{Reason: "truncated_frame"}) {
		t.Error("the limit error is frame_too_large and nothing else")
	}
}

// tooLarge matches the parser's limit error.
var tooLarge = &kyneta.Error{Pkg: "framestream", Reason: "frame_too_large"}

// TestReasonCodes pins the code of the package's one reason.
func TestReasonCodes(t *testing.T) {
	if got := kyneta.CodeOf(limitError(2, 1)); got != kyneta.CodeResourceExhausted {
		t.Errorf("frame_too_large has code %q", got)
	}
}
