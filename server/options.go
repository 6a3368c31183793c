package server

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/httpkey"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/wire"
)

// transportType is the transport type the server reports to the exchange,
// as in the reference.
const transportType = "websocket-server"

// Defaults used when the corresponding Options field is zero.
const (
	defaultPeerIDParam = "peerId"
	// defaultMessageRate and defaultMessageBurst bound the messages one
	// connection may send: a sustained 10,000 per second, with bursts of
	// 100,000 (a 10,000-document client's first sync fits in the burst).
	defaultMessageRate  = 10_000
	defaultMessageBurst = 100_000
	// fragmentOverhead is the largest header a wire v3 frame adds to its
	// payload (10-byte header plus 8 bytes of fragment metadata).
	fragmentOverhead = 18
)

// Principal is whatever Options.Authenticate says the request is: a user
// record, a token's claims, a service name. The server does not look
// inside; it binds the value to the connection (transport.ConnInfo.Principal) and
// through it to the transport channel, where the exchange's canConnect
// policy can check it against the peer id claimed in establish.
type Principal any

// Options configure a Server. The zero value is a working server with the
// defaults documented on each field; New validates the rest.
type Options struct {
	// Authenticate runs before the upgrade. An error refuses the request
	// without upgrading it: HTTP 401 by default, 403 for an error of code kyneta.CodePermissionDenied
	// (&kyneta.Error{Code: kyneta.CodePermissionDenied}), or
	// the status of an *AuthError. The returned Principal is bound to the
	// connection. Nil accepts every request with a nil Principal.
	Authenticate func(r *http.Request) (Principal, error)
	// PeerID returns the peer id a request asks for ("" for a generated
	// one). Default: the "peerId" query parameter. Ids longer than 256
	// bytes are refused with HTTP 400.
	PeerID func(r *http.Request) string

	// OriginPatterns lists the host patterns allowed in the Origin header
	// besides the request's own host (websocket.AcceptOptions). A
	// cross-origin request that matches none is refused with HTTP 403.
	OriginPatterns []string
	// InsecureSkipVerify disables the origin check entirely.
	InsecureSkipVerify bool
	// Subprotocols lists the subprotocols the server negotiates, in order
	// of preference.
	Subprotocols []string
	// CompressionMode enables permessage-deflate (RFC 7692) for peers that
	// offer it (browsers and Node's ws do): websocket.CompressionContextTakeover
	// compresses best but keeps a 32 KiB window and a ~1.2 MB compressor
	// per connection; websocket.CompressionNoContextTakeover keeps no
	// state between messages (pooled compressors). Default: disabled: it
	// pays only for text-like payloads (JSON documents shrink ~5x, opaque
	// binary updates not at all) and costs CPU on every message (see
	// docs/performance.md).
	CompressionMode websocket.CompressionMode
	// CompressionThreshold is the smallest message compressed; default
	// coder/websocket's (512 bytes without context takeover, 128 with).
	CompressionThreshold int
	// RequireSubprotocol refuses (HTTP 400, before the upgrade) requests
	// that offer none of Subprotocols.
	RequireSubprotocol bool

	// MaxConnections caps the open connections; 0 means no cap. A
	// connection above the cap is upgraded and closed at once with 1013
	// (1013 Try again later), never registered.
	MaxConnections int
	// MaxConnectionsPerIP caps the open connections of one client address
	// (ClientIP). A request above it is refused with HTTP 429 before the
	// upgrade (HandleConn: closed with 1013 and "per-ip").
	// Default 1,000; negative means no cap. Behind a
	// reverse proxy set ClientIP, or every client shares the proxy's
	// address.
	MaxConnectionsPerIP int
	// ClientIP returns the address a request counts against for
	// MaxConnectionsPerIP. Default: the host of r.RemoteAddr.
	ClientIP func(r *http.Request) string
	// MaxConnectionsPerPrincipal caps the open connections of one
	// principal (PrincipalKey). A request above it is refused with HTTP
	// 429 (HandleConn: 1013 and "per-principal"). Default
	// 100; negative means no cap.
	MaxConnectionsPerPrincipal int
	// PrincipalKey names the principal a connection counts against for
	// MaxConnectionsPerPrincipal ("" for none). Default: a string
	// principal itself, a fmt.Stringer's String(), otherwise none.
	PrincipalKey func(Principal) string
	// MaxMessageSize caps one incoming WebSocket message in bytes; a
	// larger message closes the connection with 1009. Default 1 MiB. It
	// must leave room for a full fragment: at least FragmentThreshold+18.
	MaxMessageSize int64
	// FragmentThreshold: outgoing messages whose encoded payload exceeds
	// it are split into fragment frames. Default 100 KiB (the reference's);
	// negative means never fragment.
	FragmentThreshold int
	// IdleTimeout closes a connection that sent nothing (no message, no
	// "ping"; for connections accepted by ServeHTTP, no WebSocket ping
	// either) for this long, with 1001 "Idle timeout". 0 disables it.
	// Kyneta clients send "ping" every 30 s by default, so 60–90 s is a
	// sensible value.
	IdleTimeout time.Duration
	// MessageRate limits incoming WebSocket messages per second per
	// connection (token bucket of MessageBurst); a connection above it is
	// closed with 1008 "Rate limit exceeded" ("rate-limited"). Default
	// 10,000; negative disables it.
	MessageRate float64
	// MessageBurst is the token bucket size for MessageRate; default
	// 100,000 with the default rate, else max(1, MessageRate).
	MessageBurst int

	// SendQueueMessages and SendQueueBytes bound each connection's send
	// queue (frames waiting for the socket). A send that would exceed
	// either closes the connection with 4000 (StatusSlowConsumer) and
	// returns "slow-consumer"; nothing is dropped silently. A single
	// message larger than SendQueueBytes is still admitted into an empty
	// queue. Defaults 16,384 messages and 8 MiB.
	SendQueueMessages int
	SendQueueBytes    int
	// MaxReassemblySize caps the memory one connection may reserve for
	// incomplete fragmented messages (oldest evicted beyond it; a message
	// that cannot fit alone closes the connection with 1009 "Message too
	// big"). Default: the transport pipeline's (50 MiB, as the reference's
	// collector).
	MaxReassemblySize int
	// ReassemblyBudget caps the memory all connections together may
	// reserve for incomplete fragmented messages. A connection that finds
	// it exhausted gives up its own older partial messages first; if that
	// is not enough it is closed with 1013 "Server busy"
	// ("reassembly-budget") and the others keep theirs. Default
	// 256 MiB; negative means no budget.
	ReassemblyBudget int64
	// MaxAliases and MaxPresentDocs cap each connection's inbound alias
	// table and the entries of one present (wire.AliasOptions; zero means
	// 100,000 aliases and 50,000 entries). Above
	// MaxAliases the connection is closed with 1008 "Limit exceeded:
	// too-many-aliases", above MaxPresentDocs with 1009 "Message too big".
	MaxAliases, MaxPresentDocs int
	// WriteTimeout bounds one socket write; a socket that accepts nothing
	// for this long is a slow consumer and is cut off. Default 10 s.
	WriteTimeout time.Duration
	// CloseTimeout bounds the closing handshake: a connection whose close
	// has not completed within it is torn down. Default 5 s.
	CloseTimeout time.Duration

	// ReadBufferSize and WriteBufferSize size the buffers of a connection
	// accepted by ServeHTTP (net/http would hand over 4 KiB each). They
	// are most of an idle connection's memory. Defaults 4 KiB and 512 B:
	// the connection's writer gathers each batch of messages in a pooled
	// buffer and writes it with one system call, so the write buffer only
	// stages frame headers and small pieces.
	ReadBufferSize, WriteBufferSize int

	// Drain holds the defaults for Drain calls.
	Drain DrainOptions

	// TransportID is the transport id reported to the exchange; default
	// "websocket-server-<n>".
	TransportID string
	// Clock drives every timer of the server (idle timeout, write and
	// close timeouts, drain schedule and deadline). Default clock.Real.
	Clock clock.Clock
	// Rand draws the random numbers of the drain schedule and of generated
	// peer ids; it must return values in [0, 1). Default math/rand/v2.
	Rand func() float64
	// Logger receives connection-level events (debug) and refusals (info).
	// Nil discards.
	Logger *slog.Logger
}

