package exchange

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

var me = wire.PeerIdentity{PeerID: "me", Type: wire.PeerService}

func newTestSession(timeout time.Duration) *sessionProgram {
	return &sessionProgram{identity: me, features: wire.Features{Alias: ptr(true)}, departureTimeout: timeout}
}

func add(ch transport.ChannelID) sessionMsg  { return msgChannelAdded{ch: ch, transportType: "bridge"} }
func open(ch transport.ChannelID) sessionMsg { return msgChannelEstablish{ch: ch} }
func rm(ch transport.ChannelID) sessionMsg   { return msgChannelRemoved{ch: ch} }
func est(ch transport.ChannelID, peer string) sessionMsg {
	return msgEstablishReceived{ch: ch, msg: &wire.Establish{Identity: wire.PeerIdentity{PeerID: peer, Type: wire.PeerUser}, ProtocolVersion: wire.DefaultProtocolVersion}}
}
func estPV(ch transport.ChannelID, peer string, major, minor int64) sessionMsg {
	return msgEstablishReceived{ch: ch, msg: &wire.Establish{Identity: wire.PeerIdentity{PeerID: peer}, ProtocolVersion: wire.ProtocolVersion{Major: major, Minor: minor}}}
}

// as is channel metadata of a transport that authenticated a principal.
type as string

func (a as) ChannelPrincipal() any { return string(a) }

func addAs(ch transport.ChannelID, who string) sessionMsg {
	return msgChannelAdded{ch: ch, transportType: "ws", meta: as(who)}
}

// connected: the remote initiated on ch and we echoed.
func connected(ch transport.ChannelID, peer string) []sessionMsg {
	return []sessionMsg{add(ch), est(ch, peer)}
}

func seq(parts ...any) []sessionMsg {
	var out []sessionMsg
	for _, p := range parts {
		switch p := p.(type) {
		case sessionMsg:
			out = append(out, p)
		case []sessionMsg:
			out = append(out, p...)
		}
	}
	return out
}

func peerOf(s *sessionState, id string) *sessionPeer {
	p, _ := s.peers.Get(id)
	return p
}

