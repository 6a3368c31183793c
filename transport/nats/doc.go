// Package nats is a [transport.Transport] over NATS (github.com/nats-io/nats.go)
// that makes the nodes of one deployment exchange peers of each other: each
// node's exchange gets one channel per other live node and syncs with it
// exactly as with any peer, so cluster convergence is the exchange protocol
// itself.
//
// # Subjects and frames
//
// Every node subscribes to its own subject, <prefix>.node.<node id>, and to
// the shared <prefix>.hello. Channel traffic is the wire v3 binary frames
// (the same bytes a WebSocket carries, fragmented above the threshold),
// one NATS message per frame on the receiving node's subject; small NATS
// headers say which node and which link a frame belongs to. Core NATS only:
// docs/decisions/0006-nats-core-not-jetstream.md says why JetStream is not
// used.
//
// # Links
//
// A link is one channel's pair of pipelines between two nodes. Nodes
// announce themselves on the hello subject every Heartbeat. Of two nodes,
// the one with the smaller id opens the link (open → accept) and starts
// the exchange handshake on it; the other answers a hello it hears with a
// hello of its own, so discovery does not wait for a heartbeat.
//
// Core NATS delivers at most once, in order per publisher. A link turns
// that into what the exchange needs — an ordered channel that never
// silently skips a message — by checking the frame sequence numbers: each
// frame must follow the previous one, and every Heartbeat each side sends a
// ping carrying the last sequence number it sent, which catches a loss at
// the end of a burst. On a gap, a wire error, a peer silent for DeadAfter,
// or a peer that restarted (its hello carries a new instance id), the link
// is dropped on both sides and reopened. The exchange sees a channel
// removed and a new one established and catches up by versions, as after
// a WebSocket reconnect: nothing missed is replayed, nothing is applied
// twice.
//
// An orderly close (the exchange on either side refused the channel, for
// example by its CanConnect policy) is not a fault: the link is reopened
// after 1, 2, 4, … heartbeats, at most 32, so a refused node costs a
// handshake now and then rather than one every beat. A link that lived
// for DeadAfter, or a peer that restarted, starts the backoff over.
//
// The NATS connection reconnects on its own (forever, by default); links
// survive a short disconnection when nothing was lost.
package nats
