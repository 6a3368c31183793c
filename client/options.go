package client

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/redact"
	"github.com/kyneta-go/kyneta/transport/backoff"
)

// Defaults applied by [New] to zero option fields.
const (
	// defaultReadLimit is the largest message the client reads: far above
	// coder/websocket's 32 KiB, so a 100 KiB fragment plus its header fits.
	defaultReadLimit = 1 << 20
	// defaultFragmentThreshold is the payload size above which outgoing
	// messages are fragmented (the reference's 100 KiB).
	defaultFragmentThreshold = 100 << 10
	// defaultKeepaliveInterval is the time between "ping" text frames.
	defaultKeepaliveInterval = 30 * time.Second
	// defaultPongTimeout is how long the connection may stay silent after
	// a ping before it is given up.
	defaultPongTimeout = 10 * time.Second
	// defaultDialTimeout bounds one dial (TCP, TLS and upgrade).
	defaultDialTimeout = 30 * time.Second
	// defaultReadyTimeout bounds the wait for the server's "ready" once
	// the socket is open. A Kyneta server sends it as soon as it has
	// registered the connection, so anything longer means a stuck server.
	defaultReadyTimeout = 10 * time.Second
	// defaultBackoffResetAfter is how long a connection must stay ready
	// before the backoff starts again from its first step.
	defaultBackoffResetAfter = 30 * time.Second
	// defaultSendQueueLimit bounds the bytes queued for one socket.
	defaultSendQueueLimit = 16 << 20
	// defaultCloseGrace is how long a closing socket may take to write
	// what was queued before its close frame.
	defaultCloseGrace = 5 * time.Second
)

// transportType is the client's transport type, as in the reference.
const transportType = "websocket-client"

// Options configure a [Client]. Zero fields take the documented defaults;
// exactly one of URL, URLs and URLFunc is required.
type Options struct {
	// URL is the server's WebSocket URL (ws, wss, http or https).
	URL string
	// URLs are the WebSocket URLs of several servers that serve the same
	// documents (the nodes of a cluster), for failover. The first dial
	// goes to one drawn with Rand, so clients spread over the nodes; every
	// later dial goes to the next URL in the list, wrapping around. A
	// reconnect after a lost connection or a failed dial therefore tries
	// another node, after the usual backoff with jitter, so the clients of
	// a lost node do not all arrive at once.
	URLs []string
	// URLFunc computes the URL for every dial from the local peer id
	// (the identity given to Initialize). An error, or a URL that does
	// not parse, stops the client with the reason "invalid-config".
	URLFunc func(peerID string) (string, error)

	// Header is sent with every upgrade request (e.g. Authorization).
	Header http.Header
	// HeaderFunc, if set, is called before every dial and its headers are
	// added to Header: for tokens that expire. ctx ends when the dial is
	// abandoned. An error fails the attempt (and is retried), unless it
	// wraps a *kyneta.Error of code kyneta.CodeInvalidArgument (the client
	// stops with "invalid-config") or kyneta.CodeUnauthenticated or
	// kyneta.CodePermissionDenied (it stops with "unauthorized"), e.g.
	// &kyneta.Error{Code: kyneta.CodeUnauthenticated}.
	HeaderFunc func(ctx context.Context) (http.Header, error)
	// HTTPClient dials; nil means a client of the Client's own (a clone of
	// http.DefaultTransport), whose idle connections Stop and Close drop so
	// an abandoned dial never lingers in a shared pool. Set one to trust a
	// private CA (its Transport's TLSClientConfig.RootCAs). Redirects are
	// never followed (the attempt fails with the reason "redirect-refused") unless the
	// client sets its own CheckRedirect.
	HTTPClient *http.Client
	// CompressionMode offers permessage-deflate to the server
	// (coder/websocket's modes); the server decides. Default disabled.
	CompressionMode websocket.CompressionMode
	// CompressionThreshold is the smallest message compressed; default
	// coder/websocket's.
	CompressionThreshold int
	// Subprotocols are offered in the upgrade request.
	Subprotocols []string

	// ReadLimit is the largest message read, in bytes; 0 means
	// 1 MiB, negative means no limit.
	ReadLimit int64
	// FragmentThreshold fragments outgoing messages whose payload is
	// larger; 0 means 100 KiB, negative never fragments.
	FragmentThreshold int
	// SendQueueLimit bounds the bytes queued for one socket; a send that
	// would exceed it fails with "send-queue-full" (one message is always
	// accepted into an empty queue). 0 means 16 MiB.
	SendQueueLimit int

	// KeepaliveInterval is the time between "ping" text frames; 0 means
	// 30 s, negative disables keepalive.
	KeepaliveInterval time.Duration
	// PongTimeout gives up a connection that stays silent this long after
	// a ping; 0 means 10 s, negative disables the deadline.
	PongTimeout time.Duration
	// DialTimeout bounds one dial; 0 means 30 s, negative
	// means no bound. A dial cut short fails with the reason
	// "dial-timeout" (code kyneta.CodeDeadlineExceeded).
	DialTimeout time.Duration
	// ReadyTimeout bounds the wait for the server's "ready" after the
	// socket opened; when it elapses the socket is closed with 1000 "Ready
	// timeout" and the attempt counts as failed (reconnect with backoff).
	// 0 means 10 s, negative waits forever.
	ReadyTimeout time.Duration
	// BackoffResetAfter is how long a connection must stay ready before
	// the backoff starts again from its first step. A connection lost
	// sooner counts as one more failed attempt, so a server that says
	// "ready" and then drops every connection is retried at growing
	// intervals (and, with a bounded policy, eventually given up). 0 means
	// 30 s, negative restarts the backoff on every
	// "ready" (the reference's behaviour).
	BackoffResetAfter time.Duration
	// CloseGrace bounds how long a closing socket may spend writing what
	// was queued before its close frame; 0 means 5 s.
	CloseGrace time.Duration
	// Reconnect is the backoff policy; nil means backoff.Default (1 s
	// doubling to 30 s, full jitter, retrying until Stop or Close). A
	// limit is explicit: MaxAttempts n > 0 gives up after n failed
	// attempts in a row ("max-retries-exceeded"), 0 never retries. The policy is
	// used as given, so a Policy literal without MaxAttempts never
	// retries: start from backoff.Default and change what differs.
	Reconnect *backoff.Policy
	// Rand draws the jitter in [0, 1); nil means math/rand/v2.
	Rand func() float64

	// Clock runs every timer (keepalive, pong deadline, ready deadline,
	// backoff and its reset, dial timeout, reassembly); nil means
	// clock.Real.
	Clock clock.Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// TransportID overrides the default "websocket-client-<n>".
	TransportID string

	// Lifecycle hooks. They run one at a time, in order, on a goroutine of
	// the client's, never under a lock: they may call any method of the
	// client (a Stop from a hook does not wait for the hook to return). A
	// panicking hook is logged and does not stop the others.

	// OnStateChange sees every change of status.
	OnStateChange func(from, to State)
	// OnReady runs when the server's "ready" arrived and the channel is
	// being established.
	OnReady func()
	// OnReconnecting runs when a retry is scheduled: attempt is the number
	// of the coming attempt, delay the backoff before it.
	OnReconnecting func(attempt int, delay time.Duration)
	// OnDisconnect runs when the client stops for good (Stop, a
	// non-retryable outcome, exhausted retries) with the reason.
	OnDisconnect func(reason *DisconnectReason)
}