func TestSessionTable(t *testing.T) {
	type row struct {
		name    string
		timeout time.Duration
		connect func(ConnectRequest) bool
		setup   []sessionMsg
		msg     sessionMsg
		fx      []string
		check   func(t *testing.T, s *sessionState)
	}
	rows := []row{
		{name: "channel-added adds an unsent entry", msg: add(1), check: func(t *testing.T, s *sessionState) {
			c := s.channels[1]
			if c == nil || c.sent || c.remote != nil || c.transportType != "bridge" {
				t.Fatalf("entry %+v", c)
			}
		}},
		{name: "channel-added twice is a no-op", setup: seq(add(1)), msg: add(1)},
		{name: "channel-establish sends establish", setup: seq(add(1)), msg: open(1), fx: []string{"send 1 establish(me)"},
			check: func(t *testing.T, s *sessionState) {
				if !s.channels[1].sent {
					t.Fatal("not marked sent")
				}
			}},
		{name: "channel-establish on unknown channel is a no-op", msg: open(7)},
		{name: "duplicate channel-establish is a no-op", setup: seq(add(1), open(1)), msg: open(1)},
		{name: "receive establish echoes and completes", setup: seq(add(1)), msg: est(1, "bob"),
			fx: []string{"send 1 establish(me)", "sync available bob"},
			check: func(t *testing.T, s *sessionState) {
				if p := peerOf(s, "bob"); p == nil || !slices.Equal(p.channels, []transport.ChannelID{1}) {
					t.Fatalf("peer %+v", p)
				}
				if got := s.pending.Slice(); len(got) != 1 || got[0].Type != PeerEstablished {
					t.Fatalf("pending %v", got)
				}
			}},
		{name: "local first then remote completes without echo", setup: seq(add(1), open(1)), msg: est(1, "bob"),
			fx: []string{"sync available bob"}},
		{name: "simultaneous open: local establish after receiving is a no-op", setup: seq(add(1), est(1, "bob")), msg: open(1)},
		{name: "second establish on a complete channel is a no-op", setup: seq(connected(1, "bob")), msg: est(1, "bob")},
		{name: "second establish with another identity is ignored", setup: seq(connected(1, "bob")), msg: est(1, "mallory")},
		{name: "establish on unknown channel is a no-op", msg: est(9, "bob")},
		{name: "second channel of a peer: no event, duplicate-peer diagnostic, present again", setup: seq(connected(1, "bob"), add(2)), msg: est(2, "bob"),
			fx: []string{"send 2 establish(me)", "diag duplicate-peer", "sync new-path bob"},
			check: func(t *testing.T, s *sessionState) {
				if p := peerOf(s, "bob"); !slices.Equal(p.channels, []transport.ChannelID{1, 2}) {
					t.Fatalf("channels %v", p.channels)
				}
			}},
		{name: "a second channel of another principal claiming a live peer is refused", setup: seq(addAs(1, "alice"), est(1, "bob"), addAs(2, "mallory")), msg: est(2, "bob"),
			fx: []string{"reject 2", "diag identity-conflict"},
			check: func(t *testing.T, s *sessionState) {
				if p := peerOf(s, "bob"); !slices.Equal(p.channels, []transport.ChannelID{1}) || p.principal != "alice" {
					t.Fatalf("peer %+v", p)
				}
			}},
		{name: "a peer in its grace period stays bound to its principal", timeout: time.Second, setup: seq(addAs(1, "alice"), est(1, "bob"), rm(1), addAs(2, "mallory")), msg: est(2, "bob"),
			fx: []string{"reject 2", "diag identity-conflict"}},
		{name: "the same principal may add a path", setup: seq(addAs(1, "alice"), est(1, "bob"), addAs(2, "alice")), msg: est(2, "bob"),
			fx: []string{"send 2 establish(me)", "diag duplicate-peer", "sync new-path bob"}},
		{name: "after departure the id is free again", timeout: 0, setup: seq(addAs(1, "alice"), est(1, "bob"), rm(1), addAs(2, "mallory")), msg: est(2, "bob"),
			fx: []string{"send 2 establish(me)", "sync available bob"}},
		{name: "removal with remaining channels: no event", setup: seq(connected(1, "bob"), connected(2, "bob")), msg: rm(1),
			check: func(t *testing.T, s *sessionState) {
				if p := peerOf(s, "bob"); !slices.Equal(p.channels, []transport.ChannelID{2}) {
					t.Fatalf("channels %v", p.channels)
				}
			}},
		{name: "removal of an unestablished channel: no event", setup: seq(add(1)), msg: rm(1),
			check: func(t *testing.T, s *sessionState) {
				if len(s.channels) != 0 {
					t.Fatal("channel kept")
				}
			}},
		{name: "removal of a half-open channel: no event", setup: seq(add(1), open(1)), msg: rm(1),
			check: func(t *testing.T, s *sessionState) {
				if len(s.channels) != 0 {
					t.Fatal("channel kept")
				}
			}},
		{name: "last channel removed, timeout 30s: disconnected + timer", timeout: defaultDepartureTimeout, setup: seq(connected(1, "bob")), msg: rm(1),
			fx: []string{"timer bob 30s", "sync unavailable bob"},
			check: func(t *testing.T, s *sessionState) {
				p := peerOf(s, "bob")
				if p == nil || len(p.channels) != 0 || p.timerGen == 0 {
					t.Fatalf("peer %+v", p)
				}
				if got := s.pending.Slice(); got[len(got)-1].Type != PeerDisconnected {
					t.Fatalf("pending %v", got)
				}
			}},
		{name: "custom timeout is used", timeout: 5 * time.Second, setup: seq(connected(1, "bob")), msg: rm(1),
			fx: []string{"timer bob 5s", "sync unavailable bob"}},
		{name: "timeout 0 departs immediately", timeout: 0, setup: seq(connected(1, "bob")), msg: rm(1),
			fx: []string{"sync departed bob"},
			check: func(t *testing.T, s *sessionState) {
				if s.peers.Has("bob") {
					t.Fatal("peer kept")
				}
			}},
		{name: "negative timeout never departs", timeout: -1, setup: seq(connected(1, "bob")), msg: rm(1),
			fx: []string{"sync unavailable bob"}},
		{name: "removal of unknown channel is a no-op", msg: rm(4)},
		{name: "timer expiry departs", timeout: time.Second, setup: seq(connected(1, "bob"), rm(1)), msg: msgDepartureTimerExpired{peer: "bob", gen: 1},
			fx: []string{"sync departed bob"}},
		{name: "stale timer after reconnection is a no-op", timeout: time.Second, setup: seq(connected(1, "bob"), rm(1), connected(2, "bob")),
			msg: msgDepartureTimerExpired{peer: "bob", gen: 1}},
		{name: "timer of an earlier disconnect is stale", timeout: time.Second, setup: seq(connected(1, "bob"), rm(1), connected(2, "bob"), rm(2)),
			msg: msgDepartureTimerExpired{peer: "bob", gen: 1}},
		{name: "timer for unknown peer is a no-op", msg: msgDepartureTimerExpired{peer: "ghost", gen: 1}},
		{name: "reconnection: cancel timer, reconnected, available", timeout: time.Second, setup: seq(connected(1, "bob"), rm(1), add(2), open(2)),
			msg: est(2, "bob"), fx: []string{"cancel bob", "sync available bob"},
			check: func(t *testing.T, s *sessionState) {
				got := s.pending.Slice()
				if got[len(got)-1].Type != PeerReconnected {
					t.Fatalf("pending %v", got)
				}
				if p := peerOf(s, "bob"); p.timerGen != 0 || !slices.Equal(p.channels, []transport.ChannelID{2}) {
					t.Fatalf("peer %+v", p)
				}
			}},
		{name: "reconnection refreshes the stored identity", timeout: time.Second, setup: seq(connected(1, "bob"), rm(1), add(2)),
			msg: msgEstablishReceived{ch: 2, msg: &wire.Establish{Identity: wire.PeerIdentity{PeerID: "bob", Type: wire.PeerBot}, ProtocolVersion: wire.DefaultProtocolVersion}},
			fx:  []string{"send 2 establish(me)", "cancel bob", "sync available bob"},
			check: func(t *testing.T, s *sessionState) {
				if peerOf(s, "bob").identity.Type != wire.PeerBot {
					t.Fatal("identity not refreshed")
				}
			}},
		{name: "a new channel clears departing", timeout: time.Second, setup: seq(connected(1, "bob"), msgDepartReceived{ch: 1}, add(2)),
			msg: est(2, "bob"), fx: []string{"send 2 establish(me)", "diag duplicate-peer", "sync new-path bob"},
			check: func(t *testing.T, s *sessionState) {
				if peerOf(s, "bob").departing {
					t.Fatal("still departing")
				}
			}},
		{name: "depart marks departing", timeout: time.Second, setup: seq(connected(1, "bob")), msg: msgDepartReceived{ch: 1},
			check: func(t *testing.T, s *sessionState) {
				if !peerOf(s, "bob").departing {
					t.Fatal("not departing")
				}
			}},
		{name: "depart then removal departs (no grace)", timeout: time.Second, setup: seq(connected(1, "bob"), msgDepartReceived{ch: 1}), msg: rm(1),
			fx: []string{"sync departed bob"}},
		{name: "depart with another channel left: removal keeps the peer", timeout: time.Second,
			setup: seq(connected(1, "bob"), connected(2, "bob"), msgDepartReceived{ch: 1}), msg: rm(1),
			check: func(t *testing.T, s *sessionState) {
				if p := peerOf(s, "bob"); p == nil || !p.departing || !slices.Equal(p.channels, []transport.ChannelID{2}) {
					t.Fatal(dumpSession(s))
				}
			}},
		{name: "depart on unknown channel is a no-op", msg: msgDepartReceived{ch: 3}},
		{name: "depart on unestablished channel is a no-op", setup: seq(add(1)), msg: msgDepartReceived{ch: 1}},
		{name: "self-connection diagnostic (does not gate)", setup: seq(add(1)), msg: est(1, "me"),
			fx: []string{"send 1 establish(me)", "diag self-connection", "sync available me"}},
		{name: "protocol (1,0): no diagnostic", setup: seq(add(1)), msg: estPV(1, "bob", 1, 0),
			fx: []string{"send 1 establish(me)", "sync available bob"}},
		{name: "protocol minor skew: one warning, still syncs", setup: seq(add(1)), msg: estPV(1, "bob", 1, 3),
			fx: []string{"send 1 establish(me)", "diag protocol-skew", "sync available bob"}},
		{name: "protocol major mismatch: one error, still syncs", setup: seq(add(1)), msg: estPV(1, "bob", 2, 0),
			fx: []string{"send 1 establish(me)", "diag protocol-mismatch", "sync available bob"}},
		{name: "independent peers: one timer does not touch the other", timeout: time.Second,
			setup: seq(connected(1, "bob"), connected(2, "carol"), rm(1), rm(2)), msg: msgDepartureTimerExpired{peer: "bob", gen: 1},
			fx: []string{"sync departed bob"},
			check: func(t *testing.T, s *sessionState) {
				if !s.peers.Has("carol") || s.peers.Has("bob") {
					t.Fatal(dumpSession(s))
				}
			}},
		{name: "canConnect false: reject, nothing sent, no peer", connect: func(ConnectRequest) bool { return false },
			setup: seq(add(1)), msg: est(1, "bob"), fx: []string{"reject 1"},
			check: func(t *testing.T, s *sessionState) {
				if s.peers.Has("bob") || s.channels[1].remote != nil {
					t.Fatal(dumpSession(s))
				}
			}},
		{name: "canConnect false after we initiated: reject", connect: func(ConnectRequest) bool { return false },
			setup: seq(add(1), open(1)), msg: est(1, "bob"), fx: []string{"reject 1"}},
		{name: "canConnect true: normal", connect: func(ConnectRequest) bool { return true },
			setup: seq(add(1)), msg: est(1, "bob"), fx: []string{"send 1 establish(me)", "sync available bob"}},
		{name: "canConnect sees identity, channel and transport meta", connect: func(r ConnectRequest) bool {
			return r.Identity.PeerID == "bob" && r.Channel == 5 && r.TransportType == "ws" && r.Meta == "token-of-bob"
		}, setup: seq(msgChannelAdded{ch: 5, transportType: "ws", meta: "token-of-bob"}), msg: est(5, "bob"),
			fx: []string{"send 5 establish(me)", "sync available bob"}},
		{name: "canConnect can reject a claimed id that does not match the principal", connect: func(r ConnectRequest) bool {
			return r.Meta == "token-of-"+r.Identity.PeerID
		}, setup: seq(msgChannelAdded{ch: 5, transportType: "ws", meta: "token-of-bob"}), msg: est(5, "alice"),
			fx: []string{"reject 5"}},
		{name: "tick with pending events emits them once", setup: seq(connected(1, "bob"), connected(2, "carol")), msg: msgSessionTick{},
			fx: []string{"emit peer-established:bob,peer-established:carol"},
			check: func(t *testing.T, s *sessionState) {
				if s.pending.Len() != 0 {
					t.Fatal("pending not cleared")
				}
			}},
		{name: "tick without pending events is a no-op", msg: msgSessionTick{}},
		{name: "depart-all departs every peer without sync events", timeout: time.Second,
			setup: seq(connected(1, "bob"), connected(2, "carol"), rm(2), msgSessionTick{}), msg: msgDepartAll{},
			fx: []string{"cancel carol"},
			check: func(t *testing.T, s *sessionState) {
				if s.peers.Len() != 0 || s.pending.Len() != 2 {
					t.Fatal(dumpSession(s))
				}
			}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p := newTestSession(r.timeout)
			p.canConnect = r.connect
			s, fx := p.Init()
			if len(fx) != 0 || len(s.channels) != 0 || s.peers.Len() != 0 {
				t.Fatal("init not empty")
			}
			for _, m := range r.setup {
				s, _ = p.Update(s, m)
			}
			before := dumpSession(s)
			n, fx := p.Update(s, r.msg)
			if after := dumpSession(s); after != before {
				t.Fatalf("input state mutated:\nbefore %s\nafter  %s", before, after)
			}
			if got := renderSessFx(fx); strings.Join(got, "|") != strings.Join(r.fx, "|") {
				t.Fatalf("effects\n got  %q\n want %q", got, r.fx)
			}
			if len(r.fx) == 0 && r.check == nil && n != s {
				// A cell without effects or checks is a declared no-op:
				// the program must hand back the same state.
				t.Fatalf("no-op returned a new state: %s", dumpSession(n))
			}
			if r.check != nil {
				r.check(t, n)
			}
		})
	}
}

