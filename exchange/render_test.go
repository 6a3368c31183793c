package exchange

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Renderings of program states and effects as short strings, so table rows
// stay readable and immutability checks can compare snapshots.

func renderMsg(m wire.ChannelMsg) string {
	switch m := m.(type) {
	case *wire.Establish:
		return "establish(" + m.Identity.PeerID + ")"
	case *wire.Depart:
		return "depart"
	case *wire.Present:
		var ids []string
		for _, d := range m.Docs {
			ids = append(ids, d.DocID)
		}
		return "present(" + strings.Join(ids, ",") + ")"
	case *wire.Interest:
		v := "-"
		if m.Version != nil {
			v = *m.Version
		}
		r := "-"
		if m.Reciprocate != nil {
			r = fmt.Sprint(*m.Reciprocate)
		}
		return fmt.Sprintf("interest(%s v=%s r=%s)", m.DocID, v, r)
	case *wire.Offer:
		return fmt.Sprintf("offer(%s v=%s)", m.DocID, m.Version)
	case *wire.Dismiss:
		return "dismiss(" + m.DocID + ")"
	case *wire.Vacant:
		return "vacant(" + m.DocID + ")"
	}
	return fmt.Sprintf("%T", m)
}

func renderSessFx(fx []sessionFx) []string {
	var out []string
	for _, f := range fx {
		switch f := f.(type) {
		case fxSend:
			out = append(out, fmt.Sprintf("send %d %s", f.ch, renderMsg(f.msg)))
		case fxRejectChannel:
			out = append(out, fmt.Sprintf("reject %d", f.ch))
		case fxStartDepartureTimer:
			out = append(out, fmt.Sprintf("timer %s %s", f.peer, f.delay))
		case fxCancelDepartureTimer:
			out = append(out, "cancel "+f.peer)
		case fxSyncEvent:
			out = append(out, "sync "+renderSyncMsg(f.msg))
		case fxEmitPeerEvents:
			var s []string
			for _, c := range f.changes {
				s = append(s, string(c.Type)+":"+c.Peer.PeerID)
			}
			out = append(out, "emit "+strings.Join(s, ","))
		case fxSessionDiagnostic:
			out = append(out, "diag "+string(f.d.Reason))
		}
	}
	return out
}

func renderSyncMsg(m syncMsg) string {
	switch m := m.(type) {
	case msgPeerNewPath:
		return "new-path " + m.identity.PeerID
	case msgPeerAvailable:
		return "available " + m.identity.PeerID
	case msgPeerUnavailable:
		return "unavailable " + m.peer
	case msgPeerDeparted:
		return "departed " + m.peer
	}
	return fmt.Sprintf("%T", m)
}

func renderSyncFx(fx []syncFx) []string {
	var out []string
	for _, f := range fx {
		switch f := f.(type) {
		case fxSendToPeers:
			out = append(out, fmt.Sprintf("to %s %s", strings.Join(f.peers, ","), renderMsg(f.msg)))
		case fxSendOffers:
			since := "-"
			if f.since != nil {
				since = *f.since
			}
			r := "-"
			if f.reciprocate != nil {
				r = fmt.Sprint(*f.reciprocate)
			}
			out = append(out, fmt.Sprintf("offers %s %s since=%s r=%s", strings.Join(f.peers, ","), f.doc, since, r))
		case fxImport:
			out = append(out, fmt.Sprintf("import %s v=%s from=%s", f.doc, f.version, f.from))
		case fxEnsureDoc:
			out = append(out, fmt.Sprintf("ensure %s from=%s", f.doc, f.peer.PeerID))
		case fxDocDismissed:
			out = append(out, fmt.Sprintf("dismissed %s by=%s", f.doc, f.peer.PeerID))
		case fxEmitReady:
			out = append(out, "ready "+strings.Join(f.docs.Slice(), ","))
		case fxEmitStateAdvanced:
			out = append(out, "advanced "+strings.Join(f.docs.Slice(), ","))
		case fxEmitDocEvents:
			var s []string
			for _, e := range f.events {
				s = append(s, string(e.Type)+":"+e.DocID)
			}
			out = append(out, "docevents "+strings.Join(s, ","))
		case fxSyncDiagnostic:
			out = append(out, "diag "+string(f.d.Reason))
		}
	}
	return out
}

// dumpSession renders the whole session state deterministically.
func dumpSession(s *sessionState) string {
	var b strings.Builder
	var chs []int
	for id := range s.channels {
		chs = append(chs, int(id))
	}
	sort.Ints(chs)
	for _, id := range chs {
		c := s.channels[transport.ChannelID(id)]
		remote := "-"
		if c.remote != nil {
			remote = c.remote.PeerID
		}
		fmt.Fprintf(&b, "ch%d[%s sent=%v remote=%s pv=%v meta=%v] ", c.id, c.transportType, c.sent, remote, c.pv, c.meta)
	}
	for _, id := range s.peers.Keys() {
		p, _ := s.peers.Get(id)
		fmt.Fprintf(&b, "peer[%s %v dep=%v gen=%d] ", id, p.channels, p.departing, p.timerGen)
	}
	for _, c := range s.pending.Slice() {
		fmt.Fprintf(&b, "pending[%s %s] ", c.Type, c.Peer.PeerID)
	}
	fmt.Fprintf(&b, "gen=%d", s.gen)
	return b.String()
}

// dumpSync renders the whole sync state deterministically.
func dumpSync(s *syncState) string {
	var b strings.Builder
	for _, id := range s.docs.Keys() {
		d, _ := s.docs.Get(id)
		fmt.Fprintf(&b, "doc[%s %s v=%s %v] ", id, d.mode, d.version, d.meta)
	}
	for _, id := range s.peers.Keys() {
		p, _ := s.peers.Get(id)
		fmt.Fprintf(&b, "peer[%s mismatched=%v congested=%v", id, p.mismatched.Keys(), p.congested.Keys())
		for _, doc := range p.held.Keys() {
			h, _ := p.held.Get(doc)
			since := "-"
			if h.since != nil {
				since = *h.since
			}
			fmt.Fprintf(&b, " held:%s@%s", doc, since)
		}
		for _, doc := range p.states.Keys() {
			st, _ := p.states.Get(doc)
			fmt.Fprintf(&b, " %s=%s:%s", doc, st.Kind, st.LastKnownVersion)
		}
		b.WriteString("] ")
	}
	for _, id := range s.loading.Keys() {
		l, _ := s.loading.Get(id)
		fmt.Fprintf(&b, "loading[%s %d", id, len(l.parked))
		for _, p := range l.presenters.Keys() {
			m, _ := l.presenters.Get(p)
			fmt.Fprintf(&b, " %s:%s", p, m.SchemaHash)
		}
		b.WriteString("] ")
	}
	for _, id := range s.reconciled.Keys() {
		l, _ := s.reconciled.Get(id)
		fmt.Fprintf(&b, "latch[%s %v] ", id, l.Keys())
	}
	for _, e := range s.docEvents.Slice() {
		fmt.Fprintf(&b, "ev[%s %s] ", e.Type, e.DocID)
	}
	fmt.Fprintf(&b, "peersync=%v advanced=%v", s.peerSync.Slice(), s.advanced.Slice())
	return b.String()
}