// resolved is Options after defaults and validation.
type resolved struct {
	Options
	policy  backoff.Policy
	ownHTTP bool // HTTPClient was made here, so its pool is ours to clear
}

func (o Options) resolve() (resolved, error) {
	r := resolved{Options: o}
	fail := func(format string, args ...any) (resolved, error) {
		return resolved{}, newError(reasonInvalidConfig, "new", fmt.Errorf(format, args...))
	}
	given := 0
	for _, set := range []bool{o.URL != "", len(o.URLs) > 0, o.URLFunc != nil} {
		if set {
			given++
		}
	}
	switch {
	case given == 0:
		return fail("one of URL, URLs and URLFunc is required")
	case given > 1:
		return fail("URL, URLs and URLFunc are mutually exclusive")
	case o.URL != "":
		if err := checkURL(o.URL); err != nil {
			return resolved{}, newError(reasonInvalidConfig, "new", err)
		}
	}
	for _, u := range o.URLs {
		if err := checkURL(u); err != nil {
			return resolved{}, newError(reasonInvalidConfig, "new", err)
		}
	}
	r.URLs = append([]string(nil), o.URLs...)
	if r.HTTPClient == nil {
		r.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		r.ownHTTP = true
	}
	if r.ReadLimit == 0 {
		r.ReadLimit = defaultReadLimit
	}
	if r.FragmentThreshold == 0 {
		r.FragmentThreshold = defaultFragmentThreshold
	}
	if r.SendQueueLimit <= 0 {
		r.SendQueueLimit = defaultSendQueueLimit
	}
	if r.KeepaliveInterval == 0 {
		r.KeepaliveInterval = defaultKeepaliveInterval
	}
	if r.PongTimeout == 0 {
		r.PongTimeout = defaultPongTimeout
	}
	if r.DialTimeout == 0 {
		r.DialTimeout = defaultDialTimeout
	}
	if r.ReadyTimeout == 0 {
		r.ReadyTimeout = defaultReadyTimeout
	}
	if r.BackoffResetAfter == 0 {
		r.BackoffResetAfter = defaultBackoffResetAfter
	}
	if r.CloseGrace <= 0 {
		r.CloseGrace = defaultCloseGrace
	}
	r.policy = backoff.Default
	if o.Reconnect != nil {
		r.policy = *o.Reconnect
	}
	if err := r.policy.Validate(); err != nil {
		return resolved{}, newError(reasonInvalidConfig, "new", err)
	}
	if r.Rand == nil {
		r.Rand = rand.Float64
	}
	r.Clock = clock.OrReal(o.Clock)
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// checkURL accepts absolute ws, wss, http and https URLs with a host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return redactErr(err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return fmt.Errorf("URL %q: scheme must be ws, wss, http or https", redact.URL(s))
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q: no host", redact.URL(s))
	}
	return nil
}
