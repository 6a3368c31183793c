package replica

import (
	"github.com/kyneta-go/kyneta/wire"
)

// Genesis is the lineage of a replica that has not authored anything yet:
// the bottom of the lineage lattice. It is the literal the TypeScript
// reference uses, so serialized versions are interchangeable.
const Genesis = "kyneta.genesis"

// Order is the result of comparing two versions: "this relative to other".
type Order int

// The four outcomes of [Version.Compare].
const (
	Behind Order = iota + 1
	Equal
	Ahead
	Concurrent
)

// String returns the reference's name for the order ("behind", ...).
func (o Order) String() string {
	switch o {
	case Behind:
		return "behind"
	case Equal:
		return "equal"
	case Ahead:
		return "ahead"
	case Concurrent:
		return "concurrent"
	}
	return "unknown"
}

// Version is a point in a replica's history. Versions of different kinds
// cannot be compared; Compare and Meet return an error with code
// reason "version-mismatch" when asked to.
type Version interface {
	// Lineage names the causal island the version belongs to; [Genesis]
	// when the replica kind has no lineages or nothing was authored yet.
	Lineage() string
	// String is the serialized form that travels on the wire and in stores.
	String() string
	// Compare orders this version relative to other.
	Compare(other Version) (Order, error)
	// Meet is the greatest lower bound of the two versions.
	Meet(other Version) (Version, error)
}

// Dominates reports whether a wins over b when the two versions have
// diverged (Compare gives Concurrent): a total order every peer and store
// evaluates identically. Plain versions order by op counter, then by
// lineage; other kinds by their serialized form.
func Dominates(a, b Version) bool {
	pa, ok1 := a.(PlainVersion)
	pb, ok2 := b.(PlainVersion)
	if ok1 && ok2 {
		if pa.Counter() != pb.Counter() {
			return pa.Counter() > pb.Counter()
		}
		return pa.Lineage() > pb.Lineage()
	}
	return a.String() > b.String()
}

// Compatible reports whether two replica types can exchange payloads: same
// name and same major version (minor versions may differ).
func Compatible(a, b wire.ReplicaType) bool { return a.Name == b.Name && a.Major == b.Major }

// Built-in replica types.
var (
	PlainType = wire.ReplicaType{Name: "plain", Major: 1, Minor: 0}
	StateType = wire.ReplicaType{Name: "state", Major: 1, Minor: 0}
)

// Payload is document state or a delta as replicas produce and consume it.
//
// For the JSON encoding Data holds UTF-8 JSON text; for the binary encoding
// raw bytes. Lineage "" means absent: the wire's optional lineage (a
// *string in [wire.Payload]) maps nil ⇔ "". An explicit empty lineage on
// the wire therefore reads as absent; no replica ever mints or adopts an
// empty lineage, so nothing is lost.
type Payload struct {
	Kind     wire.PayloadKind
	Encoding wire.PayloadEncoding
	Data     []byte
	Lineage  string
	// Owned hands Data to the replica: the caller will never modify or
	// reuse it, so Merge may keep it (as its log, or as views into it)
	// instead of copying it. The exchange sets it for what it received
	// from a channel; leave it false for a buffer you reuse.
	Owned bool
}

// Wire converts the payload to its wire form. Data is shared, not copied.
func (p Payload) Wire() wire.Payload {
	out := wire.Payload{Kind: p.Kind, Encoding: p.Encoding, Data: p.Data}
	if p.Lineage != "" {
		l := p.Lineage
		out.Lineage = &l
	}
	return out
}

// Clone returns a copy of p whose Data does not alias p's.
func (p Payload) Clone() Payload {
	if p.Data != nil {
		p.Data = append([]byte(nil), p.Data...)
	}
	return p
}

