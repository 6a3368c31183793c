package wirecore

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta"
)

func FuzzDecodeTextFrame(f *testing.F) {
	for _, s := range []string{
		``, `[]`, `["2c",1,{"t":2}]`, `["2f",4294967295,1,6,58477,"a\"b\\c/\n\t\r\b\f\u0000\u001f"]`,
		` [ "2c" , 7 , { "t" : 2 } ] `, `["2c",1,{"t":1.0,"id":"\u0070","1":1e2,"t":3}]`, `["2c",1.5,null]`,
		`["2f",-1,-1,0,-5,"x"]`, `["1c",1,{}]`, `["2x",1,{}]`, `["2c","1",{}]`, `["2f",1,0,1]`, `{"t":2}`,
		`["2c",1,"\ud800\udc00\udbff"]`, "[\"2f\",1,0,1,1,\"\xff\"]", `["2c",1e400,[]]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fr TextFrame
		var err error
		if n := allocated(func() { fr, err = DecodeTextFrame(s) }); n > uint64(32*len(s))+allocSlack {
			t.Fatalf("decoding %d bytes allocated %d bytes", len(s), n)
		}
		if err != nil {
			var te *kyneta.Error
			if !errors.As(err, &te) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if utf8.ValidString(s) && !json.Valid([]byte(s)) {
			t.Fatalf("accepted %q, which is not JSON", s)
		}
		for _, x := range []float64{fr.Seq, fr.Index, fr.Total, fr.TotalSize} {
			if math.IsInf(x, 0) {
				return // JSON.stringify writes Infinity as null: no round trip, as in JavaScript
			}
		}
		again, err := DecodeTextFrame(encodeTextFrame(fr))
		if err != nil || again != fr {
			t.Fatalf("re-encoded frame decodes to %+v (%v), want %+v", again, err, fr)
		}
	})
}
