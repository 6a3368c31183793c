package jsjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks Parse on arbitrary input: it never panics, fails only
// with a *SyntaxError, reads string and []byte input alike (and []byte
// input alike with and without Options.Share), accepts exactly
// what encoding/json accepts (valid UTF-8, within the depth limit), keeps
// memory proportional to the input, and its canonical form is a fixed
// point. The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		var err error
		if n := allocated(func() { v, err = Parse(data, jsOrder) }); n > 128*uint64(len(data))+8192 {
			t.Fatalf("parsing %d bytes allocated %d bytes", len(data), n)
		}
		vs, errs := Parse(string(data), jsOrder)
		if (err == nil) != (errs == nil) || !reflect.DeepEqual(v, vs) {
			t.Fatalf("[]byte and string input differ: %v / %v", err, errs)
		}
		// Strings sharing the text (Options.Share) read the same.
		vsh, errsh := Parse(data, &Options{KeyOrder: PropertyOrder, Share: 1})
		if (err == nil) != (errsh == nil) || !reflect.DeepEqual(v, vsh) {
			t.Fatalf("shared and copied strings differ: %v / %v", err, errsh)
		}
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error %v is not a SyntaxError", err)
		}
		if utf8.Valid(data) && (se == nil || se.Msg != msgDepth) && (err == nil) != json.Valid(data) {
			t.Fatalf("err %v, encoding/json valid %v", err, json.Valid(data))
		}
		if err != nil {
			return
		}
		enc := encode(nil, v)
		again, err := Parse(enc, jsOrder)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", enc, err)
		}
		if enc2 := encode(nil, again); string(enc2) != string(enc) {
			t.Fatalf("canonical form not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}

// allocated returns the bytes f allocates. Fuzz workers run one input at a
// time, so other goroutines add little noise.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