// Replica is the document backend the exchange synchronizes: a state plus
// the history needed to compute deltas. A Replica is not safe for
// concurrent use; the exchange serializes every call.
type Replica interface {
	// Version is the current version.
	Version() Version
	// BaseVersion is the earliest version for which ExportSince still works.
	BaseVersion() Version
	// Advance trims history up to (at most) to. It never moves past to.
	Advance(to Version) error
	// ExportEntirety returns a self-sufficient payload of the whole state.
	ExportEntirety() (Payload, error)
	// ExportSince returns what a peer at v lacks. ok=false means there is
	// nothing to send or v cannot be served (e.g. it predates the base);
	// the caller then falls back to ExportEntirety or sends nothing.
	ExportSince(v Version) (p Payload, ok bool, err error)
	// Merge absorbs a payload of either kind.
	Merge(p Payload) error
	// ResetFromEntirety discards local history and adopts the incoming
	// state, lineage and (for op logs) counter of remote.
	ResetFromEntirety(p Payload, remote Version) error
}

// Factory builds replicas of one replica type.
type Factory interface {
	// Type is the replica type the factory produces.
	Type() wire.ReplicaType
	// CreateEmpty returns a fresh replica with no state.
	CreateEmpty() Replica
	// FromEntirety builds a replica from a self-sufficient payload.
	FromEntirety(p Payload) (Replica, error)
	// ParseVersion parses a serialized version of this replica type.
	ParseVersion(s string) (Version, error)
}

// Bound pairs a factory with the sync mode its documents use. The plain
// factory is bound to AUTHORITATIVE and the LWW factory (same replica type)
// to EPHEMERAL; the sync mode is what tells them apart.
type Bound struct {
	Factory Factory
	Mode    wire.SyncMode
}

// OfferPart is one offer of a multi-offer send: a payload and the version
// string to stamp on the offer.
type OfferPart struct {
	Payload Payload
	Version string
}

// MultiExporter is implemented by replicas that answer one send-offer with
// several offers (the opaque relay replays each stored blob as its own
// offer). When a replica implements it, the exchange calls ExportFor
// instead of ExportSince/ExportEntirety. peerVersion is the peer's
// serialized version ("" when unknown or absent).
type MultiExporter interface {
	ExportFor(peerVersion string) ([]OfferPart, error)
}

// PiecesExporter is implemented by replicas that keep a change holding a
// large string in pieces around the string's memory (the plain replica
// does, for local writes). ExportSincePieces is ExportSince, except that
// when the answer is such a change alone its Data is nil and the data is
// the returned pieces, which a transport can write without joining them
// (wire.Pieces). The exchange prefers it to ExportSince for offers.
type PiecesExporter interface {
	ExportSincePieces(v Version) (Payload, wire.Pieces, bool, error)
}

// ExportSincePieces is r's ExportSincePieces when r is a PiecesExporter,
// and otherwise ExportSince with empty pieces.
func ExportSincePieces(r Replica, v Version) (Payload, wire.Pieces, bool, error) {
	if pe, ok := r.(PiecesExporter); ok {
		return pe.ExportSincePieces(v)
	}
	p, ok, err := r.ExportSince(v)
	return p, wire.Pieces{}, ok, err
}

// SetUnion is implemented by replicas whose merge is an idempotent set
// union (opaque CRDT relays). When SetUnion reports true the exchange's
// reset branch degrades to a plain Merge, so a stray entirety never wipes
// the replica.
type SetUnion interface {
	SetUnion() bool
}

// StampedMerger is implemented by replicas that need to know, for each
// merged payload, the version stamp of the offer that carried it and the
// peer it came from (the opaque relay keeps both to replay and to claim
// versions it can back). The exchange calls MergeStamped instead of Merge
// when a replica implements it.
type StampedMerger interface {
	MergeStamped(p Payload, stamp string, from string) error
}

// History is the size of the history a replica keeps beyond its state so
// that it can answer ExportSince: batches (or stored payloads) after the
// base and their encoded bytes.
type History struct {
	Batches int
	Bytes   int
}

// HistoryReporter is implemented by replicas whose history [Replica.Advance]
// trims (the plain replica). The exchange reads it to decide when to
// compact: for instance once Bytes exceeds a few times the size of the last
// entirety it exported.
type HistoryReporter interface {
	History() History
}

// PeerVersioner is implemented by replicas that claim a different version
// to each peer (the opaque relay claims the latest stamp received from
// that peer). ok=false means "claim nothing": the exchange omits the
// interest version so the peer sends its entirety.
type PeerVersioner interface {
	VersionFor(peer string) (version string, ok bool)
}
