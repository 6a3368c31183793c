// Package jsjson reads and writes JSON the way JavaScript does, for the
// packages that must match the TypeScript reference byte for byte.
//
// The reference's text formats are whatever JSON.parse accepts and
// JSON.stringify writes. encoding/json differs in details that show on the
// wire: it always escapes U+2028 and U+2029 (and '<', '>', '&' by default),
// writes -0 as "-0" and fails on NaN where JSON.stringify writes "0" and
// null, sorts map keys where JavaScript has its own property order, and
// repairs invalid UTF-8 byte by byte where a browser's TextDecoder replaces
// each maximal ill-formed subsequence once. This package holds the one
// implementation of those rules, used by package wire (text messages, text
// frames) and package exchange/replica (document values).
//
// # Writing
//
// [AppendString] quotes a string, [AppendNumber] writes a number as
// JSON.stringify does and [AppendJSNumber] as String(x) does.
// [AppendWellFormed] and [WellFormed] repair UTF-8 as TextDecoder does.
// Callers write their own value trees with these, since each package has its
// own value model (wire's ordered Map with int64 numbers and byte strings,
// replica's *Object in JavaScript property order).
//
// # Reading
//
// [Parse] builds a value tree from a complete JSON text. [Options] choose
// the nesting limit, the key order ([InsertionOrder] for wire, which keeps
// maps in document order; [PropertyOrder] for replica, which reproduces
// what JSON.stringify(JSON.parse(x)) writes), interned strings, and hooks
// that build the caller's number and object types. Duplicate keys follow
// JSON.parse: the first position, the last value. Lone surrogate escapes
// become U+FFFD, as a Go string must be UTF-8.
//
// The tokenizer pieces Parse is made of are exported for the one reader
// that cannot be a Parse call: [SkipSpace], [Literal], [Number],
// [ReadString] (which can also re-emit a literal in JSON.stringify's
// spelling), [Order] (JSON.parse's member order, on any key
// representation) and [ArrayIndex].
//
// # Why the text frame reader stays in package wire
//
// A complete text frame's payload is reproduced as
// JSON.stringify(JSON.parse(payload)). Package wire does that in a single
// pass that validates the payload and writes its canonical form straight
// into an output buffer, reordering an object's members inside that buffer
// when it closes. Building a tree with Parse and writing it back would
// allocate every value only to throw it away, and could not be exact: a
// decoded Go string has lost the difference between "\ud800" and "\ufffd",
// which the canonical form must keep. The frame decoder also walks the
// frame's top-level array element by element and decodes only the strings it
// needs. So that reader keeps its own small recursive descent over bytes,
// built from the primitives above; everything it shares with Parse (grammar,
// escapes, surrogates, numbers, key order) lives here.
package jsjson
