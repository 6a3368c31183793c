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
// # Memory store
//
// [NewMemory] keeps documents in memory. Stores opened on one [MemoryData]
// share their documents, which simulates a restart in tests. The write
// seam ([MemoryOptions.Seam]) lets a test fail any low-level write; the
// store stays atomic because it commits only after every write of an
// operation passed the seam.

package store
