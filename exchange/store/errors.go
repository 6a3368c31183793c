package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
)

// Errors of this package and of its backends are *kyneta.Error values with
// Pkg "store" (or types that unwrap to one: [CorruptError], [HeadError]);
// docs/errors.md lists their reasons and codes.

func quote(s string) string { return storeerr.Quote(s) }

// Transient reports whether a failed write may succeed when retried
// unchanged later, so a caller should keep it and retry with backoff:
// true for reason "write-failed", injected faults and errors this package
// does not classify (a backend's raw I/O error); false for nil, validation
// errors, a closed or locked store, a refused format, a [CorruptError]
// (which needs a repair) and context cancellation. A [HeadError] is not
// transient either: the write must be recomputed from the head it reports.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ke *kyneta.Error
	if !errors.As(err, &ke) {
		return true
	}
	return ke.Pkg == storeerr.Pkg && (ke.Reason == storeerr.WriteFailed || ke.Reason == storeerr.Injected)
}

// CorruptError reports a broken stream: loading stopped at record Index
// (0-based, in stream order; -1 when unknown; Seq is the backend's
// sequence number of the bad record, or -1 when it has none), and nothing
// after it was used. Reason says how the stream is broken (docs/errors.md);
// its code is [kyneta.CodeDataLoss].
//
// The records returned with it (by LoadAll, or applied by [Replay]) are
// the intact prefix: Good records, ending at entry version LastVersion
// ("" when no entry precedes the break). A caller may serve the document
// from that prefix, at LastVersion, but must not append to the stream
// as it is: the next load would stop at the same place and drop what was
// appended. The repair is a [Store.Replace] with the state the caller
// trusts (which discards the bad record and everything after it in that
// store), made deliberately, after the diagnostic has been reported.
type CorruptError struct {
	DocID       string
	Reason      string
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

// Unwrap returns the classification, which wraps the cause.
func (e *CorruptError) Unwrap() error {
	return storeerr.New(e.Reason, e.DocID, e.Detail, e.Err)
}

// HeadError is returned by [Store.AppendAfter] when the stream does not
// end at the base the caller gave (reason "head-mismatch", code
// [kyneta.CodeFailedPrecondition]). Nothing was written. Head says where
// the stream does end: Exists is false when the document has no meta in
// this store, else Version is the version of its last entry ("" when it
// has none). A caller that lost track of a write (it failed, but may have
// landed) learns here whether it did: Head.Version equal to the batch's
// last version means it landed.
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

// Unwrap returns the classification.
func (e *HeadError) Unwrap() error {
	return storeerr.New(storeerr.HeadMismatch, e.DocID, "want base "+quote(e.Base), nil)
}
