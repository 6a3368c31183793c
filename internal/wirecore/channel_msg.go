package wirecore

// ChannelMsg is a transport-level Kyneta message as the exchange sees it:
// full document ids and schema hashes, no aliases. It is one of
// [*Establish], [*Depart], [*Present], [*Interest], [*Offer], [*Dismiss] or
// [*Vacant]. The alias transformer turns it into the compact wire form.
type ChannelMsg interface {
	// MsgType is the message's discriminator, as written in the wire's "t" key.
	MsgType() MsgType
	isChannelMsg()
}

// MsgType is the wire discriminator of a message (CBOR/JSON key "t").
type MsgType uint8

// The seven message types of Kyneta wire v3.
const (
	TypeEstablish MsgType = 0x01
	TypeDepart    MsgType = 0x02
	TypePresent   MsgType = 0x10
	TypeInterest  MsgType = 0x11
	TypeOffer     MsgType = 0x12
	TypeDismiss   MsgType = 0x13
	TypeVacant    MsgType = 0x14
)

// String returns the reference's name for the type ("establish", ...).
func (t MsgType) String() string {
	switch t {
	case TypeEstablish:
		return "establish"
	case TypeDepart:
		return "depart"
	case TypePresent:
		return "present"
	case TypeInterest:
		return "interest"
	case TypeOffer:
		return "offer"
	case TypeDismiss:
		return "dismiss"
	case TypeVacant:
		return "vacant"
	}
	return "unknown"
}

// IsLifecycle reports whether the type belongs to the session lifecycle
// (establish, depart) rather than document sync.
func (t MsgType) IsLifecycle() bool { return t == TypeEstablish || t == TypeDepart }

// PeerType says what kind of participant a peer is.
type PeerType string

// Peer types known to the reference. Other strings travel verbatim.
const (
	PeerUser    PeerType = "user"
	PeerBot     PeerType = "bot"
	PeerService PeerType = "service"
)

// PeerIdentity is what a peer says about itself in establish.
type PeerIdentity struct {
	PeerID string
	Name   *string // nil when absent on the wire
	Type   PeerType
}

// Features are the optional capabilities a peer advertises. Each is
// tri-state: nil (not said), false or true; the reference keeps the three
// apart on the wire.
type Features struct {
	Alias    *bool
	Streamed *bool
	Datagram *bool
}

// ProtocolVersion is the exchange protocol revision carried in establish.
type ProtocolVersion struct {
	Major int64
	Minor int64
}

// DefaultProtocolVersion is (1, 0); it is omitted on the wire.
var DefaultProtocolVersion = ProtocolVersion{Major: 1, Minor: 0}

// Establish opens (or answers) the session handshake on a channel.
type Establish struct {
	Identity        PeerIdentity
	Features        *Features // nil when the peer advertised none
	ProtocolVersion ProtocolVersion
}

// Depart announces an intentional departure; the receiver skips its grace timer.
type Depart struct{}

// WriterModel, Delivery and Durability are the three axes of a sync mode.
type (
	WriterModel string
	Delivery    string
	Durability  string
)

// Values of the sync-mode axes.
const (
	Serialized   WriterModel = "serialized"
	Concurrent   WriterModel = "concurrent"
	DeltaCapable Delivery    = "delta-capable"
	SnapshotOnly Delivery    = "snapshot-only"
	Persistent   Durability  = "persistent"
	Transient    Durability  = "transient"
)

// SyncMode describes how a document is synchronised.
type SyncMode struct {
	WriterModel WriterModel
	Delivery    Delivery
	Durability  Durability
}

// The three sync modes that exist on the wire.
var (
	Collaborative = SyncMode{Concurrent, DeltaCapable, Persistent}
	Authoritative = SyncMode{Serialized, DeltaCapable, Persistent}
	Ephemeral     = SyncMode{Concurrent, SnapshotOnly, Transient}
)

// ReplicaType names a payload format: (name, major, minor).
type ReplicaType struct {
	Name  string
	Major int64
	Minor int64
}

// DocPresence is one entry of a present message.
type DocPresence struct {
	DocID           string
	ReplicaType     ReplicaType
	SyncMode        SyncMode
	SchemaHash      string
	SupportedHashes []string // nil when absent
}

// Present announces documents the sender has.
type Present struct {
	Docs []DocPresence
}

// Interest asks a peer for a document, optionally from a version.
type Interest struct {
	DocID       string
	Version     *string // nil: "send me everything"
	Reciprocate *bool   // nil when absent on the wire (means false)
}

// PayloadKind says whether a payload is self-sufficient or a delta.
type PayloadKind string

// PayloadEncoding says how a payload's data is encoded.
type PayloadEncoding string

// Payload kinds and encodings.
const (
	Entirety PayloadKind     = "entirety"
	Since    PayloadKind     = "since"
	JSON     PayloadEncoding = "json"
	Binary   PayloadEncoding = "binary"
)

// Payload is document state or a delta. For the JSON encoding Data holds
// the UTF-8 JSON text (a CBOR text string on the wire); for the binary
// encoding it holds raw bytes (a CBOR byte string).
type Payload struct {
	Kind     PayloadKind
	Encoding PayloadEncoding
	Data     []byte
	Lineage  *string // nil when absent
}

// Offer carries a document payload and the version it brings the receiver to.
type Offer struct {
	DocID       string
	Payload     Payload
	Version     string
	Reciprocate *bool
}

// Dismiss says the sender leaves the sync graph for a document it had.
type Dismiss struct {
	DocID string
}

// Vacant is the terminal "I don't have it and won't serve it" answer.
type Vacant struct {
	DocID string
}

func (*Establish) MsgType() MsgType { return TypeEstablish }
func (*Depart) MsgType() MsgType    { return TypeDepart }
func (*Present) MsgType() MsgType   { return TypePresent }
func (*Interest) MsgType() MsgType  { return TypeInterest }
func (*Offer) MsgType() MsgType     { return TypeOffer }
func (*Dismiss) MsgType() MsgType   { return TypeDismiss }
func (*Vacant) MsgType() MsgType    { return TypeVacant }

func (*Establish) isChannelMsg() {}
func (*Depart) isChannelMsg()    {}
func (*Present) isChannelMsg()   {}
func (*Interest) isChannelMsg()  {}
func (*Offer) isChannelMsg()     {}
func (*Dismiss) isChannelMsg()   {}
func (*Vacant) isChannelMsg()    {}
