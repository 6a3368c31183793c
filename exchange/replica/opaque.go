package replica

import (
	"crypto/sha256"
	"strconv"

	"github.com/kyneta-go/kyneta/wire"
)

// OpaqueVersion is the version of an opaque relay replica: the version
// stamp of the newest offer it absorbed, kept verbatim ("" before any).
// Two versions are equal only when the strings are identical and
// concurrent otherwise, so every differing offer is imported (and
// deduplicated by content) and every send goes through the export path.
type opaqueVersion struct {
	stamp string
}

// NewOpaqueVersion wraps a version stamp.
func newOpaqueVersion(stamp string) opaqueVersion { return opaqueVersion{stamp: stamp} }

// Lineage is always [Genesis].
func (v opaqueVersion) Lineage() string { return Genesis }

// String returns the stamp.
func (v opaqueVersion) String() string { return v.stamp }

// Compare is Equal for identical stamps and Concurrent for different
// ones, except that the empty version (nothing held) is below every other.
func (v opaqueVersion) Compare(other Version) (Order, error) {
	o, ok := other.(opaqueVersion)
	if !ok {
		return 0, mismatch("OpaqueVersion", other)
	}
	switch {
	case o.stamp == v.stamp:
		return Equal, nil
	case o.stamp == "":
		return Ahead, nil
	case v.stamp == "":
		return Behind, nil
	}
	return Concurrent, nil
}

// Meet is v for identical stamps, the empty version otherwise.
func (v opaqueVersion) Meet(other Version) (Version, error) {
	o, ok := other.(opaqueVersion)
	if !ok {
		return nil, mismatch("OpaqueVersion", other)
	}
	if o.stamp == v.stamp {
		return v, nil
	}
	return opaqueVersion{}, nil
}

// OpaqueOptions configure the opaque factory.
type OpaqueOptions struct {
	// MaxBytes caps the total payload bytes one replica keeps; a merge
	// that would exceed it fails with reason "capacity". 0 means no cap.
	MaxBytes int64
	// MaxEntries caps the number of stored payloads; 0 means no cap.
	MaxEntries int
}

// OpaqueFactory builds opaque relay replicas for a replica type the Go side
// cannot interpret (Loro, Yjs): they store and replay payloads without
// reading them.
type opaqueFactory struct {
	typ  wire.ReplicaType
	opts OpaqueOptions
}

// NewOpaqueFactory returns a factory for replicas of type t.
func NewOpaqueFactory(t wire.ReplicaType, opts OpaqueOptions) Factory {
	return newOpaqueFactory(t, opts)
}

func newOpaqueFactory(t wire.ReplicaType, opts OpaqueOptions) *opaqueFactory {
	return &opaqueFactory{typ: t, opts: opts}
}

// Type returns the replica type the factory was made for.
func (f *opaqueFactory) Type() wire.ReplicaType { return f.typ }

// CreateEmpty returns an empty relay replica.
func (f *opaqueFactory) CreateEmpty() Replica { return f.NewOpaque() }

// NewOpaque returns an empty relay replica.
func (f *opaqueFactory) NewOpaque() *opaqueReplica {
	return &opaqueReplica{opts: f.opts, hashes: map[[32]byte]int{}, perPeer: map[string]string{}}
}

// FromEntirety returns a replica holding p. Its version stamp is unknown,
// so it is replayed only once a stamped payload arrives (see ExportFor).
func (f *opaqueFactory) FromEntirety(p Payload) (Replica, error) {
	o := f.NewOpaque()
	if err := o.MergeStamped(p, "", ""); err != nil {
		return nil, err
	}
	return o, nil
}

// ParseVersion wraps any non-empty string.
func (f *opaqueFactory) ParseVersion(s string) (Version, error) {
	if s == "" {
		return nil, newError(reasonVersionParse, "empty opaque version", nil)
	}
	return opaqueVersion{stamp: s}, nil
}

// OpaqueEntry is one stored payload of an opaque replica: the payload as it
// arrived, the version stamp of the offer that carried it, and the peer it
// came from ("" when unknown, e.g. after hydration).
type opaqueEntry struct {
	Payload Payload
	Stamp   string
	From    string
}

// Opaque is the relay replica for payloads the Go side cannot interpret:
// an ordered log of the payloads it received, deduplicated by content
// hash. It answers a peer with a multi-offer replay (ExportFor):
// every stored payload as its own offer, relabelled "since" and stamped with
// the version it arrived with, which is safe for set-union CRDTs (a
// receiver that has the ops skips them). It never compacts.
type opaqueReplica struct {
	opts    OpaqueOptions
	entries []opaqueEntry
	hashes  map[[32]byte]int // content hash -> entry index
	perPeer map[string]string
	latest  string
	size    int64
}

var (
	_ Replica       = (*opaqueReplica)(nil)
	_ MultiExporter = (*opaqueReplica)(nil)
	_ SetUnion      = (*opaqueReplica)(nil)
	_ StampedMerger = (*opaqueReplica)(nil)
	_ PeerVersioner = (*opaqueReplica)(nil)
)

