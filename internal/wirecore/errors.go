package wirecore

import (
	"fmt"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// The reasons of this package's errors: the reference implementation's
// codes where it has one (its frame, text-frame, fragmentation, collector
// and alias codes), so logs can carry them as they are; the few Go-only
// reasons say so. Every error of the package is a *kyneta.Error with Pkg
// "wire", or a type that unwraps to one (*[ReassemblyError],
// *[AliasError], *[ValidationError]); kyneta.ReasonOf returns the reason
// and kyneta.CodeOf the code. docs/errors.md lists them.

// Binary and text frame decode reasons (DecodeFrame, the reassembler's
// parse_error cause).
const (
	// reasonTruncatedFrame: fewer bytes than the header, or than the
	// header's declared payload (plus fragment metadata) needs.
	reasonTruncatedFrame = "truncated_frame"
	// reasonUnsupportedVersion: the binary frame's first byte is not the
	// wire version (3), or a text frame's prefix digit is not 2.
	reasonUnsupportedVersion = "unsupported_version"
	// reasonInvalidFrameType: the type byte is neither complete (0) nor
	// fragment (1).
	reasonInvalidFrameType = "invalid_type"
	// reasonFrameTooLarge is Go-only: a payload that does not fit the
	// 32-bit length field, or a stream frame above the parser's configured
	// maximum.
	reasonFrameTooLarge = "frame_too_large"
	// reasonInvalidJSON: a text frame is not a JSON text.
	reasonInvalidJSON = "invalid_json"
	// reasonInvalidStructure: a text frame is not an array of at least two
	// elements, or has a field of the wrong JSON type.
	reasonInvalidStructure = "invalid_structure"
	// reasonInvalidPrefix: a text frame's first element is not a
	// two-character prefix with a version digit and a known type character.
	reasonInvalidPrefix = "invalid_prefix"
	// reasonTruncated: a text frame has too few elements for its type.
	reasonTruncated = "truncated"
)

// Fragmentation reasons ([FragmentBinary]). The values are the reference's
// result kinds, which are also pipeline error codes.
const (
	// reasonEmptyPayload: there is nothing to fragment.
	reasonEmptyPayload = "empty-payload"
	// reasonTooManyFragments: the payload needs more than 65535 pieces.
	reasonTooManyFragments = "too-many-fragments"
	// reasonInvalidThreshold is Go-only: the threshold is not positive.
	reasonInvalidThreshold = "invalid-threshold"
)

// Reassembly reasons: the reference's collector error types, carried by
// *[ReassemblyError]; reasonTimeout and reasonEvicted are also the reasons
// of a [ReassemblyEvent].
const (
	// reasonDuplicateFragment: this index of the batch already arrived.
	reasonDuplicateFragment = "duplicate_fragment"
	// reasonInvalidIndex: index outside [0, total); Max is total-1.
	reasonInvalidIndex = "invalid_index"
	// reasonTotalMismatch: total differs from the batch's first fragment.
	reasonTotalMismatch = "total_mismatch"
	// reasonSizeMismatch: totalSize differs from the batch's, or the
	// reassembled size differs from the declared one.
	reasonSizeMismatch = "size_mismatch"
	// reasonEvicted: the message was evicted to stay within the size or
	// count limits.
	reasonEvicted = "evicted"
	// reasonOverBudget (Go only): the shared reassembly budget
	// ([ReassemblyConfig.Budget]) had no room for the fragment even after
	// this reassembler's older messages were evicted; its message is
	// dropped.
	reasonOverBudget = "over_budget"
	// reasonDisposed: the reassembler was disposed.
	reasonDisposed = "disposed"
	// reasonTimeout: the message did not complete in time (reported as a
	// ReassemblyEvent).
	reasonTimeout = "timeout"
	// reasonParseError: the piece is not a decodable frame (Err holds the
	// frame's error), or a batch completed with a chunk missing, which
	// only non-integer text indices can cause.
	reasonParseError = "parse_error"
)

// Message decode reasons ([Decode]): the input could not be parsed at all,
// before any message validation.
const (
	// reasonDecodeCBOR: the bytes are not CBOR the reference accepts (it
	// throws a plain Error, "Failed to decode wire message: ...").
	reasonDecodeCBOR = "cbor"
	// reasonDecodeJSON: the text is not JSON (JSON.parse throws
	// SyntaxError).
	reasonDecodeJSON = "json"
	// reasonDecodeBase64: a {"__bytes": ...} wrapper holds invalid base64
	// (atob throws InvalidCharacterError).
	reasonDecodeBase64 = "base64"
	// reasonDecodeLimit (Go only): the message is beyond one of the
	// decoder's caps (see the package documentation). The reference would
	// decode it.
	reasonDecodeLimit = "limit"
	// reasonInvalidMessage: the input decoded but is not a valid message;
	// the error is a *[ValidationError] with the reference's reason text.
	reasonInvalidMessage = "invalid-message"
	// reasonNilMessage (Go only): a nil message was given to an encoder.
	reasonNilMessage = "nil-message"
)

// Alias resolution reasons, carried by *[AliasError]. The values are the
// reference's codes, except the Go-only ones marked so.
const (
	reasonUnknownDocAlias        = "unknown-doc-alias"
	reasonUnknownSchemaAlias     = "unknown-schema-alias"
	reasonMissingDocID           = "missing-doc-id"
	reasonMissingSchemaHash      = "missing-schema-hash"
	reasonDocIDTooLong           = "doc-id-too-long"
	reasonSchemaHashTooLong      = "schema-hash-too-long"
	reasonUnknownSyncMode        = "unknown-sync-mode"
	reasonUnknownPayloadKind     = "unknown-payload-kind"
	reasonUnknownPayloadEncoding = "unknown-payload-encoding"
	reasonUnknownMessageType     = "unknown-message-type"
	// reasonInvalidReplicaType (Go only): a present entry's replica
	// version is not a safe integer. The reference passes any number
	// through; a ChannelMsg holds integers.
	reasonInvalidReplicaType = "invalid-replica-type"
	// reasonTooManyAliases (Go only): the peer announced more document or
	// schema aliases than [AliasOptions.MaxAliases] allows.
	reasonTooManyAliases = "too-many-aliases"
	// reasonTooManyDocs (Go only): an inbound present lists more entries
	// than [AliasOptions.MaxPresentDocs] allows.
	reasonTooManyDocs = "too-many-docs"
)

// reasonCodes maps every reason of the package to its code: what a caller
// should do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonTruncatedFrame:     kyneta.CodeMalformed,
	reasonUnsupportedVersion: kyneta.CodeUnsupported,
	reasonInvalidFrameType:   kyneta.CodeMalformed,
	reasonFrameTooLarge:      kyneta.CodeResourceExhausted,
	reasonInvalidJSON:        kyneta.CodeMalformed,
	reasonInvalidStructure:   kyneta.CodeMalformed,
	reasonInvalidPrefix:      kyneta.CodeMalformed,
	reasonTruncated:          kyneta.CodeMalformed,

	reasonEmptyPayload:     kyneta.CodeInvalidArgument,
	reasonTooManyFragments: kyneta.CodeResourceExhausted,
	reasonInvalidThreshold: kyneta.CodeInvalidArgument,

	reasonDuplicateFragment: kyneta.CodeMalformed,
	reasonInvalidIndex:      kyneta.CodeMalformed,
	reasonTotalMismatch:     kyneta.CodeMalformed,
	reasonSizeMismatch:      kyneta.CodeMalformed,
	reasonEvicted:           kyneta.CodeResourceExhausted,
	reasonOverBudget:        kyneta.CodeResourceExhausted,
	reasonDisposed:          kyneta.CodeUnavailable,
	reasonTimeout:           kyneta.CodeDeadlineExceeded,
	reasonParseError:        kyneta.CodeMalformed,

	reasonDecodeCBOR:     kyneta.CodeMalformed,
	reasonDecodeJSON:     kyneta.CodeMalformed,
	reasonDecodeBase64:   kyneta.CodeMalformed,
	reasonDecodeLimit:    kyneta.CodeResourceExhausted,
	reasonInvalidMessage: kyneta.CodeMalformed,
	reasonNilMessage:     kyneta.CodeInvalidArgument,

	reasonUnknownDocAlias:        kyneta.CodeMalformed,
	reasonUnknownSchemaAlias:     kyneta.CodeMalformed,
	reasonMissingDocID:           kyneta.CodeMalformed,
	reasonMissingSchemaHash:      kyneta.CodeMalformed,
	reasonDocIDTooLong:           kyneta.CodeMalformed,
	reasonSchemaHashTooLong:      kyneta.CodeMalformed,
	reasonUnknownSyncMode:        kyneta.CodeUnsupported,
	reasonUnknownPayloadKind:     kyneta.CodeUnsupported,
	reasonUnknownPayloadEncoding: kyneta.CodeUnsupported,
	reasonUnknownMessageType:     kyneta.CodeUnsupported,
	reasonInvalidReplicaType:     kyneta.CodeMalformed,
	reasonTooManyAliases:         kyneta.CodeResourceExhausted,
	reasonTooManyDocs:            kyneta.CodeResourceExhausted,
}

