package replica

import (
	"errors"

	"github.com/kyneta-go/kyneta/internal/errtext"
)

// Code classifies replica errors.
type Code string

// Error codes.
const (
	// CodeVersionParse: a serialized version has the wrong shape.
	CodeVersionParse Code = "version-parse"
	// CodeVersionMismatch: two versions of different kinds were compared.
	CodeVersionMismatch Code = "version-mismatch"
	// CodeEncoding: the payload's encoding (or kind) is not one this
	// replica accepts, e.g. binary data offered to a JSON replica.
	CodeEncoding Code = "payload-encoding"
	// CodeMalformed: payload data is not valid JSON or not of the expected
	// shape (an entirety that is not an object, a since log that is not an
	// array of batches, an op without a path).
	CodeMalformed Code = "malformed-payload"
	// CodeUnknownChange: a change type this replica cannot materialize.
	CodeUnknownChange Code = "unknown-change"
	// CodeInvalidChange: a known change type with fields of the wrong type
	// or out of range (negative counts, non-integer indices).
	CodeInvalidChange Code = "invalid-change"
	// CodeInvalidValue: a Go value that cannot be represented as JSON.
	CodeInvalidValue Code = "invalid-value"
	// CodeAdvanceRange: Advance outside [BaseVersion, Version].
	CodeAdvanceRange Code = "advance-range"
	// CodeUnmaterializable: the state cannot be produced because an
	// earlier merged change could not be materialized.
	CodeUnmaterializable Code = "unmaterializable"
	// CodeUnsupported: the operation is not supported by this replica.
	CodeUnsupported Code = "unsupported"
	// CodeCapacity: a replica's configured size cap would be exceeded.
	CodeCapacity Code = "capacity"
	// CodeLimit: a payload exceeds one of the replica's [Limits]; it was
	// refused before anything was applied.
	CodeLimit Code = "limit"
)

// Error is the error type of this package. Match a code with
// CodeOf(err) == c or errors.Is(err, &Error{Code: c}); use errors.As to
// read the details.
type Error struct {
	Code Code
	Msg  string
	Err  error // underlying cause, if any
}

func (e *Error) Error() string {
	s := "replica: " + string(e.Code)
	return errtext.Join(s, e.Msg, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same Code: errors.Is(err, &Error{Code: c})
// reports whether err's chain holds an error with code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is within the package, for the codes it uses; users match
// with [CodeOf] or errors.Is(err, &Error{Code: c}).
var (
	errVersionParse     = &Error{Code: CodeVersionParse}
	errVersionMismatch  = &Error{Code: CodeVersionMismatch}
	errEncoding         = &Error{Code: CodeEncoding}
	errMalformed        = &Error{Code: CodeMalformed}
	errUnknownChange    = &Error{Code: CodeUnknownChange}
	errInvalidChange    = &Error{Code: CodeInvalidChange}
	errInvalidValue     = &Error{Code: CodeInvalidValue}
	errAdvanceRange     = &Error{Code: CodeAdvanceRange}
	errUnmaterializable = &Error{Code: CodeUnmaterializable}
	errUnsupported      = &Error{Code: CodeUnsupported}
	errCapacity         = &Error{Code: CodeCapacity}
	errLimit            = &Error{Code: CodeLimit}
)

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
