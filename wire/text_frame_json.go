package wire

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file is a small JSON reader with the behaviour of JavaScript's
// JSON.parse followed by JSON.stringify, which is what the reference's text
// frame decoder does to a complete frame's payload. It validates exactly
// the grammar JSON.parse accepts and, where asked, writes the value back in
// the canonical form JSON.stringify produces: no whitespace, numbers in
// JavaScript's shortest form, strings re-escaped, lone surrogates written
// as \udxxx, and object members in JavaScript property order (array-index
// keys ascending first, then the rest in first-insertion order, a repeated
// key keeping its first position and its last value). Reading streams
// through the input: memory is proportional to the output, not to the
// nesting.

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
// JSON.parse has an engine-dependent limit too; messages are shallow.
const maxJSONDepth = 1000

var (
	errJSONSyntax = errors.New("invalid JSON")
	errJSONDepth  = errors.New("JSON nested too deeply")
)

type jsonMember struct {
	keyStart, keyEnd, valEnd int // offsets into out: "key" is out[keyStart:keyEnd], value follows a ':'
}

type jsonReader struct {
	s       string
	i       int
	depth   int
	emit    bool // write the canonical form to out
	out     []byte
	members []jsonMember // scratch stack shared by nested objects
	dec     []byte       // scratch for decoded strings
}

