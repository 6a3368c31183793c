package replica

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"unsafe"

	"github.com/kyneta-go/kyneta/exchange/internal/batches"
	"github.com/kyneta-go/kyneta/wire"
)

// PlainOptions configure the plain factory.
type PlainOptions struct {
	// Rand is the randomness lineages are minted from (8 bytes, written as
	// 16 lowercase hex characters). nil means crypto/rand.
	Rand io.Reader
	// Limits bound what one merged payload may carry.
	Limits Limits
}

// PlainFactory builds plain (authoritative) replicas: op logs of batches
// with a lineage, replica type ("plain", 1, 0), bound to AUTHORITATIVE.
type plainFactory struct {
	rand   io.Reader
	limits Limits
}

// NewPlainFactory returns a plain factory.
func NewPlainFactory(opts PlainOptions) DocumentFactory { return newPlainFactory(opts) }

func newPlainFactory(opts PlainOptions) *plainFactory {
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	return &plainFactory{rand: r, limits: opts.Limits.withDefaults()}
}

// Type returns ("plain", 1, 0).
func (f *plainFactory) Type() wire.ReplicaType { return PlainType }

// CreateEmpty returns a headless plain replica at genesis:0. Merged changes
// it cannot materialize are still logged and forwarded.
func (f *plainFactory) CreateEmpty() Replica { return f.newPlain(false) }

// CreateDocument returns a strict plain replica for an interpreted
// document.
func (f *plainFactory) CreateDocument() Document { return f.newPlain(true) }

// NewPlain returns a plain replica; strict as in [PlainFactory.CreateDocument].
func (f *plainFactory) NewPlain(strict bool) *plainReplica { return f.newPlain(strict) }

func (f *plainFactory) newPlain(strict bool) *plainReplica {
	return &plainReplica{
		doc:     newDocState(strict, f.limits),
		rand:    f.rand,
		lineage: Genesis,
		ver:     NewPlainVersion(Genesis, 0),
	}
}

