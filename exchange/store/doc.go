// Package store defines the persistence contract of the exchange (§7 of the
// exchange spec): a record stream per document — meta records and payload
// entries — with a materialized meta index, the shared validation
// ([ResolveMeta], [ValidateAppend]), typed errors and the in-memory
// store [Memory]. The pure program that sequences an exchange's writes to
// its stores lives with the exchange (one write in flight per document,
// deltas coalesced while it runs).
//
// Every backend must pass the conformance suite in package storetest:
//
//	storetest.Run(t, func(t *testing.T) store.Store { return newBackend(t) })
//
// # Confirmed versions and retries
//
// A stream ends at a head ([Store.Head]): the version of its last entry.
// A writer keeps, for each store, the head it knows that store has (its
// confirmed version) and sends each store the delta from there with
// [Store.AppendAfter]:
//   - nil: the store now ends at the batch's last version;
//   - a [*HeadError]: nothing was written; the store ends at Head.Version
//     (a write whose result was lost did land), or does not have the
//     document (Head.Exists false: write it whole with [Store.Replace]);
//     take that as the confirmed version and recompute the delta;
//   - [Transient] errors (disk full, I/O): nothing is known beyond the old
//     confirmed version; keep the data and retry later (with backoff) from
//     that version;
//   - other errors (validation, reason "closed", a [CorruptError]) will not go
//     away by retrying.
//
// One store failing then never makes another store receive a delta twice,
// and a retry never stores a delta twice in the same store.
//
// # Broken streams
//
// A persistent backend checks a stream while loading it and stops at the
// first record it cannot trust, returning the records before it with a
// [*CorruptError]; [Replay] does the same for versions (a delta stored
// twice or missing). The error says how many records are good and the
// version they reach. What a caller can do with it is documented on
// [CorruptError]: serve the intact prefix, report the diagnostic, and not
// append to that stream until it has been repaired by a deliberate
// Replace.
//
// # Memory store
//
// [NewMemory] keeps documents in memory. Stores opened on one [MemoryData]
// share their documents, which simulates a restart in tests. The write
// seam ([MemoryOptions.Seam]) lets a test fail any low-level write; the
// store stays atomic because it commits only after every write of an
// operation passed the seam.
package store
