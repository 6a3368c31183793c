package exchange

import (
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/wire"
)

// DocMeta is what a present entry says about a document.
type DocMeta struct {
	ReplicaType     wire.ReplicaType
	SyncMode        wire.SyncMode
	SchemaHash      string
	SupportedHashes []string // nil: only SchemaHash
}

// DocMode says how the exchange holds a document.
type DocMode string

// Document modes.
const (
	// ModeInterpret: the document has a local replica the application reads
	// and writes through a [Doc] handle.
	ModeInterpret DocMode = "interpret"
	// ModeReplicate: a headless replica, stored and relayed but not
	// interpreted (hubs, relays).
	ModeReplicate DocMode = "replicate"
	// ModeDeferred: the exchange knows a peer has the document but holds no
	// data; it routes presents but never requests or serves data.
	ModeDeferred DocMode = "deferred"
)

// PeerChangeType is the kind of a peers-feed event.
type PeerChangeType string

// Peer change types.
const (
	PeerEstablished  PeerChangeType = "peer-established"
	PeerDisconnected PeerChangeType = "peer-disconnected"
	PeerReconnected  PeerChangeType = "peer-reconnected"
	PeerDeparted     PeerChangeType = "peer-departed"
)

// PeerChange is one event of the peers feed.
type PeerChange struct {
	Type PeerChangeType
	Peer wire.PeerIdentity
}

// DocChangeType is the kind of a documents-feed event.
type DocChangeType string

// Document change types.
const (
	DocCreated   DocChangeType = "doc-created"
	DocRemoved   DocChangeType = "doc-removed"
	DocDeferred  DocChangeType = "doc-deferred"
	DocPromoted  DocChangeType = "doc-promoted"
	DocSuspended DocChangeType = "doc-suspended"
	DocResumed   DocChangeType = "doc-resumed"
)

// DocChange is one event of the documents feed.
type DocChange struct {
	Type  DocChangeType
	DocID string
}

// PeerSyncKind is a peer's sync state for one document.
type PeerSyncKind string

// Per-peer document states.
const (
	// PeerPending: the peer asked us to reciprocate; its data is expected.
	PeerPending PeerSyncKind = "pending"
	// PeerSynced: the peer is caught up to LastKnownVersion.
	PeerSynced PeerSyncKind = "synced"
	// PeerVacant: the peer answered that it does not have the document.
	PeerVacant PeerSyncKind = "vacant"
)

// PeerDocState is what we know about one peer's copy of one document.
type PeerDocState struct {
	Kind             PeerSyncKind
	LastKnownVersion string // for PeerSynced
}

// Severity grades a diagnostic.
type Severity string

// Diagnostic severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is a structured report about something that went wrong but did
// not stop the exchange. Reason names the condition ("quota",
// "schema-hash-mismatch", ...) in the module's one error model: docs/errors.md
// lists the reasons, and [Diagnostic.Code] says what to do about one.
type Diagnostic struct {
	Reason   string
	Severity Severity
	Message  string
	PeerID   string // "" when not about a peer
	DocID    string // "" when not about a document
	Local    string // local side of a mismatch
	Remote   string // remote side of a mismatch
	Err      error  // underlying error, if any
}

// Code says what to do about the diagnostic's reason.
func (d Diagnostic) Code() kyneta.Code { return codeOf(d.Reason) }

// AsError returns the diagnostic as the module's error: its code and
// reason, the message as detail, wrapping Err.
func (d Diagnostic) AsError() *kyneta.Error {
	return &kyneta.Error{Code: d.Code(), Reason: d.Reason, Pkg: "exchange", Detail: d.Message, Err: d.Err}
}
