package replica

import (
	"math"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// Serialized ops, as the reference writes them in since payloads:
//
//	[ batch, ... ]            one batch per flush (local transaction or
//	                          merged batch)
//	batch = [ op, ... ]
//	op    = {"path":[seg,...],"change":{"type":...,...}}
//	seg   = {"type":"field","field":"k"} | {"type":"entry","entry":"k"}
//	      | {"type":"index","index":0}

// appendOp appends one op's JSON; sp, if not nil, may split it (see
// splitter).
func appendOp(b []byte, op Op, sp *splitter) []byte {
	b = append(b, `{"path":[`...)
	for i, seg := range op.Path {
		if i > 0 {
			b = append(b, ',')
		}
		switch seg.Kind {
		case SegField:
			b = append(b, `{"type":"field","field":`...)
			b = appendString(b, seg.Key)
		case SegEntry:
			b = append(b, `{"type":"entry","entry":`...)
			b = appendString(b, seg.Key)
		default:
			b = append(b, `{"type":"index","index":`...)
			b = appendNumber(b, float64(seg.Index))
		}
		b = append(b, '}')
	}
	b = append(b, `],"change":`...)
	if op.Change.d == nil {
		b = append(b, "null"...)
	} else {
		b = appendValueSplit(b, op.Change.d.obj, sp)
	}
	return append(b, '}')
}

// encodeBatch returns the JSON array of one batch.
func encodeBatch(ops []Op) []byte {
	return appendBatch(make([]byte, 0, 64*len(ops)), ops, nil)
}

// appendBatch appends the JSON array of one batch; sp as in appendOp.
func appendBatch(b []byte, ops []Op, sp *splitter) []byte {
	b = append(b, '[')
	for i, op := range ops {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOp(b, op, sp)
	}
	return append(b, ']')
}

// encodeOps returns the since-payload JSON for the given batches.
func encodeOps(batches [][]Op) []byte {
	b := []byte{'['}
	for i, batch := range batches {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, encodeBatch(batch)...)
	}
	return append(b, ']')
}

// parseOps parses since-payload JSON into batches of ops. It checks the
// structure (paths and change objects with a string type) but not whether
// the changes can be materialized; see [Change.Validate].
func parseOps(data []byte) ([][]Op, error) { return parseOpsShare(data, 0) }

// parseOpsShare is parseOps with string values of at least share bytes
// sharing data's memory (0: none; see jsjson.Options.Share): data must
// never be modified afterwards.
func parseOpsShare(data []byte, share int) ([][]Op, error) {
	o := &parseOptions
	if share > 0 {
		so := parseOptions
		so.Share = share
		o = &so
	}
	if batches, ok := decodeOps(data, o); ok {
		return batches, nil
	}
	return parseOpsGeneric(data, o)
}

// parseOpsGeneric parses the payload as a JSON value and then reads the
// ops out of it: the reference for decodeOps, and the reading of every
// payload outside the writers' shape, with its error.
func parseOpsGeneric(data []byte, o *jsjson.Options) ([][]Op, error) {
	v, err := jsjson.Parse(data, o)
	if err != nil {
		return nil, newError(reasonMalformed, err.Error(), nil)
	}
	return opsFromValue(v)
}

func malformed(msg string) error { return newError(reasonMalformed, msg, nil) }

func opsFromValue(v any) ([][]Op, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, malformed("since payload must be a list of batches")
	}
	batches := make([][]Op, 0, len(arr))
	for _, b := range arr {
		ba, ok := b.([]any)
		if !ok {
			return nil, malformed("batch must be a list of ops")
		}
		ops := make([]Op, 0, len(ba))
		for _, o := range ba {
			op, err := opFromValue(o)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
		batches = append(batches, ops)
	}
	return batches, nil
}

func opFromValue(v any) (Op, error) {
	o, ok := v.(*Object)
	if !ok {
		return Op{}, malformed("op must be an object")
	}
	pv, _ := o.Get("path")
	pa, ok := pv.([]any)
	if !ok {
		return Op{}, malformed("op path must be a list")
	}
	path := make(Path, 0, len(pa))
	for _, s := range pa {
		so, ok := s.(*Object)
		if !ok {
			return Op{}, malformed("path segment must be an object")
		}
		t, _ := so.Get("type")
		switch t {
		case "field", "entry":
			k, _ := so.Get(t.(string))
			ks, ok := k.(string)
			if !ok {
				return Op{}, malformed("path segment key must be a string")
			}
			kind := SegField
			if t == "entry" {
				kind = SegEntry
			}
			path = append(path, Segment{Kind: kind, Key: ks})
		case "index":
			i, _ := so.Get("index")
			f, ok := i.(float64)
			if !ok || f < 0 || f != math.Trunc(f) || f > maxSafeInteger {
				return Op{}, malformed("path index must be a non-negative integer")
			}
			path = append(path, Segment{Kind: SegIndex, Index: int(f)})
		default:
			return Op{}, malformed("unknown path segment type")
		}
	}
	cv, _ := o.Get("change")
	co, ok := cv.(*Object)
	if !ok {
		return Op{}, malformed("op change must be an object")
	}
	c, err := newChange(co)
	if err != nil {
		return Op{}, err
	}
	return Op{Path: path, Change: c}, nil
}

// docState is the materialized JSON state shared by the plain and LWW
// replicas, with the change hook and strictness.
type docState struct {
	state    *Object
	stateErr error // set once a merged change could not be materialized
	strict   bool  // reject unmaterializable merges instead of keeping them
	defaults *Object
	hook     func(ChangeSet)
	cache    []byte // encoded state, nil when stale
	limits   Limits
}

