package exchange

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
	"pgregory.net/rapid"
)

// world composes the two pure programs with a pure stand-in for the shell's
// router (outer FIFO; peer transitions, classification results and import
// outcomes ahead of the queue; sends addressed to a peer's channels), so rapid can
// drive random interleavings of channels, messages and local writes and
// check cross-program invariants.
type world struct {
	t    *rapid.T
	sp   *sessionProgram
	yp   *syncProgram
	sess *sessionState
	sync *syncState

	queue, urgent []any // sessionMsg or syncMsg

	nextCh      transport.ChannelID
	estSent     map[transport.ChannelID]bool // our establish went out on the channel
	timerGen    map[string]uint64            // armed departure timers
	outstanding map[[2]string]int            // (peer, doc) interests not yet answered
	classify    func(doc string) string
	peerEvents  int
	syncEvents  int
	seq         int // distinct versions for bursts of local writes
}

func newWorld(t *rapid.T) *world {
	deny := rapid.SampledFrom([]string{"", "carol/b", "bob/a"}).Draw(t, "deny")
	w := &world{
		t:           t,
		estSent:     map[transport.ChannelID]bool{},
		timerGen:    map[string]uint64{},
		outstanding: map[[2]string]int{},
	}
	w.sp = &sessionProgram{identity: me, departureTimeout: time.Duration(rapid.SampledFrom([]int{0, 1, -1}).Draw(t, "timeout")) * time.Second,
		canConnect: func(r ConnectRequest) bool { return r.Identity.PeerID != "mallory" }}
	w.yp = &syncProgram{identity: me,
		canShare:  func(doc string, p wire.PeerIdentity) bool { return p.PeerID+"/"+doc != deny },
		canAccept: func(doc string, p wire.PeerIdentity) bool { return doc != "c" },
	}
	w.sess, _ = w.sp.Init()
	w.sync, _ = w.yp.Init()
	return w
}

func (w *world) dispatch(m any) {
	w.queue = append(w.queue, m)
	w.drain()
}

func (w *world) drain() {
	for steps := 0; len(w.queue)+len(w.urgent) > 0; steps++ {
		if steps > 10000 {
			w.t.Fatal("cascade does not settle")
		}
		var m any
		if len(w.urgent) > 0 {
			m, w.urgent = w.urgent[0], w.urgent[1:]
		} else {
			m, w.queue = w.queue[0], w.queue[1:]
		}
		if rm, ok := m.(msgChannelRemoved); ok {
			// As the core does: a removed channel no longer holds its
			// peer back.
			if peer, ok := w.sess.channelPeer(rm.ch); ok {
				w.urgent = append([]any{msgChannelPressure{peer: peer, ch: rm.ch}, removedAfterPressure(rm)}, w.urgent...)
				continue
			}
		}
		switch m := m.(type) {
		case sessionMsg:
			if rm, ok := m.(removedAfterPressure); ok {
				m = msgChannelRemoved(rm)
			}
			before := dumpSession(w.sess)
			n, fx := w.sp.Update(w.sess, m)
			if dumpSession(w.sess) != before {
				w.t.Fatalf("session input mutated by %T", m)
			}
			w.sess = n
			for _, f := range fx {
				w.sessionEffect(f)
			}
		case syncMsg:
			before := dumpSync(w.sync)
			n, fx := w.yp.Update(w.sync, m)
			if dumpSync(w.sync) != before {
				w.t.Fatalf("sync input mutated by %T", m)
			}
			w.sync = n
			for _, f := range fx {
				w.syncEffect(f)
			}
		}
	}
	w.check()
}

// removedAfterPressure is a channel removal whose pressure release ran.
type removedAfterPressure msgChannelRemoved

func (removedAfterPressure) isSessionMsg() {}

func (w *world) send(ch transport.ChannelID, msg wire.ChannelMsg) {
	if msg.MsgType().IsLifecycle() {
		if msg.MsgType() == wire.TypeEstablish {
			w.estSent[ch] = true
		}
		return
	}
	c, ok := w.sess.channels[ch]
	if !ok || !c.complete() || !w.estSent[ch] {
		w.t.Fatalf("sync message %s on channel %d before establish completed", renderMsg(msg), ch)
	}
}

func (w *world) answered(peer, doc string) {
	k := [2]string{peer, doc}
	if w.outstanding[k] > 0 {
		w.outstanding[k]--
	}
}

