package framestream

import (
	"bytes"
	"errors"
	"testing"

	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

func FuzzStreamParser(f *testing.F) {
	one, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindComplete, Seq: 1, Payload: []byte{0xa1, 0x61, 0x74, 0x02}})
	frag, _ := wire.AppendFrame(nil, wire.Frame{Kind: wire.KindFragment, Seq: 3, Index: 0, Total: 2, TotalSize: 5, Payload: []byte{1, 2, 3}})
	f.Add(append(append([]byte{}, one...), frag...), []byte{3, 0, 7})
	f.Add([]byte{9, 7, 0, 0, 0, 2, 0, 0, 0, 1, 0xaa, 0xbb, 3, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}, []byte{30})
	f.Add([]byte{3, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, []byte{1, 1, 1})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, data, splits []byte) {
		const limit = 4096
		var p *Parser
		var got [][]byte
		var err error
		n := allocated(func() {
			p = NewParser(limit)
			got, err = nil, nil
			rest := data
			for i := 0; len(rest) > 0 && err == nil; i++ {
				size := len(rest)
				if i < len(splits) {
					size = min(int(splits[i]), len(rest))
				}
				var frames [][]byte
				frames, err = p.Feed(rest[:size])
				got = append(got, frames...)
				rest = rest[size:]
			}
		})
		if n > uint64(4*len(data))+allocSlack {
			t.Fatalf("%d input bytes allocated %d bytes", len(data), n)
		}
		joined := bytes.Join(got, nil)
		if !bytes.HasPrefix(data, joined) {
			t.Fatal("emitted frames are not the stream's bytes in order")
		}
		for _, fr := range got {
			if len(fr) < wire.HeaderSize || len(fr) > limit {
				t.Fatalf("frame of %d bytes", len(fr))
			}
		}
		if err != nil {
			if !errors.Is(err, tooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		held := p.Offset()
		if p.Phase() == PhaseBody {
			held += wire.HeaderSize
		}
		if len(joined)+held != len(data) {
			t.Fatalf("%d bytes emitted + %d held != %d fed", len(joined), held, len(data))
		}
	})
}
