package jsjson

import (
	"sync"
	"unsafe"
)

// DefaultMaxDepth is the nesting limit [Parse] applies when
// Options.MaxDepth is zero.
const DefaultMaxDepth = 1000

// Options configure [Parse]. The zero value parses into nil, bool, float64,
// string, []any and []Member, with keys in insertion order.
type Options struct {
	// MaxDepth is how deep arrays and objects may nest ("[[]]" is two
	// levels); deeper input is a SyntaxError rather than a risk to the
	// stack. Zero means DefaultMaxDepth.
	MaxDepth int
	// KeyOrder is the order of the members handed to Object.
	KeyOrder KeyOrder
	// Intern maps texts to the boxed string that stands for them, so that
	// frequent keys and values cost no allocation; build it with
	// [InternTable]. Texts longer than 64 bytes are not looked up.
	Intern map[string]any
	// Number builds a number value; nil keeps the float64.
	Number func(f float64) any
	// Object builds an object from its distinct keys and their values,
	// already in KeyOrder. The slices belong to the parser and are only
	// valid during the call. Nil builds a []Member.
	Object func(keys []string, values []any) any
	// Share, when positive, lets a string value of at least Share bytes
	// without escapes share the memory of a []byte text instead of being
	// copied; the caller then must never modify the text. Keys are always
	// copied or interned.
	Share int
}

var zeroOptions Options

// Member is one member of an object in the default representation.
type Member struct {
	Key   string
	Value any
}

// InternTable returns an Options.Intern table for words.
func InternTable(words ...string) map[string]any {
	m := make(map[string]any, len(words))
	for _, w := range words {
		m[w] = w
	}
	return m
}

