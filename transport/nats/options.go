package nats

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/internal/reasons"
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
		return o, newError(reasonInvalidOptions, "URL is required", nil)
	}
	if !tokenRE.MatchString(o.NodeID) {
		return o, newError(reasonInvalidOptions, fmt.Sprintf("node id %q: use 1-128 letters, digits, '-' or '_'", o.NodeID), nil)
	}
	if o.Prefix == "" {
		o.Prefix = defaultPrefix
	}
	if !prefixRE.MatchString(o.Prefix) || len(o.Prefix) > 128 {
		return o, newError(reasonInvalidOptions, fmt.Sprintf("prefix %q: use dot-separated tokens of letters, digits, '-' or '_'", o.Prefix), nil)
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = defaultHeartbeat
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = defaultDeadAfterBeats * o.Heartbeat
	}
	if o.DeadAfter <= o.Heartbeat {
		return o, newError(reasonInvalidOptions, "DeadAfter must be longer than Heartbeat", nil)
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

// The reasons of this package's errors (docs/errors.md).
const (
	// reasonInvalidOptions: New was given unusable Options.
	reasonInvalidOptions = "invalid-options"
	// reasonConnect: Start could not connect to NATS or subscribe.
	reasonConnect = "connect-failed"
	// reasonLinkDown: a send on a link that is gone (the exchange sees the
	// channel removed).
	reasonLinkDown = "link-down"
)

// reasonCodes maps every reason to what a caller should do about it.
var reasonCodes = map[string]kyneta.Code{
	reasonInvalidOptions: kyneta.CodeInvalidArgument,
	reasonConnect:        kyneta.CodeUnavailable,
	reasonLinkDown:       kyneta.CodeUnavailable,
}

// newError returns this package's error for reason.
func newError(reason, detail string, cause error) *kyneta.Error {
	return reasons.Table{Pkg: "nats", Codes: reasonCodes}.New(reason, detail, cause)
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