// config is Options after defaults and validation.
type config struct {
	Options
	threshold int                    // 0: never fragment
	budget    *wire.ReassemblyBudget // nil: none
}

func (o Options) resolve() (config, error) {
	c := config{Options: o}
	switch {
	case o.FragmentThreshold == 0:
		c.threshold = netdefault.FragmentThreshold
	case o.FragmentThreshold < 0:
		c.threshold = 0
	default:
		c.threshold = o.FragmentThreshold
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = max(netdefault.MaxMessageSize, int64(c.threshold)+fragmentOverhead)
	}
	if c.MaxMessageSize < 0 {
		return c, newError(reasonInvalidOptions, "MaxMessageSize: must not be negative", nil)
	}
	if c.threshold > 0 && c.MaxMessageSize < int64(c.threshold)+fragmentOverhead {
		return c, newError(reasonInvalidOptions, "MaxMessageSize: smaller than FragmentThreshold+18: a peer using the same threshold would be cut off", nil)
	}
	if c.MaxConnections < 0 {
		return c, newError(reasonInvalidOptions, "MaxConnections: must not be negative", nil)
	}
	switch c.CompressionMode {
	case websocket.CompressionDisabled, websocket.CompressionContextTakeover, websocket.CompressionNoContextTakeover:
	default:
		return c, newError(reasonInvalidOptions, "CompressionMode: unknown mode", nil)
	}
	if c.CompressionThreshold < 0 {
		return c, newError(reasonInvalidOptions, "CompressionThreshold: must not be negative", nil)
	}
	if c.IdleTimeout < 0 {
		return c, newError(reasonInvalidOptions, "IdleTimeout: must not be negative", nil)
	}
	if c.MessageBurst < 0 {
		return c, newError(reasonInvalidOptions, "MessageBurst: must not be negative", nil)
	}
	switch {
	case c.MessageRate == 0:
		c.MessageRate = defaultMessageRate
		if c.MessageBurst == 0 {
			c.MessageBurst = defaultMessageBurst
		}
	case c.MessageRate < 0:
		c.MessageRate = 0 // disabled
	}
	if c.MessageRate > 0 && c.MessageBurst == 0 {
		c.MessageBurst = max(1, int(c.MessageRate))
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = netdefault.MaxConnectionsPerIP
	}
	if c.MaxConnectionsPerPrincipal == 0 {
		c.MaxConnectionsPerPrincipal = netdefault.MaxConnectionsPerPrincipal
	}
	if c.ClientIP == nil {
		c.ClientIP = httpkey.ClientHost
	}
	if c.PrincipalKey == nil {
		c.PrincipalKey = func(p Principal) string { return httpkey.Principal(p) }
	}
	switch {
	case c.ReassemblyBudget == 0:
		c.budget = wire.NewReassemblyBudget(netdefault.ReassemblyBudget)
	case c.ReassemblyBudget > 0:
		c.budget = wire.NewReassemblyBudget(c.ReassemblyBudget)
	}
	if c.SendQueueMessages < 0 || c.SendQueueBytes < 0 {
		return c, newError(reasonInvalidOptions, "SendQueue: must not be negative", nil)
	}
	if c.SendQueueMessages == 0 {
		c.SendQueueMessages = netdefault.SendQueueMessages
	}
	if c.SendQueueBytes == 0 {
		c.SendQueueBytes = netdefault.SendQueueBytes
	}
	if c.ReadBufferSize < 0 || c.WriteBufferSize < 0 {
		return c, newError(reasonInvalidOptions, "BufferSize: must not be negative", nil)
	}
	if c.ReadBufferSize == 0 {
		c.ReadBufferSize = netdefault.ReadBufferSize
	}
	if c.WriteBufferSize == 0 {
		c.WriteBufferSize = netdefault.WriteBufferSize
	}
	if c.MaxReassemblySize < 0 {
		return c, newError(reasonInvalidOptions, "MaxReassemblySize: must not be negative", nil)
	}
	if c.WriteTimeout < 0 || c.CloseTimeout < 0 {
		return c, newError(reasonInvalidOptions, "Timeout: must not be negative", nil)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = netdefault.WriteTimeout
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = netdefault.CloseTimeout
	}
	if err := c.Drain.validate("Drain."); err != nil {
		return c, err
	}
	if c.RequireSubprotocol && len(c.Subprotocols) == 0 {
		return c, newError(reasonInvalidOptions, "RequireSubprotocol: set without Subprotocols", nil)
	}
	c.Clock = clock.OrReal(c.Clock)
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PeerID == nil {
		c.PeerID = func(r *http.Request) string { return r.URL.Query().Get(defaultPeerIDParam) }
	}
	return c, nil
}

