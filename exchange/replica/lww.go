package replica

import (
	"time"

	"github.com/kyneta-go/kyneta/wire"
)

// LWWOptions configure the LWW factory.
type LWWOptions struct {
	// Now is the clock versions are taken from; nil means time.Now. Pass a
	// clock.Clock's Now method for deterministic tests.
	Now func() time.Time
	// Limits bound what one merged payload may carry.
	Limits Limits
}

// LWWFactory builds LWW (ephemeral) replicas: the plain JSON state with a
// wall-clock version, replica type ("plain", 1, 0), bound to EPHEMERAL.
type lwwFactory struct {
	now    func() time.Time
	limits Limits
}

// NewLWWFactory returns an LWW factory.
func NewLWWFactory(opts LWWOptions) DocumentFactory { return newLWWFactory(opts) }

func newLWWFactory(opts LWWOptions) *lwwFactory {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &lwwFactory{now: now, limits: opts.Limits.withDefaults()}
}

// Type returns ("plain", 1, 0); the sync mode tells LWW from plain.
func (f *lwwFactory) Type() wire.ReplicaType { return PlainType }

// CreateEmpty returns a headless LWW replica at version 0.
func (f *lwwFactory) CreateEmpty() Replica { return f.newLWW(false) }

// CreateDocument returns a strict LWW replica for an interpreted document.
func (f *lwwFactory) CreateDocument() Document { return f.newLWW(true) }

func (f *lwwFactory) newLWW(strict bool) *lwwReplica {
	return &lwwReplica{doc: newDocState(strict, f.limits), now: f.now}
}

// FromEntirety returns a headless replica that merged p.
func (f *lwwFactory) FromEntirety(p Payload) (Replica, error) {
	r := f.newLWW(false)
	if err := r.Merge(p); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseVersion parses decimal milliseconds.
func (f *lwwFactory) ParseVersion(s string) (Version, error) {
	v, err := parseTimestampVersion(s)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// LWW is the ephemeral last-writer-wins replica. Its version is the time of
// its last flush (local write or merge); it exports the entirety for every
// request and keeps no op log. It never has a lineage: payloads carry none
// and incoming lineages are ignored.
//
// Unlike the reference, a local write always moves the version forward by
// at least one millisecond, so two writes in the same millisecond are not
// judged equal (and dropped) by receivers; a merge never moves it back.
type lwwReplica struct {
	doc  docState
	now  func() time.Time
	ver  TimestampVersion
	base TimestampVersion
}

// Version returns the time of the last flush ("0" before any).
func (l *lwwReplica) Version() Version { return l.ver }

// BaseVersion returns the version of the last Advance ("0" before any).
func (l *lwwReplica) BaseVersion() Version { return l.base }

// Advance only supports the current version (there is no history to trim);
// any other target is a no-op, as in the reference.
func (l *lwwReplica) Advance(to Version) error {
	v, ok := to.(TimestampVersion)
	if !ok {
		return mismatch("TimestampVersion", to)
	}
	if v.ms == l.ver.ms {
		l.base = l.ver
	}
	return nil
}

// ExportEntirety returns the state (no lineage).
func (l *lwwReplica) ExportEntirety() (Payload, error) {
	b, err := l.doc.json()
	if err != nil {
		return Payload{}, err
	}
	return Payload{Kind: "entirety", Encoding: "json", Data: append([]byte(nil), b...)}, nil
}

// ExportSince returns the entirety whatever v is: a timestamp says nothing
// about which ops a peer has.
func (l *lwwReplica) ExportSince(Version) (Payload, bool, error) {
	p, err := l.ExportEntirety()
	return p, err == nil, err
}

func (l *lwwReplica) tick(local bool) {
	ms := float64(l.now().UnixMilli())
	switch {
	case local && ms <= l.ver.ms:
		ms = l.ver.ms + 1
	case !local && ms < l.ver.ms:
		ms = l.ver.ms
	}
	l.ver = TimestampVersion{ms: ms}
}

// Merge absorbs a JSON payload (entirety: top-level keys replaced; since:
// each batch applied) and stamps the version with the local clock.
func (l *lwwReplica) Merge(p Payload) error {
	if err := jsonOnly(p, "lww replica merge"); err != nil {
		return err
	}
	batches, err := l.doc.decodeMerge(p)
	if err != nil {
		return err
	}
	if err := l.doc.check(batches, false); err != nil {
		return err
	}
	for _, ops := range batches {
		if len(ops) == 0 {
			continue
		}
		l.doc.apply(ops)
		l.tick(false)
		l.doc.notify(ops, true)
	}
	return nil
}

// MergeStamped merges like Merge, but the version becomes the newer of the
// replica's previous version and the offer's stamp, instead of the local
// clock. A receiver that stamped merges with its own clock would forward a
// write made at T as T+1 when it arrived a millisecond late, and then drop
// the writer's next write, made at T+1, as "equal". Versions that travel
// with the data (a Lamport clock over wall time) keep every newer write
// newer at every hop.
func (l *lwwReplica) MergeStamped(p Payload, stamp string, _ string) error {
	prev := l.ver
	if err := l.Merge(p); err != nil {
		return err
	}
	if v, err := parseTimestampVersion(stamp); err == nil {
		l.ver = prev
		l.adopt(v)
	}
	return nil
}

func (l *lwwReplica) adopt(v TimestampVersion) {
	if v.ms > l.ver.ms {
		l.ver = v
	}
}

// ResetFromEntirety replaces the whole state with the entirety. The version
// becomes the newer of the previous one and the remote version when that is
// a timestamp (see MergeStamped), else the local clock.
func (l *lwwReplica) ResetFromEntirety(p Payload, remote Version) error {
	if p.Encoding != "json" || p.Kind != "entirety" {
		return newError(reasonEncoding, "lww reset expects a JSON entirety payload", nil)
	}
	if err := l.doc.limits.admitSize(p); err != nil {
		return err
	}
	content, err := parseEntirety(p.Data)
	if err != nil {
		return err
	}
	prev := l.ver
	l.doc.reset(content)
	l.tick(false)
	if v, ok := remote.(TimestampVersion); ok {
		l.ver = prev
		l.adopt(v)
	}
	l.doc.notify([]Op{{Change: mustChange(obj2("type", "replace", "value", content))}}, true)
	return nil
}

// Apply commits a local transaction (one version step).
func (l *lwwReplica) Apply(ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	if err := l.doc.check([][]Op{ops}, true); err != nil {
		return err
	}
	own := cloneOps(ops)
	l.doc.apply(own)
	l.tick(true)
	l.doc.notify(own, false)
	return nil
}

// JSON returns the materialized state.
func (l *lwwReplica) JSON() ([]byte, error) {
	b, err := l.doc.json()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// Value returns a deep copy of the materialized state.
func (l *lwwReplica) Value() (any, error) { return l.doc.value() }

// SetChangeHook installs the change hook.
func (l *lwwReplica) SetChangeHook(f func(ChangeSet)) { l.doc.hook = f }

// SetDefaults sets structural defaults; see [Document].
func (l *lwwReplica) SetDefaults(v any) error { return l.doc.setDefaults(v) }
