// Package client is the Kyneta WebSocket client: what a Go service embeds to
// sync with a Kyneta server (Go or TypeScript), typically service to service
// with an auth header.
//
// A [Client] is a [transport.Transport]. An exchange initializes it with its
// context, starts it, and sends through it; while the server connection is
// ready the client holds exactly one channel, on which the exchange runs the
// establish handshake. Used on its own, the same calls apply: Initialize
// with an identity and a channel-id minter, Start, WaitForStatus.
//
// # Lifecycle
//
// The lifecycle is a pure Mealy machine, program: five states
// (disconnected, connecting, connected, ready, reconnecting) and the
// reference client's seven messages plus keepalive, pong, ready-deadline,
// backoff-reset and barrier messages. It returns effects as data
// (effect); the Client interprets them on goroutines it owns (dial, read,
// write, close) and through an injected clock (keepalive, pong and ready
// deadlines, backoff and its reset, dial timeout), feeding what happens
// back in as messages tagged with the socket's generation, so late events
// from an abandoned socket are ignored.
//
// On the wire the client behaves like the reference client: it waits for the
// server's "ready" text frame before it adds its channel, sends the text
// frame "ping" every KeepaliveInterval, closes with 1000 "Client
// disconnecting", and sends everything else as binary Kyneta wire v3 frames
// through the module's wire pipeline (one per connection, fragmenting above
// FragmentThreshold).
//
// # Reconnecting
//
// A lost connection is retried with capped exponential backoff and full
// jitter (package [backoff]) until Stop or Close: a service embedding the
// client keeps syncing after an outage of any length. A limit is explicit
// (Options.Reconnect with MaxAttempts n > 0 ends in the reason "max-retries-exceeded").
//
// An attempt counts as failed until the server's "ready" arrived, and until
// the connection has then stayed ready for BackoffResetAfter (default 30 s):
// a server that accepts and closes at once, or says "ready" and drops the
// connection, is retried at growing intervals rather than at the first
// step every time. A socket that opens but gets no "ready" within
// ReadyTimeout (default 10 s) is closed and retried the same way, as is a
// connection that stays silent for PongTimeout after a ping; a dial is
// bounded by DialTimeout (reason "dial-timeout"). Some outcomes are never
// retried, whatever the policy: an upgrade refused with HTTP 401 or 403
// ("unauthorized"), a close with 1008 ("policy-violation") and
// configuration errors such as a bad URL ("invalid-config").
//
// # Several servers
//
// Options.URLs lists the nodes of a cluster that serve the same documents.
// The first dial goes to a node drawn at random and every later dial to
// the next one in the list, so when a node is lost its clients reconnect
// to the others, spread by the backoff's jitter, and the exchange resumes
// sync there by comparing versions. [Client.URL] says which node the
// latest dial went to. (A URLFunc can implement any other rotation; it is
// called once per dial.)
//
// # Observing
//
// [Client.State] and [Client.WaitForStatus] read the lifecycle;
// [Client.Subscribe] and the hooks in [Options] (OnStateChange, OnReady,
// OnReconnecting, OnDisconnect) report every change of status. Hooks run in
// order on a goroutine of the client's, never under a lock, and may call
// back into the client, Stop included. Why the client stopped is a
// [*DisconnectReason], an error that unwraps to a *kyneta.Error: branch on
// kyneta.CodeOf(err), or on kyneta.ReasonOf(err) for one condition
// (docs/errors.md lists the reasons).
//
// The deviations from the reference client are listed in the project's
// docs/deviations.md.
package client
