package exchange

import (
	"encoding/json"
	"testing"

	"pgregory.net/rapid"
)

// FuzzCountBatches checks the batch counter of the plain gap check against
// encoding/json on valid input and that it never panics on any input.
func FuzzCountBatches(f *testing.F) {
	for _, s := range []string{`[]`, `[[]]`, `[[1],[],[{"a":"]"}]]`, `[`, `"[[1]]"`, `[[1]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, ok := countBatches(data)
		var batches []json.RawMessage
		if json.Unmarshal(data, &batches) != nil {
			return // invalid JSON: any answer is fine, as long as no panic
		}
		want := 0
		for _, b := range batches {
			var inner []json.RawMessage
			if json.Unmarshal(b, &inner) != nil {
				return // not an array of arrays: the replica rejects it anyway
			}
			if len(inner) > 0 {
				want++
			}
		}
		if !ok || n != want {
			t.Fatalf("countBatches(%q) = %d,%v want %d", data, n, ok, want)
		}
	})
}

// FuzzPrograms runs the programs' rapid state-machine property as a fuzz
// target, so `go test -fuzz` can explore interleavings beyond rapid's.
func FuzzPrograms(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(rapid.MakeFuzz(programsProperty))
}
