// Package exchange keeps documents in sync between peers over Kyneta
// transports (WebSocket client and server, the in-memory bridge),
// interoperable on the wire with the TypeScript @kyneta/exchange.
//
// # Model
//
// An [Exchange] is one participant: a peer id, any number of transports,
// optional stores and policies. Documents are JSON values held by a
// replica: [JSONDoc] is the plain authoritative op log (one writer at a
// time, delta sync), [EphemeralDoc] a whole-document last-writer-wins value
// for presence. [Exchange.Get] returns a [Doc] handle; [Doc.Update] applies
// a transaction ([Tx]) locally and pushes it to every peer that asked for
// the document; [Doc.JSON], [Doc.Decode] and [Doc.Subscribe] read it.
// [Exchange.Replicate] holds a document headless, for hubs and relays.
//
// Peers find each other's documents through the protocol: on connect each
// side presents what it holds, the other side answers with interest (its
// version) and receives an offer (what it lacks). A document a peer
// announces that this exchange does not hold is classified: interpreted
// when a registered [DocType] matches, otherwise as the [Policy] Resolve
// hooks say (Interpret, Replicate, Defer, Reject), otherwise deferred when
// its replica type is supported and answered vacant when it is not.
//
// # Concurrency
//
// All methods are safe for concurrent use. Inside, one pure core program
// runs on one machine.Runner: three sub-programs stepped as one immutable
// value (the session program: channels, handshake, peer presence; the sync
// program: documents, per-peer sync states, offers and policy gates; the
// store program: per-store persistence), whose effects the shell carries
// out and whose outcomes it feeds back (docs/decisions/0007). Work is
// queued; the goroutine that finds the runner idle drains the queue; each burst ends in a tick that
// delivers events to subscribers and flushes the burst's messages to the
// transports at once. Subscribers run outside every lock and may call the
// exchange (the calls are queued), but must not block waiting for it.
// Policies run inside the dispatcher and must be fast.
//
// # Security
//
// Policies are evaluated on every decision. Unlike the reference,
// CanShare also gates answers to interest and reactions to present (a
// denied peer gets vacant, never data or versions), a peer rejected by
// CanConnect is disconnected, and CanConnect sees the transport's view of
// the remote end ([ConnectRequest].Meta: the WebSocket server's
// authenticated principal) so it can check the peer id claimed in
// establish. See docs/exchange.md for a guide and docs/deviations.md for
// every deviation from the reference.
//
// # Time
//
// Departure timers and LWW timestamps use Options.Clock; tests pass a
// fake clock and never sleep.
package exchange
