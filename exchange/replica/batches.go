package replica

import (
	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// rawBatches returns the text of each element of a since payload, for a
// merge to keep as its log entries instead of encoding the parsed ops
// again. It returns nil unless the payload has exactly want elements and
// no whitespace between tokens (the compact form every peer sends), so
// a padded payload is re-encoded. The payload must already have parsed.
func rawBatches(data []byte, want int) [][]byte {
	if len(data) < 2 || data[0] != '[' || data[len(data)-1] != ']' {
		return nil
	}
	out := make([][]byte, 0, want)
	depth, start := 0, -1
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			e := jsjson.StringEnd(data, i)
			if e < 0 {
				return nil
			}
			i = e - 1
		case '[', '{':
			depth++
			if depth == 2 {
				start = i
			}
		case ']', '}':
			depth--
			if depth == 1 {
				if start < 0 || len(out) == want {
					return nil
				}
				out = append(out, data[start:i+1:i+1])
				start = -1
			}
		case ' ', '\t', '\n', '\r':
			return nil
		default:
			if depth == 1 && c != ',' {
				return nil // a scalar element: not a batch
			}
		}
	}
	if len(out) != want {
		return nil
	}
	return out
}