func TestSessionEstablishCarriesFeatures(t *testing.T) {
	p := newTestSession(0)
	s, _ := p.Init()
	s, _ = p.Update(s, add(1))
	_, fx := p.Update(s, open(1))
	e := fx[0].(fxSend).msg.(*wire.Establish)
	if e.Identity != me || e.Features == nil || e.Features.Alias == nil || !*e.Features.Alias || e.ProtocolVersion != wire.DefaultProtocolVersion {
		t.Fatalf("%+v", e)
	}
}

func TestProtocolSkew(t *testing.T) {
	v := func(a, b int64) wire.ProtocolVersion { return wire.ProtocolVersion{Major: a, Minor: b} }
	cases := []struct {
		l, r wire.ProtocolVersion
		code string
	}{
		{v(1, 0), v(1, 0), ""},
		{v(1, 0), v(1, 1), reasonProtocolSkew},
		{v(1, 2), v(1, 1), reasonProtocolSkew},
		{v(1, 0), v(2, 0), reasonProtocolMismatch},
		{v(2, 5), v(1, 0), reasonProtocolMismatch}, // major dominates
	}
	for _, c := range cases {
		code, skewed := protocolSkew(c.l, c.r)
		if code != c.code || skewed != (c.code != "") {
			t.Errorf("%v vs %v: %q %v", c.l, c.r, code, skewed)
		}
	}
}
