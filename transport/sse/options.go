package sse

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/httpkey"
	"github.com/kyneta-go/kyneta/internal/netdefault"
	"github.com/kyneta-go/kyneta/server"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// Transport types, as in the reference.
const (
	serverTransportType = "sse-server"
	clientTransportType = "sse-client"
)

// HTTP names of the protocol.
const (
	// defaultPeerIDParam is the query parameter of the events request that
	// names the peer (the reference router's "peerId").
	defaultPeerIDParam = "peerId"
	// headerPeerID names the peer on an upload (the reference's header).
	headerPeerID = "X-Peer-Id"
	// headerStreamID is sent by Go clients on uploads: the id of the
	// stream the upload belongs to (from the eventStream event). The
	// server refuses an upload for another stream with HTTP 409, so a
	// message from a lost stream never lands on its successor.
	headerStreamID = "X-Kyneta-Stream"
)

// Defaults applied to zero option fields.
const (
	// defaultFragmentThreshold is the reference's: outgoing payloads
	// above 60 000 units (code points downstream, bytes upstream) are
	// fragmented.
	defaultFragmentThreshold = 60_000
	// defaultMaxBodySize caps one upload (the reference router's "1mb").
	defaultMaxBodySize = 1 << 20
	// defaultHeartbeatInterval is the time between ": heartbeat" comments.
	defaultHeartbeatInterval = 30 * time.Second
	defaultSendQueueMessages = netdefault.SendQueueMessages
	defaultSendQueueBytes    = netdefault.SendQueueBytes
	defaultWriteTimeout      = 10 * time.Second
	defaultReorderWait       = 3 * time.Second
	// defaultMaxEventSize bounds one event (or line) a client reads.
	defaultMaxEventSize = 1 << 20
	// defaultSendQueueLimit bounds the bytes a client has waiting for
	// upload.
	defaultSendQueueLimit = 16 << 20
	defaultOpenTimeout    = 30 * time.Second
	defaultCloseGrace     = 5 * time.Second
	// frameOverhead is the largest header a binary frame adds to its
	// payload.
	frameOverhead = 18
	maxPeerIDLen  = 256
)

// ServerOptions configure a Server. The zero value works.
type ServerOptions struct {
	// Authenticate runs on every request (events and uploads) before
	// anything else. An error refuses it: 401 by default, 403 for an
	// error of code kyneta.CodePermissionDenied, the status of a
	// *server.AuthError. The principal is bound to
	// the stream (transport.ConnInfo.Principal, the channel's Meta); an upload must
	// authenticate as the same principal as its stream. Nil accepts all
	// requests with a nil principal.
	Authenticate func(r *http.Request) (server.Principal, error)
	// PeerID reads the peer id of an events request. Default: the
	// "peerId" query parameter. Required (HTTP 400 without one); at most
	// 256 bytes.
	PeerID func(r *http.Request) string
	// UploadPeerID reads the peer id of an upload. Default: the X-Peer-Id
	// header.
	UploadPeerID func(r *http.Request) string

	// MaxConnections caps the open streams; 0 means no cap. An events
	// request above it is refused with HTTP 503.
	MaxConnections int
	// MaxConnectionsPerIP caps the open streams of one client address
	// (ClientIP); an events request above it is refused with HTTP 429.
	// Default 1,000; negative means no cap.
	// Behind a reverse proxy set ClientIP, or every client shares the
	// proxy's address.
	MaxConnectionsPerIP int
	// ClientIP returns the address a request counts against for
	// MaxConnectionsPerIP. Default: the host of r.RemoteAddr.
	ClientIP func(r *http.Request) string
	// MaxConnectionsPerPrincipal caps the open streams of one principal
	// (PrincipalKey); above it, HTTP 429. Default
	// 100; negative means no cap.
	MaxConnectionsPerPrincipal int
	// PrincipalKey names the principal a stream counts against for
	// MaxConnectionsPerPrincipal ("" for none). Default: a string
	// principal itself, a fmt.Stringer's String(), otherwise none.
	PrincipalKey func(server.Principal) string
	// MaxBodySize caps one upload in bytes (HTTP 413 above). Default
	// 1 MiB; it must leave room for a client's fragment (60 000 + 18
	// bytes).
	MaxBodySize int64
	// FragmentThreshold: outgoing payloads longer than this many code
	// points are sent as several fragment events. Default 60 000;
	// negative never fragments.
	FragmentThreshold int
	// HeartbeatInterval is the time between ": heartbeat" comments, which
	// keep proxies from closing idle streams. Default 30 s; negative
	// disables them.
	HeartbeatInterval time.Duration
	// SendQueueMessages and SendQueueBytes bound each stream's queue of
	// events waiting for the network. A send that would exceed either
	// ends the stream with close code 4000 and fails with
	// the reason "slow-consumer" (one event is always admitted into an empty
	// queue). Defaults 16 384 and 8 MiB.
	SendQueueMessages int
	SendQueueBytes    int
	// MaxReassemblySize caps the buffered bytes of incomplete fragmented
	// uploads per stream. Default: the wire default.
	MaxReassemblySize int
	// ReassemblyBudget caps the reassembly memory of all streams together
	// (a fragment that does not fit is refused with 400). Default
	// 256 MiB; negative means no budget.
	ReassemblyBudget int64
	// MaxAliases and MaxPresentDocs cap each stream's inbound alias table
	// and the entries of one present (wire.AliasOptions). Above them the
	// stream ends with 1008 "Limit exceeded: <code>".
	MaxAliases, MaxPresentDocs int
	// WriteTimeout bounds one write to a stream; a stream that accepts
	// nothing for this long is a slow consumer and is cut off. Default
	// 10 s.
	WriteTimeout time.Duration
	// ReorderWait bounds how long an upload that arrived ahead of its
	// turn (the reference client sends uploads concurrently) waits for
	// the messages before it; after that the gap is skipped. Default 3 s
	// (above the reference client's first upload retry); negative takes
	// uploads in arrival order.
	ReorderWait time.Duration

	// Drain holds the defaults for Drain calls (the WebSocket server's
	// options: zero fields of a call fall back to these, then to a 5 s
	// window, a deadline of window + 5 s and 1001 "Server draining").
	Drain server.DrainOptions

	// TransportID defaults to "sse-server-<n>".
	TransportID string
	// Clock drives heartbeats, write timeouts, drains and reassembly
	// timeouts. Default clock.Real.
	Clock clock.Clock
	// Rand draws drain schedules, in [0, 1). Default math/rand/v2.
	Rand func() float64
	// Logger receives diagnostics. Nil discards.
	Logger *slog.Logger
}

