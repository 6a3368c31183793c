// Package sqlite is the default durable [store.Store]: an embedded SQLite
// database (modernc.org/sqlite, pure Go, no cgo).
//
// The tables, row encoding and format marker are those of the reference's
// SQL-family stores (kyneta_doc_meta, kyneta_records, kyneta_store_meta), so
// a database file written by a Go service can be opened by the TypeScript
// SQLite store and the other way round.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// write that returned nil survives a crash of the process or the machine.
// Every Append, AppendAfter, Replace and Delete is one transaction: a
// write that returned an error (disk full, I/O error: reason "write-failed")
// left nothing behind, and the store stays usable, so the same write can be
// retried once there is room again.
//
// One process at a time: the file is held with SQLite's exclusive locking
// mode, and [Open] refuses a file another process holds with
// reason "locked" (see Open for why this lock and not a lock file).
//
// The file name is passed to SQLite as an escaped file: URI, so names
// holding '?', '#', '%' or spaces open exactly that file with every
// setting in effect.
//
// Loading checks the stream: LoadAll stops at an undecodable row, a gap in
// the sequence numbers or a stream without leading meta, with a
// [*store.CorruptError] and a logged diagnostic.
//
// # Format gate
//
// On open the store reads the "format" key of its store-meta table:
//   - no marker and no documents: the marker {"major":1,"minor":0} is written;
//   - no marker but documents present: refused (unversioned-existing-data);
//   - a marker that does not parse: refused (malformed-version);
//   - another major version: refused (incompatible-major).
//
// Refusals are store errors with these reasons (see docs/errors.md);
// nothing is ever migrated.
package sqlite