// Parse parses a JSON text as JSON.parse does and builds the value with the
// hooks in o (nil means the zero Options). Numbers are float64 before
// Options.Number sees them; strings are decoded, with a lone surrogate
// escape becoming U+FFFD since a Go string cannot hold it. Invalid UTF-8 in
// text is first repaired as TextDecoder repairs it ([AppendWellFormed]),
// which is how a JavaScript peer would have read the same bytes; offsets in
// errors refer to the repaired text. Strings taken from a string text may
// share its memory; from a []byte text they are copies. Errors are
// *SyntaxError.
func Parse[T Text](text T, o *Options) (any, error) {
	p := newParser(text, o)
	if !valid(text) {
		p.s = T(AppendWellFormed(make([]byte, 0, len(text)+8), text))
	}
	// Keys taken from bytes must be copied unless interned; keys taken from
	// a string are free substrings.
	_, p.copyKeys = any(text).([]byte)
	sc := p.takeScratch()
	p.i = SkipSpace(p.s, 0)
	v, err := p.value()
	if p.i = SkipSpace(p.s, p.i); err == nil && p.i != len(p.s) {
		err = p.fail("unexpected data after JSON value")
	}
	p.returnScratch(sc)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// ParseAt parses the one JSON value that starts at text[i], after optional
// white space, for a decoder that reads the text around it itself: depth
// is how many arrays and objects enclose the value, counted against
// Options.MaxDepth as [Parse] would count them. It returns the value and
// the offset just past it. Unlike Parse it does not repair text: text must
// be valid UTF-8 ([ValidUTF8]). Errors are *SyntaxError with offsets into
// text.
func ParseAt(text []byte, i, depth int, o *Options) (v any, end int, err error) {
	p := newParser(text, o)
	p.depth, p.copyKeys = depth, true
	sc := p.takeScratch()
	p.i = SkipSpace(text, i)
	v, err = p.value()
	p.returnScratch(sc)
	if err != nil {
		return nil, 0, err
	}
	return v, p.i, nil
}

// newParser returns a parser of text with o's limits (nil: the zero
// Options).
func newParser[T Text](text T, o *Options) parser[T] {
	if o == nil {
		o = &zeroOptions
	}
	p := parser[T]{s: text, o: o, maxDepth: o.MaxDepth}
	p.strs.MaxReserve = 4 << 10 // most strings are short; the pool keeps the buffer
	if p.maxDepth == 0 {
		p.maxDepth = DefaultMaxDepth
	}
	return p
}

// parser is a recursive-descent parser. Open containers keep their members
// on shared stacks, so each finished array or object is allocated once at
// its final size.
type parser[T Text] struct {
	s        T
	i        int
	depth    int
	maxDepth int
	copyKeys bool
	o        *Options
	keys     []string // keys of the open objects
	vals     []any    // values of the open arrays and objects
	oKeys    []string // an object's members after Order
	oVals    []any
	strs     StringReader
}

// scratch is a parser's reusable memory. Pooling it makes the stacks free
// after warm-up, so a parse allocates little beyond the values it returns.
type scratch struct {
	keys, oKeys []string
	vals, oVals []any
	dec         []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooled bounds the scratch kept for reuse, so that one huge input does
// not pin its memory.
const maxPooled = 4096

func (p *parser[T]) takeScratch() *scratch {
	sc := scratchPool.Get().(*scratch)
	p.keys, p.oKeys, p.vals, p.oVals, p.strs.dec = sc.keys, sc.oKeys, sc.vals, sc.oVals, sc.dec
	return sc
}

func (p *parser[T]) returnScratch(sc *scratch) {
	if cap(p.keys) > maxPooled || cap(p.oKeys) > maxPooled || cap(p.vals) > maxPooled || cap(p.oVals) > maxPooled || cap(p.strs.dec) > 16*maxPooled {
		return
	}
	// Drop the references to parsed values and input, then recycle.
	clear(p.keys[:cap(p.keys)])
	clear(p.oKeys[:cap(p.oKeys)])
	clear(p.vals[:cap(p.vals)])
	clear(p.oVals[:cap(p.oVals)])
	sc.keys, sc.oKeys, sc.vals, sc.oVals, sc.dec = p.keys[:0], p.oKeys[:0], p.vals[:0], p.oVals[:0], p.strs.dec[:0]
	scratchPool.Put(sc)
}

const msgDepth = "JSON nested too deeply"

func (p *parser[T]) fail(msg string) error { return syntaxError(p.i, msg) }

func (p *parser[T]) value() (any, error) {
	if p.i >= len(p.s) {
		return nil, p.fail("unexpected end of JSON input")
	}
	var err error
	switch c := p.s[p.i]; {
	case c == '"':
		return p.str()
	case c == '-' || isDigit(c):
		var f float64
		if f, p.i, err = Number(p.s, p.i); err != nil {
			return nil, err
		}
		if p.o.Number != nil {
			return p.o.Number(f), nil
		}
		return f, nil
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == 't':
		p.i, err = Literal(p.s, p.i, "true")
		return true, err
	case c == 'f':
		p.i, err = Literal(p.s, p.i, "false")
		return false, err
	case c == 'n':
		p.i, err = Literal(p.s, p.i, "null")
		return nil, err
	}
	return nil, p.fail("unexpected character")
}

// literal reads a string literal and returns its text as raw input (when
// it has no escapes) or as decoded bytes.
func (p *parser[T]) literal() (raw T, dec []byte, escaped bool, err error) {
	start := p.i + 1
	end, escaped, err := ReadString(&p.strs, p.s, p.i, true)
	if err != nil {
		return raw, nil, false, err
	}
	p.i = end
	if escaped {
		return raw, p.strs.Decoded(), true, nil
	}
	return p.s[start : end-1], nil, false, nil
}

// maxIntern is the longest text looked up in Options.Intern: interned
// words are short, and hashing a large string value for the lookup was
// one more pass over it.
const maxIntern = 64

// str reads a string value, boxed, or interned when it is in Options.Intern.
func (p *parser[T]) str() (any, error) {
	raw, dec, escaped, err := p.literal()
	if err != nil {
		return nil, err
	}
	if escaped {
		if len(dec) <= maxIntern {
			if v, ok := p.o.Intern[string(dec)]; ok {
				return v, nil
			}
		}
		return string(dec), nil
	}
	if len(raw) <= maxIntern {
		if v, ok := p.o.Intern[string(raw)]; ok {
			return v, nil
		}
	}
	if p.o.Share > 0 && len(raw) >= p.o.Share {
		return shared(raw), nil
	}
	return string(raw), nil
}

// shared returns the text of s without copying it; see Options.Share.
func shared[T Text](s T) string {
	switch v := any(s).(type) {
	case []byte:
		return unsafe.String(unsafe.SliceData(v), len(v))
	case string:
		return v
	}
	panic("unreachable")
}

// key reads an object key.
func (p *parser[T]) key() (string, error) {
	raw, dec, escaped, err := p.literal()
	if err != nil {
		return "", err
	}
	if escaped {
		return string(dec), nil
	}
	if p.copyKeys && len(raw) <= maxIntern {
		if v, ok := p.o.Intern[string(raw)]; ok {
			return v.(string), nil
		}
	}
	return string(raw), nil
}

// enter opens the array or object at p.i. It reports whether members
// follow; an empty one is closed at once.
func (p *parser[T]) enter(closing byte) (more bool, err error) {
	if p.depth >= p.maxDepth {
		return false, p.fail(msgDepth)
	}
	if p.i = SkipSpace(p.s, p.i+1); p.i < len(p.s) && p.s[p.i] == closing {
		p.i++
		return false, nil
	}
	p.depth++
	return true, nil
}

// next reads what follows an element or member: a comma (more follow) or
// the closing bracket.
func (p *parser[T]) next(closing byte) (more bool, err error) {
	if p.i = SkipSpace(p.s, p.i); p.i >= len(p.s) {
		return false, p.fail("unexpected end of JSON input")
	}
	switch p.s[p.i] {
	case ',':
		p.i = SkipSpace(p.s, p.i+1)
		return true, nil
	case closing:
		p.i++
		p.depth--
		return false, nil
	}
	return false, p.fail("expected ',' or '" + string(closing) + "'")
}

func (p *parser[T]) array() (any, error) {
	more, err := p.enter(']')
	if err != nil {
		return nil, err
	}
	base := len(p.vals)
	for more {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.vals = append(p.vals, v)
		if more, err = p.next(']'); err != nil {
			return nil, err
		}
	}
	arr := make([]any, len(p.vals)-base)
	copy(arr, p.vals[base:])
	p.vals = p.vals[:base]
	return arr, nil
}

func (p *parser[T]) object() (any, error) {
	more, err := p.enter('}')
	if err != nil {
		return nil, err
	}
	kBase, vBase := len(p.keys), len(p.vals)
	for more {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.fail("expected property name")
		}
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		if p.i = SkipSpace(p.s, p.i); p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.fail("expected ':' after property name")
		}
		p.i = SkipSpace(p.s, p.i+1)
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.keys = append(p.keys, k)
		p.vals = append(p.vals, v)
		if more, err = p.next('}'); err != nil {
			return nil, err
		}
	}
	keys, vals := p.keys[kBase:], p.vals[vBase:]
	if slots := Order(keys, p.o.KeyOrder); slots != nil {
		p.oKeys, p.oVals = p.oKeys[:0], p.oVals[:0]
		for _, s := range slots {
			p.oKeys = append(p.oKeys, keys[s.Key])
			p.oVals = append(p.oVals, vals[s.Value])
		}
		keys, vals = p.oKeys, p.oVals
	}
	var obj any
	if p.o.Object != nil {
		obj = p.o.Object(keys, vals)
	} else {
		ms := make([]Member, len(keys))
		for i, k := range keys {
			ms[i] = Member{Key: k, Value: vals[i]}
		}
		obj = ms
	}
	p.keys, p.vals = p.keys[:kBase], p.vals[:vBase]
	return obj, nil
}