// Drain defaults.
const (
	defaultDrainWindow = 5 * time.Second
	defaultDrainGrace  = 5 * time.Second
)

type serverConfig struct {
	ServerOptions
	threshold int
	budget    *wire.ReassemblyBudget
}

func (o ServerOptions) resolve() (serverConfig, error) {
	c := serverConfig{ServerOptions: o}
	switch {
	case o.FragmentThreshold == 0:
		c.threshold = defaultFragmentThreshold
	case o.FragmentThreshold > 0:
		c.threshold = o.FragmentThreshold
	}
	neg := func(field string) (serverConfig, error) {
		return c, newError(reasonInvalidOptions, field+": must not be negative", nil)
	}
	switch {
	case o.MaxConnections < 0:
		return neg("MaxConnections")
	case o.MaxBodySize < 0:
		return neg("MaxBodySize")
	case o.SendQueueMessages < 0 || o.SendQueueBytes < 0:
		return neg("SendQueue")
	case o.MaxReassemblySize < 0:
		return neg("MaxReassemblySize")
	case o.WriteTimeout < 0:
		return neg("WriteTimeout")
	case o.Drain.Deadline < 0:
		return neg("Drain.Deadline")
	}
	switch {
	case c.ReassemblyBudget == 0:
		c.budget = wire.NewReassemblyBudget(netdefault.ReassemblyBudget)
	case c.ReassemblyBudget > 0:
		c.budget = wire.NewReassemblyBudget(c.ReassemblyBudget)
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = defaultMaxBodySize
	}
	if c.MaxBodySize < defaultFragmentThreshold+frameOverhead {
		return c, newError(reasonInvalidOptions, "MaxBodySize: smaller than a client fragment (60000+18 bytes)", nil)
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = defaultHeartbeatInterval
	}
	if c.SendQueueMessages == 0 {
		c.SendQueueMessages = defaultSendQueueMessages
	}
	if c.SendQueueBytes == 0 {
		c.SendQueueBytes = defaultSendQueueBytes
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.ReorderWait == 0 {
		c.ReorderWait = defaultReorderWait
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
		c.PrincipalKey = func(p server.Principal) string { return httpkey.Principal(p) }
	}
	if c.PeerID == nil {
		c.PeerID = func(r *http.Request) string { return r.URL.Query().Get(defaultPeerIDParam) }
	}
	if c.UploadPeerID == nil {
		c.UploadPeerID = func(r *http.Request) string { return r.Header.Get(headerPeerID) }
	}
	c.Clock = clock.OrReal(c.Clock)
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// ClientOptions configure a Client. Exactly one of EventsURL and
// EventsURLFunc, and one of PostURL and PostURLFunc, is required.
type ClientOptions struct {
	// EventsURL is the server's events (GET) URL. A Kyneta server needs
	// the peer id in it (e.g. "https://host/sse/events?peerId=alice"); use
	// EventsURLFunc to build it from the exchange's peer id.
	EventsURL string
	// EventsURLFunc computes the events URL from the local peer id before
	// every attempt.
	EventsURLFunc func(peerID string) (string, error)
	// PostURL is the server's upload (POST) URL.
	PostURL string
	// PostURLFunc computes the upload URL from the local peer id.
	PostURLFunc func(peerID string) (string, error)

	// Header is sent with every request, events and uploads (e.g.
	// Authorization).
	Header http.Header
	// HeaderFunc, if set, is called before every events request and its
	// headers are added to Header for that stream and its uploads (tokens
	// that expire). An error fails the attempt (retried) unless it wraps
	// an error of code kyneta.CodeInvalidArgument (stops with
	// "invalid-config") or kyneta.CodeUnauthenticated or
	// kyneta.CodePermissionDenied (stops with "unauthorized").
	HeaderFunc func(ctx context.Context) (http.Header, error)
	// HTTPClient sends the requests; nil means a client of the Client's
	// own (a clone of http.DefaultTransport). It must not have a Timeout:
	// the events response is a stream that lasts.
	HTTPClient *http.Client

	// FragmentThreshold fragments uploads whose payload is larger (bytes);
	// 0 means 60 000 (the reference client's), negative never fragments.
	FragmentThreshold int
	// MaxEventSize bounds one event read from the stream; 0 means 1 MiB.
	// A larger event fails the stream.
	MaxEventSize int
	// SendQueueLimit bounds the bytes waiting for upload; a send beyond it
	// fails with the reason "send-queue-full" (one frame is always accepted into an
	// empty queue). 0 means 16 MiB.
	SendQueueLimit int
	// OpenTimeout bounds an events request until the response headers
	// arrive; 0 means 30 s, negative means no bound.
	OpenTimeout time.Duration
	// IdleTimeout gives up a stream that delivered nothing, not even a
	// heartbeat comment, for this long. 0 disables it; with a Kyneta
	// server's 30 s heartbeats, 75 s is a sensible value.
	IdleTimeout time.Duration
	// CloseGrace bounds how long Stop lets queued uploads finish; 0 means
	// 5 s.
	CloseGrace time.Duration
	// Reconnect is the backoff policy; nil means backoff.Default.
	Reconnect *backoff.Policy
	// Rand draws the jitter in [0, 1); nil means math/rand/v2.
	Rand func() float64

	// Clock runs the timers (backoff, open and idle timeouts, reassembly);
	// nil means clock.Real.
	Clock clock.Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// TransportID overrides the default "sse-client-<n>".
	TransportID string

	// Lifecycle hooks. They run one at a time, in order, on a goroutine of
	// the client's, never under a lock, and may call any method of the
	// client.

	// OnStateChange sees every change of status.
	OnStateChange func(from, to State)
	// OnReconnecting runs when a retry is scheduled.
	OnReconnecting func(attempt int, delay time.Duration)
	// OnDisconnect runs when the client stops for good, with the reason.
	OnDisconnect func(reason *client.DisconnectReason)
}

type clientConfig struct {
	ClientOptions
	policy  backoff.Policy
	ownHTTP bool
}

func (o ClientOptions) resolve() (clientConfig, error) {
	c := clientConfig{ClientOptions: o}
	fail := func(format string, args ...any) (clientConfig, error) {
		return clientConfig{}, newError(reasonInvalidConfig, "new", fmt.Errorf(format, args...))
	}
	for _, u := range []struct {
		name string
		url  string
		fn   bool
	}{{"EventsURL", o.EventsURL, o.EventsURLFunc != nil}, {"PostURL", o.PostURL, o.PostURLFunc != nil}} {
		switch {
		case u.url == "" && !u.fn:
			return fail("one of %s and %sFunc is required", u.name, u.name)
		case u.url != "" && u.fn:
			return fail("%s and %sFunc are mutually exclusive", u.name, u.name)
		case u.url != "":
			if err := checkURL(u.url); err != nil {
				return fail("%s: %v", u.name, err)
			}
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		c.ownHTTP = true
	}
	if c.FragmentThreshold == 0 {
		c.FragmentThreshold = defaultFragmentThreshold
	}
	if c.MaxEventSize <= 0 {
		c.MaxEventSize = defaultMaxEventSize
	}
	if c.SendQueueLimit <= 0 {
		c.SendQueueLimit = defaultSendQueueLimit
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = defaultOpenTimeout
	}
	if c.IdleTimeout < 0 {
		c.IdleTimeout = 0
	}
	if c.CloseGrace <= 0 {
		c.CloseGrace = defaultCloseGrace
	}
	c.policy = backoff.Default
	if o.Reconnect != nil {
		c.policy = *o.Reconnect
	}
	if err := c.policy.Validate(); err != nil {
		return clientConfig{}, newError(reasonInvalidConfig, "new", err)
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	c.Clock = clock.OrReal(o.Clock)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// checkURL accepts absolute http and https URLs with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q: no host", s)
	}
	return nil
}
