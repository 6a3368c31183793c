// Package replica holds the document backends the exchange synchronizes:
// versions, payloads, the replica and factory interfaces, and the built-in
// replicas that are wire-compatible with the TypeScript reference.
package replica