func (w *world) sessionEffect(f sessionFx) {
	switch f := f.(type) {
	case fxSend:
		w.send(f.ch, f.msg)
	case fxRejectChannel:
		w.urgent = append(w.urgent, msgChannelRemoved(f))
	case fxStartDepartureTimer:
		w.timerGen[f.peer] = f.gen
	case fxCancelDepartureTimer:
		delete(w.timerGen, f.peer)
	case fxSyncEvent:
		if _, newPath := f.msg.(msgPeerNewPath); !newPath {
			w.syncEvents++ // a new path to a known peer is not a transition
		}
		w.urgent = append(w.urgent, f.msg)
	case fxEmitPeerEvents:
		w.peerEvents += len(f.changes)
	}
}

func (w *world) syncEffect(f syncFx) {
	switch f := f.(type) {
	case fxSendToPeers:
		for _, p := range f.peers {
			for _, ch := range w.sess.peerChannels(p) {
				w.send(ch, f.msg)
			}
			if v, ok := f.msg.(*wire.Vacant); ok {
				w.answered(p, v.DocID)
			}
		}
	case fxSendOffers:
		for _, p := range f.peers {
			if peer, ok := w.sync.peers.Get(p); ok && peer.congested.Len() > 0 {
				w.t.Fatalf("offer of %s to %s while its channels are congested", f.doc, p)
			}
			for _, ch := range w.sess.peerChannels(p) {
				w.send(ch, &wire.Offer{DocID: f.doc})
			}
			if f.push {
				continue
			}
			if peer, ok := w.sync.peers.Get(p); ok && peer.held.Has(f.doc) {
				w.answered(p, f.doc) // one answer; another interest's waits
				continue
			}
			// An answer carries everything up to now: it answers every
			// interest of the peer for the doc held meanwhile.
			delete(w.outstanding, [2]string{p, f.doc})
		}
	case fxEnsureDoc:
		if w.sync.docs.Has(f.doc) {
			return // idempotent classification
		}
		switch w.classify(f.doc) {
		case "interpret":
			w.urgent = append(w.urgent, msgDocEnsure{doc: f.doc, mode: ModeReplicate, version: "L:0", meta: f.meta})
		case "defer":
			w.urgent = append(w.urgent, msgDocDefer{doc: f.doc, meta: f.meta})
		default:
			w.urgent = append(w.urgent, msgDeclareVacant{doc: f.doc, to: f.peer.PeerID})
		}
	case fxImport:
		w.urgent = append(w.urgent, msgDocImported{doc: f.doc, version: f.version, from: f.from})
	}
}

// dropped: we leave doc's conversation (peers get dismiss), so answers
// still held for its peers are no longer owed.
func (w *world) dropped(doc string) {
	for k := range w.outstanding {
		if k[1] == doc {
			if peer, ok := w.sync.peers.Get(k[0]); ok && heldAnswer(peer, doc) {
				delete(w.outstanding, k)
			}
		}
	}
}

// heldAnswer: the answer to peer's interest for doc waits for its queue
// to drain.
func heldAnswer(peer *syncPeer, doc string) bool {
	h, ok := peer.held.Get(doc)
	return ok && h.answer && peer.congested.Len() > 0
}

// checkAfterTick runs after a tick: pushes are held past a tick only while
// the peer is congested (once its last congested channel drains or goes
// away they have gone out), and a new burst starts.
func (w *world) checkAfterTick() {
	w.sync.peers.Range(func(id string, p *syncPeer) bool {
		if p.held.Len() > 0 && p.congested.Len() == 0 {
			w.t.Fatalf("peer %s holds pushes %v past a tick without congestion", id, p.held.Keys())
		}
		return true
	})
	if w.sync.pushedNow.Len() != 0 {
		w.t.Fatalf("the tick did not start a new burst: %v", w.sync.pushedNow.Keys())
	}
}

