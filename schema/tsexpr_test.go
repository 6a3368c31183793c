package schema

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every vector also carries the TypeScript expression that made it
// (`json.bind(Schema.struct({...}))`). Building the same schema from that
// expression with this package's Go constructors, instead of from the
// neutral JSON form, checks the constructors against the reference
// independently of ParseJSON.
func TestVectorsFromTSExpression(t *testing.T) {
	var raw []struct {
		Name       string `json:"name"`
		TS         string `json:"ts"`
		SchemaHash string `json:"schemaHash"`
		ZeroJSON   string `json:"zeroJson"`
		ZeroQuirk  bool   `json:"zeroQuirk"`
		Binding    string `json:"binding"`
	}
	data := vectorBytes(t)
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, c := range raw {
		t.Run(c.Name, func(t *testing.T) {
			p := &tsParser{src: c.TS}
			v, err := p.parse()
			if err != nil {
				t.Fatalf("%s: %v", c.TS, err)
			}
			bound, ok := v.(boundExpr)
			if !ok {
				t.Fatalf("%s: not a .bind() call", c.TS)
			}
			if string(bound.binding) != c.Binding {
				t.Errorf("binding %s, want %s", bound.binding, c.Binding)
			}
			b, err := Bind(bound.binding, bound.schema)
			if err != nil {
				t.Fatalf("Bind: %v", err)
			}
			if b.Hash() != c.SchemaHash {
				t.Errorf("hash %s, want %s", b.Hash(), c.SchemaHash)
			}
			if !c.ZeroQuirk && string(b.ZeroJSON()) != c.ZeroJSON {
				t.Errorf("zero %s, want %s", b.ZeroJSON(), c.ZeroJSON)
			}
		})
	}
}

type boundExpr struct {
	binding Binding
	schema  *Schema
}

// tsParser evaluates the small subset of TypeScript the vectors' "ts"
// field uses: calls on Schema.*, .nullable(), .decay(n), <target>.bind(),
// object literals (quoted, bare or ["computed"] keys), arrays, strings,
// numbers and booleans.
type tsParser struct {
	src string
	i   int
}

func (p *tsParser) parse() (any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.skip(); p.i != len(p.src) {
		return nil, p.errf("trailing input")
	}
	return v, nil
}

