// Package batches scans since payloads of plain replicas (JSON arrays of
// batches) without decoding them.
package batches

import "github.com/kyneta-go/kyneta/internal/jsjson"

// Count counts the non-empty elements of a since payload (a JSON
// array of arrays) without decoding it: the number of version steps a
// merge of it makes. ok is false when the text is not an array that ends.
// It only scans: strings are skipped eight bytes at a time, so it costs
// little even for payloads carrying large values.
func Count(data []byte) (n int, ok bool) {
	i := jsjson.SkipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return 0, false
	}
	depth := 0
	for ; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			e := jsjson.StringEnd(data, i)
			if e < 0 {
				return 0, false
			}
			i = e - 1
		case '[', '{':
			depth++
			if depth == 2 && c == '[' {
				if j := jsjson.SkipSpace(data, i+1); j < len(data) && data[j] != ']' {
					n++
				}
			}
		case ']', '}':
			depth--
			if depth == 0 {
				return n, true
			}
		}
	}
	return 0, false
}