// check runs after every drain.
func (w *world) check() {
	// A departed peer holds no state: the sync model knows exactly the
	// session's peers (connected or in grace).
	sp, yp := w.sess.peers.Keys(), w.sync.peers.Keys()
	if !slices.Equal(sp, yp) {
		w.t.Fatalf("session peers %v, sync peers %v", sp, yp)
	}
	// Every interest from a known peer was answered, unless it is parked
	// for a document being loaded.
	for k, n := range w.outstanding {
		if !w.sync.peers.Has(k[0]) {
			// The peer departed: nobody is left to answer, and a later
			// peer with the same id is a new incarnation.
			delete(w.outstanding, k)
			continue
		}
		if n == 0 {
			continue
		}
		parked, _ := w.sync.loading.Get(k[1])
		count := 0
		for _, pi := range parked.parked {
			if pi.from == k[0] {
				count++
			}
		}
		if peer, _ := w.sync.peers.Get(k[0]); count < n && !heldAnswer(peer, k[1]) {
			w.t.Fatalf("interest from %s for %s left unanswered", k[0], k[1])
		}
	}
	// Each peer transition yields exactly one sync event and one change.
	pending := w.sess.pending.Len()
	if w.peerEvents+pending != w.syncEvents {
		w.t.Fatalf("peer changes %d+%d != sync events %d", w.peerEvents, pending, w.syncEvents)
	}
	// The readiness latch only names peers that were once synced or vacant;
	// nothing to check structurally beyond: latch entries are for known docs
	// or suspended/departed history, so just make sure it is consistent with
	// states that exist now.
	w.sync.peers.Range(func(id string, p *syncPeer) bool {
		p.states.Range(func(doc string, st PeerDocState) bool {
			if st.Kind != PeerPending && w.sync.docs.Has(doc) && !w.sync.hasReconciled(doc) {
				w.t.Fatalf("peer %s is %s for %s but the latch is empty", id, st.Kind, doc)
			}
			return true
		})
		return true
	})
}

func TestProgramsRapid(t *testing.T) { rapid.Check(t, programsProperty) }