func (r *jsonReader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// jsonKind is the JavaScript type of a parsed value.
type jsonKind uint8

const (
	jsonOther jsonKind = iota // null, boolean, array, object
	jsonNumber
	jsonString
)

// value reads one value. When decode is set and the value is a string, its
// decoded text is returned; numbers always return their value.
func (r *jsonReader) value(decode bool) (kind jsonKind, num float64, str string, err error) {
	r.ws()
	if r.i >= len(r.s) {
		return 0, 0, "", errJSONSyntax
	}
	switch c := r.s[r.i]; {
	case c == '"':
		str, err = r.str(decode)
		return jsonString, 0, str, err
	case c == '-' || c >= '0' && c <= '9':
		num, err = r.number()
		return jsonNumber, num, "", err
	case c == '[':
		return jsonOther, 0, "", r.array()
	case c == '{':
		return jsonOther, 0, "", r.object()
	case c == 't':
		return jsonOther, 0, "", r.literal("true")
	case c == 'f':
		return jsonOther, 0, "", r.literal("false")
	case c == 'n':
		return jsonOther, 0, "", r.literal("null")
	}
	return 0, 0, "", errJSONSyntax
}

func (r *jsonReader) literal(lit string) error {
	if len(r.s)-r.i < len(lit) || r.s[r.i:r.i+len(lit)] != lit {
		return errJSONSyntax
	}
	r.i += len(lit)
	if r.emit {
		r.out = append(r.out, lit...)
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *jsonReader) number() (float64, error) {
	start := r.i
	if r.s[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.s) && r.s[r.i] == '0':
		r.i++
	case r.i < len(r.s) && isDigit(r.s[r.i]):
		for r.i < len(r.s) && isDigit(r.s[r.i]) {
			r.i++
		}
	default:
		return 0, errJSONSyntax
	}
	if r.i < len(r.s) && r.s[r.i] == '.' {
		r.i++
		if r.i >= len(r.s) || !isDigit(r.s[r.i]) {
			return 0, errJSONSyntax
		}
		for r.i < len(r.s) && isDigit(r.s[r.i]) {
			r.i++
		}
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		r.i++
		if r.i < len(r.s) && (r.s[r.i] == '+' || r.s[r.i] == '-') {
			r.i++
		}
		if r.i >= len(r.s) || !isDigit(r.s[r.i]) {
			return 0, errJSONSyntax
		}
		for r.i < len(r.s) && isDigit(r.s[r.i]) {
			r.i++
		}
	}
	// The grammar is already checked; ParseFloat rounds correctly and
	// reports overflow as ±Inf, which is also what JSON.parse yields.
	f, err := strconv.ParseFloat(r.s[start:r.i], 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, errJSONSyntax
	}
	if r.emit {
		r.out = appendJSONNumber(r.out, f)
	}
	return f, nil
}

func hexVal(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

// hex4 reads the four hex digits of a \u escape starting at s[i].
func hex4(s string, i int) (rune, bool) {
	if len(s)-i < 4 {
		return 0, false
	}
	var v rune
	for j := range 4 {
		h, ok := hexVal(s[i+j])
		if !ok {
			return 0, false
		}
		v = v<<4 | h
	}
	return v, true
}

func isHighSurrogate(r rune) bool { return r >= 0xD800 && r <= 0xDBFF }
func isLowSurrogate(r rune) bool  { return r >= 0xDC00 && r <= 0xDFFF }

// str reads a string literal. The input must already be valid UTF-8.
// Working on local copies of the reader's fields keeps the per-character
// loop free of pointer writes; a string without escapes is returned as a
// substring of the input (Go strings are immutable, so that is safe).
func (r *jsonReader) str(decode bool) (string, error) {
	s, i := r.s, r.i+1
	emit := r.emit
	out := r.out
	if emit {
		out = append(out, '"')
	}
	var dec []byte
	escaped := false
	first := i
	for {
		start := i
		for i < len(s) {
			c := s[i]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			i++
		}
		if emit {
			out = append(out, s[start:i]...)
		}
		if decode && escaped {
			dec = append(dec, s[start:i]...)
		}
		if i >= len(s) || s[i] < 0x20 {
			r.i, r.out = i, out
			return "", errJSONSyntax // unterminated, or a raw control character
		}
		if s[i] == '"' {
			if emit {
				out = append(out, '"')
			}
			r.i, r.out = i+1, out
			switch {
			case !decode:
				return "", nil
			case !escaped:
				return s[first:i], nil
			}
			r.dec = dec
			return string(dec), nil
		}
		// Escape sequence.
		if decode && !escaped {
			escaped = true
			dec = r.dec[:0]
			if cap(dec) < len(s)-first {
				dec = make([]byte, 0, len(s)-first) // decoded text is never longer than the rest of the input
			}
			dec = append(dec, s[first:i]...)
		}
		if i+1 >= len(s) {
			r.i, r.out = i, out
			return "", errJSONSyntax
		}
		var cp rune
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			cp = rune(e)
		case 'b':
			cp = '\b'
		case 'f':
			cp = '\f'
		case 'n':
			cp = '\n'
		case 'r':
			cp = '\r'
		case 't':
			cp = '\t'
		case 'u':
			v, ok := hex4(s, i+2)
			if !ok {
				r.i, r.out = i, out
				return "", errJSONSyntax
			}
			cp = v
			if isHighSurrogate(v) && len(s)-i >= 12 && s[i+6] == '\\' && s[i+7] == 'u' {
				if lo, ok := hex4(s, i+8); ok && isLowSurrogate(lo) {
					cp = utf16Combine(v, lo)
					i += 6
				}
			}
			i += 4
		default:
			r.i, r.out = i, out
			return "", errJSONSyntax
		}
		i += 2
		if emit {
			out = appendCanonicalRune(out, cp)
		}
		if decode {
			if isHighSurrogate(cp) || isLowSurrogate(cp) {
				cp = utf8.RuneError // a Go string cannot hold a lone surrogate
			}
			dec = utf8.AppendRune(dec, cp)
		}
	}
}

func utf16Combine(hi, lo rune) rune { return (hi-0xD800)<<10 | (lo - 0xDC00) + 0x10000 }

// appendCanonicalRune writes one decoded character the way JSON.stringify
// writes it inside a string literal.
func appendCanonicalRune(dst []byte, cp rune) []byte {
	switch {
	case cp == '"':
		return append(dst, '\\', '"')
	case cp == '\\':
		return append(dst, '\\', '\\')
	case cp == '\b':
		return append(dst, '\\', 'b')
	case cp == '\f':
		return append(dst, '\\', 'f')
	case cp == '\n':
		return append(dst, '\\', 'n')
	case cp == '\r':
		return append(dst, '\\', 'r')
	case cp == '\t':
		return append(dst, '\\', 't')
	case cp < 0x20 || isHighSurrogate(cp) || isLowSurrogate(cp):
		return append(dst, '\\', 'u', hexLower[cp>>12&0xF], hexLower[cp>>8&0xF], hexLower[cp>>4&0xF], hexLower[cp&0xF])
	}
	return utf8.AppendRune(dst, cp)
}

func (r *jsonReader) enter() error {
	r.depth++
	if r.depth > maxJSONDepth {
		return errJSONDepth
	}
	return nil
}

func (r *jsonReader) array() error {
	if err := r.enter(); err != nil {
		return err
	}
	r.i++
	if r.emit {
		r.out = append(r.out, '[')
	}
	r.ws()
	if r.i < len(r.s) && r.s[r.i] == ']' {
		r.i++
		r.depth--
		if r.emit {
			r.out = append(r.out, ']')
		}
		return nil
	}
	for {
		if _, _, _, err := r.value(false); err != nil {
			return err
		}
		r.ws()
		if r.i >= len(r.s) {
			return errJSONSyntax
		}
		switch r.s[r.i] {
		case ',':
			r.i++
			if r.emit {
				r.out = append(r.out, ',')
			}
		case ']':
			r.i++
			r.depth--
			if r.emit {
				r.out = append(r.out, ']')
			}
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (r *jsonReader) object() error {
	if err := r.enter(); err != nil {
		return err
	}
	r.i++
	objStart := len(r.out)
	if r.emit {
		r.out = append(r.out, '{')
	}
	base := len(r.members)
	r.ws()
	if r.i < len(r.s) && r.s[r.i] == '}' {
		r.i++
		r.depth--
		if r.emit {
			r.out = append(r.out, '}')
		}
		return nil
	}
	for {
		r.ws()
		if r.i >= len(r.s) || r.s[r.i] != '"' {
			return errJSONSyntax
		}
		keyStart := len(r.out)
		if _, err := r.str(false); err != nil {
			return err
		}
		keyEnd := len(r.out)
		r.ws()
		if r.i >= len(r.s) || r.s[r.i] != ':' {
			return errJSONSyntax
		}
		r.i++
		if r.emit {
			r.out = append(r.out, ':')
		}
		if _, _, _, err := r.value(false); err != nil {
			return err
		}
		if r.emit {
			r.members = append(r.members, jsonMember{keyStart, keyEnd, len(r.out)})
		}
		r.ws()
		if r.i >= len(r.s) {
			return errJSONSyntax
		}
		switch r.s[r.i] {
		case ',':
			r.i++
			if r.emit {
				r.out = append(r.out, ',')
			}
		case '}':
			r.i++
			r.depth--
			if r.emit {
				r.reorder(objStart, base)
				r.members = r.members[:base]
				r.out = append(r.out, '}')
			}
			return nil
		default:
			return errJSONSyntax
		}
	}
}

// arrayIndexKey reports whether a canonical quoted key names an array
// index (a canonical decimal below 2^32-1), which JavaScript orders first.
func arrayIndexKey(q []byte) (uint64, bool) {
	k := q[1 : len(q)-1]
	if len(k) == 0 || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	var v uint64
	for _, c := range k {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v < math.MaxUint32
}

// reorder rewrites the members of the object that starts at out[objStart]
// into JavaScript property order. Canonical key bytes identify keys, since
// canonical escaping is one-to-one. Most objects need no change.
func (r *jsonReader) reorder(objStart, base int) {
	ms := r.members[base:]
	if !r.needsReorder(ms) {
		return
	}
	// seen maps a key to its slot; a map keeps hostile objects with many
	// members linear.
	seen := make(map[string]int, len(ms))
	type slot struct {
		key      []byte
		val      []byte // value bytes, without the ':'
		idx      uint64
		isIndex  bool
		position int
	}
	slots := make([]slot, 0, len(ms))
	for _, m := range ms {
		key := r.out[m.keyStart:m.keyEnd]
		val := r.out[m.keyEnd+1 : m.valEnd]
		if j, dup := seen[string(key)]; dup {
			slots[j].val = val // last value wins, first position stays
			continue
		}
		seen[string(key)] = len(slots)
		idx, isIndex := arrayIndexKey(key)
		slots = append(slots, slot{key: key, val: val, idx: idx, isIndex: isIndex, position: len(slots)})
	}
	slices.SortStableFunc(slots, func(a, b slot) int {
		switch {
		case a.isIndex && b.isIndex:
			return cmp.Compare(a.idx, b.idx)
		case a.isIndex:
			return -1
		case b.isIndex:
			return 1
		}
		return a.position - b.position
	})
	buf := make([]byte, 0, len(r.out)-objStart)
	for i, s := range slots {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, s.key...)
		buf = append(buf, ':')
		buf = append(buf, s.val...)
	}
	r.out = append(r.out[:objStart+1], buf...)
}

// needsReorder reports whether an object has an array-index key or a
// repeated key. Small objects (the usual case) are checked without
// allocating.
func (r *jsonReader) needsReorder(ms []jsonMember) bool {
	for _, m := range ms {
		if _, ok := arrayIndexKey(r.out[m.keyStart:m.keyEnd]); ok {
			return true
		}
	}
	if len(ms) <= 16 {
		for i, m := range ms {
			for _, p := range ms[:i] {
				if string(r.out[p.keyStart:p.keyEnd]) == string(r.out[m.keyStart:m.keyEnd]) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(ms))
	for _, m := range ms {
		k := string(r.out[m.keyStart:m.keyEnd])
		if _, dup := seen[k]; dup {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}
