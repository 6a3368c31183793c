// Package server is the Kyneta WebSocket server: an [net/http.Handler] that
// Go services mount on any mux, and a [transport.Transport] that an exchange
// drives. It speaks the reference server's protocol, so TypeScript Kyneta
// clients and Go clients connect to it alike.
//
// The behaviour ported is specified in the project's
// spec/transport-client-server.md §5; deliberate differences from the
// reference are listed in docs/deviations.md (section "server").
//
// # Protocol
//
// Each accepted socket becomes one transport channel with its own wire
// pipeline (alias state, frame sequence from 1, reassembly). Once the
// channel is registered the server sends the text frame "ready"; it answers
// the text frame "ping" with "pong" and ignores other text. Binary frames
// are Kyneta wire v3 frames; decoded messages go to the exchange. The server
// never starts the establish handshake: it answers the client's.
//
// # Accepting connections
//
// [Server.ServeHTTP] checks, in this order and before any upgrade: that the
// server is running (HTTP 503 while closed, draining, or while the transport
// is not started), Options.Authenticate (401 with a WWW-Authenticate
// challenge, "Bearer" by default; 403; or the status of an [*AuthError];
// [BearerToken] reads a token with the scheme matched case-insensitively),
// the requested peer id (the "peerId" query parameter by
// default; 400 if longer than 256 bytes), the subprotocol when required
// (400), and the Origin (403, via coder/websocket's origin patterns). A
// refused request is never upgraded. The principal returned by the
// authenticator is bound to the connection and stored, inside a
// [transport.ConnInfo], as the channel's Meta; [transport.InfoOf] reads it back, so the
// exchange's canConnect policy can check it against the identity a peer
// claims in establish.
//
// [Server.HandleConn] serves a socket the caller accepted itself.
//
// A connection whose peer id is already registered replaces the older one,
// which is closed with 1000 "Replaced by new connection". The registry is
// keyed by connection, so the old socket's late close cannot remove its
// successor.
//
// # Close codes
//
// Every close the server starts uses one of these codes and reasons:
//
//	1000 Replaced by new connection   a newer connection took the peer id
//	1001 Server draining              Drain (code and reason configurable)
//	1001 Server shutting down         Close, transport Stop, HandleConn ctx
//	1001 Idle timeout                 nothing received for Options.IdleTimeout
//	1002 (coder/websocket's reason)   invalid WebSocket framing
//	1007 Invalid frame: <cause>       a binary frame the pipeline rejected;
//	                                  the cause is the frame decoder's code
//	                                  (e.g. "unsupported_version: version
//	                                  9, …") or the pipeline's code and
//	                                  detail, at most 123 bytes
//	1008 Rate limit exceeded          above Options.MessageRate
//	1008 Limit exceeded: too-many-aliases  above Options.MaxAliases
//	1008 Connection rejected          the exchange closed the channel
//	1009 read limited at N bytes      a message above Options.MaxMessageSize
//	1009 Message too big              a fragmented message above
//	                                  MaxReassemblySize, a present above
//	                                  MaxPresentDocs, a message beyond the
//	                                  wire decoder's caps
//	1011 Internal error               the channel could not be registered
//	1013 Too many connections         above Options.MaxConnections (and,
//	                                  for HandleConn, the per-address and
//	                                  per-principal caps)
//	1013 Server busy                  the server-wide ReassemblyBudget is
//	                                  exhausted
//	4000 Slow consumer                send queue overflow or write timeout
//
// Requests above Options.MaxConnectionsPerIP or
// Options.MaxConnectionsPerPrincipal are refused with HTTP 429 before the
// upgrade. docs/limits.md lists every limit with its default.
//
// Kyneta clients treat 1008 as final and reconnect after the others.
//
// # Backpressure
//
// Sends never block. Each connection has a send queue bounded in messages
// and bytes (Options.SendQueueMessages, Options.SendQueueBytes) and one
// writer goroutine, started only while the queue is non-empty. Replies the
// exchange sends while a connection's reader is delivering that
// connection's message are written by the reader itself once the exchange
// returns (a request/reply costs no goroutine hand-off), held until it is
// about to read from the socket again so that replies to messages that
// arrived together leave in one write. Meanwhile other senders' messages
// to that connection wait in its queue too, so a delivery that blocks (a
// hook that waits) delays that connection's output; a slow socket holds
// up its reading, which is backpressure on the peer that sent. Sends
// still never block the sender. A send that
// would overflow the queue fails with the reason "slow-consumer" and closes the
// connection with 4000; a socket that accepts nothing for
// Options.WriteTimeout is cut off the same way. Nothing is dropped
// silently: the sender gets an error and the peer a close code.
// [Server.Broadcast] encodes a message once and shares the encoded bytes
// between the queues of all connections; only the frame header, which
// carries each connection's sequence number, is per connection.
//
// # Connection lifecycle
//
// Each connection's lifecycle (pending until the exchange accepts its
// channel, open once "ready" is queued, closing with its queue flushed or
// dropped, finished when the reader stops) is a pure program
// (conn_program.go) applied under the connection's lock, like the drain
// program under the server's; the shell owns the socket, the queue and
// the writer goroutine and carries the effects out.
//
// # Draining and shutdown
//
// [Server.Drain] stops accepting (HTTP 503), closes every open connection
// at a random point within a window (default 5 s, code 1001 "Server
// draining") so that clients do not reconnect as one herd, and returns
// exact counts when they are gone or at the deadline (default window + 5 s).
// The schedule and the drain lifecycle are a pure program
// (drain_program.go). A typical shutdown: on SIGTERM call Drain, then the
// exchange's shutdown (which stops this transport), then [Server.Close].
//
// # Timers and logs
//
// Every timer (idle timeout, write and close timeouts, drain schedule and
// deadline) runs on Options.Clock, so tests drive them with a fake clock.
// Nothing is printed; events go to Options.Logger when set. [Server.Stats]
// reports counters.
package server
