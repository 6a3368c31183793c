package store

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
	// CodeVersionConflict: a store shared by several writers refused an
	// entry whose base is not the stream's head (another writer appended
	// in between), because appending it would put the same changes in the
	// stream twice. The writer should store an entirety with Replace.
	CodeVersionConflict Code = "version-conflict"
)

// Error is a store error. errors.Is matches the Err* sentinels by Code.
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
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func quote(s string) string { return "'" + s + "'" }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrEntryBeforeMeta     = &Error{Code: CodeEntryBeforeMeta}
	ErrReplicaTypeMismatch = &Error{Code: CodeReplicaTypeMismatch}
	ErrSyncModeMismatch    = &Error{Code: CodeSyncModeMismatch}
	ErrReplaceWithoutMeta  = &Error{Code: CodeReplaceWithoutMeta}
	ErrInvalidRecord       = &Error{Code: CodeInvalidRecord}
	ErrClosed              = &Error{Code: CodeClosed}
	ErrFormat              = &Error{Code: CodeFormat}
	ErrInjected            = &Error{Code: CodeInjected}
	ErrVersionConflict     = &Error{Code: CodeVersionConflict}
)

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
// errors.Is(err, ErrFormat) holds for it.
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

// Is makes errors.Is(err, ErrFormat) hold.
func (e *FormatError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeFormat
}

// FormatVersion is the store format this implementation writes and reads
// ({"major":1,"minor":0}), shared with the reference's persistent stores.
var FormatVersion = struct{ Major, Minor int }{1, 0}
