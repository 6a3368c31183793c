package wirecore

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta"
)

// Text frames (text wire v2) are JSON arrays:
//
//	complete: ["2c", seq, <payload embedded verbatim>]
//	fragment: ["2f", seq, index, total, totalSize, "<chunk>"]
//
// The prefix is the version digit followed by 'c' or 'f'.
const (
	// textVersion is the text wire version, the first character of a prefix.
	textVersion = 2
	// textCompletePrefix and textFragmentPrefix start every text frame.
	textCompletePrefix = "2c"
	textFragmentPrefix = "2f"
)

// TextFrame is one decoded text frame.
//
// The numbers are JSON numbers and, like the reference, the decoder accepts
// any JSON number in those positions (fractions, negatives, values beyond
// 32 bits). Frames this package encodes always carry integers in range.
//
// For a complete frame, Payload is the payload re-serialized the way
// JSON.stringify writes it (the reference parses the whole frame, so
// insignificant whitespace and escape spelling do not survive decoding);
// for a fragment frame it is the chunk string.
type TextFrame struct {
	Kind      FrameKind
	Seq       float64
	Index     float64 // fragment only
	Total     float64 // fragment only
	TotalSize float64 // fragment only, in Unicode code points
	Payload   string
}

// AppendTextFrame appends the text encoding of f to dst. A complete frame's
// Payload must be a JSON text; it is embedded verbatim. A fragment's chunk
// is quoted exactly as JSON.stringify quotes it.
func AppendTextFrame(dst []byte, f TextFrame) []byte {
	if f.Kind == KindFragment {
		dst = append(dst, `["`+textFragmentPrefix+`",`...)
		dst = appendTextNumber(dst, f.Seq)
		dst = append(dst, ',')
		dst = appendTextNumber(dst, f.Index)
		dst = append(dst, ',')
		dst = appendTextNumber(dst, f.Total)
		dst = append(dst, ',')
		dst = appendTextNumber(dst, f.TotalSize)
		dst = append(dst, ',')
		dst = appendJSONString(dst, f.Payload)
		return append(dst, ']')
	}
	dst = append(dst, `["`+textCompletePrefix+`",`...)
	dst = appendTextNumber(dst, f.Seq)
	dst = append(dst, ',')
	dst = append(dst, f.Payload...)
	return append(dst, ']')
}

// encodeTextFrame returns the text encoding of f (see [AppendTextFrame]).
func encodeTextFrame(f TextFrame) string {
	return string(AppendTextFrame(make([]byte, 0, len(f.Payload)+32), f))
}

// appendTextNumber writes a frame number; integers take a fast path.
func appendTextNumber(dst []byte, f float64) []byte {
	if f >= 0 && f <= maxSafeInteger && f == math.Trunc(f) {
		return strconv.AppendUint(dst, uint64(f), 10)
	}
	return appendJSONNumber(dst, f)
}

// appendTextFragment writes a fragment frame from integer fields.
func appendTextFragment(dst []byte, seq uint32, index, total, totalSize int, chunk string) []byte {
	dst = append(dst, `["`+textFragmentPrefix+`",`...)
	dst = strconv.AppendUint(dst, uint64(seq), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(index), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(total), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(totalSize), 10)
	dst = append(dst, ',')
	dst = appendJSONString(dst, chunk)
	return append(dst, ']')
}

// utf16Len is the length of s in UTF-16 code units, as JavaScript's
// String.length counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// textElem is what the decoder keeps of one top-level array element.
type textElem struct {
	kind jsonKind
	num  float64
	str  string
}