func newDocState(strict bool, limits Limits) docState {
	return docState{state: &Object{}, strict: strict, limits: limits}
}

// check validates every change of the batches. Local writes are always
// checked; merges only when strict.
func (d *docState) check(batches [][]Op, local bool) error {
	if !local && !d.strict {
		return nil
	}
	for _, ops := range batches {
		for _, op := range ops {
			if err := validateOp(op); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateOp checks a locally built op: a path every peer can parse and a
// change that can be materialized.
func validateOp(op Op) error {
	for _, seg := range op.Path {
		switch {
		case seg.Kind == SegIndex && (seg.Index < 0 || seg.Index > maxSafeInteger):
			return newError(reasonInvalidChange, "path index out of range at "+op.Path.String(), nil)
		case seg.Kind != SegField && seg.Kind != SegEntry && seg.Kind != SegIndex:
			return newError(reasonInvalidChange, "path segment without a kind at "+op.Path.String(), nil)
		}
	}
	return op.Change.Validate()
}

// apply materializes ops in place. A change that cannot be materialized
// (only possible for non-strict merges) poisons the state: the log still
// forwards, but the entirety can no longer be produced.
func (d *docState) apply(ops []Op) {
	d.cache = nil
	if d.stateErr != nil {
		return
	}
	for _, op := range ops {
		st, err := op.Change.stepper()
		if err != nil {
			d.stateErr = newError(reasonUnmaterializable, "merged change at "+op.Path.String(), err)
			return
		}
		applyOp(d.state, op.Path, st)
	}
}

// entiretyOps turns a state image into one replace op per top-level key,
// as the reference absorbs entireties.
func entiretyOps(content *Object) []Op {
	ops := make([]Op, 0, content.Len())
	content.Range(func(k string, v any) bool {
		ops = append(ops, Op{Path: Path{Field(k)}, Change: mustChange(obj2("type", "replace", "value", v))})
		return true
	})
	return ops
}

// parseEntirety parses an entirety payload's JSON object.
func parseEntirety(data []byte) (*Object, error) {
	v, err := ParseValue(data)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*Object)
	if !ok {
		return nil, malformed("entirety payload must be a JSON object")
	}
	return o, nil
}

// reset replaces the state with content (then the defaults for missing
// keys).
func (d *docState) reset(content *Object) {
	d.state = &Object{}
	d.stateErr = nil
	d.cache = nil
	content.Range(func(k string, v any) bool {
		d.state.Set(k, cloneValue(v))
		return true
	})
	d.fillDefaults()
}

func (d *docState) fillDefaults() {
	d.defaults.Range(func(k string, v any) bool {
		if !d.state.Has(k) {
			d.state.Set(k, cloneValue(v))
		}
		return true
	})
}

// setDefaults records the structural defaults and fills missing top-level
// keys, without a version step (defaults are never versioned or synced).
func (d *docState) setDefaults(v any) error {
	if v == nil {
		d.defaults = nil
		return nil
	}
	mv, err := ValueOf(v)
	if err != nil {
		return err
	}
	o, ok := mv.(*Object)
	if !ok {
		return newError(reasonInvalidValue, "defaults must be a JSON object", nil)
	}
	d.defaults = o
	if d.stateErr == nil {
		d.cache = nil
		d.fillDefaults()
	}
	return nil
}

func (d *docState) json() ([]byte, error) {
	if d.stateErr != nil {
		return nil, d.stateErr
	}
	if d.cache == nil {
		d.cache = appendValue(make([]byte, 0, 256), d.state)
	}
	return d.cache, nil
}

func (d *docState) value() (any, error) {
	if d.stateErr != nil {
		return nil, d.stateErr
	}
	return d.state.Clone(), nil
}

func (d *docState) notify(ops []Op, remote bool) {
	if d.hook != nil && len(ops) > 0 {
		d.hook(ChangeSet{Ops: ops, Remote: remote})
	}
}

func jsonOnly(p Payload, who string) error {
	if p.Encoding != "json" {
		return newError(reasonEncoding, who+" expects JSON-encoded payloads, got "+quoteString(string(p.Encoding))+
			" (a peer may be sending data of another replica type)", nil)
	}
	if p.Kind != "entirety" && p.Kind != "since" {
		return newError(reasonEncoding, who+": unknown payload kind "+quoteString(string(p.Kind)), nil)
	}
	return nil
}

// decodeMerge parses a JSON payload into batches within the limits.
func (d *docState) decodeMerge(p Payload) ([][]Op, error) { return d.decodeMergeShare(p, 0) }

// decodeMergeShare is decodeMerge with a since payload's string values of
// at least share bytes sharing p.Data's memory (see parseOpsShare).
func (d *docState) decodeMergeShare(p Payload, share int) ([][]Op, error) {
	if err := d.limits.admitSize(p); err != nil {
		return nil, err
	}
	var batches [][]Op
	var err error
	if p.Kind == "since" {
		batches, err = parseOpsShare(p.Data, share)
	} else {
		batches, err = decodeMerge(p)
	}
	if err != nil {
		return nil, err
	}
	if err := d.limits.admitOps(batches); err != nil {
		return nil, err
	}
	return batches, nil
}

// decodeMerge parses a JSON payload into batches: the since log as is, an
// entirety as one batch of top-level replaces (none when empty).
func decodeMerge(p Payload) ([][]Op, error) {
	if p.Kind == "entirety" {
		content, err := parseEntirety(p.Data)
		if err != nil {
			return nil, err
		}
		if content.Len() == 0 {
			return nil, nil
		}
		return [][]Op{entiretyOps(content)}, nil
	}
	return parseOps(p.Data)
}
