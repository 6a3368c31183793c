package wire

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta/internal/errtext"
)

// Code classifies a wire error. The values are the reference
// implementation's codes where it has one (its frame, text-frame,
// fragmentation, collector and alias codes), so logs can carry them as
// they are; the few Go-only codes say so.
//
// Every error of this package carries a Code: [CodeOf] returns it, and
// errors.Is(err, &Error{Code: c}) matches any error of the package with
// code c, whatever its concrete type.
type Code string

// Binary and text frame decode codes (DecodeFrame, the reassembler's
// parse_error cause).
const (
	// CodeTruncatedFrame: fewer bytes than the header, or than the
	// header's declared payload (plus fragment metadata) needs.
	CodeTruncatedFrame Code = "truncated_frame"
	// CodeUnsupportedVersion: the binary frame's first byte is not the
	// wire version (3), or a text frame's prefix digit is not 2.
	CodeUnsupportedVersion Code = "unsupported_version"
	// CodeInvalidFrameType: the type byte is neither complete (0) nor
	// fragment (1).
	CodeInvalidFrameType Code = "invalid_type"
	// CodeFrameTooLarge is Go-only: a payload that does not fit the 32-bit
	// length field, or a stream frame above the parser's configured
	// maximum.
	CodeFrameTooLarge Code = "frame_too_large"
	// CodeInvalidJSON: a text frame is not a JSON text.
	CodeInvalidJSON Code = "invalid_json"
	// CodeInvalidStructure: a text frame is not an array of at least two
	// elements, or has a field of the wrong JSON type.
	CodeInvalidStructure Code = "invalid_structure"
	// CodeInvalidPrefix: a text frame's first element is not a
	// two-character prefix with a version digit and a known type character.
	CodeInvalidPrefix Code = "invalid_prefix"
	// CodeTruncated: a text frame has too few elements for its type.
	CodeTruncated Code = "truncated"
)

// Fragmentation codes ([FragmentBinary]). The values are the reference's
// result kinds, which are also pipeline error codes.
const (
	// CodeEmptyPayload: there is nothing to fragment.
	CodeEmptyPayload Code = "empty-payload"
	// CodeTooManyFragments: the payload needs more than 65535 pieces.
	CodeTooManyFragments Code = "too-many-fragments"
	// CodeInvalidThreshold is Go-only: the threshold is not positive.
	CodeInvalidThreshold Code = "invalid-threshold"
)

// Reassembly codes: the reference's collector error types, carried by
// *[ReassemblyError]; CodeTimeout and CodeEvicted are also the types of a
// [ReassemblyEvent].
const (
	// CodeDuplicateFragment: this index of the batch already arrived.
	CodeDuplicateFragment Code = "duplicate_fragment"
	// CodeInvalidIndex: index outside [0, total); Max is total-1.
	CodeInvalidIndex Code = "invalid_index"
	// CodeTotalMismatch: total differs from the batch's first fragment.
	CodeTotalMismatch Code = "total_mismatch"
	// CodeSizeMismatch: totalSize differs from the batch's, or the
	// reassembled size differs from the declared one.
	CodeSizeMismatch Code = "size_mismatch"
	// CodeEvicted: the message was evicted to stay within the size or
	// count limits.
	CodeEvicted Code = "evicted"
	// CodeOverBudget (Go only): the shared reassembly budget
	// ([ReassemblyConfig.Budget]) had no room for the fragment even after
	// this reassembler's older messages were evicted; its message is
	// dropped.
	CodeOverBudget Code = "over_budget"
	// CodeDisposed: the reassembler was disposed.
	CodeDisposed Code = "disposed"
	// CodeTimeout: the message did not complete in time (reported as a
	// ReassemblyEvent).
	CodeTimeout Code = "timeout"
	// CodeParseError: the piece is not a decodable frame (Err holds the
	// frame's *Error), or a batch completed with a chunk missing, which
	// only non-integer text indices can cause.
	CodeParseError Code = "parse_error"
)

// Message decode codes ([Decode]): the input could not be parsed at all,
// before any message validation.
const (
	// CodeDecodeCBOR: the bytes are not CBOR the reference accepts (it
	// throws a plain Error, "Failed to decode wire message: ...").
	CodeDecodeCBOR Code = "cbor"
	// CodeDecodeJSON: the text is not JSON (JSON.parse throws SyntaxError).
	CodeDecodeJSON Code = "json"
	// CodeDecodeBase64: a {"__bytes": ...} wrapper holds invalid base64
	// (atob throws InvalidCharacterError).
	CodeDecodeBase64 Code = "base64"
	// CodeDecodeLimit (Go only): the message is beyond one of the
	// decoder's caps (see the package documentation). The reference would
	// decode it.
	CodeDecodeLimit Code = "limit"
	// CodeInvalidMessage: the input decoded but is not a valid message; the
	// error is a *[ValidationError] with the reference's reason.
	CodeInvalidMessage Code = "invalid-message"
	// CodeNilMessage (Go only): a nil message was given to an encoder.
	CodeNilMessage Code = "nil-message"
)

