package replica

import (
	"math"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// decodeOps reads a since payload in the shape the writers produce (see
// appendOp) straight into ops: only each change's object is built as a
// generic value, since a Change keeps it. Anything outside that shape
// (invalid UTF-8, an unknown, escaped or repeated member name, a path or
// change the generic reading would refuse) returns ok false, and the
// caller reads the payload the generic way, which gives the same result
// or the error. So this is only ever a faster route to what
// parseOpsGeneric returns.
func decodeOps(data []byte, o *jsjson.Options) (batches [][]Op, ok bool) {
	if !jsjson.ValidUTF8(data) {
		return nil, false
	}
	d := opsDecoder{s: data, o: o}
	batches, ok = d.payload()
	if ok && jsjson.SkipSpace(data, d.i) != len(data) {
		return nil, false
	}
	return batches, ok
}

type opsDecoder struct {
	s    []byte
	i    int
	o    *jsjson.Options
	strs jsjson.StringReader
	ops  []Op // the open batch's ops, copied out at its end
	path Path // the open op's path, copied out at its end
}

// at skips white space and reports whether the next byte is c, consuming
// it if so.
func (d *opsDecoder) at(c byte) bool {
	d.i = jsjson.SkipSpace(d.s, d.i)
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// list reads the members of an array whose '[' was consumed, calling item
// for each; depth checks are unneeded at the envelope's fixed depths.
func (d *opsDecoder) list(item func() bool) bool {
	if d.at(']') {
		return true
	}
	for {
		if !item() {
			return false
		}
		if d.at(']') {
			return true
		}
		if !d.at(',') {
			return false
		}
	}
}

func (d *opsDecoder) payload() ([][]Op, bool) {
	if !d.at('[') {
		return nil, false
	}
	batches := [][]Op{}
	ok := d.list(func() bool {
		if !d.at('[') {
			return false
		}
		d.ops = d.ops[:0]
		if !d.list(d.op) {
			return false
		}
		batches = append(batches, append(make([]Op, 0, len(d.ops)), d.ops...))
		return true
	})
	return batches, ok
}

// str reads a string literal: its raw text when it has no escapes,
// otherwise (decode set) its decoded text, valid until the next literal.
// A syntax error, or escapes with decode off, is ok false.
func (d *opsDecoder) str(decode bool) (text []byte, ok bool) {
	d.i = jsjson.SkipSpace(d.s, d.i)
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	end, escaped, err := jsjson.ReadString(&d.strs, d.s, d.i, decode)
	if err != nil || (escaped && !decode) {
		return nil, false
	}
	d.i = end
	if escaped {
		return d.strs.Decoded(), true
	}
	return d.s[start : end-1], true
}

// word returns the format's word t spells (a member name or a segment
// type), without allocating.
func word(t []byte) (string, bool) {
	switch string(t) {
	case "path":
		return "path", true
	case "change":
		return "change", true
	case "type":
		return "type", true
	case "field":
		return "field", true
	case "entry":
		return "entry", true
	case "index":
		return "index", true
	}
	return "", false
}

// name reads a member name, which must be one of the format's words
// written without escapes, and its colon.
func (d *opsDecoder) name() (string, bool) {
	t, ok := d.str(false)
	if !ok || !d.at(':') {
		return "", false
	}
	return word(t)
}

// members reads an object whose '{' was consumed, handing each member's
// name to member, which reads its value.
func (d *opsDecoder) members(member func(name string) bool) bool {
	if d.at('}') {
		return true
	}
	for {
		n, ok := d.name()
		if !ok || !member(n) {
			return false
		}
		if d.at('}') {
			return true
		}
		if !d.at(',') {
			return false
		}
	}
}

func (d *opsDecoder) op() bool {
	if !d.at('{') {
		return false
	}
	var change Change
	havePath, haveChange := false, false
	d.path = d.path[:0]
	ok := d.members(func(name string) bool {
		switch {
		case name == "path" && !havePath:
			havePath = true
			return d.at('[') && d.list(d.segment)
		case name == "change" && !haveChange:
			haveChange = true
			d.i = jsjson.SkipSpace(d.s, d.i)
			if d.i >= len(d.s) || d.s[d.i] != '{' {
				return false
			}
			// Inside the payload, a batch and the op, as Parse counts.
			v, end, err := jsjson.ParseAt(d.s, d.i, 3, d.o)
			if err != nil {
				return false
			}
			d.i = end
			obj, ok := v.(*Object)
			if !ok {
				return false
			}
			c, err := newChange(obj)
			if err != nil {
				return false
			}
			change = c
			return true
		}
		return false
	})
	if !ok || !havePath || !haveChange {
		return false
	}
	d.ops = append(d.ops, Op{Path: append(make(Path, 0, len(d.path)), d.path...), Change: change})
	return true
}

// segment reads {"type":T,T:value} with its two members in either order.
func (d *opsDecoder) segment() bool {
	if !d.at('{') {
		return false
	}
	var typ, keyName, key string
	index := -1.0
	haveKey := false
	ok := d.members(func(name string) bool {
		switch {
		case name == "type" && typ == "":
			t, ok := d.segmentType()
			if !ok || (t != "field" && t != "entry" && t != "index") {
				return false
			}
			typ = t
			return true
		case (name == "field" || name == "entry") && !haveKey:
			k, ok := d.keyString()
			haveKey, keyName, key = true, name, k
			return ok
		case name == "index" && !haveKey:
			if d.i = jsjson.SkipSpace(d.s, d.i); d.i >= len(d.s) || (d.s[d.i] != '-' && (d.s[d.i] < '0' || d.s[d.i] > '9')) {
				return false
			}
			f, end, err := jsjson.Number(d.s, d.i)
			if err != nil {
				return false
			}
			d.i = end
			haveKey, keyName, index = true, name, f
			return true
		}
		return false
	})
	if !ok || !haveKey || keyName != typ {
		return false
	}
	switch typ {
	case "field":
		d.path = append(d.path, Segment{Kind: SegField, Key: key})
	case "entry":
		d.path = append(d.path, Segment{Kind: SegEntry, Key: key})
	default:
		if index < 0 || index != math.Trunc(index) || index > maxSafeInteger {
			return false
		}
		d.path = append(d.path, Segment{Kind: SegIndex, Index: int(index)})
	}
	return true
}

// segmentType reads a segment's type, a word written without escapes.
func (d *opsDecoder) segmentType() (string, bool) {
	t, ok := d.str(false)
	if !ok {
		return "", false
	}
	return word(t)
}

// keyString reads a path key, decoding escapes.
func (d *opsDecoder) keyString() (string, bool) {
	t, ok := d.str(true)
	return string(t), ok
}
