// Package storeerr builds the errors of package store and of its backends:
// one reason table, one constructor, so every backend classifies the same
// condition the same way. docs/errors.md lists the reasons.
package storeerr

import (
	"errors"
	"strings"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// Reasons ([kyneta.Error.Reason]) of store errors.
const (
	// an entry appended to a document without meta
	EntryBeforeMeta = "entry-before-meta"
	// a meta record whose replica type is not compatible with the
	// document's (the message mentions "replicaType")
	ReplicaTypeMismatch = "replica-type-mismatch"
	// a meta record whose sync mode differs from the document's (the
	// message mentions "syncMode")
	SyncModeMismatch = "sync-mode-mismatch"
	// a Replace batch without a meta record
	ReplaceWithoutMeta = "replace-without-meta"
	// a record with an unknown kind, or a document id or payload a backend
	// cannot store
	InvalidRecord = "invalid-record"
	// the store was closed
	Closed = "closed"
	// a fault injected by a test seam
	Injected = "fault-injected"
	// a persistent backend's data is held by another process (or another
	// store in this process)
	Locked = "locked"
	// a conditional append found the stream ending somewhere else than the
	// caller expected (store.HeadError)
	HeadMismatch = "head-mismatch"
	// the backend could not carry out a write (disk full, I/O error, lock
	// timeout); nothing was committed, and the same write may succeed later
	WriteFailed = "write-failed"
	// a store shared by several writers refused an entry whose base is not
	// the stream's head
	VersionConflict = "version-conflict"

	// A persistent backend refuses to open its data: the format marker is
	// of another major version, missing while data is present, or does not
	// parse.
	IncompatibleMajor       = "incompatible-major"
	UnversionedExistingData = "unversioned-existing-data"
	MalformedVersion        = "malformed-version"

	// A document's stored stream is broken (store.CorruptError): a record
	// cannot be decoded, one is missing between two stored ones, the stream
	// does not start with meta, replaying a record did not lead to its
	// stored version, or the document refused a stored record on replay.
	Undecodable   = "undecodable-record"
	SequenceGap   = "sequence-gap"
	NoLeadingMeta = "no-leading-meta"
	VersionGap    = "version-gap"
	Rejected      = "rejected-record"
)

// Codes maps every reason to the code that says what to do about it.
var Codes = map[string]kyneta.Code{
	EntryBeforeMeta:         kyneta.CodeFailedPrecondition,
	ReplicaTypeMismatch:     kyneta.CodeFailedPrecondition,
	SyncModeMismatch:        kyneta.CodeFailedPrecondition,
	ReplaceWithoutMeta:      kyneta.CodeInvalidArgument,
	InvalidRecord:           kyneta.CodeInvalidArgument,
	Closed:                  kyneta.CodeUnavailable,
	Injected:                kyneta.CodeUnavailable,
	Locked:                  kyneta.CodeUnavailable,
	HeadMismatch:            kyneta.CodeFailedPrecondition,
	WriteFailed:             kyneta.CodeUnavailable,
	VersionConflict:         kyneta.CodeFailedPrecondition,
	IncompatibleMajor:       kyneta.CodeUnsupported,
	UnversionedExistingData: kyneta.CodeFailedPrecondition,
	MalformedVersion:        kyneta.CodeDataLoss,
	Undecodable:             kyneta.CodeDataLoss,
	SequenceGap:             kyneta.CodeDataLoss,
	NoLeadingMeta:           kyneta.CodeDataLoss,
	VersionGap:              kyneta.CodeDataLoss,
	Rejected:                kyneta.CodeDataLoss,
}

// Pkg is the errors' package name, their messages' prefix.
const Pkg = "store"

// New returns the store error for reason, about document doc ("" when it
// is about none).
func New(reason, doc, detail string, cause error) *kyneta.Error {
	if doc != "" {
		detail = join(Subject(doc), detail)
	}
	return reasons.Table{Pkg: Pkg, Codes: Codes}.New(reason, detail, cause)
}

// Subject names a document in a message: doc 'id'.
func Subject(doc string) string { return "doc " + Quote(doc) }

// Quote quotes a name the way store messages do.
func Quote(s string) string { return "'" + s + "'" }

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// WithDoc names document doc in err when err is a store error that names
// none yet (a backend builds some errors before it knows the document).
func WithDoc(err error, doc string) error {
	var e *kyneta.Error
	if !errors.As(err, &e) || e.Pkg != Pkg || strings.HasPrefix(e.Detail, "doc '") {
		return err
	}
	c := *e
	c.Detail = join(Subject(doc), c.Detail)
	return &c
}

// Format returns a backend's refusal to open data whose format marker is
// stored (or "") while this implementation writes current.
func Format(reason, backend, stored, current string) *kyneta.Error {
	return New(reason, "", backend+" refuses data (stored "+Quote(stored)+", current "+Quote(current)+")", nil)
}
