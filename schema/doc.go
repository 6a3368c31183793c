// Package schema describes document shapes the way the TypeScript Kyneta
// stack (@kyneta/schema) does, so a Go peer can declare a typed document
// once, in Go, and sync with TypeScript apps that declare the same shape.
//
// An interpreted TypeScript document syncs only with peers that present
// the same schema hash. This package computes that hash byte for byte,
// derives the state a TypeScript reader sees in a fresh document, and
// checks values and changes against the schema before they are written.
//
// # Building schemas
//
// The constructors mirror the reference's Schema namespace:
//
//	doc := schema.Struct(
//		schema.F("title", schema.String()),
//		schema.F("status", schema.String("draft", "published")), // first option is the zero
//		schema.F("body", schema.Text()),
//		schema.F("tags", schema.ListJSON(schema.String())),      // Schema.list.json
//		schema.F("cover", schema.Struct(schema.F("url", schema.String())).Nullable()),
//	)
//
// Other sources of schemas: [ParseJSON] reads the neutral JSON form of the
// reference's schema vectors (and [Schema.MarshalJSON] writes it), and
// [FromType] / [For] derive one from a Go struct type with json tags
// (plus kyneta tags for text, counters, options, sets and .json()
// boundaries). Constructors never panic; a mistake is kept in the schema
// and reported by [Schema.Err], Hash and Bind.
//
// # Binding
//
// [Bind] pairs a root struct with one of the reference's binding targets
// (json, ephemeral, state, loro, yjs), refusing schemas the target
// cannot hold, just as TypeScript's json.bind(schema) does, and returns a
// [Bound] with the hash, the canonical text it is computed over, and the
// fresh document's zero state.
//
// # The hash
//
// [Schema.Hash] is the reference's computeSchemaHash, version "02": the
// 128-bit FNV-1a of the canonical tuple written as JSON.stringify writes
// it. Struct fields are sorted with ICU root collation (JavaScript's
// localeCompare), stably over JavaScript property order, so names that
// collate as equal keep their declaration order. The binding, .decay()
// and migrations do not change the hash. Every case of the reference's
// vectors in testdata/schema (or $KYNETA_SCHEMA_VECTORS) is a test.
//
// # Zero state and validation
//
// [Schema.Zero] and [Schema.ZeroJSON] give what a TypeScript reader of a
// fresh document sees: "" for strings, 0 for numbers, the first option of
// a constrained scalar, null for a nullable, [] for lists, and so on, with
// JavaScript's key order. [Schema.Validate], [Schema.ValidateAt] and
// [Schema.ValidateChange] check a whole value, a value written at a path,
// or a change of the reference's change vocabulary, and return an *[Error]
// with a reason (kyneta.ReasonOf; docs/errors.md) and the path of the
// first problem:
//
//	schema: $.items[2].title: want string, got number
//
// [Schema.Complete] fills the fields a Go value left out (omitempty, nil
// slices) with their zero before it is written.
//
// Differences from the reference are listed in docs/deviations.md.
package schema
