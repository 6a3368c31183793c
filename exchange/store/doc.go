// Package store defines the persistence contract of the exchange (§7 of the
// exchange spec): a record stream per document — meta records and payload
// entries — with a materialized meta index, the shared validation
// ([ResolveMeta], [ValidateAppend]), typed errors, the in-memory store
// [Memory] and the pure store [Program] that coordinates writes.
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
//
// # Store program
//
// [Program] is a pure Mealy machine (machine.Program) over per-document
// phases: idle at a confirmed version, or writing with one write in flight
// and inputs queued behind it. The shell executes [PersistAppend],
// [PersistReplace] and [PersistDelete] effects and answers with
// [WriteSucceeded] or [WriteFailed]. [Baseline] tells the shell which version
// the next delta should start from, including while the first
// registration write is still in flight.
package store
