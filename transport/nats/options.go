package nats

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/errtext"
)

// TransportType is the transport type of every NATS transport.
const TransportType = "nats"

// Defaults applied to zero Options fields.
const (
	defaultPrefix            = "kyneta"
	defaultHeartbeat         = time.Second
	defaultDeadAfterBeats    = 4
	defaultReconnectWait     = 250 * time.Millisecond
	defaultFragmentThreshold = 100 * 1024
	// payloadReserve is left below the server's max_payload for the
	// frame's NATS headers.
	payloadReserve = 1024
)

// Options configure a [Transport]. URL and NodeID are required.
type Options struct {
	// URL is the NATS server URL, or several separated by commas
	// ("nats://a:4222,nats://b:4222").
	URL string
	// NodeID names this node. It must be unique among the live nodes of a
	// prefix and may use letters, digits, '-' and '_' (it is a subject
	// token). A restarted node keeps its id.
	NodeID string
	// Prefix is the first subject token(s), so several clusters can share
	// one NATS; default "kyneta".
	Prefix string
	// NATSOptions are passed to nats.Connect after the transport's own
	// (name, reconnect forever, handlers), so they can add credentials and
	// TLS or override reconnect settings. Connection handlers set here
	// replace the transport's and cost it its reconnect fast path.
	NATSOptions []natsgo.Option
	// Heartbeat is how often a node says hello and pings its links.
	// Default 1s.
	Heartbeat time.Duration
	// DeadAfter drops a link whose peer was silent this long. Default
	// 4 × Heartbeat.
	DeadAfter time.Duration
	// ReconnectWait is the pause between NATS reconnect attempts (nats.go
	// adds jitter). Default 250ms.
	ReconnectWait time.Duration
	// FragmentThreshold fragments larger messages into several frames.
	// Default 100 KiB; always kept under the server's max_payload.
	FragmentThreshold int
	// Clock drives heartbeats and reassembly timeouts. Nil: the wall clock.
	Clock clock.Clock
	// Logger receives link events (debug) and problems such as another
	// process using this node id (warn). Nil discards.
	Logger *slog.Logger

	// dropSeam, when set, is asked about every outgoing frame; true drops
	// it after its sequence number was used, as a slow consumer would.
	dropSeam func(*natsgo.Msg) bool
}

var (
	tokenRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		return o, &Error{Code: CodeInvalidOptions, Msg: "URL is required"}
	}
	if !tokenRE.MatchString(o.NodeID) {
		return o, &Error{Code: CodeInvalidOptions, Msg: fmt.Sprintf("node id %q: use 1-128 letters, digits, '-' or '_'", o.NodeID)}
	}
	if o.Prefix == "" {
		o.Prefix = defaultPrefix
	}
	if !prefixRE.MatchString(o.Prefix) || len(o.Prefix) > 128 {
		return o, &Error{Code: CodeInvalidOptions, Msg: fmt.Sprintf("prefix %q: use dot-separated tokens of letters, digits, '-' or '_'", o.Prefix)}
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = defaultHeartbeat
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = defaultDeadAfterBeats * o.Heartbeat
	}
	if o.DeadAfter <= o.Heartbeat {
		return o, &Error{Code: CodeInvalidOptions, Msg: "DeadAfter must be longer than Heartbeat"}
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = defaultReconnectWait
	}
	if o.FragmentThreshold <= 0 {
		o.FragmentThreshold = defaultFragmentThreshold
	}
	o.Clock = clock.OrReal(o.Clock)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func (o Options) helloSubject() string { return o.Prefix + ".hello" }

func (o Options) nodeSubject(node string) string { return o.Prefix + ".node." + node }

// Code classifies the errors of this package.
type Code string

// Error codes.
const (
	// CodeInvalidOptions: New was given unusable Options.
	CodeInvalidOptions Code = "invalid-options"
	// CodeConnect: Start could not connect to NATS or subscribe.
	CodeConnect Code = "connect-failed"
	// CodeLinkDown: a send on a link that is gone (the exchange sees the
	// channel removed).
	CodeLinkDown Code = "link-down"
)

// Error is an error of this package; errors.Is(err, &Error{Code: c})
// matches any *Error with code c, as does CodeOf(err) == c.
type Error struct {
	Code Code
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	s := "nats transport: " + string(e.Code)
	return errtext.Join(s, e.Msg, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// redactURL drops credentials from a URL list for messages.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "***" + p[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}
