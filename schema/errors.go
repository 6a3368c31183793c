package schema

import (
	"strconv"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/reasons"
)

// The reasons of the schema errors (docs/errors.md lists them with their
// codes).
const (
	// reasonSyntax: a neutral JSON form is not valid JSON.
	reasonSyntax = "syntax"
	// reasonInvalidSchema: a schema (built in Go or described in the
	// neutral JSON form) is malformed: unknown kind, nil child, duplicate
	// field, bad discriminated union, nesting beyond 1000 levels, ...
	reasonInvalidSchema = "invalid-schema"
	// reasonBindingRejects: a binding does not accept the schema (a
	// counter on yjs, a plain list on ephemeral, .decay() on json, a
	// non-struct root, a CRDT kind inside a union or .json() boundary).
	reasonBindingRejects = "binding-rejects"
	// reasonTypeMismatch: a value has the wrong type for its schema.
	reasonTypeMismatch = "type-mismatch"
	// reasonNotAllowed: a value is not one of a constrained scalar's
	// options.
	reasonNotAllowed = "not-allowed"
	// reasonMissingField: a struct value lacks a field its schema
	// requires.
	reasonMissingField = "missing-field"
	// reasonUnknownField: a struct value has a field its schema does not
	// declare.
	reasonUnknownField = "unknown-field"
	// reasonUnknownVariant: a discriminated union value's tag names no
	// variant.
	reasonUnknownVariant = "unknown-variant"
	// reasonNoVariant: a value matches none of a union's variants.
	reasonNoVariant = "no-variant"
	// reasonDuplicate: a set value holds two equal members.
	reasonDuplicate = "duplicate-member"
	// reasonInvalidTree: a tree value is not a well-formed forest
	// (duplicate ids, missing parents, cycles, negative indexes).
	reasonInvalidTree = "invalid-tree"
	// reasonBadPath: a change addresses a location the schema does not
	// have.
	reasonBadPath = "bad-path"
	// reasonBadChange: a change does not apply to the schema at its path
	// (an increment on a string) or is malformed.
	reasonBadChange = "bad-change"
	// reasonUnknownChange: a change type outside the reference vocabulary.
	reasonUnknownChange = "unknown-change"
	// reasonUnsupportedType: a Go type has no schema (channels, functions,
	// complex numbers, recursive types).
	reasonUnsupportedType = "unsupported-type"
)

// reasonCodes maps every reason to what a caller should do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonSyntax:          kyneta.CodeMalformed,
	reasonInvalidSchema:   kyneta.CodeInvalidArgument,
	reasonBindingRejects:  kyneta.CodeUnsupported,
	reasonTypeMismatch:    kyneta.CodeInvalidArgument,
	reasonNotAllowed:      kyneta.CodeInvalidArgument,
	reasonMissingField:    kyneta.CodeInvalidArgument,
	reasonUnknownField:    kyneta.CodeInvalidArgument,
	reasonUnknownVariant:  kyneta.CodeInvalidArgument,
	reasonNoVariant:       kyneta.CodeInvalidArgument,
	reasonDuplicate:       kyneta.CodeInvalidArgument,
	reasonInvalidTree:     kyneta.CodeInvalidArgument,
	reasonBadPath:         kyneta.CodeInvalidArgument,
	reasonBadChange:       kyneta.CodeInvalidArgument,
	reasonUnknownChange:   kyneta.CodeUnsupported,
	reasonUnsupportedType: kyneta.CodeUnsupported,
}

// Error is a schema error: it says where (Path) and what was wanted and
// found, and unwraps to its *kyneta.Error classification (Reason with its
// code), which wraps the cause. Branch with kyneta.CodeOf(err) or
// kyneta.ReasonOf(err) (docs/errors.md lists the reasons); use errors.As
// to read the details.
//
// Path locates the problem: in a value or change it is the document path
// ("$.items[2].title"); for schema errors it is the location in the
// schema ("$.shape<1>.type" for field type of variant 1, "[]" for a list
// item, "{}" for a record item).
type Error struct {
	Reason string
	Path   string
	Want   string // for value errors: what the schema expects
	Got    string // for value errors: what was found
	Msg    string // for other errors: what is wrong
	Err    error  // underlying cause, if any
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
		s += e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the classification, which wraps the cause.
func (e *Error) Unwrap() error {
	return reasons.Table{Pkg: "schema", Codes: reasonCodes}.New(e.Reason, e.Path, e.Err)
}

// Targets for errors.Is within the package, for the reasons it matches.
var (
	errSyntax          = &kyneta.Error{Pkg: "schema", Reason: reasonSyntax}
	errInvalidSchema   = &kyneta.Error{Pkg: "schema", Reason: reasonInvalidSchema}
	errBindingRejects  = &kyneta.Error{Pkg: "schema", Reason: reasonBindingRejects}
	errTypeMismatch    = &kyneta.Error{Pkg: "schema", Reason: reasonTypeMismatch}
	errNotAllowed      = &kyneta.Error{Pkg: "schema", Reason: reasonNotAllowed}
	errMissingField    = &kyneta.Error{Pkg: "schema", Reason: reasonMissingField}
	errUnsupportedType = &kyneta.Error{Pkg: "schema", Reason: reasonUnsupportedType}
)

func invalid(path, msg string) *Error {
	return &Error{Reason: reasonInvalidSchema, Path: path, Msg: msg}
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
