// Package postgres is a [store.Store] on PostgreSQL (github.com/jackc/pgx/v5,
// pooled), the store several nodes of one deployment share.
//
// The tables and row encoding are the reference's SQL layout
// (kyneta_doc_meta with JSONB meta, kyneta_records with TEXT payload and
// BYTEA blob, kyneta_store_meta with the JSONB format marker), so data
// written here loads in the reference's PostgreSQL store and the other way
// round. Tables may live in their own PostgreSQL schema ([Tables.Schema])
// and take other names, so isolated stores can share one database.
//
// # Several writers
//
// Every Append, Replace and Delete is one transaction that first takes a
// transaction-scoped advisory lock on (tables, document), so writes to one
// document from any number of processes are serialized, and record
// sequence numbers are computed under that lock (never cached).
//
// Writers share a document's stream with a row version check on its head,
// the version of its last entry. Each Store remembers the head it last
// saw for a document (after LoadAll, Append or Replace). An entry append
//   - whose version is the head's is a duplicate another writer already
//     stored: it succeeds without writing, so one version never has two
//     contents in the stream;
//   - made while the head is the one this Store last saw is appended;
//   - otherwise (another writer moved the head, so this entry's delta
//     does not start where the stream ends) is refused with
//     reason "version-conflict" and nothing is written: replaying the
//     stream would apply some changes twice. The writer recovers by storing
//     an entirety with Replace, or by catching up to the head.
//
// Replace is last-writer-wins: it swaps the whole stream atomically (ReplaceIf
// is the conditional form, refused with a *store.HeadError unless the stream
// ends where the caller expects). An
// exchange replaces a stream when it registers a document it did not find
// in its stores, or when its delta no longer starts at the head, so two
// exchanges writing one document through a bare Store can overwrite
// each other's stream, entries the other stored and acknowledged
// included.
//
// Exchanges that share tables should therefore each write through
// [Store.Shared] (one Store per exchange, on one pool): with the replica
// types of the documents, it turns every Replace into a write that keeps
// what the stream holds (a conditional create or rewrite for JSON
// documents, a merge for state documents and CRDT logs, the newest
// entirety for ephemeral ones). "kyneta serve --cluster" runs its nodes
// that way.
//
// # Migrations and format gate
//
// [Open] and [New] bring the tables to the current schema version inside
// one transaction, under an advisory lock so nodes starting together do
// not race. Versions are recorded in the store-meta table under the key
// "schema_version":
//  1. the reference's three tables;
//  2. a byte-order ("C" collation) index on document ids, for prefix listing
//     whatever the database's collation.
//
// Tables created by the reference's schema.sql count as version 1 once
// their columns are checked. Then the format marker is checked like the
// SQLite store's, with the same refusals (store errors with these reasons):
//   - no marker and no documents: the marker {"major":1,"minor":0} is written;
//   - no marker but documents present: unversioned-existing-data;
//   - a marker that does not parse: malformed-version;
//   - another major version: incompatible-major.
//
// A schema_version that does not parse is refused as malformed-version,
// and one newer than this release knows as incompatible-major: a newer
// release may have changed what rows must hold. Data is never rewritten.
package postgres
