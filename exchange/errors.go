package exchange

import (
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// Reasons ([kyneta.Error.Reason]) of the exchange's errors and diagnostics;
// docs/errors.md lists them with their codes.
const (
	// API errors, one per error surface of the reference (§10.2) plus the
	// Go-specific ones (closed exchange, invalid arguments).
	reasonInvalidPeerID     = "invalid-peer-id"     // empty peer id
	reasonInvalidDocID      = "invalid-doc-id"      // empty or longer than 512 bytes
	reasonInvalidSchemaHash = "invalid-schema-hash" // longer than 256 bytes
	reasonInvalidDocType    = "invalid-doc-type"    // no usable factory / mode
	reasonDocTypeConflict   = "doc-type-conflict"   // Get with a different DocType for the same doc
	reasonReplicated        = "replicated"          // Get on a replicate-mode (headless) doc
	reasonSuspended         = "suspended"           // Get/Update on a suspended doc
	reasonAlreadyRegistered = "already-registered"  // Replicate on a doc that is already held
	reasonNoMetadata        = "no-metadata"         // Replicate of an unknown doc without a DocType
	reasonNoFactory         = "no-factory"          // no replica factory for the doc's type and mode (also a diagnostic)
	reasonUnknownDoc        = "unknown-doc"         // suspend/resume/destroy of a doc we do not hold
	reasonDeferred          = "deferred"            // suspend of a deferred doc
	reasonNotSuspended      = "not-suspended"       // resume of a doc that is not suspended
	reasonDestroyed         = "destroyed"           // use of a handle whose doc was destroyed
	reasonSyncTimeout       = "sync-timeout"        // WaitForSync gave up (context done)
	reasonNotAcknowledged   = "not-acknowledged"    // WaitAcknowledged gave up (context done)
	reasonSchemaMismatch    = "schema-mismatch"     // WaitForSync: the peers hold the doc with another schema hash
	reasonTypeMismatch      = "type-mismatch"       // WaitForSync: the peers hold the doc with another replica type or sync mode
	reasonBudgetExhausted   = "budget-exhausted"    // a dispatch cascade exceeded the budget (a diagnostic)
	reasonDispose           = "dispose"             // policy disposers failed
	reasonClosed            = "closed"              // the exchange was shut down
	reasonTransport         = "transport"           // a transport failed to start/stop
	reasonInvalidChange     = "invalid-change"      // a transaction the replica refused
	reasonDecode            = "decode"              // Decode into a Go value failed

	// Diagnostics only. None of them blocks a peer; mismatches skip the doc.
	reasonSelfConnection = "self-connection"
	reasonDuplicatePeer  = "duplicate-peer"
	// a channel claimed the id of a live peer bound to another principal
	// and was refused
	reasonIdentityConflict = "identity-conflict"
	// a peer went over a quota (Options.MaxDocsPerPeer); what exceeds it
	// is refused
	reasonQuota               = "quota"
	reasonProtocolSkew        = "protocol-skew"
	reasonProtocolMismatch    = "protocol-mismatch"
	reasonReplicaTypeMismatch = "replica-type-mismatch"
	reasonSchemaHashMismatch  = "schema-hash-mismatch"
	reasonSyncModeMismatch    = "sync-mode-mismatch"
	// Shell-level warnings (version parse failures, merge failures, store
	// failures, ...). The reference only logged them.
	reasonVersionParse = "version-parse-failed"
	reasonMergeFailed  = "merge-failed"
	// a peer offered an implausible version (a counter far ahead, a
	// timestamp in the future); the offer was dropped and the doc stays
	// writable
	reasonVersionRefused = "version-refused"
	reasonResetFailed    = "reset-failed"
	reasonResetRefused   = "reset-refused"
	reasonExportFailed   = "export-failed"
	reasonStoreError     = "store-error"
	reasonCallbackPanic  = "callback-panic"
	reasonSendFailed     = "send-failed"
)

// reasonCodes maps every reason to the code that says what to do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonInvalidPeerID:       kyneta.CodeInvalidArgument,
	reasonInvalidDocID:        kyneta.CodeInvalidArgument,
	reasonInvalidSchemaHash:   kyneta.CodeInvalidArgument,
	reasonInvalidDocType:      kyneta.CodeInvalidArgument,
	reasonDocTypeConflict:     kyneta.CodeFailedPrecondition,
	reasonReplicated:          kyneta.CodeFailedPrecondition,
	reasonSuspended:           kyneta.CodeFailedPrecondition,
	reasonAlreadyRegistered:   kyneta.CodeAlreadyExists,
	reasonNoMetadata:          kyneta.CodeInvalidArgument,
	reasonNoFactory:           kyneta.CodeUnsupported,
	reasonUnknownDoc:          kyneta.CodeNotFound,
	reasonDeferred:            kyneta.CodeFailedPrecondition,
	reasonNotSuspended:        kyneta.CodeFailedPrecondition,
	reasonDestroyed:           kyneta.CodeFailedPrecondition,
	reasonSyncTimeout:         kyneta.CodeDeadlineExceeded,
	reasonNotAcknowledged:     kyneta.CodeDeadlineExceeded,
	reasonSchemaMismatch:      kyneta.CodeFailedPrecondition,
	reasonTypeMismatch:        kyneta.CodeFailedPrecondition,
	reasonBudgetExhausted:     kyneta.CodeInternal,
	reasonDispose:             kyneta.CodeInternal,
	reasonClosed:              kyneta.CodeUnavailable,
	reasonTransport:           kyneta.CodeUnavailable,
	reasonInvalidChange:       kyneta.CodeInvalidArgument,
	reasonDecode:              kyneta.CodeInvalidArgument,
	reasonSelfConnection:      kyneta.CodeFailedPrecondition,
	reasonDuplicatePeer:       kyneta.CodeAlreadyExists,
	reasonIdentityConflict:    kyneta.CodeAlreadyExists,
	reasonQuota:               kyneta.CodeResourceExhausted,
	reasonProtocolSkew:        kyneta.CodeUnsupported,
	reasonProtocolMismatch:    kyneta.CodeUnsupported,
	reasonReplicaTypeMismatch: kyneta.CodeFailedPrecondition,
	reasonSchemaHashMismatch:  kyneta.CodeFailedPrecondition,
	reasonSyncModeMismatch:    kyneta.CodeFailedPrecondition,
	reasonVersionParse:        kyneta.CodeMalformed,
	reasonMergeFailed:         kyneta.CodeMalformed,
	reasonVersionRefused:      kyneta.CodeMalformed,
	reasonResetFailed:         kyneta.CodeMalformed,
	reasonResetRefused:        kyneta.CodeFailedPrecondition,
	reasonExportFailed:        kyneta.CodeInternal,
	reasonStoreError:          kyneta.CodeUnavailable,
	reasonCallbackPanic:       kyneta.CodeInternal,
	reasonSendFailed:          kyneta.CodeUnavailable,
}

// codeOf returns the code of reason.
func codeOf(reason string) kyneta.Code {
	return reasons.Table{Codes: reasonCodes}.Code(reason)
}

// newError returns the exchange's error for reason, about document doc (""
// when it is about none).
func newError(reason, doc, detail string, cause error) *kyneta.Error {
	if doc != "" {
		s := fmt.Sprintf("doc %q", doc)
		if detail != "" {
			s += ": " + detail
		}
		detail = s
	}
	return &kyneta.Error{Code: codeOf(reason), Reason: reason, Pkg: "exchange", Detail: detail, Err: cause}
}