func (p *tsParser) errf(format string, args ...any) error {
	return fmt.Errorf("at %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *tsParser) skip() {
	for p.i < len(p.src) && strings.ContainsRune(" \n\t", rune(p.src[p.i])) {
		p.i++
	}
}

func (p *tsParser) eat(c byte) bool {
	if p.skip(); p.i < len(p.src) && p.src[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *tsParser) ident() string {
	p.skip()
	start := p.i
	for p.i < len(p.src) {
		c := p.src[p.i]
		if c == '_' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || p.i > start && '0' <= c && c <= '9' {
			p.i++
			continue
		}
		break
	}
	return p.src[start:p.i]
}

func (p *tsParser) str() (string, error) {
	p.skip()
	start := p.i
	p.i++ // opening quote
	for p.i < len(p.src) && p.src[p.i] != '"' {
		if p.src[p.i] == '\\' {
			p.i++
		}
		p.i++
	}
	p.i++
	var s string
	err := json.Unmarshal([]byte(p.src[start:p.i]), &s)
	return s, err
}

func (p *tsParser) list(end byte) ([]any, error) {
	var out []any
	if p.eat(end) {
		return out, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.eat(end) {
			return out, nil
		}
		if !p.eat(',') {
			return nil, p.errf("want , or %c", end)
		}
	}
}

type member struct {
	key string
	val any
}

func (p *tsParser) object() ([]member, error) {
	var out []member
	if p.eat('}') {
		return out, nil
	}
	for {
		var key string
		var err error
		p.skip()
		switch {
		case p.eat('['):
			key, err = p.str()
			if err == nil && !p.eat(']') {
				err = p.errf("want ]")
			}
		case p.src[p.i] == '"':
			key, err = p.str()
		default:
			key = p.ident()
		}
		if err != nil {
			return nil, err
		}
		if !p.eat(':') {
			return nil, p.errf("want :")
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, member{key, v})
		if p.eat('}') {
			return out, nil
		}
		if !p.eat(',') {
			return nil, p.errf("want , or }")
		}
	}
}

func (p *tsParser) value() (any, error) {
	p.skip()
	if p.i >= len(p.src) {
		return nil, p.errf("unexpected end")
	}
	switch c := p.src[p.i]; {
	case c == '"':
		return p.str()
	case c == '{':
		p.i++
		return p.object()
	case c == '[':
		p.i++
		return p.list(']')
	case c == '-' || '0' <= c && c <= '9':
		start := p.i
		for p.i < len(p.src) && strings.ContainsRune("-+.eE0123456789", rune(p.src[p.i])) {
			p.i++
		}
		return strconv.ParseFloat(p.src[start:p.i], 64)
	}
	name := p.ident()
	switch name {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if !p.eat('(') {
		return nil, p.errf("want ( after %s", name)
	}
	args, err := p.list(')')
	if err != nil {
		return nil, err
	}
	v, err := call(name, args)
	if err != nil {
		return nil, err
	}
	for p.eat('.') {
		m := p.ident()
		if !p.eat('(') {
			return nil, p.errf("want ( after .%s", m)
		}
		margs, err := p.list(')')
		if err != nil {
			return nil, err
		}
		s, ok := v.(*Schema)
		if !ok {
			return nil, p.errf(".%s on a non-schema", m)
		}
		switch {
		case m == "nullable" && len(margs) == 0:
			v = s.Nullable()
		case m == "decay" && len(margs) == 1:
			v = s.Decay(time.Duration(margs[0].(float64) * float64(time.Millisecond)))
		default:
			return nil, p.errf("unknown method .%s", m)
		}
	}
	return v, nil
}

func call(name string, args []any) (any, error) {
	schemas := func() []*Schema {
		out := make([]*Schema, len(args))
		for i, a := range args {
			out[i], _ = a.(*Schema)
		}
		return out
	}
	one := func() *Schema { s, _ := args[0].(*Schema); return s }
	fields := func(a any) []Field {
		ms, _ := a.([]member)
		out := make([]Field, len(ms))
		for i, m := range ms {
			s, _ := m.val.(*Schema)
			out[i] = F(m.key, s)
		}
		return out
	}
	if target, ok := strings.CutSuffix(name, ".bind"); ok {
		return boundExpr{binding: Binding(target), schema: one()}, nil
	}
	switch name {
	case "Schema.string":
		var opts []string
		for _, a := range args {
			opts = append(opts, a.(string))
		}
		return String(opts...), nil
	case "Schema.number":
		var opts []float64
		for _, a := range args {
			opts = append(opts, a.(float64))
		}
		return Number(opts...), nil
	case "Schema.boolean":
		var opts []bool
		for _, a := range args {
			opts = append(opts, a.(bool))
		}
		return Boolean(opts...), nil
	case "Schema.null":
		return Null(), nil
	case "Schema.undefined":
		return Undefined(), nil
	case "Schema.bytes":
		return Bytes(), nil
	case "Schema.any":
		return Any(), nil
	case "Schema.text":
		return Text(), nil
	case "Schema.counter":
		return Counter(), nil
	case "Schema.struct":
		return Struct(fields(args[0])...), nil
	case "Schema.struct.json":
		return StructJSON(fields(args[0])...), nil
	case "Schema.list":
		return List(one()), nil
	case "Schema.list.json":
		return ListJSON(one()), nil
	case "Schema.record":
		return Record(one()), nil
	case "Schema.record.json":
		return RecordJSON(one()), nil
	case "Schema.set":
		return Set(one()), nil
	case "Schema.tree":
		return Tree(one()), nil
	case "Schema.movableList":
		return MovableList(one()), nil
	case "Schema.union":
		return Union(schemas()...), nil
	case "Schema.discriminatedUnion":
		vs, _ := args[1].([]any)
		variants := make([]*Schema, len(vs))
		for i, v := range vs {
			variants[i], _ = v.(*Schema)
		}
		return DiscriminatedUnion(args[0].(string), variants...), nil
	case "Schema.richText":
		ms, _ := args[0].([]member)
		marks := make([]Mark, len(ms))
		for i, m := range ms {
			cfg, _ := m.val.([]member)
			if len(cfg) != 1 || cfg[0].key != "expand" {
				return nil, fmt.Errorf("mark %q: want {expand: ...}", m.key)
			}
			marks[i] = Mark{Name: m.key, Expand: Expand(cfg[0].val.(string))}
		}
		return RichText(marks...), nil
	}
	return nil, fmt.Errorf("unknown call %s", name)
}