func contentHash(p Payload) [32]byte {
	h := sha256.New()
	h.Write([]byte(p.Encoding))
	h.Write([]byte{0})
	h.Write(p.Data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Version returns the stamp of the newest stored payload.
func (o *opaqueReplica) Version() Version { return opaqueVersion{stamp: o.latest} }

// BaseVersion is the empty version: the whole log is always kept.
func (o *opaqueReplica) BaseVersion() Version { return opaqueVersion{} }

// Advance never trims (an opaque log cannot be compacted); it accepts any
// opaque version and changes nothing, which never moves past to.
func (o *opaqueReplica) Advance(to Version) error {
	if _, ok := to.(opaqueVersion); !ok {
		return mismatch("OpaqueVersion", to)
	}
	return nil
}

// SetUnion reports true: merging is an idempotent union, so a reset must
// degrade to a merge.
func (o *opaqueReplica) SetUnion() bool { return true }

// Len returns the number of stored payloads.
func (o *opaqueReplica) Len() int { return len(o.entries) }

// Size returns the total stored payload bytes.
func (o *opaqueReplica) Size() int64 { return o.size }

// Entries returns the stored payloads in arrival order (for persistence:
// one store entry per payload, its stamp as the entry version). Payload
// bytes are shared, not copied.
func (o *opaqueReplica) Entries() []opaqueEntry { return append([]opaqueEntry(nil), o.entries...) }

// Merge stores p without a stamp or sender.
func (o *opaqueReplica) Merge(p Payload) error { return o.MergeStamped(p, "", "") }

// MergeStamped stores p with the offer's version stamp and sender. A
// payload already stored (same encoding and bytes) is not stored again, but
// the stamp still counts as the sender's latest.
func (o *opaqueReplica) MergeStamped(p Payload, stamp, from string) error {
	if p.Encoding != "json" && p.Encoding != "binary" {
		return newError(reasonEncoding, "unknown payload encoding "+quoteString(string(p.Encoding)), nil)
	}
	if p.Kind != "entirety" && p.Kind != "since" {
		return newError(reasonEncoding, "unknown payload kind "+quoteString(string(p.Kind)), nil)
	}
	h := contentHash(p)
	if _, dup := o.hashes[h]; !dup {
		if o.opts.MaxEntries > 0 && len(o.entries) >= o.opts.MaxEntries {
			return newError(reasonCapacity, "opaque replica holds "+strconv.Itoa(len(o.entries))+" payloads", nil)
		}
		if o.opts.MaxBytes > 0 && o.size+int64(len(p.Data)) > o.opts.MaxBytes {
			return newError(reasonCapacity, "opaque replica would exceed "+strconv.FormatInt(o.opts.MaxBytes, 10)+" bytes", nil)
		}
		o.hashes[h] = len(o.entries)
		o.entries = append(o.entries, opaqueEntry{Payload: p.Clone(), Stamp: stamp, From: from})
		o.size += int64(len(p.Data))
		if stamp != "" {
			o.latest = stamp
		}
	}
	if from != "" && stamp != "" {
		o.perPeer[from] = stamp
	}
	return nil
}

// ResetFromEntirety merges (set union: nothing is ever discarded).
func (o *opaqueReplica) ResetFromEntirety(p Payload, remote Version) error {
	stamp := ""
	if remote != nil {
		stamp = remote.String()
	}
	return o.MergeStamped(p, stamp, "")
}

// VersionFor returns the newest stamp received from peer: a version whose
// causal past this replica holds, so the peer's delta from it fills exactly
// the gap. ok=false means claim nothing (the peer then sends its entirety).
func (o *opaqueReplica) VersionFor(peer string) (string, bool) {
	v, ok := o.perPeer[peer]
	return v, ok
}

// ExportFor returns the offers for a peer at peerVersion: when peerVersion
// is the stamp of a stored payload, the payloads stored after it (a relay
// push with since = the pre-import version forwards just the new payload);
// otherwise the whole log. Every part is relabelled "since" and stamped
// with the version it arrived with (payloads stored without a stamp use
// the newest stamp; with no stamp at all nothing is sent).
func (o *opaqueReplica) ExportFor(peerVersion string) ([]OfferPart, error) {
	start := 0
	if peerVersion != "" {
		for i := len(o.entries) - 1; i >= 0; i-- {
			if o.entries[i].Stamp == peerVersion {
				start = i + 1
				break
			}
		}
	}
	if o.latest == "" {
		return nil, nil
	}
	parts := make([]OfferPart, 0, len(o.entries)-start)
	for _, e := range o.entries[start:] {
		p := e.Payload
		p.Kind = "since"
		stamp := e.Stamp
		if stamp == "" {
			stamp = o.latest
		}
		parts = append(parts, OfferPart{Payload: p, Version: stamp})
	}
	return parts, nil
}

// ExportSince serves the single-payload case of ExportFor: ok=true only
// when exactly one payload follows v. Use ExportFor for everything else.
func (o *opaqueReplica) ExportSince(v Version) (Payload, bool, error) {
	if v == nil {
		v = opaqueVersion{}
	}
	parts, err := o.ExportFor(v.String())
	if err != nil || len(parts) != 1 {
		return Payload{}, false, err
	}
	return parts[0].Payload, true, nil
}

// ExportEntirety returns the only stored payload; with several it fails
// with reason "unsupported" (use ExportFor), with none it returns an empty
// payload of kind entirety.
func (o *opaqueReplica) ExportEntirety() (Payload, error) {
	switch len(o.entries) {
	case 0:
		return Payload{Kind: "entirety", Encoding: "binary"}, nil
	case 1:
		p := o.entries[0].Payload
		p.Kind = "entirety"
		return p, nil
	}
	return Payload{}, newError(reasonUnsupported, "an opaque replica with several payloads is exported with ExportFor", nil)
}
