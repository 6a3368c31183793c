// Package line is the reference's Line: a reliable, ordered, exactly-once
// message stream between two peers of an exchange, built on two plain
// authoritative documents per peer pair and interoperable with TypeScript
// lines.
//
// # Model
//
// A line on topic T between peers A and B is two documents: A's outbox
// "line:T:A→B" (B's inbox) and B's outbox "line:T:B→A". Each is
// {messages: [{seq, payload}], ackSeq, ackLineage, nextSeq}, bound with
// json; its schema hash is the one the reference computes with
// createLineDocSchema for the same message schema, so a Go and a TypeScript
// peer share lines. Send appends {seq: nextSeq, payload} and bumps nextSeq in
// one transaction. The receiver queues inbox messages with a seq above the
// last one it processed, hands them to one consumer in order, and records
// the last one received in its own outbox (ackSeq, with the inbox's lineage
// as ackLineage); the sender then drops the acknowledged messages and
// compacts its outbox once it is empty. A per-line policy lets only this
// peer write its outbox and the remote peer write its inbox.
//
// Because the documents are ordinary exchange documents, a line survives
// disconnects (sends made offline are delivered on reconnect), restarts
// from the exchange's stores, and relays; storage stays bounded by what is
// unacknowledged.
//
// # Use
//
// A Protocol fixes the topic and the message types: C for what the client
// sends, S for what the server sends (the same type for a symmetric line).
// Open gives the client's line to a peer; Listen hands the server a line for
// every peer that opens one. Lines are registered per exchange: a second
// Open of the same line returns the same *Line with one more reference.
// Close keeps the documents (reopening resumes), Destroy deletes both, and
// the exchange's Shutdown closes every line.
//
// See docs/exchange.md ("Lines") for a guide and docs/deviations.md for the
// differences from the reference.
package line
