// Package sse is the Kyneta text transport: Server-Sent Events down, HTTP
// POST up, wire-compatible with the TypeScript reference's SSE transport
// (@kyneta/sse-transport), for networks where WebSockets are blocked.
//
// # Protocol
//
// A client opens a stream with GET (the events URL, which names the peer:
// "?peerId=<id>" by default). The server registers the stream, and with
// it the transport channel, before it answers 200 with Content-Type
// text/event-stream, so the stream is usable as soon as the response
// arrives: there is no "ready" signal. Each message from the server is one
// or more events whose data is a text frame, ["2c", seq, {...}] or, above
// the fragment threshold (60 000 code points), ["2f", seq, index, total,
// totalSize, "chunk"] fragments. Comments keep the stream alive
// (": heartbeat" every 30 s).
//
// The client uploads each frame in its own POST (the upload URL), with the
// peer id in the X-Peer-Id header. Like the reference client it sends
// binary wire v3 frames (Content-Type application/octet-stream,
// fragmented above 60 000 bytes); the server also accepts text frames. The
// server answers 200 {"ok":true} once the message was delivered,
// 202 {"pending":true} for a fragment of an incomplete message,
// 400 {"error":"<wire code>"} for a frame the pipeline rejects and 404 when
// the peer has no stream. Each stream has its own pipeline: alias table,
// sequence numbers from 1, reassembly with the wire package's limits. The
// reference client sends its uploads concurrently; the server takes them
// in frame-seq order (ServerOptions.ReorderWait).
//
// # Go extensions
//
// Two events that the reference's EventSource client never sees (it only
// listens to "message" events) make Go peers more robust:
//
//   - "kyneta-stream" carries an id for the stream. A Go client sends it
//     back in the X-Kyneta-Stream header of its uploads, and the server
//     refuses (409) an upload meant for another stream, so a message from
//     a stream the client gave up never lands on its successor.
//   - "kyneta-close" precedes every stream end the server initiates, with
//     the WebSocket server's close codes: 1000 replaced by a newer stream,
//     1001 draining or shutting down, 1008 rejected by the exchange (final
//     for a Go client), 1011 internal error, 4000 slow consumer. A stream
//     that ends without it is reported as 1006.
//
// # Server
//
// [Server] is an http.Handler (GET opens a stream, POST uploads; or
// [Server.EventsHandler] and [Server.UploadHandler] on separate routes)
// and a transport.Transport. ServerOptions.Authenticate runs on every
// request before anything else; the principal is bound to the stream and
// stored in the channel's Meta ([transport.ConnInfo], a transport.PrincipalCarrier),
// and an upload must authenticate as the stream's principal. Only the same
// principal may take over a peer id (the older stream ends with 1000).
// Limits: MaxConnections (503 above), MaxBodySize (413), a send queue
// bounded in events and bytes whose overflow ends the stream as a slow
// consumer, and a write timeout. [Server.Drain] ends the streams at random
// points of a window; [Server.Close] ends them all and waits for their
// handlers. All timers run on ServerOptions.Clock.
//
// # Client
//
// [Client] is a transport.Transport with one channel while its stream is
// open. Its lifecycle is the pure program (disconnected, connecting,
// connected, reconnecting — the reference's four states), run by a
// machine.Runner. A lost stream, a failed upload or an idle timeout is
// retried with exponential backoff (package backoff); HTTP 401/403 and
// close code 1008 are not. Uploads go out one at a time, in order; when
// one fails the stream is given up and reconnected, and the exchange
// resynchronises, so no message is dropped silently.
//
// The project's docs/sse.md has the protocol in full, the interop notes
// and the deviations from the reference.
package sse
