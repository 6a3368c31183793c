package wirecore

import (
	"strings"
	"testing"
)

// BenchmarkTextFrameDecode measures the text frame reader on its two
// paths: a complete frame, whose payload is validated and re-serialized,
// and a fragment frame, whose chunk string is decoded.
func BenchmarkTextFrameDecode(b *testing.B) {
	obj := `{"t":5,"doc":"doc-1","v":{"peer-4f2a":1234,"b":[1.5,-0,1e21,true,null]},"s":"caf\u00e9 \"quoted\" \ud83d\ude00 text","2":{},"1":[]}`
	frames := []struct{ name, frame string }{
		{"complete/4KiB", `["2c",7,[` + strings.TrimSuffix(strings.Repeat(obj+",", 4096/len(obj)), ",") + `]]`},
		{"fragment/64KiB", encodeTextFrame(TextFrame{Kind: KindFragment, Seq: 7, Total: 1, TotalSize: 1,
			Payload: strings.Repeat(`{"k":"v\u00e9 plain ascii text"},`, 65536/32)})},
	}
	for _, f := range frames {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.frame)))
			for b.Loop() {
				if _, err := DecodeTextFrame(f.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
