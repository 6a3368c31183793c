package schema

import (
	"errors"
	"strconv"
)

// Code classifies schema errors.
type Code string

// Error codes.
const (
	// CodeSyntax: a neutral JSON form is not valid JSON.
	CodeSyntax Code = "syntax"
	// CodeInvalidSchema: a schema (built in Go or described in the neutral
	// JSON form) is malformed: unknown kind, nil child, duplicate field,
	// bad discriminated union, nesting beyond 1000 levels, ...
	CodeInvalidSchema Code = "invalid-schema"
	// CodeBindingRejects: a binding does not accept the schema (a counter
	// on yjs, a plain list on ephemeral, .decay() on json, a non-struct
	// root, a CRDT kind inside a union or .json() boundary).
	CodeBindingRejects Code = "binding-rejects"
	// CodeTypeMismatch: a value has the wrong type for its schema.
	CodeTypeMismatch Code = "type-mismatch"
	// CodeNotAllowed: a value is not one of a constrained scalar's options.
	CodeNotAllowed Code = "not-allowed"
	// CodeMissingField: a struct value lacks a field its schema requires.
	CodeMissingField Code = "missing-field"
	// CodeUnknownField: a struct value has a field its schema does not
	// declare.
	CodeUnknownField Code = "unknown-field"
	// CodeUnknownVariant: a discriminated union value's tag names no
	// variant.
	CodeUnknownVariant Code = "unknown-variant"
	// CodeNoVariant: a value matches none of a union's variants.
	CodeNoVariant Code = "no-variant"
	// CodeDuplicate: a set value holds two equal members.
	CodeDuplicate Code = "duplicate-member"
	// CodeInvalidTree: a tree value is not a well-formed forest (duplicate
	// ids, missing parents, cycles, negative indexes).
	CodeInvalidTree Code = "invalid-tree"
	// CodeBadPath: a change addresses a location the schema does not have.
	CodeBadPath Code = "bad-path"
	// CodeBadChange: a change does not apply to the schema at its path (an
	// increment on a string) or is malformed.
	CodeBadChange Code = "bad-change"
	// CodeUnknownChange: a change type outside the reference vocabulary.
	CodeUnknownChange Code = "unknown-change"
	// CodeUnsupportedType: a Go type has no schema (channels, functions,
	// complex numbers, recursive types).
	CodeUnsupportedType Code = "unsupported-type"
)

// Error is the error type of this package. Match a code with
// CodeOf(err) == c or errors.Is(err, &Error{Code: c}); use errors.As to
// read the details.
//
// Path locates the problem: in a value or change it is the document path
// ("$.items[2].title"); for schema errors it is the location in the
// schema ("$.shape<1>.type" for field type of variant 1, "[]" for a list
// item, "{}" for a record item).
type Error struct {
	Code Code
	Path string
	Want string // for value errors: what the schema expects
	Got  string // for value errors: what was found
	Msg  string // for other errors: what is wrong
	Err  error  // underlying cause, if any
}

func (e *Error) Error() string {
	s := "schema: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	switch {
	case e.Want != "":
		s += "want " + e.Want + ", got " + e.Got
	case e.Msg != "":
		s += e.Msg
	default:
		s += string(e.Code)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same Code, so &Error{Code: c} works as an
// errors.Is target.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is within the package, for the codes it uses; users match
// with [CodeOf] or errors.Is(err, &Error{Code: c}).
var (
	errSyntax          = &Error{Code: CodeSyntax}
	errInvalidSchema   = &Error{Code: CodeInvalidSchema}
	errBindingRejects  = &Error{Code: CodeBindingRejects}
	errTypeMismatch    = &Error{Code: CodeTypeMismatch}
	errNotAllowed      = &Error{Code: CodeNotAllowed}
	errMissingField    = &Error{Code: CodeMissingField}
	errUnsupportedType = &Error{Code: CodeUnsupportedType}
)

func invalid(path, msg string) *Error {
	return &Error{Code: CodeInvalidSchema, Path: path, Msg: msg}
}

// fieldPath appends a field or key to a path: ".name" for identifier-like
// names, `["na me"]` (JSON-quoted) for the rest.
func fieldPath(base, name string) string {
	if isIdent(name) {
		return base + "." + name
	}
	return base + "[" + quote(name) + "]"
}

func indexPath(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
