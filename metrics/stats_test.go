package metrics

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/transport"
)

// sseReader reads "stats" events from a feed.
type sseReader struct {
	t  *testing.T
	sc *bufio.Scanner
}

func (s *sseReader) next() Event {
	s.t.Helper()
	var data string
	event := ""
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			if event != "stats" {
				s.t.Fatalf("event %q", event)
			}
			var ev Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				s.t.Fatalf("event data %q: %v", data, err)
			}
			return ev
		}
	}
	s.t.Fatalf("feed ended: %v", s.sc.Err())
	return Event{}
}

// waitTimer waits until the fake clock has a timer armed that falls due
// in d (the relay's own timers, such as a departure, run on it too).
func waitTimer(t *testing.T, fc *clock.Fake, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(guard)
	defer deadline.Stop()
	for {
		ch := fc.Changed()
		if slices.Contains(fc.Durations(), d) {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatal("the feed never armed its timer")
		}
	}
}

func TestStatsFeed(t *testing.T) {
	fc := clock.NewFake(time.Unix(1000, 0))
	r := startRelay(t, Options{Clock: fc})
	a := connect(t, r, "alice", nil)
	feed := httptest.NewServer(r.m.StatsHandler(time.Second))
	defer feed.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, feed.URL, nil)
	resp, err := feed.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	sse := &sseReader{t: t, sc: bufio.NewScanner(resp.Body)}

	first := sse.next()
	if first.Rates != nil || first.Connections != 1 || len(first.Peers) != 1 || first.Peers[0].ID != "alice" ||
		first.Documents != 1 || !first.Time.Equal(time.Unix(1000, 0)) {
		t.Fatalf("first event %+v", first)
	}

	if err := a.doc.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P("n"), 1); return nil }); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), guard)
	defer wcancel()
	if err := a.doc.WaitAcknowledged(wctx); err != nil {
		t.Fatal(err)
	}
	if n, err := r.srv.CloseConnections(func(transport.ConnInfo) bool { return true }, websocket.StatusPolicyViolation, "revoked"); n != 1 || err != nil {
		t.Fatalf("CloseConnections = %d, %v", n, err)
	}
	// One interval exactly: the feed takes its snapshot on its own
	// goroutine after the timer fired, and a longer move could still be
	// under way when it reads the clock.
	waitTimer(t, fc, time.Second)
	fc.Advance(time.Second)
	second := sse.next()
	if second.Rates == nil || second.Rates.Seconds != 1 {
		t.Fatalf("second event rates %+v", second.Rates)
	}
	wantIn := float64(second.MessagesIn - first.MessagesIn)
	if second.Rates.MessagesIn != wantIn || wantIn <= 0 || second.Rates.BytesIn <= 0 {
		t.Errorf("rates %+v, want %v messages/s in", *second.Rates, wantIn)
	}
	if !reflect.DeepEqual(second.Closes, []CloseCount{{Code: 1008, Count: 1}}) {
		t.Errorf("closes %+v", second.Closes)
	}

	// The stream ends when the client goes away; goleak checks the
	// handler is gone.
	cancel()
	_, _ = io.Copy(io.Discard, resp.Body)
}

func TestDiff(t *testing.T) {
	t0 := time.Unix(0, 0)
	prev := Snapshot{Time: t0, MessagesIn: 10, BytesOut: 100, Closed: map[string]uint64{"1000": 3, "1001": 1}}
	cur := Snapshot{Time: t0.Add(4 * time.Second), MessagesIn: 30, BytesOut: 20, Closed: map[string]uint64{"1000": 5, "1001": 1, "4000": 2}}
	r, closes := diff(prev, cur)
	// BytesOut went down (a restart): counted from zero.
	if r.Seconds != 4 || r.MessagesIn != 5 || r.BytesOut != 5 || r.MessagesOut != 0 {
		t.Errorf("rates %+v", r)
	}
	if !reflect.DeepEqual(closes, []CloseCount{{1000, 2}, {4000, 2}}) {
		t.Errorf("closes %+v", closes)
	}
	if r, _ := diff(cur, cur); r.MessagesIn != 0 || r.Seconds != 0 {
		t.Errorf("zero interval: %+v", r)
	}
}

func TestStatsHandlerMethods(t *testing.T) {
	h := New(Options{}).StatsHandler(0)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/stats", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/stats", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD: %d %q", rec.Code, rec.Body.String())
	}
}

func TestDashboard(t *testing.T) {
	h := Dashboard(`/stats"><script>x</script>`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(body, `"><script>x`) || !strings.Contains(body, `data-stats="/stats&#34;&gt;&lt;script&gt;x&lt;/script&gt;"`) {
		t.Errorf("the stats URL is not escaped into the page")
	}
	if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("no CSP: %q", rec.Header().Get("Content-Security-Policy"))
	}
	for _, id := range []string{`id="connections"`, `id="peers"`, `id="closes"`, `id="chart-msgs"`, `id="chart-bytes"`, `id="store"`} {
		if !strings.Contains(body, id) {
			t.Errorf("page lacks %s", id)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/ui", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", rec.Code)
	}
}