// codeOf returns the code of a reason of this package (CodeInternal for an
// unknown one, which is a bug).
func codeOf(reason string) kyneta.Code {
	return reasons.Table{Codes: reasonCodes}.Code(reason)
}

// newError returns the package's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	return &kyneta.Error{Code: codeOf(reason), Reason: reason, Pkg: "wire", Detail: detail, Err: cause}
}

// jsErrorClass returns the name of the JavaScript error class the
// reference throws for a decode failure with the given reason: "Error",
// "SyntaxError" or "InvalidCharacterError". The pipeline reports it as the
// name of a decode-failed detail.
func jsErrorClass(reason string) string {
	switch reason {
	case reasonDecodeJSON:
		return "SyntaxError"
	case reasonDecodeBase64:
		return "InvalidCharacterError"
	}
	return "Error"
}

// ReassemblyError reports a piece the reassembler could not use. Numbers
// are JavaScript numbers as they arrived: binary frames always give
// integers, text frames may give anything JSON can express. It unwraps to
// its *kyneta.Error classification (Pkg "wire", the same Reason), which
// wraps the frame decode error behind a parse_error.
type ReassemblyError struct {
	// Reason is the collector's error type, e.g. "duplicate_fragment".
	Reason string
	Seq    float64 // not set for disposed and parse_error
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
	switch e.Reason {
	case reasonDuplicateFragment:
		return fmt.Sprintf("wire: reassembly: %s: seq %v index %v", e.Reason, e.Seq, e.Index)
	case reasonInvalidIndex:
		return fmt.Sprintf("wire: reassembly: %s: seq %v index %v (max %v)", e.Reason, e.Seq, e.Index, e.Max)
	case reasonTotalMismatch, reasonSizeMismatch:
		return fmt.Sprintf("wire: reassembly: %s: seq %v expected %v got %v", e.Reason, e.Seq, e.Expected, e.Got)
	case reasonEvicted, reasonTimeout, reasonOverBudget:
		return fmt.Sprintf("wire: reassembly: %s: seq %v", e.Reason, e.Seq)
	case reasonParseError:
		return "wire: reassembly: " + e.Reason + ": " + e.Msg
	}
	return "wire: reassembly: " + e.Reason
}

// Unwrap returns the error's classification, which wraps the frame decode
// error behind a parse_error.
func (e *ReassemblyError) Unwrap() error {
	return newError(e.Reason, e.Msg, e.Err)
}