func programsProperty(t *rapid.T) {
	peers := []string{"bob", "carol", "mallory"}
	docs := []string{"a", "b", "c"}
	metas := []DocMeta{authM, collabM, ephM}
	{
		w := newWorld(t)
		classes := map[string]string{}
		for _, d := range docs {
			classes[d] = rapid.SampledFrom([]string{"interpret", "defer", "vacant"}).Draw(t, "class-"+d)
		}
		w.classify = func(doc string) string { return classes[doc] }
		channels := func() []transport.ChannelID {
			var out []transport.ChannelID
			for id := range w.sess.channels {
				out = append(out, id)
			}
			slices.Sort(out)
			return out
		}
		pickCh := func(t *rapid.T) (transport.ChannelID, bool) {
			chs := channels()
			if len(chs) == 0 {
				return 0, false
			}
			return rapid.SampledFrom(chs).Draw(t, "ch"), true
		}
		version := rapid.SampledFrom([]string{"L:0", "L:1", "L:2", "kyneta.genesis:0"})
		metaOf := func(t *rapid.T) DocMeta { return rapid.SampledFrom(metas).Draw(t, "meta") }
		recvSync := func(t *rapid.T, msg func(doc string) wire.ChannelMsg) {
			ch, ok := pickCh(t)
			if !ok {
				return
			}
			doc := rapid.SampledFrom(docs).Draw(t, "doc")
			m := msg(doc)
			// The shell forwards sync messages only from complete channels.
			peer, ok := w.sess.channelPeer(ch)
			if !ok {
				return
			}
			if _, isInterest := m.(*wire.Interest); isInterest && w.sync.peers.Has(peer) {
				w.outstanding[[2]string{peer, doc}]++
			}
			switch m.(type) {
			case *wire.Dismiss, *wire.Vacant:
				// The peer dropped the doc: an answer held for its queue
				// to drain is no longer owed.
				delete(w.outstanding, [2]string{peer, doc})
			}
			w.dispatch(msgReceived{from: peer, msg: m})
		}
		t.Repeat(map[string]func(*rapid.T){
			"add channel": func(t *rapid.T) {
				w.nextCh++
				w.dispatch(msgChannelAdded{ch: w.nextCh, transportType: "bridge"})
			},
			"establish channel": func(t *rapid.T) {
				if ch, ok := pickCh(t); ok {
					w.dispatch(msgChannelEstablish{ch: ch})
				}
			},
			"channel congests": func(t *rapid.T) {
				if ch, ok := pickCh(t); ok {
					if peer, ok := w.sess.channelPeer(ch); ok {
						w.dispatch(msgChannelPressure{peer: peer, ch: ch, congested: true})
					}
				}
			},
			"channel drains": func(t *rapid.T) {
				if ch, ok := pickCh(t); ok {
					if peer, ok := w.sess.channelPeer(ch); ok {
						w.dispatch(msgChannelPressure{peer: peer, ch: ch})
					}
				}
			},
			"remove channel": func(t *rapid.T) {
				if ch, ok := pickCh(t); ok {
					w.dispatch(msgChannelRemoved{ch: ch})
				}
			},
			"receive establish": func(t *rapid.T) {
				if ch, ok := pickCh(t); ok {
					p := rapid.SampledFrom(peers).Draw(t, "peer")
					w.dispatch(msgEstablishReceived{ch: ch, msg: &wire.Establish{Identity: wire.PeerIdentity{PeerID: p}}})
				}
			},
			"receive depart": func(t *rapid.T) {
				if ch, ok := pickCh(t); ok {
					w.dispatch(msgDepartReceived{ch: ch})
				}
			},
			"timer fires": func(t *rapid.T) {
				p := rapid.SampledFrom(peers).Draw(t, "peer")
				if gen, ok := w.timerGen[p]; ok {
					delete(w.timerGen, p)
					w.dispatch(msgDepartureTimerExpired{peer: p, gen: gen})
				}
			},
			"stale timer": func(t *rapid.T) {
				p := rapid.SampledFrom(peers).Draw(t, "peer")
				w.dispatch(msgDepartureTimerExpired{peer: p, gen: rapid.Uint64Range(0, 3).Draw(t, "gen")})
			},
			"tick": func(t *rapid.T) {
				w.dispatch(msgSessionTick{})
				w.dispatch(msgSyncTick{})
				w.checkAfterTick()
			},
			"receive present": func(t *rapid.T) {
				meta := metaOf(t)
				recvSync(t, func(doc string) wire.ChannelMsg { return present(doc, meta) })
			},
			"receive interest": func(t *rapid.T) {
				v := version.Draw(t, "v")
				r := rapid.Bool().Draw(t, "r")
				recvSync(t, func(doc string) wire.ChannelMsg { return interest(doc, &v, &r) })
			},
			"receive offer": func(t *rapid.T) {
				v := version.Draw(t, "v")
				recvSync(t, func(doc string) wire.ChannelMsg { return offer(doc, v, ptr(rapid.Bool().Draw(t, "r"))) })
			},
			"receive dismiss": func(t *rapid.T) {
				recvSync(t, func(doc string) wire.ChannelMsg { return &wire.Dismiss{DocID: doc} })
			},
			"receive vacant": func(t *rapid.T) {
				recvSync(t, func(doc string) wire.ChannelMsg { return &wire.Vacant{DocID: doc} })
			},
			"local get": func(t *rapid.T) {
				doc := rapid.SampledFrom(docs).Draw(t, "doc")
				w.dispatch(msgDocEnsure{doc: doc, mode: ModeInterpret, version: version.Draw(t, "v"), meta: metaOf(t)})
			},
			"local load then get": func(t *rapid.T) {
				doc := rapid.SampledFrom(docs).Draw(t, "doc")
				w.dispatch(msgDocLoading{doc: doc})
			},
			"local defer": func(t *rapid.T) {
				w.dispatch(msgDocDefer{doc: rapid.SampledFrom(docs).Draw(t, "doc"), meta: metaOf(t)})
			},
			"local write": func(t *rapid.T) {
				w.dispatch(msgLocalChange{doc: rapid.SampledFrom(docs).Draw(t, "doc"), version: version.Draw(t, "v")})
			},
			"local writes in one burst": func(t *rapid.T) {
				doc := rapid.SampledFrom(docs).Draw(t, "doc")
				for i := range rapid.IntRange(2, 4).Draw(t, "writes") {
					w.seq++
					w.dispatch(msgLocalChange{doc: doc, version: fmt.Sprintf("L:%d", 100+w.seq+i)})
				}
			},
			"local destroy": func(t *rapid.T) {
				doc := rapid.SampledFrom(docs).Draw(t, "doc")
				w.dropped(doc)
				w.dispatch(msgDocDismiss{doc: doc, event: &DocChange{Type: DocRemoved, DocID: doc}})
			},
			"local suspend": func(t *rapid.T) {
				doc := rapid.SampledFrom(docs).Draw(t, "doc")
				w.dispatch(msgDocDismiss{doc: doc, event: &DocChange{Type: DocSuspended, DocID: doc}})
			},
			"local delete": func(t *rapid.T) {
				doc := rapid.SampledFrom(docs).Draw(t, "doc")
				w.dropped(doc)
				w.dispatch(msgDocDelete{doc: doc})
			},
			"peer synced": func(t *rapid.T) {
				w.dispatch(msgPeerSynced{doc: rapid.SampledFrom(docs).Draw(t, "doc"), peer: rapid.SampledFrom(peers).Draw(t, "peer"), version: "L:1"})
			},
		})
		if w.syncEvents > 0 && w.peerEvents+w.sess.pending.Len() == 0 {
			t.Fatal(fmt.Sprint("no peer changes for ", w.syncEvents, " sync events"))
		}
	}
}