// DecodeTextFrame decodes one text frame, applying the reference's checks
// in its order: JSON syntax, array of at least two elements, prefix (type
// character, then version character), version, seq type, element count for
// the frame type, then the field types. Elements after the ones a frame
// type needs are ignored. Invalid UTF-8 in s is first repaired to U+FFFD,
// as a JavaScript peer's text decoding would.
func DecodeTextFrame(s string) (TextFrame, error) {
	s = wellFormed(s)
	r := jsonReader{s: s}
	r.ws()
	if r.i < len(s) && s[r.i] != '[' {
		if _, _, _, err := r.value(false); err != nil {
			return TextFrame{}, textJSONError(err)
		}
		r.ws()
		if r.i != len(s) {
			return TextFrame{}, textJSONError(errJSONSyntax)
		}
		return TextFrame{}, newError(reasonInvalidStructure, "frame must be a JSON array of at least 2 elements", nil)
	}
	if r.i >= len(s) {
		return TextFrame{}, textJSONError(errJSONSyntax)
	}
	// Top-level array: keep the first six elements' types, numbers and the
	// strings that matter; write the canonical form only for a complete
	// frame's payload.
	r.i++
	r.depth = 1
	var el [6]textElem
	n := 0
	var payload []byte
	completeType := false
	r.ws()
	if r.i < len(s) && s[r.i] == ']' {
		r.i++
	} else {
		for {
			var e textElem
			var err error
			switch n {
			case 0, 5:
				e.kind, e.num, e.str, err = r.value(true)
				if n == 0 && e.kind == jsonString {
					completeType = prefixType(e.str) == 'c'
				}
			case 2:
				if completeType {
					r.emit = true
					r.out = r.out[:0]
				}
				e.kind, e.num, _, err = r.value(false)
				if completeType {
					payload = r.out
					r.emit = false
				}
			default:
				e.kind, e.num, _, err = r.value(false)
			}
			if err != nil {
				return TextFrame{}, textJSONError(err)
			}
			if n < len(el) {
				el[n] = e
			}
			n++
			r.ws()
			if r.i >= len(s) {
				return TextFrame{}, textJSONError(errJSONSyntax)
			}
			if s[r.i] == ',' {
				r.i++
				continue
			}
			if s[r.i] == ']' {
				r.i++
				break
			}
			return TextFrame{}, textJSONError(errJSONSyntax)
		}
	}
	r.ws()
	if r.i != len(s) {
		return TextFrame{}, textJSONError(errJSONSyntax)
	}

	if n < 2 {
		return TextFrame{}, newError(reasonInvalidStructure, "frame must be a JSON array of at least 2 elements", nil)
	}
	if el[0].kind != jsonString || utf16Len(el[0].str) != 2 {
		return TextFrame{}, newError(reasonInvalidPrefix, "first element must be a 2-character prefix string", nil)
	}
	typ := prefixType(el[0].str)
	if typ != 'c' && typ != 'f' {
		return TextFrame{}, newError(reasonInvalidPrefix, "unknown frame type character", nil)
	}
	ver := el[0].str[0]
	if ver < '0' || ver > '9' {
		return TextFrame{}, newError(reasonInvalidPrefix, "version character is not a digit", nil)
	}
	if int(ver-'0') != textVersion {
		return TextFrame{}, newError(reasonUnsupportedVersion, "text wire version "+string(ver)+", this decoder reads "+strconv.Itoa(textVersion), nil)
	}
	if el[1].kind != jsonNumber {
		return TextFrame{}, newError(reasonInvalidStructure, "seq must be a number", nil)
	}
	if typ == 'c' {
		if n < 3 {
			return TextFrame{}, newError(reasonTruncated, "complete frame needs 3 elements, has "+strconv.Itoa(n), nil)
		}
		return TextFrame{Kind: KindComplete, Seq: el[1].num, Payload: string(payload)}, nil
	}
	if n < 6 {
		return TextFrame{}, newError(reasonTruncated, "fragment frame needs 6 elements, has "+strconv.Itoa(n), nil)
	}
	if el[2].kind != jsonNumber || el[3].kind != jsonNumber || el[4].kind != jsonNumber {
		return TextFrame{}, newError(reasonInvalidStructure, "fragment index, total and totalSize must be numbers", nil)
	}
	if el[5].kind != jsonString {
		return TextFrame{}, newError(reasonInvalidStructure, "fragment chunk must be a string", nil)
	}
	return TextFrame{
		Kind:      KindFragment,
		Seq:       el[1].num,
		Index:     el[2].num,
		Total:     el[3].num,
		TotalSize: el[4].num,
		Payload:   el[5].str,
	}, nil
}

// prefixType returns the second UTF-16 unit of a two-unit prefix when it is
// an ASCII character, or 0.
func prefixType(p string) byte {
	if len(p) < 2 {
		return 0
	}
	// The version character is one byte when it can be valid at all; the
	// type character is then the next rune.
	_, w := utf8.DecodeRuneInString(p)
	if w != 1 || len(p) != 2 {
		return 0
	}
	return p[1]
}

func textJSONError(err error) *kyneta.Error {
	return newError(reasonInvalidJSON, err.Error(), nil)
}