// DrainOptions configure one Drain (fields left zero fall back to
// Options.Drain, then to the defaults).
type DrainOptions struct {
	// Window spreads the closes: each connection is closed at
	// floor(r·Window) after the call, r uniform in [0, 1), so clients do
	// not reconnect as one herd. Default 5 s; negative closes every
	// connection at once.
	Window time.Duration
	// Deadline bounds the whole drain, measured from the call: when it
	// passes, Drain returns with TimedOut set and the connections still
	// open counted in Remaining. Default Window + 5 s. A default Deadline
	// (from Options.Drain) shorter than the resolved window is ignored.
	Deadline time.Duration
	// CloseCode and CloseReason are sent to each connection; default 1001
	// and "Server draining".
	CloseCode   websocket.StatusCode
	CloseReason string
	// Rand draws the schedule; default Options.Rand.
	Rand func() float64
}

// Validate reports options a drain refuses (with "invalid-options"): a
// negative Deadline, a close code a server may not send, a reason longer
// than a close frame holds. The SSE server checks its drains with it too.
func (d DrainOptions) Validate() error { return d.validate("") }

func (d DrainOptions) validate(prefix string) error {
	if d.Deadline < 0 {
		return newError(reasonInvalidOptions, prefix+"Deadline: must not be negative", nil)
	}
	if d.CloseCode != 0 && !validCloseCode(d.CloseCode) {
		return newError(reasonInvalidOptions, prefix+"CloseCode: not a close code a server may send", nil)
	}
	if len(d.CloseReason) > 123 {
		return newError(reasonInvalidOptions, prefix+"CloseReason: longer than 123 bytes", nil)
	}
	return nil
}

// validCloseCode reports whether a server may put code in a close frame.
func validCloseCode(code websocket.StatusCode) bool {
	switch {
	case code == 1004 || code == 1005 || code == 1006 || code == 1015:
		return false
	case code >= 1000 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// DrainResult reports how a drain ended.
type DrainResult struct {
	// Closed counts the connections open at the start of the drain that
	// were gone when it ended.
	Closed int
	// Remaining counts those still open when it ended (non-zero only
	// when TimedOut).
	Remaining int
	// TimedOut is true when the deadline ended the drain.
	TimedOut bool
}
