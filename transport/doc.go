// Package transport is the boundary between the exchange and the wires it
// syncs over.
//
// A [Transport] owns a directory of [Channel]s — one logical,
// bidirectional path per remote peer — and a four-state lifecycle
// (created → initialized → started → stopped). The exchange injects a
// [Context] with its callbacks and a channel-id minter, starts the
// transport, and sends on each channel with [Channel.Send]. Concrete
// transports (WebSocket client and server, SSE, NATS, and the in-memory
// bridge of package transporttest) embed a [*Base], which implements the
// contract: started-state guards with typed errors, caller-minted ids that
// are never reused and insertion-ordered iteration. A channel's Send
// returns a failing or panicking link send as a typed error.
//
// An offer whose large value a replica keeps by reference comes as an
// [OfferPieces]: [Channel.SendPieces] hands its pieces to a link that
// writes them as they are ([Link.SendPieces], the WebSocket client and
// server), and to any other link the offer joined once for all of them.
//
// The module's transports share one wire pipeline (alias → CBOR →
// frame/fragment on send, reassemble → decode → unalias on receive); it is
// internal, and its errors are transport errors (docs/errors.md).
//
// The behaviour follows the reference transport contract, with the fixes
// listed in docs/deviations.md (channels are reported removed on Stop,
// channels can be closed, ids are uint64).
package transport
