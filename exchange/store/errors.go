package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta/internal/errtext"
)

// Code classifies store errors.
type Code string

// Error codes (§10.2 of the exchange spec).
const (
	// CodeEntryBeforeMeta: an entry appended to a document without meta.
	CodeEntryBeforeMeta Code = "entry-before-meta"
	// CodeReplicaTypeMismatch: a meta record whose replica type is not
	// compatible with the document's (message mentions "replicaType").
	CodeReplicaTypeMismatch Code = "replica-type-mismatch"
	// CodeSyncModeMismatch: a meta record whose sync mode differs from the
	// document's (message mentions "syncMode").
	CodeSyncModeMismatch Code = "sync-mode-mismatch"
	// CodeReplaceWithoutMeta: a Replace batch without a meta record.
	CodeReplaceWithoutMeta Code = "replace-without-meta"
	// CodeInvalidRecord: a record with an unknown kind.
	CodeInvalidRecord Code = "invalid-record"
	// CodeClosed: the store was closed.
	CodeClosed Code = "closed"
	// CodeFormat: a persistent backend refuses to open its data (see
	// [FormatError]).
	CodeFormat Code = "format-refused"
	// CodeInjected: a fault injected by a test seam.
	CodeInjected Code = "fault-injected"
	// CodeLocked: a persistent backend's data is held by another process
	// (or another store in this process) and the store refuses to open.
	CodeLocked Code = "locked"
	// CodeCorrupt: a document's stored stream is broken (see
	// [CorruptError]).
	CodeCorrupt Code = "corrupt"
	// CodeHeadMismatch: a conditional append found the stream ending
	// somewhere else than the caller expected (see [HeadError]).
	CodeHeadMismatch Code = "head-mismatch"
	// CodeWriteFailed: the backend could not carry out a write (disk full,
	// I/O error, lock timeout); nothing was committed, and the same write
	// may succeed later.
	CodeWriteFailed Code = "write-failed"
	// CodeVersionConflict: a store shared by several writers refused an
	// entry whose base is not the stream's head (another writer appended
	// in between), because appending it would put the same changes in the
	// stream twice. The writer should store an entirety with Replace.
	CodeVersionConflict Code = "version-conflict"
)

// Error is a store error. errors.Is(err, &Error{Code: c}) matches any error
// of this package with code c, as does CodeOf(err) == c.
type Error struct {
	Code  Code
	DocID string
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	s := "store: " + string(e.Code)
	if e.DocID != "" {
		s += " (doc " + quote(e.DocID) + ")"
	}
	return errtext.Join(s, e.Msg, e.Err)
}

func quote(s string) string { return "'" + s + "'" }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the code of the first error of this package in err's
// chain: an *Error's Code, CodeCorrupt for a *CorruptError,
// CodeHeadMismatch for a *HeadError and CodeFormat for a *FormatError; ""
// if there is none.
func CodeOf(err error) Code {
	for ; err != nil; err = errors.Unwrap(err) {
		switch e := err.(type) {
		case *Error:
			return e.Code
		case *CorruptError:
			return CodeCorrupt
		case *HeadError:
			return CodeHeadMismatch
		case *FormatError:
			return CodeFormat
		}
	}
	return ""
}

// Transient reports whether a failed write may succeed when retried
// unchanged later, so a caller should keep it and retry with backoff:
// true for [CodeWriteFailed], injected faults and errors this package does
// not classify (a backend's raw I/O error); false for nil, validation
// errors, [CodeClosed], [CodeFormat], [CodeLocked], [CodeCorrupt] (which need
// a repair) and context cancellation. A [*HeadError] is not transient
// either: the write must be recomputed from the head it reports.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *Error
	var he *HeadError
	var ce *CorruptError
	var fe *FormatError
	switch {
	case errors.As(err, &he), errors.As(err, &ce), errors.As(err, &fe):
		return false
	case errors.As(err, &se):
		return se.Code == CodeWriteFailed || se.Code == CodeInjected
	}
	return true
}

// CorruptReason says how a stored stream is broken.
type CorruptReason string

