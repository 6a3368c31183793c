package metrics

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Peer is one peer of the exchange in a Snapshot.
type Peer struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Type      string `json:"type"`
	Connected bool   `json:"connected"`
}

// Snapshot is the state of the server and exchange at one moment: what
// the stats feed sends. Counters are cumulative since start.
type Snapshot struct {
	Time            time.Time         `json:"time"`
	Connections     int               `json:"connections"`
	Accepted        uint64            `json:"accepted"`
	Draining        bool              `json:"draining"`
	Peers           []Peer            `json:"peers"`
	Documents       int               `json:"documents"`
	DocumentsByMode map[string]int    `json:"documentsByMode"`
	MessagesIn      uint64            `json:"messagesIn"`  // protocol messages the exchange received
	MessagesOut     uint64            `json:"messagesOut"` // protocol messages the exchange sent
	BytesIn         uint64            `json:"bytesIn"`     // WebSocket payload bytes read by the server
	BytesOut        uint64            `json:"bytesOut"`    // WebSocket payload bytes written by the server
	OffersIn        uint64            `json:"offersIn"`
	OffersOut       uint64            `json:"offersOut"`
	StoreErrors     uint64            `json:"storeErrors"`
	StoreUnhealthy  int               `json:"storeUnhealthy"`
	Closed          map[string]uint64 `json:"closed"`   // connections the server closed, by close code
	Rejected        map[string]uint64 `json:"rejected"` // refused connection attempts, by reason
}

// Snapshot reads the counters now.
func (c *Collector) Snapshot() Snapshot {
	s := Snapshot{Time: c.clk.Now(), Peers: []Peer{}, DocumentsByMode: map[string]int{},
		Closed: map[string]uint64{}, Rejected: map[string]uint64{}}
	if c.srv != nil {
		st := c.srv.Stats()
		s.Connections, s.Accepted, s.Draining = st.Open, st.Accepted, c.srv.IsDraining()
		s.BytesIn, s.BytesOut = st.BytesIn, st.BytesOut
		for code, n := range st.Closed {
			s.Closed[strconv.Itoa(int(code))] = n
		}
		for r, n := range st.Rejected {
			s.Rejected[string(r)] = n
		}
	}
	if ex := c.ex.Load(); ex != nil {
		s.Peers = sortedPeers(ex)
		docs := ex.Documents()
		s.Documents, s.DocumentsByMode = len(docs), docModes(docs)
		es := ex.Stats()
		s.MessagesIn, s.MessagesOut = es.MessagesReceived, es.MessagesSent
		s.OffersIn, s.OffersOut = es.OffersReceived, es.OffersSent
		s.StoreErrors, s.StoreUnhealthy = es.StoreErrors, es.StoreUnhealthy
	}
	return s
}

// Rates are per-second rates between two snapshots.
type Rates struct {
	Seconds     float64 `json:"seconds"` // the interval they were measured over
	MessagesIn  float64 `json:"messagesIn"`
	MessagesOut float64 `json:"messagesOut"`
	BytesIn     float64 `json:"bytesIn"`
	BytesOut    float64 `json:"bytesOut"`
	OffersIn    float64 `json:"offersIn"`
	OffersOut   float64 `json:"offersOut"`
}

// CloseCount is how many connections were closed with one code.
type CloseCount struct {
	Code  int    `json:"code"`
	Count uint64 `json:"count"`
}

// Event is one message of the stats feed: a snapshot, and what changed
// since the previous event of the same stream.
type Event struct {
	Snapshot
	// Rates since the previous event; nil in a stream's first event.
	Rates *Rates `json:"rates,omitempty"`
	// Closes are the close codes counted since the previous event, by
	// code (the "recent close codes" of the dashboard).
	Closes []CloseCount `json:"closes,omitempty"`
}

// diff computes the rates and new closes between two snapshots of the
// same collector. A counter that went down (a restart) counts from zero.
func diff(prev, cur Snapshot) (Rates, []CloseCount) {
	secs := cur.Time.Sub(prev.Time).Seconds()
	rate := func(a, b uint64) float64 {
		if secs <= 0 {
			return 0
		}
		if b < a {
			a = 0
		}
		return float64(b-a) / secs
	}
	r := Rates{Seconds: max(secs, 0),
		MessagesIn: rate(prev.MessagesIn, cur.MessagesIn), MessagesOut: rate(prev.MessagesOut, cur.MessagesOut),
		BytesIn: rate(prev.BytesIn, cur.BytesIn), BytesOut: rate(prev.BytesOut, cur.BytesOut),
		OffersIn: rate(prev.OffersIn, cur.OffersIn), OffersOut: rate(prev.OffersOut, cur.OffersOut)}
	var closes []CloseCount
	for code, n := range cur.Closed {
		was := prev.Closed[code]
		if n < was {
			was = 0
		}
		if n > was {
			k, err := strconv.Atoi(code)
			if err == nil {
				closes = append(closes, CloseCount{Code: k, Count: n - was})
			}
		}
	}
	sort.Slice(closes, func(i, j int) bool { return closes[i].Code < closes[j].Code })
	return r, closes
}

// StatsHandler serves the live stats feed as Server-Sent Events: an
// "stats" event with a JSON [Event] at once and then every interval (on
// the collector's clock), until the client goes away or the request's
// context ends. Default interval 1 s.
func (c *Collector) StatsHandler(interval time.Duration) http.Handler {
	if interval <= 0 {
		interval = time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rc := http.NewResponseController(w)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // nginx: pass events through at once
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		tick := make(chan struct{}, 1)
		var stop func() bool
		arm := func() {
			stop = c.clk.AfterFunc(interval, func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			})
		}
		defer func() {
			if stop != nil {
				stop()
			}
		}()
		// The client reconnects after this long if the stream breaks.
		if _, err := fmt.Fprintf(w, "retry: %d\n\n", max(interval.Milliseconds(), 1000)); err != nil {
			return
		}
		var prev *Snapshot
		for {
			cur := c.Snapshot()
			ev := Event{Snapshot: cur}
			if prev != nil {
				rates, closes := diff(*prev, cur)
				ev.Rates, ev.Closes = &rates, closes
			}
			prev = &cur
			b, err := json.Marshal(ev)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "event: stats\ndata: %s\n\n", b); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			arm()
			select {
			case <-tick:
			case <-r.Context().Done():
				return
			}
		}
	})
}
