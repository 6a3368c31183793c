package replica

import "github.com/kyneta-go/kyneta/internal/jsjson"

// ParseValue parses JSON text into the value model. It follows JSON.parse:
// duplicate keys keep the last value (at the first key's position), numbers
// become float64 (out-of-range magnitudes become ±Inf, which encode as
// null). Lone UTF-16 surrogates in escapes become U+FFFD, which keeps
// UTF-16 lengths unchanged, and invalid UTF-8 is repaired as TextDecoder
// repairs it (one U+FFFD per maximal ill-formed sequence). Arrays and
// objects nest at most 512 levels. Errors carry reason "malformed-payload".
func ParseValue(data []byte) (any, error) {
	v, err := jsjson.Parse(data, &parseOptions)
	if err != nil {
		return nil, newError(reasonMalformed, err.Error(), nil)
	}
	return v, nil
}

var parseOptions = jsjson.Options{
	MaxDepth: maxDepth,
	KeyOrder: jsjson.PropertyOrder,
	Object:   parsedObject,
	// The keys and values every op payload repeats: interned, they cost no
	// allocation.
	Intern: jsjson.InternTable("type", "path", "change", "field", "entry", "index", "value", "replace",
		"instructions", "retain", "insert", "delete", "text", "sequence", "map", "set", "increment",
		"amount", "marks"),
}

// parsedObject builds an Object from members already in property order
// with distinct keys.
func parsedObject(keys []string, vals []any) any {
	o := &Object{m: make([]member, len(keys))}
	for i, k := range keys {
		o.m[i] = member{k: k, v: vals[i]}
	}
	o.reindex(0)
	return o
}

// parser reads a single JSON number for parseTimestamp, which accepts
// exactly JSON's number grammar.
type parser struct {
	data []byte
	pos  int
}

func (p *parser) number() (any, error) {
	f, end, err := jsjson.Number(p.data, p.pos)
	if err != nil {
		return nil, err
	}
	p.pos = end
	return f, nil
}