// FromEntirety returns a headless replica that merged p (one flush).
func (f *plainFactory) FromEntirety(p Payload) (Replica, error) {
	r := f.newPlain(false)
	if err := r.Merge(p); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseVersion parses "<lineage>:<n>".
func (f *plainFactory) ParseVersion(s string) (Version, error) {
	v, err := parsePlainVersion(s)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Plain is the plain authoritative replica: materialized JSON state plus a
// log of encoded batches, one per flush. The version counter is
// base+len(log); Advance trims the log and raises the base.
//
// Lineage: genesis until the first local Apply mints a random one; a merge
// adopts the sender's lineage while still at genesis; ResetFromEntirety
// adopts the sender's lineage unconditionally.
type plainReplica struct {
	doc     docState
	rand    io.Reader
	lineage string
	log     []logEntry // log[i] is flush base+i+1
	logSize int        // total bytes of the log's batches
	base    uint64
	ver     Version // a PlainVersion, cached like the reference (set at flush and reset) and boxed once, so Version does not allocate
}

var (
	_ Document        = (*plainReplica)(nil)
	_ Factory         = (*plainFactory)(nil)
	_ Document        = (*lwwReplica)(nil)
	_ Factory         = (*lwwFactory)(nil)
	_ DocumentFactory = (*plainFactory)(nil)
	_ HistoryReporter = (*plainReplica)(nil)
	_ PiecesExporter  = (*plainReplica)(nil)
)

// Version returns the current version.
func (p *plainReplica) Version() Version { return p.ver }

// BaseVersion returns (lineage, base).
func (p *plainReplica) BaseVersion() Version { return NewPlainVersion(p.lineage, p.base) }

// Lineage returns the current lineage.
func (p *plainReplica) Lineage() string { return p.lineage }

// A log entry is its batch's text in one more pair of brackets,
// "[" + batch + "]": the since payload of that batch alone, which
// ExportSince hands out without a copy when a peer lacks only the last
// batch (the common case, and a full copy of a large value otherwise).
//
// A local batch holding a large string is kept in pieces around the
// string's own memory (see splitter) rather than copied into one buffer:
// ExportSincePieces sends it as it is, and whatever needs one buffer joins
// it once.
type logEntry struct {
	data   []byte
	pieces *wire.Pieces // the entry when data is nil (a pointer: most entries are small)
}

// size returns the entry's length.
func (e *logEntry) size() int {
	if e.data != nil {
		return len(e.data)
	}
	return e.pieces.Len()
}

// bytes returns the entry in one buffer, joining its pieces the first
// time (the entry then no longer holds on to the string).
func (e *logEntry) bytes() []byte {
	if e.data == nil {
		e.data, e.pieces = e.pieces.Join(), nil
	}
	return e.data
}

// appendBatch appends the entry's batch: its text without the brackets.
func (e *logEntry) appendBatch(dst []byte) []byte {
	if e.data != nil {
		return append(dst, e.data[1:len(e.data)-1]...)
	}
	p := e.pieces // Head opens with the '[', Tail closes with the ']'
	return append(append(append(dst, p.Head[1:]...), p.Body...), p.Tail[:len(p.Tail)-1]...)
}

// wholeEntry returns the log entry of a batch's text. Growing from the
// one-byte literal allocates without clearing the memory first.
func wholeEntry(batch []byte) logEntry {
	return logEntry{data: append(append([]byte{'['}, batch...), ']')}
}

// encodeLogEntry returns the log entry of ops, in pieces when one of them
// holds a large string.
func encodeLogEntry(ops []Op) logEntry {
	var sp splitter
	b := append(make([]byte, 0, 64*len(ops)+2), '[')
	b = append(appendBatch(b, ops, &sp), ']')
	if sp.head == nil {
		return logEntry{data: b}
	}
	body := unsafe.Slice(unsafe.StringData(sp.body), len(sp.body)) // never written: strings are immutable
	return logEntry{pieces: &wire.Pieces{Head: sp.head[:len(sp.head):len(sp.head)], Body: body, Tail: b[:len(b):len(b)]}}
}

func (p *plainReplica) flush(entry logEntry) {
	p.log = append(p.log, entry)
	p.logSize += entry.size() - 2
	p.ver = NewPlainVersion(p.lineage, p.base+uint64(len(p.log)))
}

// History reports the op log kept after the base: what Advance
// would free. The exchange compares Bytes with the entirety's size to
// decide when to compact.
func (p *plainReplica) History() History {
	return History{Batches: len(p.log), Bytes: p.logSize}
}

// trim drops the first n batches of the log. The rest moves to a new
// slice so the dropped part's backing array is freed too (re-slicing
// would keep the whole array alive until the next growth).
func (p *plainReplica) trim(n int) {
	if n == 0 {
		return
	}
	for i := range p.log[:n] {
		p.logSize -= p.log[i].size() - 2
	}
	rest := p.log[n:]
	if len(rest) == 0 {
		p.log = nil
	} else {
		p.log = append(make([]logEntry, 0, len(rest)+len(rest)/4), rest...)
	}
	p.base += uint64(n)
}

// logOffset maps a peer version to a log position; ok=false when the
// lineage is foreign (only an entirety can help then).
func (p *plainReplica) logOffset(v PlainVersion) (uint64, bool) {
	if v.lineage == Genesis {
		return 0, true // genesis is the empty vector: the whole authored log
	}
	if v.lineage != p.lineage {
		return 0, false
	}
	return v.n, true
}

// Advance trims the log up to to, which must lie in [base, version] of the
// current lineage, and moves the base there: the trimmed batches are
// already in the materialized state, so only their encoded copies are
// freed. Afterwards ExportSince answers ok=false for versions before the
// new base (the exchange then sends the entirety). A foreign lineage is
// only accepted when it equals the current version (then the whole log is
// trimmed); otherwise it is a no-op. As in the reference, a target behind
// the base or past the version is an error (reason "advance-range").
func (p *plainReplica) Advance(to Version) error {
	v, ok := asPlain(to)
	if !ok {
		return mismatch("PlainVersion", to)
	}
	off, ok := p.logOffset(v)
	if !ok {
		if o, _ := v.Compare(p.ver); o == Equal {
			p.trim(len(p.log))
		}
		return nil
	}
	if off < p.base {
		return newError(reasonAdvanceRange, "advance("+v.String()+") is behind the base "+p.BaseVersion().String(), nil)
	}
	if off > p.base+uint64(len(p.log)) {
		return newError(reasonAdvanceRange, "advance("+v.String()+") exceeds the current version "+p.ver.String(), nil)
	}
	p.trim(int(off - p.base))
	return nil
}

// ExportEntirety returns the materialized state with the current lineage.
func (p *plainReplica) ExportEntirety() (Payload, error) {
	b, err := p.doc.json()
	if err != nil {
		return Payload{}, err
	}
	return Payload{Kind: "entirety", Encoding: "json", Data: append([]byte(nil), b...), Lineage: p.lineage}, nil
}

// ExportSince returns the batches after v. A version of a foreign lineage
// gets the entirety (ok=true); a version before the base, at or after the
// current version gets ok=false. The Data of a since payload may share
// the log's memory: it must not be modified ([Payload.Clone] copies it).
func (p *plainReplica) ExportSince(v Version) (Payload, bool, error) {
	pv, ok := asPlain(v)
	if !ok {
		return Payload{}, false, mismatch("PlainVersion", v)
	}
	off, ok := p.logOffset(pv)
	if !ok {
		pl, err := p.ExportEntirety()
		return pl, err == nil, err
	}
	if off < p.base || off >= p.base+uint64(len(p.log)) {
		return Payload{}, false, nil
	}
	entries := p.log[off-p.base:]
	if len(entries) == 1 {
		e := entries[0].bytes()
		return Payload{Kind: "since", Encoding: "json", Data: e[:len(e):len(e)], Lineage: p.lineage}, true, nil
	}
	size := 2
	for i := range entries {
		size += entries[i].size() - 1 // the batch and a comma
	}
	data := make([]byte, 0, size)
	data = append(data, '[')
	for i := range entries {
		if i > 0 {
			data = append(data, ',')
		}
		data = entries[i].appendBatch(data)
	}
	data = append(data, ']')
	return Payload{Kind: "since", Encoding: "json", Data: data, Lineage: p.lineage}, true, nil
}

// ExportSincePieces is ExportSince that leaves a last batch kept in pieces
// as it is: when the answer is that batch alone, Data is nil and the data
// is the returned pieces; otherwise the pieces are empty and Data holds
// it, as ExportSince gives.
func (p *plainReplica) ExportSincePieces(v Version) (Payload, wire.Pieces, bool, error) {
	if pv, ok := asPlain(v); ok {
		if off, ok := p.logOffset(pv); ok && off+1 == p.base+uint64(len(p.log)) && off >= p.base {
			if e := &p.log[len(p.log)-1]; e.data == nil {
				return Payload{Kind: "since", Encoding: "json", Lineage: p.lineage}, *e.pieces, true, nil
			}
		}
	}
	pl, ok, err := p.ExportSince(v)
	return pl, wire.Pieces{}, ok, err
}

// Merge absorbs a JSON payload: since = one flush per non-empty batch
// (keeping counter parity with the sender); entirety = one flush replacing
// each top-level key. A genesis replica adopts the payload's lineage.
// Nothing changes when the payload is rejected.
func (p *plainReplica) Merge(pl Payload) error {
	if err := jsonOnly(pl, "plain replica merge"); err != nil {
		return err
	}
	// A large since payload of one batch is, compact, that batch's log
	// entry ("[" + batch + "]"): copied once before parsing (kept as it is
	// when the payload is Owned), its string values of at least half its
	// size are parsed as views of it rather than copied again, and it
	// becomes the entry. Such a string pins at most twice its size once
	// the entry is compacted away.
	var own []byte
	share := 0
	if pl.Kind == "since" && len(pl.Data) >= shareMinPayload {
		if n, ok := batches.Count(pl.Data); ok && n == 1 {
			own = pl.Data[:len(pl.Data):len(pl.Data)]
			if !pl.Owned {
				own = bytes.Clone(pl.Data)
			}
			pl.Data = own
			share = (len(own) + 1) / 2
		}
	}
	batches, err := p.doc.decodeMergeShare(pl, share)
	if err != nil {
		return err
	}
	if err := p.doc.check(batches, false); err != nil {
		return err
	}
	if pl.Lineage != "" && pl.Lineage != p.lineage && p.lineage == Genesis {
		p.lineage = pl.Lineage
	}
	// A compact since payload already holds each batch's log entry: keep
	// its text rather than encoding the parsed ops again.
	var raws [][]byte
	if pl.Kind == "since" {
		raws = rawBatches(pl.Data, len(batches))
	}
	for i, ops := range batches {
		if len(ops) == 0 {
			continue
		}
		p.doc.apply(ops)
		switch {
		case own != nil && len(raws) == 1:
			p.flush(logEntry{data: own}) // raws[0] is own without its outer brackets
		case raws != nil:
			p.flush(wholeEntry(raws[i]))
		default:
			p.flush(encodeLogEntry(ops))
		}
		p.doc.notify(ops, true)
	}
	return nil
}

// shareMinPayload is the smallest since payload Merge parses from its own
// copy (see Merge): below it, a second copy of a string costs little.
const shareMinPayload = 16 << 10

// ResetFromEntirety discards history and adopts the entirety's state and
// lineage; with a PlainVersion remote the counter becomes remote's and the
// log empties, so the next since exchange lines up with the sender.
func (p *plainReplica) ResetFromEntirety(pl Payload, remote Version) error {
	if pl.Encoding != "json" || pl.Kind != "entirety" {
		return newError(reasonEncoding, "plain reset expects a JSON entirety payload", nil)
	}
	if err := p.doc.limits.admitSize(pl); err != nil {
		return err
	}
	content, err := parseEntirety(pl.Data)
	if err != nil {
		return err
	}
	if pl.Lineage != "" {
		p.lineage = pl.Lineage
	}
	p.doc.reset(content)
	if rv, ok := asPlain(remote); ok {
		p.log = nil
		p.logSize = 0
		p.base = rv.n
		p.ver = NewPlainVersion(p.lineage, p.base)
	}
	p.doc.notify([]Op{{Change: mustChange(obj2("type", "replace", "value", content))}}, true)
	return nil
}

// Apply commits a local transaction as one batch (one version step). The
// first local write of a genesis replica mints its lineage.
func (p *plainReplica) Apply(ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	if err := p.doc.check([][]Op{ops}, true); err != nil {
		return err
	}
	if p.lineage == Genesis {
		var b [8]byte
		if _, err := io.ReadFull(p.rand, b[:]); err != nil {
			return newError(reasonUnsupported, "cannot mint a lineage", err)
		}
		p.lineage = hex.EncodeToString(b[:])
	}
	own := cloneOps(ops)
	p.doc.apply(own)
	p.flush(encodeLogEntry(own))
	p.doc.notify(own, false)
	return nil
}

func cloneOps(ops []Op) []Op {
	out := make([]Op, len(ops))
	for i, op := range ops {
		out[i] = Op{Path: append(Path(nil), op.Path...), Change: op.Change}
	}
	return out
}

// JSON returns the materialized state.
func (p *plainReplica) JSON() ([]byte, error) {
	b, err := p.doc.json()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// Value returns a deep copy of the materialized state.
func (p *plainReplica) Value() (any, error) { return p.doc.value() }

// SetChangeHook installs the change hook.
func (p *plainReplica) SetChangeHook(f func(ChangeSet)) { p.doc.hook = f }

// SetDefaults sets structural defaults (a JSON object): top-level keys the
// state lacks are filled locally, never versioned or synced, and refilled
// after a reset.
func (p *plainReplica) SetDefaults(v any) error { return p.doc.setDefaults(v) }
