// Package netdefault holds the defaults the WebSocket server, the SSE
// transport and the kyneta command share, so that they cannot drift apart.
// The public documentation of each value is on the option field it fills
// (server.Options, sse.ServerOptions); the command shows them as its flag
// defaults.
package netdefault

import "time"

// Defaults of zero option fields.
const (
	// FragmentThreshold: outgoing payloads above it are fragmented (the
	// reference's 100 KiB).
	FragmentThreshold = 100 * 1024
	// MaxMessageSize caps one incoming WebSocket message.
	MaxMessageSize = 1 << 20
	// SendQueueMessages and SendQueueBytes bound one connection's send
	// queue. The byte bound is what limits memory; the message bound is
	// high enough that a peer syncing 10,000 documents at once (one answer
	// each) is not taken for a slow consumer.
	SendQueueMessages = 16384
	SendQueueBytes    = 8 << 20
	// WriteTimeout bounds one socket write.
	WriteTimeout = 10 * time.Second
	// CloseTimeout bounds a closing handshake.
	CloseTimeout = 5 * time.Second
	// ReadBufferSize and WriteBufferSize size an accepted connection's
	// buffers.
	ReadBufferSize  = 4096
	WriteBufferSize = 512
	// ReassemblyBudget is the memory all connections together may reserve
	// for incomplete fragmented messages.
	ReassemblyBudget = 256 << 20
	// MaxConnectionsPerIP and MaxConnectionsPerPrincipal cap the
	// connections one client address, and one authenticated principal,
	// may hold open.
	MaxConnectionsPerIP        = 1000
	MaxConnectionsPerPrincipal = 100
)
