package batches

import "testing"

func TestCount(t *testing.T) {
	rows := []struct {
		in string
		n  int
		ok bool
	}{
		{`[]`, 0, true},
		{` [ [1], [2,3] ] `, 2, true},
		{`[["a]b", {"k": "[["}], []]`, 1, true}, // an empty batch is no step
		{`[["\"]"]]`, 1, true},
		{`[[1]`, 0, false},
		{`{}`, 0, false},
		{``, 0, false},
		{`["a`, 0, false},
	}
	for _, r := range rows {
		n, ok := Count([]byte(r.in))
		if ok != r.ok || (ok && n != r.n) {
			t.Errorf("Count(%q) = %d, %v; want %d, %v", r.in, n, ok, r.n, r.ok)
		}
	}
}
