package wirecore

import (
	"errors"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// This file is the JSON reader of the text frame decoder. The reference
// decodes a frame with JSON.parse and re-serializes a complete frame's
// payload with JSON.stringify; the reader validates exactly the grammar
// JSON.parse accepts and, while emit is set, writes the canonical form
// JSON.stringify would produce: no whitespace, numbers in JavaScript's
// shortest form, strings re-escaped with lone surrogates kept as \udxxx,
// and object members in JavaScript property order (array-index keys
// ascending first, then the rest in first-insertion order, a repeated key
// keeping its first position and its last value). It works in one pass:
// values are written to out as they are read, never built, and an object is
// reordered inside out when it closes. Tokens, escapes, number formatting
// and member order come from internal/jsjson, whose package doc explains
// why this reader is not a jsjson.Parse call.

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
// JSON.parse has an engine-dependent limit too; messages are shallow.
const maxJSONDepth = 1000

// errJSONSyntax is the frame decoder's error for a frame whose top level is
// not one JSON value; errors inside values are *jsjson.SyntaxError.
var errJSONSyntax = errors.New("invalid JSON")

type jsonMember struct {
	keyStart, keyEnd, valEnd int // offsets into out: "key" is out[keyStart:keyEnd], value follows a ':'
}

type jsonReader struct {
	s       string // valid UTF-8
	i       int
	depth   int
	emit    bool // write the canonical form to out
	out     []byte
	members []jsonMember // scratch stack shared by nested objects
	keys    [][]byte     // scratch for one object's keys while it closes
	strs    jsjson.StringReader
}

func (r *jsonReader) ws() { r.i = jsjson.SkipSpace(r.s, r.i) }

func (r *jsonReader) fail(msg string) error { return &jsjson.SyntaxError{Offset: r.i, Msg: msg} }

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
		return 0, 0, "", r.fail("unexpected end of JSON input")
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
	return 0, 0, "", r.fail("unexpected character")
}

func (r *jsonReader) literal(lit string) (err error) {
	if r.i, err = jsjson.Literal(r.s, r.i, lit); err == nil && r.emit {
		r.out = append(r.out, lit...)
	}
	return err
}

func (r *jsonReader) number() (f float64, err error) {
	if f, r.i, err = jsjson.Number(r.s, r.i); err == nil && r.emit {
		r.out = jsjson.AppendNumber(r.out, f)
	}
	return f, err
}

// str reads a string literal. A string without escapes is returned as a
// substring of the input (Go strings are immutable, so that is safe).
func (r *jsonReader) str(decode bool) (string, error) {
	start := r.i + 1
	r.strs.Out, r.strs.Emit = r.out, r.emit
	end, escaped, err := jsjson.ReadString(&r.strs, r.s, r.i, decode)
	r.out, r.strs.Out = r.strs.Out, nil
	if err != nil {
		return "", err
	}
	r.i = end
	switch {
	case !decode:
		return "", nil
	case !escaped:
		return r.s[start : end-1], nil
	}
	return string(r.strs.Decoded()), nil
}

// open enters an array or object: it checks the depth and writes the
// opening bracket. It reports whether members follow; an empty one is
// closed at once, but its closing bracket is left to the caller.
func (r *jsonReader) open(c, closing byte) (more bool, err error) {
	if r.depth >= maxJSONDepth {
		return false, r.fail("JSON nested too deeply")
	}
	r.i++
	if r.emit {
		r.out = append(r.out, c)
	}
	if r.ws(); r.i < len(r.s) && r.s[r.i] == closing {
		r.i++
		return false, nil
	}
	r.depth++
	return true, nil
}

// next reads what follows an element or member: a comma, which it writes,
// or the closing bracket, which the caller writes.
func (r *jsonReader) next(closing byte) (more bool, err error) {
	if r.ws(); r.i >= len(r.s) {
		return false, r.fail("unexpected end of JSON input")
	}
	switch r.s[r.i] {
	case ',':
		r.i++
		if r.emit {
			r.out = append(r.out, ',')
		}
		return true, nil
	case closing:
		r.i++
		r.depth--
		return false, nil
	}
	return false, r.fail("expected ',' or '" + string(closing) + "'")
}

func (r *jsonReader) array() error {
	more, err := r.open('[', ']')
	if err != nil {
		return err
	}
	for more {
		if _, _, _, err = r.value(false); err != nil {
			return err
		}
		if more, err = r.next(']'); err != nil {
			return err
		}
	}
	if r.emit {
		r.out = append(r.out, ']')
	}
	return nil
}

func (r *jsonReader) object() error {
	objStart := len(r.out)
	more, err := r.open('{', '}')
	if err != nil {
		return err
	}
	base := len(r.members)
	for more {
		if r.ws(); r.i >= len(r.s) || r.s[r.i] != '"' {
			return r.fail("expected property name")
		}
		keyStart := len(r.out)
		if _, err = r.str(false); err != nil {
			return err
		}
		keyEnd := len(r.out)
		if r.ws(); r.i >= len(r.s) || r.s[r.i] != ':' {
			return r.fail("expected ':' after property name")
		}
		r.i++
		if r.emit {
			r.out = append(r.out, ':')
		}
		if _, _, _, err = r.value(false); err != nil {
			return err
		}
		if r.emit {
			r.members = append(r.members, jsonMember{keyStart, keyEnd, len(r.out)})
		}
		if more, err = r.next('}'); err != nil {
			return err
		}
	}
	if r.emit {
		r.reorder(objStart, base)
		r.members = r.members[:base]
		r.out = append(r.out, '}')
	}
	return nil
}

// reorder rewrites the members of the object that starts at out[objStart]
// into JavaScript property order. The canonical bytes between a key's
// quotes identify the key, since canonical escaping is one-to-one. Most
// objects need no change, which jsjson.Order finds without allocating.
func (r *jsonReader) reorder(objStart, base int) {
	ms := r.members[base:]
	keys := r.keys[:0]
	for _, m := range ms {
		keys = append(keys, r.out[m.keyStart+1:m.keyEnd-1])
	}
	slots := jsjson.Order(keys, jsjson.PropertyOrder)
	clear(keys)
	r.keys = keys[:0]
	if slots == nil {
		return
	}
	buf := make([]byte, 0, len(r.out)-objStart)
	for i, s := range slots {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, v := ms[s.Key], ms[s.Value]
		buf = append(buf, r.out[k.keyStart:k.keyEnd]...)
		buf = append(buf, r.out[v.keyEnd:v.valEnd]...) // ':' and the value
	}
	r.out = append(r.out[:objStart+1], buf...)
}
