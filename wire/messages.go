package wire

import "github.com/kyneta-go/kyneta/internal/wirecore"

// ChannelMsg is a transport-level Kyneta message as the exchange sees it:
// full document ids and schema hashes, no aliases. It is one of
// [*Establish], [*Depart], [*Present], [*Interest], [*Offer], [*Dismiss] or
// [*Vacant]; its MsgType method returns the wire discriminator ("t").
type ChannelMsg = wirecore.ChannelMsg

// MsgType is the wire discriminator of a message (CBOR/JSON key "t"). Its
// String method returns the reference's name ("establish", ...).
type MsgType = wirecore.MsgType

// The seven message types of Kyneta wire v3.
const (
	TypeEstablish = wirecore.TypeEstablish
	TypeDepart    = wirecore.TypeDepart
	TypePresent   = wirecore.TypePresent
	TypeInterest  = wirecore.TypeInterest
	TypeOffer     = wirecore.TypeOffer
	TypeDismiss   = wirecore.TypeDismiss
	TypeVacant    = wirecore.TypeVacant
)

// Establish opens (or answers) the session handshake on a channel: the
// peer's Identity, its Features (nil when it advertised none) and its
// ProtocolVersion.
type Establish = wirecore.Establish

// Depart announces an intentional departure; the receiver skips its grace
// timer.
type Depart = wirecore.Depart

// Present announces documents the sender has (Docs).
type Present = wirecore.Present

// Interest asks a peer for a document (DocID), optionally from a Version
// (nil: everything), with Reciprocate (nil when absent on the wire).
type Interest = wirecore.Interest

// Offer carries a document payload and the version it brings the receiver
// to: DocID, Payload, Version, Reciprocate.
type Offer = wirecore.Offer

// Dismiss says the sender leaves the sync graph for a document it had.
type Dismiss = wirecore.Dismiss

// Vacant is the terminal "I don't have it and won't serve it" answer.
type Vacant = wirecore.Vacant

// PeerIdentity is what a peer says about itself in establish: PeerID,
// Name (nil when absent on the wire) and Type.
type PeerIdentity = wirecore.PeerIdentity

// PeerType says what kind of participant a peer is.
type PeerType = wirecore.PeerType

// Peer types known to the reference. Other strings travel verbatim.
const (
	PeerUser    = wirecore.PeerUser
	PeerBot     = wirecore.PeerBot
	PeerService = wirecore.PeerService
)

// Features are the optional capabilities a peer advertises (Alias,
// Streamed, Datagram). Each is tri-state: nil (not said), false or true;
// the reference keeps the three apart on the wire.
type Features = wirecore.Features

// ProtocolVersion is the exchange protocol revision carried in establish
// (Major, Minor).
type ProtocolVersion = wirecore.ProtocolVersion

// DefaultProtocolVersion is (1, 0); it is omitted on the wire.
var DefaultProtocolVersion = wirecore.DefaultProtocolVersion

// DocPresence is one entry of a present message: DocID, ReplicaType,
// SyncMode, SchemaHash and SupportedHashes (nil when absent).
type DocPresence = wirecore.DocPresence

// ReplicaType names a payload format: (Name, Major, Minor).
type ReplicaType = wirecore.ReplicaType

// SyncMode describes how a document is synchronised, along three axes:
// WriterModel ("serialized" or "concurrent"), Delivery ("delta-capable" or
// "snapshot-only") and Durability ("persistent" or "transient"). Only the
// three modes below exist on the wire; compare a mode with them.
type SyncMode = wirecore.SyncMode

// The three sync modes that exist on the wire.
var (
	Collaborative = wirecore.Collaborative
	Authoritative = wirecore.Authoritative
	Ephemeral     = wirecore.Ephemeral
)

// Payload is document state or a delta: Kind, Encoding, Data and Lineage
// (nil when absent). For the JSON encoding Data holds the UTF-8 JSON text
// (a CBOR text string on the wire); for the binary encoding it holds raw
// bytes (a CBOR byte string).
type Payload = wirecore.Payload

// Pieces is a payload's data held as Head ‖ Body ‖ Tail instead of one
// buffer, so a large value (Body) can be written from where it is: what
// a replica exports for a change that holds a large string, and what
// [transport.Link.SendPieces] takes. Len gives the data's length and Join
// a copy in one buffer. The memory must never change.
type Pieces = wirecore.Pieces

// PayloadKind says whether a payload is self-sufficient or a delta.
type PayloadKind = wirecore.PayloadKind

// PayloadEncoding says how a payload's data is encoded.
type PayloadEncoding = wirecore.PayloadEncoding

// Payload kinds and encodings.
const (
	Entirety = wirecore.Entirety
	Since    = wirecore.Since
	JSON     = wirecore.JSON
	Binary   = wirecore.Binary
)

// Encode returns the CBOR form of msg (the payload of a binary frame), as
// the reference writes it on a fresh connection: document ids and schema
// hashes in full; a present announces aliases for its entries, as every
// present does. It fails with reason "nil-message" for a nil message and
// with "unknown-payload-kind" or "unknown-payload-encoding" for an offer
// whose payload kind or encoding is not one of the constants.
func Encode(msg ChannelMsg) ([]byte, error) { return wirecore.Encode(msg) }

// Decode decodes the CBOR form of one message with the reference's
// accept/reject rules. Input that is not CBOR gives reason "cbor", input
// beyond the decoder's limits "limit" (kyneta.CodeResourceExhausted); an
// invalid message a *[ValidationError]; a reference to an alias (dx, shx),
// which only a connection's alias table can resolve, or an identifier over
// its cap an alias reason ("unknown-doc-alias", "doc-id-too-long", ...).
func Decode(data []byte) (ChannelMsg, error) { return wirecore.Decode(data) }

// ValidationError reports a well-formed value that is not a valid wire
// message (the reference's WireValidationFailure): Reason is the
// reference's reason text, Path locates the offending field (string keys,
// int indices). It unwraps to its *kyneta.Error, reason "invalid-message".
type ValidationError = wirecore.ValidationError