// Corruption reasons.
const (
	// ReasonUndecodable: a record cannot be decoded.
	ReasonUndecodable CorruptReason = "undecodable-record"
	// ReasonSequenceGap: a record is missing between two stored ones.
	ReasonSequenceGap CorruptReason = "sequence-gap"
	// ReasonNoLeadingMeta: the stream does not start with a meta record.
	ReasonNoLeadingMeta CorruptReason = "no-leading-meta"
	// ReasonVersionGap: replaying a record did not lead to the version
	// stored with it (a delta is missing or was stored twice); see
	// [Replay].
	ReasonVersionGap CorruptReason = "version-gap"
	// ReasonRejected: the document refused a stored record on replay
	// (see [Replay]).
	ReasonRejected CorruptReason = "rejected-record"
)

// CorruptError reports a broken stream: loading stopped at record Index
// (0-based, in stream order; -1 when unknown; Seq is the backend's
// sequence number of the bad record, or -1 when it has none), and nothing
// after it was used.
//
// The records returned with it (by LoadAll, or applied by [Replay]) are
// the intact prefix: Good records, ending at entry version LastVersion
// ("" when no entry precedes the break). A caller may serve the document
// from that prefix, at LastVersion, but must not append to the stream
// as it is: the next load would stop at the same place and drop what was
// appended. The repair is a [Store.Replace] with the state the caller
// trusts (which discards the bad record and everything after it in that
// store), made deliberately, after the diagnostic has been reported.
// errors.Is(err, &Error{Code: CodeCorrupt}) holds for it.
type CorruptError struct {
	DocID       string
	Reason      CorruptReason
	Index       int
	Seq         int64
	Good        int
	LastVersion string
	Detail      string
	Err         error
}

func (e *CorruptError) Error() string {
	s := fmt.Sprintf("store: corrupt stream (doc %s): %s", quote(e.DocID), e.Reason)
	if e.Index >= 0 {
		s += fmt.Sprintf(" at record %d", e.Index)
	}
	if e.Seq >= 0 {
		s += fmt.Sprintf(" (seq %d)", e.Seq)
	}
	s += fmt.Sprintf("; %d good records up to version %s", e.Good, quote(e.LastVersion))
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: CodeCorrupt}) hold.
func (e *CorruptError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeCorrupt
}

// HeadError is returned by [Store.AppendAfter] when the stream does not
// end at the base the caller gave. Nothing was written. Head says where
// the stream does end: Exists is false when the document has no meta in
// this store, else Version is the version of its last entry ("" when it
// has none). A caller that lost track of a write (it failed, but may have
// landed) learns here whether it did: Head.Version equal to the batch's
// last version means it landed.
// errors.Is(err, &Error{Code: CodeHeadMismatch}) holds for it.
type HeadError struct {
	DocID string
	Base  string
	Head  Head
}

func (e *HeadError) Error() string {
	if !e.Head.Exists {
		return "store: head-mismatch (doc " + quote(e.DocID) + "): want base " + quote(e.Base) + ", document not stored"
	}
	return "store: head-mismatch (doc " + quote(e.DocID) + "): want base " + quote(e.Base) + ", stream ends at " + quote(e.Head.Version)
}

// Is makes errors.Is(err, &Error{Code: CodeHeadMismatch}) hold.
func (e *HeadError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeHeadMismatch
}

// FormatReason says why a persistent backend refused its data.
type FormatReason string

// Format refusal reasons, as in the reference.
const (
	ReasonIncompatibleMajor       FormatReason = "incompatible-major"
	ReasonUnversionedExistingData FormatReason = "unversioned-existing-data"
	ReasonMalformedVersion        FormatReason = "malformed-version"
)

// FormatError is returned when a persistent store's on-disk format marker
// is missing (with data present), malformed, or of another major version.
// errors.Is(err, &Error{Code: CodeFormat}) holds for it.
type FormatError struct {
	Reason  FormatReason
	Backend string // e.g. "sqlite"
	Stored  string // stored marker, "" when absent
	Current string // this implementation's format, e.g. "1.0"
}

func (e *FormatError) Error() string {
	return "store: " + string(e.Backend) + " refuses data: " + string(e.Reason) +
		" (stored " + quote(e.Stored) + ", current " + quote(e.Current) + ")"
}

// Is makes errors.Is(err, &Error{Code: CodeFormat}) hold.
func (e *FormatError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeFormat
}
