package server

import (
	"errors"
	"net/http"
	"testing"
)

// A connection's peer id is bound to its principal: another principal
// asking for the same ?peerId= is refused before the upgrade (409) and the
// victim stays connected; the same principal replaces its own connection.
func TestPeerIDReplacementNeedsSamePrincipal(t *testing.T) {
	h := newHarness(t, Options{Authenticate: func(r *http.Request) (Principal, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer alice":
			return "alice", nil
		case "Bearer mallory":
			return "mallory", nil
		}
		return nil, errors.New("no token")
	}})
	as := func(who string) http.Header { return http.Header{"Authorization": {"Bearer " + who}} }

	victim, _, err := h.dial("peerId=x", as("alice"))
	if err != nil {
		t.Fatal(err)
	}
	victim.expectText("ready")

	_, resp, err := h.dial("peerId=x", as("mallory"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("another principal claiming a live peer id: err %v, resp %v; want HTTP 409", err, resp)
	}
	if n := h.srv.Stats().Rejected[reasonPeerIDInUse]; n != 1 {
		t.Fatalf("rejected peer-id-in-use = %d", n)
	}
	if !h.srv.IsConnected("x") || h.srv.ConnectionCount() != 1 {
		t.Fatalf("the victim's connection was touched: connected=%v count=%d", h.srv.IsConnected("x"), h.srv.ConnectionCount())
	}
	if added, removed, _ := h.rec.counts(); added != 1 || removed != 0 {
		t.Fatalf("channels added %d removed %d", added, removed)
	}

	repl, _, err := h.dial("peerId=x", as("alice"))
	if err != nil {
		t.Fatal(err)
	}
	repl.expectText("ready")
	victim.expectClose(statusReplaced, closeReasonReplaced)
}
