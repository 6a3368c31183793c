package wire

import "fmt"

// FrameErrorCode classifies a binary frame that cannot be decoded. The
// values are the reference implementation's codes.
type FrameErrorCode string

// Binary frame decode error codes.
const (
	// FrameTruncated: fewer bytes than the header, or than the header's
	// declared payload (plus fragment metadata) needs.
	FrameTruncated FrameErrorCode = "truncated_frame"
	// FrameUnsupportedVersion: the first byte is not [Version].
	FrameUnsupportedVersion FrameErrorCode = "unsupported_version"
	// FrameInvalidType: the type byte is neither complete (0) nor fragment (1).
	FrameInvalidType FrameErrorCode = "invalid_type"
	// FrameTooLarge is Go-only: a payload that does not fit the 32-bit length
	// field, or a stream frame above the parser's configured maximum.
	FrameTooLarge FrameErrorCode = "frame_too_large"
)

// FrameError reports a binary frame that could not be decoded or encoded.
// errors.Is matches any *FrameError with the same Code, so the sentinels
// [ErrTruncatedFrame], [ErrUnsupportedVersion], [ErrInvalidFrameType] and
// [ErrFrameTooLarge] can be used as targets.
type FrameError struct {
	Code FrameErrorCode
	// Msg is a human-readable description; it is informational only.
	Msg string
}

func (e *FrameError) Error() string {
	if e.Msg == "" {
		return "wire: frame: " + string(e.Code)
	}
	return "wire: frame: " + string(e.Code) + ": " + e.Msg
}

