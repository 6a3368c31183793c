package exchange

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta/internal/errtext"
)

// Code classifies exchange API errors so callers can branch on a value.
type Code string

// Error codes, one per API error surface of the reference (§10.2) plus the
// Go-specific ones (closed exchange, invalid arguments).
const (
	CodeInvalidPeerID     Code = "invalid-peer-id"     // empty peer id
	CodeInvalidDocID      Code = "invalid-doc-id"      // empty or longer than 512 bytes
	CodeInvalidSchemaHash Code = "invalid-schema-hash" // longer than 256 bytes
	CodeInvalidDocType    Code = "invalid-doc-type"    // no usable factory / mode
	CodeDocTypeConflict   Code = "doc-type-conflict"   // Get with a different DocType for the same doc
	CodeReplicated        Code = "replicated"          // Get on a replicate-mode (headless) doc
	CodeSuspended         Code = "suspended"           // Get/Update on a suspended doc
	CodeAlreadyRegistered Code = "already-registered"  // Replicate on a doc that is already held
	CodeNoMetadata        Code = "no-metadata"         // Replicate of an unknown doc without a DocType
	CodeNoFactory         Code = "no-factory"          // no replica factory for the doc's type and mode
	CodeUnknownDoc        Code = "unknown-doc"         // suspend/resume/destroy of a doc we do not hold
	CodeDeferred          Code = "deferred"            // suspend of a deferred doc
	CodeNotSuspended      Code = "not-suspended"       // resume of a doc that is not suspended
	CodeDestroyed         Code = "destroyed"           // use of a handle whose doc was destroyed
	CodeSyncTimeout       Code = "sync-timeout"        // WaitForSync gave up (context done)
	CodeNotAcknowledged   Code = "not-acknowledged"    // WaitAcknowledged gave up (context done)
	CodeSchemaMismatch    Code = "schema-mismatch"     // WaitForSync: the peers hold the doc with another schema hash
	CodeTypeMismatch      Code = "type-mismatch"       // WaitForSync: the peers hold the doc with another replica type or sync mode
	CodeBudgetExhausted   Code = "budget-exhausted"    // a dispatch cascade exceeded the budget
	CodeDispose           Code = "dispose"             // policy disposers failed
	CodeClosed            Code = "closed"              // the exchange was shut down
	CodeTransport         Code = "transport"           // a transport failed to start/stop
	CodeInvalidChange     Code = "invalid-change"      // a transaction the replica refused
	CodeDecode            Code = "decode"              // Decode into a Go value failed
)

// Error is the exchange's typed error. errors.Is(err, &Error{Code: c})
// matches any *Error with code c (as does CodeOf(err) == c for the first
// one in the chain); Unwrap exposes the cause (e.g. the context error of a
// sync timeout, or a replica error).
type Error struct {
	Code  Code
	DocID string
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	s := "exchange: " + string(e.Code)
	if e.DocID != "" {
		s += fmt.Sprintf(" (doc %q)", e.DocID)
	}
	return errtext.Join(s, e.Msg, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var b *BudgetError
	if errors.As(err, &b) {
		return CodeBudgetExhausted
	}
	return ""
}

// BudgetError reports a dispatch cascade that ran past the exchange's
// iteration budget: more messages than the budget, all caused by one
// external input (almost always a feedback loop between a subscriber and
// the exchange). The cascade's queued messages are dropped; external
// inputs are kept. Its code is CodeBudgetExhausted.
type BudgetError struct {
	Budget int
	// Counts tallies the kinds of the recent messages.
	Counts map[string]int
	// Recent names the last messages of the cascade, oldest first.
	Recent []string
	// Err is the runner's report (origin stack, message history).
	Err error
}

// Unwrap returns the runner's report.
func (e *BudgetError) Unwrap() error { return e.Err }

func (e *BudgetError) Error() string {
	return fmt.Sprintf("exchange: dispatch budget exhausted (more than %d messages in one cascade); recent: %v", e.Budget, e.Recent)
}

// Is matches &Error{Code: CodeBudgetExhausted}.
func (e *BudgetError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == CodeBudgetExhausted
}