// Alias resolution codes, carried by *[AliasError]. The values are the
// reference's codes, except the Go-only ones marked so.
const (
	CodeUnknownDocAlias        Code = "unknown-doc-alias"
	CodeUnknownSchemaAlias     Code = "unknown-schema-alias"
	CodeMissingDocID           Code = "missing-doc-id"
	CodeMissingSchemaHash      Code = "missing-schema-hash"
	CodeDocIDTooLong           Code = "doc-id-too-long"
	CodeSchemaHashTooLong      Code = "schema-hash-too-long"
	CodeUnknownSyncMode        Code = "unknown-sync-mode"
	CodeUnknownPayloadKind     Code = "unknown-payload-kind"
	CodeUnknownPayloadEncoding Code = "unknown-payload-encoding"
	CodeUnknownMessageType     Code = "unknown-message-type"
	// CodeInvalidReplicaType (Go only): a present entry's replica version
	// is not a safe integer. The reference passes any number through; a
	// ChannelMsg holds integers.
	CodeInvalidReplicaType Code = "invalid-replica-type"
	// CodeTooManyAliases (Go only): the peer announced more document or
	// schema aliases than [AliasOptions.MaxAliases] allows.
	CodeTooManyAliases Code = "too-many-aliases"
	// CodeTooManyDocs (Go only): an inbound present lists more entries
	// than [AliasOptions.MaxPresentDocs] allows.
	CodeTooManyDocs Code = "too-many-docs"
)

// Error is the package's error for failures that need no data beyond a
// code: frames, text frames, fragmentation and message decoding.
// Reassembly, alias and validation failures carry data and have their own
// types (*[ReassemblyError], *[AliasError], *[ValidationError]); all of
// them match errors.Is(err, &Error{Code: c}) by code.
type Error struct {
	Code Code
	// Msg is a human-readable description; it is informational only.
	Msg string
	// Err is the underlying cause, if any (for CBOR often an
	// fxamacker/cbor error).
	Err error
}

func (e *Error) Error() string {
	var s string
	switch e.Code {
	case CodeDecodeCBOR:
		s = "wire: invalid CBOR"
	case CodeDecodeJSON:
		s = "wire: invalid JSON"
	case CodeDecodeBase64:
		s = "wire: invalid base64 in bytes wrapper"
	case CodeDecodeLimit:
		s = "wire: decode limit exceeded"
	case CodeNilMessage:
		s = "wire: nil message"
	case CodeEmptyPayload, CodeTooManyFragments, CodeInvalidThreshold:
		s = "wire: fragment: " + string(e.Code)
	case CodeInvalidJSON, CodeInvalidStructure, CodeInvalidPrefix, CodeTruncated:
		s = "wire: text frame: " + string(e.Code)
	default:
		s = "wire: frame: " + string(e.Code)
	}
	return errtext.Join(s, e.Msg, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an error of this package with the same
// code.
func (e *Error) Is(target error) bool { return sameCode(e.Code, target) }

// coded is implemented by every error type of the package.
type coded interface {
	error
	wireCode() Code
}

func (e *Error) wireCode() Code { return e.Code }

// sameCode reports whether target is an error of this package with code c.
func sameCode(c Code, target error) bool {
	t, ok := target.(coded)
	return ok && t.wireCode() == c
}

// CodeOf returns the code of the first error of this package in err's
// chain, or "" if there is none.
func CodeOf(err error) Code {
	var c coded
	if errors.As(err, &c) {
		return c.wireCode()
	}
	return ""
}

// jsErrorClass returns the name of the JavaScript error class the
// reference throws for a decode failure: "Error", "SyntaxError" or
// "InvalidCharacterError". The pipeline reports it as the name of a
// decode-failed detail.
func jsErrorClass(c Code) string {
	switch c {
	case CodeDecodeJSON:
		return "SyntaxError"
	case CodeDecodeBase64:
		return "InvalidCharacterError"
	}
	return "Error"
}

// ReassemblyError reports a piece the reassembler could not use. Numbers
// are JavaScript numbers as they arrived: binary frames always give
// integers, text frames may give anything JSON can express. errors.Is
// matches any error of the package with the same Code.
type ReassemblyError struct {
	Code Code
	Seq  float64 // not set for disposed and parse_error
	// Index is the offending index (duplicate_fragment, invalid_index).
	Index float64
	// Max is total-1 for invalid_index.
	Max float64
	// Expected and Got are the batch's and the fragment's total
	// (total_mismatch) or size (size_mismatch; Got is the reference's
	// "actual").
	Expected float64
	Got      float64
	// Msg describes a parse_error.
	Msg string
	// Err is the frame decode error behind a parse_error, if any.
	Err error
}

func (e *ReassemblyError) Error() string {
	switch e.Code {
	case CodeDuplicateFragment:
		return fmt.Sprintf("wire: reassembly: %s: seq %v index %v", e.Code, e.Seq, e.Index)
	case CodeInvalidIndex:
		return fmt.Sprintf("wire: reassembly: %s: seq %v index %v (max %v)", e.Code, e.Seq, e.Index, e.Max)
	case CodeTotalMismatch, CodeSizeMismatch:
		return fmt.Sprintf("wire: reassembly: %s: seq %v expected %v got %v", e.Code, e.Seq, e.Expected, e.Got)
	case CodeEvicted, CodeTimeout, CodeOverBudget:
		return fmt.Sprintf("wire: reassembly: %s: seq %v", e.Code, e.Seq)
	case CodeParseError:
		return "wire: reassembly: " + string(e.Code) + ": " + e.Msg
	}
	return "wire: reassembly: " + string(e.Code)
}

// Unwrap returns the frame decode error behind a parse_error.
func (e *ReassemblyError) Unwrap() error { return e.Err }

// Is reports whether target is an error of this package with the same
// code.
func (e *ReassemblyError) Is(target error) bool { return sameCode(e.Code, target) }

func (e *ReassemblyError) wireCode() Code { return e.Code }
