package replica

import (
	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// Reasons of the errors this package returns ([kyneta.Error.Reason]);
// docs/errors.md lists them with their codes.
const (
	// a serialized version has the wrong shape
	reasonVersionParse = "version-parse"
	// two versions of different kinds were compared
	reasonVersionMismatch = "version-mismatch"
	// the payload's encoding (or kind) is not one this replica accepts,
	// e.g. binary data offered to a JSON replica
	reasonEncoding = "payload-encoding"
	// payload data is not valid JSON or not of the expected shape
	reasonMalformed = "malformed-payload"
	// a change type this replica cannot materialize
	reasonUnknownChange = "unknown-change"
	// a known change type with fields of the wrong type or out of range
	reasonInvalidChange = "invalid-change"
	// a Go value that cannot be represented as JSON
	reasonInvalidValue = "invalid-value"
	// Advance outside [BaseVersion, Version]
	reasonAdvanceRange = "advance-range"
	// the state cannot be produced because an earlier merged change could
	// not be materialized
	reasonUnmaterializable = "unmaterializable"
	// the operation is not supported by this replica
	reasonUnsupported = "unsupported"
	// a replica's configured size cap would be exceeded
	reasonCapacity = "capacity"
	// a payload exceeds one of the replica's [Limits]; nothing was applied
	reasonLimit = "limit"
)

// reasonCodes maps every reason to the code that says what to do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonVersionParse:     kyneta.CodeMalformed,
	reasonVersionMismatch:  kyneta.CodeInvalidArgument,
	reasonEncoding:         kyneta.CodeUnsupported,
	reasonMalformed:        kyneta.CodeMalformed,
	reasonUnknownChange:    kyneta.CodeUnsupported,
	reasonInvalidChange:    kyneta.CodeInvalidArgument,
	reasonInvalidValue:     kyneta.CodeInvalidArgument,
	reasonAdvanceRange:     kyneta.CodeInvalidArgument,
	reasonUnmaterializable: kyneta.CodeFailedPrecondition,
	reasonUnsupported:      kyneta.CodeUnsupported,
	reasonCapacity:         kyneta.CodeResourceExhausted,
	reasonLimit:            kyneta.CodeResourceExhausted,
}

// newError returns the package's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	return reasons.Table{Pkg: "replica", Codes: reasonCodes}.New(reason, detail, cause)
}

// Targets for errors.Is within the package's tests and code.
var (
	errVersionParse     = &kyneta.Error{Pkg: "replica", Reason: reasonVersionParse}
	errVersionMismatch  = &kyneta.Error{Pkg: "replica", Reason: reasonVersionMismatch}
	errEncoding         = &kyneta.Error{Pkg: "replica", Reason: reasonEncoding}
	errMalformed        = &kyneta.Error{Pkg: "replica", Reason: reasonMalformed}
	errUnknownChange    = &kyneta.Error{Pkg: "replica", Reason: reasonUnknownChange}
	errInvalidChange    = &kyneta.Error{Pkg: "replica", Reason: reasonInvalidChange}
	errInvalidValue     = &kyneta.Error{Pkg: "replica", Reason: reasonInvalidValue}
	errAdvanceRange     = &kyneta.Error{Pkg: "replica", Reason: reasonAdvanceRange}
	errUnmaterializable = &kyneta.Error{Pkg: "replica", Reason: reasonUnmaterializable}
	errUnsupported      = &kyneta.Error{Pkg: "replica", Reason: reasonUnsupported}
	errCapacity         = &kyneta.Error{Pkg: "replica", Reason: reasonCapacity}
	errLimit            = &kyneta.Error{Pkg: "replica", Reason: reasonLimit}
)
