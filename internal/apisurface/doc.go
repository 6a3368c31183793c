// Package apisurface measures the module's exported API.
//
// [Scan] reads every library package of a module with go/parser and go/doc
// (build constraints of the current platform apply; tests, main packages and
// testdata are left out) and counts what a user can name: top-level
// exported constants, variables, functions and types, the figure the
// API-size goal is stated in. Exported methods of exported types and
// exported fields of exported structs are counted separately.
// [Markdown] renders the counts and a go doc-level listing (declarations
// without comments or bodies) of every public package.
//
// The package's test regenerates docs/api.md with -update and fails when
// the committed file differs, so every change of the surface shows up in
// review:
//
//	go test ./internal/apisurface -update
package apisurface