// Is reports whether target is a *FrameError with the same code.
func (e *FrameError) Is(target error) bool {
	t, ok := target.(*FrameError)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is on binary frame errors.
var (
	ErrTruncatedFrame     = &FrameError{Code: FrameTruncated}
	ErrUnsupportedVersion = &FrameError{Code: FrameUnsupportedVersion}
	ErrInvalidFrameType   = &FrameError{Code: FrameInvalidType}
	ErrFrameTooLarge      = &FrameError{Code: FrameTooLarge}
)

// TextFrameErrorCode classifies a text frame that cannot be decoded. The
// values are the reference implementation's codes.
type TextFrameErrorCode string

// Text frame decode error codes.
const (
	// TextInvalidJSON: the frame is not a JSON text.
	TextInvalidJSON TextFrameErrorCode = "invalid_json"
	// TextInvalidStructure: not an array of at least two elements, or a
	// field of the wrong JSON type.
	TextInvalidStructure TextFrameErrorCode = "invalid_structure"
	// TextInvalidPrefix: the first element is not a two-character prefix
	// with a version digit and a known type character.
	TextInvalidPrefix TextFrameErrorCode = "invalid_prefix"
	// TextUnsupportedVersion: the prefix's version digit is not [TextVersion].
	TextUnsupportedVersion TextFrameErrorCode = "unsupported_version"
	// TextTruncated: too few elements for the frame's type.
	TextTruncated TextFrameErrorCode = "truncated"
)

// TextFrameError reports a text frame that could not be decoded. errors.Is
// matches any *TextFrameError with the same Code.
type TextFrameError struct {
	Code TextFrameErrorCode
	// Msg is a human-readable description; it is informational only.
	Msg string
}

func (e *TextFrameError) Error() string {
	if e.Msg == "" {
		return "wire: text frame: " + string(e.Code)
	}
	return "wire: text frame: " + string(e.Code) + ": " + e.Msg
}

// Is reports whether target is a *TextFrameError with the same code.
func (e *TextFrameError) Is(target error) bool {
	t, ok := target.(*TextFrameError)
	return ok && t.Code == e.Code
}

// FragmentErrorCode says why a payload could not be fragmented. The values
// are the reference's result kinds, which are also pipeline error codes
// (transport.Code).
type FragmentErrorCode string

// Fragmentation error codes.
const (
	// FragmentEmptyPayload: there is nothing to fragment.
	FragmentEmptyPayload FragmentErrorCode = "empty-payload"
	// FragmentTooMany: the payload needs more than [MaxFragments] pieces.
	FragmentTooMany FragmentErrorCode = "too-many-fragments"
	// FragmentInvalidThreshold is Go-only: the threshold is not positive.
	FragmentInvalidThreshold FragmentErrorCode = "invalid-threshold"
)

// FragmentError reports a payload that could not be split into fragments.
// errors.Is matches any *FragmentError with the same Code.
type FragmentError struct {
	Code FragmentErrorCode
	// Total and Max are set for FragmentTooMany: the number of pieces the
	// payload would need and the limit (65535).
	Total int
	Max   int
}

func (e *FragmentError) Error() string {
	if e.Code == FragmentTooMany {
		return fmt.Sprintf("wire: fragment: %s: %d pieces needed, at most %d allowed", e.Code, e.Total, e.Max)
	}
	return "wire: fragment: " + string(e.Code)
}

// Is reports whether target is a *FragmentError with the same code.
func (e *FragmentError) Is(target error) bool {
	t, ok := target.(*FragmentError)
	return ok && t.Code == e.Code
}

// ReassemblyErrorType classifies a fragment the collector rejected. The
// values are the reference's collector error types.
type ReassemblyErrorType string

// Reassembly error types.
const (
	// ReassemblyDuplicate: this index of the batch already arrived.
	ReassemblyDuplicate ReassemblyErrorType = "duplicate_fragment"
	// ReassemblyInvalidIndex: index outside [0, total); Max is total-1.
	ReassemblyInvalidIndex ReassemblyErrorType = "invalid_index"
	// ReassemblyTotalMismatch: total differs from the batch's first fragment.
	ReassemblyTotalMismatch ReassemblyErrorType = "total_mismatch"
	// ReassemblySizeMismatch: totalSize differs from the batch's, or the
	// reassembled size differs from the declared one.
	ReassemblySizeMismatch ReassemblyErrorType = "size_mismatch"
	// ReassemblyEvicted: the fragment's own batch was evicted to stay within
	// the size limit.
	ReassemblyEvicted ReassemblyErrorType = "evicted"
	// ReassemblyOverBudget (Go only): the shared reassembly budget
	// ([ReassemblyConfig.Budget]) had no room for the fragment even after
	// this collector's older messages were evicted; its message is dropped.
	ReassemblyOverBudget ReassemblyErrorType = "over_budget"
	// ReassemblyDisposed: the collector was disposed.
	ReassemblyDisposed ReassemblyErrorType = "disposed"
	// ReassemblyTimeout: the batch timed out (reported as an event; kept for
	// completeness of the reference's vocabulary).
	ReassemblyTimeout ReassemblyErrorType = "timeout"
	// ReassemblyParseError: the piece is not a decodable frame (Err holds
	// the *FrameError or *TextFrameError), or a batch completed with a chunk
	// missing, which only non-integer text indices can cause.
	ReassemblyParseError ReassemblyErrorType = "parse_error"
)

// ReassemblyError reports a piece the reassembler could not use. Numbers
// are JavaScript numbers as they arrived: binary frames always give
// integers, text frames may give anything JSON can express. errors.Is
// matches any *ReassemblyError with the same Type.
type ReassemblyError struct {
	Type ReassemblyErrorType
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
	switch e.Type {
	case ReassemblyDuplicate:
		return fmt.Sprintf("wire: reassembly: %s: seq %v index %v", e.Type, e.Seq, e.Index)
	case ReassemblyInvalidIndex:
		return fmt.Sprintf("wire: reassembly: %s: seq %v index %v (max %v)", e.Type, e.Seq, e.Index, e.Max)
	case ReassemblyTotalMismatch, ReassemblySizeMismatch:
		return fmt.Sprintf("wire: reassembly: %s: seq %v expected %v got %v", e.Type, e.Seq, e.Expected, e.Got)
	case ReassemblyEvicted, ReassemblyTimeout, ReassemblyOverBudget:
		return fmt.Sprintf("wire: reassembly: %s: seq %v", e.Type, e.Seq)
	case ReassemblyParseError:
		return "wire: reassembly: " + string(e.Type) + ": " + e.Msg
	}
	return "wire: reassembly: " + string(e.Type)
}

// Unwrap returns the frame decode error behind a parse_error.
func (e *ReassemblyError) Unwrap() error { return e.Err }

// Is reports whether target is a *ReassemblyError with the same type.
func (e *ReassemblyError) Is(target error) bool {
	t, ok := target.(*ReassemblyError)
	return ok && t.Type == e.Type
}
