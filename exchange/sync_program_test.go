package exchange

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/wire"
)

var (
	plainRT = wire.ReplicaType{Name: "plain", Major: 1}
	stateRT = wire.ReplicaType{Name: "state", Major: 1}
	authM   = DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h1"}
	collabM = DocMeta{ReplicaType: wire.ReplicaType{Name: "loro", Major: 1}, SyncMode: wire.Collaborative, SchemaHash: "h1"}
	ephM    = DocMeta{ReplicaType: plainRT, SyncMode: wire.Ephemeral, SchemaHash: "h1"}
)

func peerID(id string) wire.PeerIdentity { return wire.PeerIdentity{PeerID: id, Type: wire.PeerUser} }
func avail(id string) syncMsg            { return msgPeerAvailable{identity: peerID(id)} }
func ensure(doc string, meta DocMeta, v string) syncMsg {
	return msgDocEnsure{doc: doc, mode: ModeInterpret, version: v, meta: meta, event: &DocChange{Type: DocCreated, DocID: doc}}
}
func deferDoc(doc string, meta DocMeta) syncMsg {
	return msgDocDefer{doc: doc, meta: meta, event: &DocChange{Type: DocDeferred, DocID: doc}}
}
func recv(from string, m wire.ChannelMsg) syncMsg { return msgReceived{from: from, msg: m} }
func interest(doc string, v *string, r *bool) wire.ChannelMsg {
	return &wire.Interest{DocID: doc, Version: v, Reciprocate: r}
}
func present(doc string, meta DocMeta) wire.ChannelMsg {
	return &wire.Present{Docs: []wire.DocPresence{{DocID: doc, ReplicaType: meta.ReplicaType, SyncMode: meta.SyncMode, SchemaHash: meta.SchemaHash, SupportedHashes: meta.SupportedHashes}}}
}
func offer(doc, v string, r *bool) wire.ChannelMsg {
	return &wire.Offer{DocID: doc, Version: v, Reciprocate: r, Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte("[]")}}
}
func syncSeq(parts ...any) []syncMsg {
	var out []syncMsg
	for _, p := range parts {
		switch p := p.(type) {
		case syncMsg:
			out = append(out, p)
		case []syncMsg:
			out = append(out, p...)
		}
	}
	return out
}

func stateOf(s *syncState, peer, doc string) (PeerDocState, bool) {
	p, ok := s.peers.Get(peer)
	if !ok {
		return PeerDocState{}, false
	}
	return p.states.Get(doc)
}

func denyPeerDoc(peer, doc string) func(string, wire.PeerIdentity) bool {
	return func(d string, p wire.PeerIdentity) bool { return !(d == doc && p.PeerID == peer) }
}

func TestSyncTable(t *testing.T) {
	T, F := ptr(true), ptr(false)
	type row struct {
		name   string
		share  func(string, wire.PeerIdentity) bool
		accept func(string, wire.PeerIdentity) bool
		setup  []syncMsg
		msg    syncMsg
		fx     []string
		check  func(t *testing.T, s *syncState)
	}
	bob := avail("bob")
	carol := avail("carol")
	rows := []row{
		// peer-available / unavailable / departed
		{name: "peer-available adds peer, presents all docs", setup: syncSeq(ensure("d2", authM, "L:1"), ensure("d1", ephM, "5")), msg: bob,
			fx: []string{"to bob present(d1,d2)"}},
		{name: "peer-available without docs: no present", msg: bob, check: func(t *testing.T, s *syncState) {
			if !s.peers.Has("bob") {
				t.Fatal("peer missing")
			}
		}},
		{name: "peer-available presents deferred docs too", setup: syncSeq(deferDoc("d", authM)), msg: bob, fx: []string{"to bob present(d)"}},
		{name: "peer-available filters by canShare", share: denyPeerDoc("bob", "d2"),
			setup: syncSeq(ensure("d1", authM, "L:1"), ensure("d2", authM, "L:1")), msg: bob, fx: []string{"to bob present(d1)"}},
		{name: "peer-available preserves states on reconnect", setup: syncSeq(ensure("d", authM, "L:1"), bob,
			recv("bob", interest("d", ptr("L:1"), F)), msgPeerUnavailable{peer: "bob"}), msg: bob,
			fx: []string{"to bob present(d)"},
			check: func(t *testing.T, s *syncState) {
				if st, ok := stateOf(s, "bob", "d"); !ok || st.Kind != PeerSynced {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "peer-unavailable keeps the peer and notifies", setup: syncSeq(ensure("d", authM, "L:1"), bob, recv("bob", interest("d", nil, F)), msgSyncTick{}),
			msg: msgPeerUnavailable{peer: "bob"},
			check: func(t *testing.T, s *syncState) {
				if !s.peers.Has("bob") || strings.Join(s.peerSync.Slice(), ",") != "d" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "peer-unavailable of unknown peer is a no-op", msg: msgPeerUnavailable{peer: "ghost"}},
		{name: "peer-departed deletes peer and states, notifies", setup: syncSeq(ensure("d", authM, "L:1"), bob, recv("bob", interest("d", nil, F)), msgSyncTick{}),
			msg: msgPeerDeparted{peer: "bob"},
			check: func(t *testing.T, s *syncState) {
				if s.peers.Has("bob") || strings.Join(s.peerSync.Slice(), ",") != "d" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "peer-departed of unknown peer is a no-op", msg: msgPeerDeparted{peer: "ghost"}},

		// doc-ensure / doc-defer
		{name: "doc-ensure registers, presents, asks (authoritative r=false)", setup: syncSeq(bob), msg: ensure("d", authM, "L:1"),
			fx: []string{"to bob present(d)", "to bob interest(d v=L:1 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if d, ok := s.docs.Get("d"); !ok || d.mode != ModeInterpret || d.version != "L:1" || s.docEvents.Len() != 1 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "doc-ensure collaborative asks with reciprocate", setup: syncSeq(bob), msg: ensure("d", collabM, "v0"),
			fx: []string{"to bob present(d)", "to bob interest(d v=v0 r=true)"}},
		{name: "doc-ensure without peers only registers", msg: ensure("d", authM, "L:1"),
			check: func(t *testing.T, s *syncState) {
				if !s.docs.Has("d") {
					t.Fatal("not registered")
				}
			}},
		{name: "doc-ensure filters targets by canShare", share: denyPeerDoc("bob", "d"), setup: syncSeq(bob, carol), msg: ensure("d", authM, "L:1"),
			fx: []string{"to carol present(d)", "to carol interest(d v=L:1 r=false)"}},
		{name: "doc-ensure on a tracked doc is a no-op (event dropped)", setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: ensure("d", authM, "L:2")},
		{name: "doc-ensure promotes a deferred doc", setup: syncSeq(bob, deferDoc("d", authM)),
			msg: msgDocEnsure{doc: "d", mode: ModeReplicate, version: "L:0", meta: authM, event: &DocChange{Type: DocPromoted, DocID: "d"}},
			fx:  []string{"to bob present(d)", "to bob interest(d v=L:0 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if d, _ := s.docs.Get("d"); d.mode != ModeReplicate {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "doc-ensure of a deferred doc reports its promotion", setup: syncSeq(bob, deferDoc("d", authM)),
			msg: ensure("d", authM, "L:0"),
			fx:  []string{"to bob present(d)", "to bob interest(d v=L:0 r=false)"},
			check: func(t *testing.T, s *syncState) {
				ev := s.docEvents.Slice()
				if d, _ := s.docs.Get("d"); d.mode != ModeInterpret || len(ev) == 0 || ev[len(ev)-1] != (DocChange{Type: DocPromoted, DocID: "d"}) {
					t.Fatalf("%v %s", ev, dumpSync(s))
				}
			}},
		{name: "doc-defer registers and presents without interest", setup: syncSeq(bob), msg: deferDoc("d", authM),
			fx: []string{"to bob present(d)"},
			check: func(t *testing.T, s *syncState) {
				if d, _ := s.docs.Get("d"); d.mode != ModeDeferred || d.version != "" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "doc-defer is idempotent", setup: syncSeq(bob, deferDoc("d", authM)), msg: deferDoc("d", authM)},
		{name: "doc-defer on a tracked doc is a no-op", setup: syncSeq(ensure("d", authM, "L:1")), msg: deferDoc("d", authM)},

		// present
		{name: "present of known doc: interest (authoritative r=false)", setup: syncSeq(bob, ensure("d", authM, "L:3")),
			msg: recv("bob", present("d", authM)), fx: []string{"to bob interest(d v=L:3 r=false)"}},
		{name: "present of known collaborative doc: interest r=true", setup: syncSeq(bob, ensure("d", collabM, "vv")),
			msg: recv("bob", present("d", collabM)), fx: []string{"to bob interest(d v=vv r=true)"}},
		{name: "present of known ephemeral doc: interest r=false", setup: syncSeq(bob, ensure("d", ephM, "17")),
			msg: recv("bob", present("d", ephM)), fx: []string{"to bob interest(d v=17 r=false)"}},
		{name: "present of unknown doc: ensure-doc", setup: syncSeq(bob), msg: recv("bob", present("d", authM)), fx: []string{"ensure d from=bob"}},
		{name: "present of unknown doc denied by canShare: vacant (deviation)", share: denyPeerDoc("bob", "d"), setup: syncSeq(bob),
			msg: recv("bob", present("d", authM)), fx: []string{"to bob vacant(d)"}},
		{name: "present of known doc denied by canShare: vacant, no version leaked (deviation)", share: denyPeerDoc("bob", "d"),
			setup: syncSeq(bob, ensure("d", authM, "L:3")), msg: recv("bob", present("d", authM)), fx: []string{"to bob vacant(d)"}},
		{name: "present of deferred doc: no request, the presenter is remembered", setup: syncSeq(bob, deferDoc("d", authM)), msg: recv("bob", present("d", authM)),
			check: func(t *testing.T, s *syncState) {
				if d, _ := s.docs.Get("d"); !d.presenters.Has("bob") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "promotion of a deferred doc presented with another hash: presenter mismatched", setup: syncSeq(bob, deferDoc("d", authM), recv("bob", present("d", authM))),
			msg: msgDocEnsure{doc: "d", mode: ModeInterpret, version: "L:0", meta: DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "other"}},
			fx:  []string{"diag schema-hash-mismatch", "to bob present(d)", "to bob interest(d v=L:0 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "present of a deferred doc with other metadata: remembered, not judged by the first presenter's", setup: syncSeq(bob, deferDoc("d", authM)),
			msg: recv("bob", present("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"})),
			check: func(t *testing.T, s *syncState) {
				d, _ := s.docs.Get("d")
				m, _ := d.presenters.Get("bob")
				if p, _ := s.peers.Get("bob"); p.mismatched.Has("d") || m.SchemaHash != "h2" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "promotion to the second presenter's hash: only the first is mismatched", setup: syncSeq(bob, avail("carol"), msgDocDefer{doc: "d", meta: authM, from: "bob"},
			recv("carol", present("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"}))),
			msg: msgDocEnsure{doc: "d", mode: ModeInterpret, version: "L:0", meta: DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"}},
			fx:  []string{"diag schema-hash-mismatch", "to bob,carol present(d)", "to bob,carol interest(d v=L:0 r=false)"},
			check: func(t *testing.T, s *syncState) {
				b, _ := s.peers.Get("bob")
				c, _ := s.peers.Get("carol")
				if !b.mismatched.Has("d") || c.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "present from unknown sender: ignored", setup: syncSeq(ensure("d", authM, "L:1")), msg: recv("ghost", present("d", authM))},
		{name: "present of a loading doc: recorded for registration", setup: syncSeq(bob, msgDocLoading{doc: "d"}), msg: recv("bob", present("d", authM)),
			check: func(t *testing.T, s *syncState) {
				if l, _ := s.loading.Get("d"); !l.presenters.Has("bob") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "present replica type mismatch: diagnostic, skipped", setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: recv("bob", present("d", DocMeta{ReplicaType: stateRT, SyncMode: wire.Authoritative, SchemaHash: "h1"})), fx: []string{"diag replica-type-mismatch"}},
		{name: "present replica minor differs: compatible", setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: recv("bob", present("d", DocMeta{ReplicaType: wire.ReplicaType{Name: "plain", Major: 1, Minor: 4}, SyncMode: wire.Authoritative, SchemaHash: "h1"})),
			fx:  []string{"to bob interest(d v=L:1 r=false)"}},
		{name: "present schema hash mismatch: diagnostic", setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: recv("bob", present("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"})), fx: []string{"diag schema-hash-mismatch"}},
		{name: "present sync mode mismatch: diagnostic", setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: recv("bob", present("d", ephM)), fx: []string{"diag sync-mode-mismatch"}},
		{name: "present overlapping supportedHashes: syncs", setup: syncSeq(bob, ensure("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2", SupportedHashes: []string{"h2", "h1"}}, "L:1")),
			msg: recv("bob", present("d", authM)), fx: []string{"to bob interest(d v=L:1 r=false)"}},
		{name: "present remote supportedHashes overlap ours: syncs", setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: recv("bob", present("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h3", SupportedHashes: []string{"h3", "h1"}})),
			fx:  []string{"to bob interest(d v=L:1 r=false)"}},
		{name: "present disjoint supportedHashes: diagnostic", setup: syncSeq(bob, ensure("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2", SupportedHashes: []string{"h2", "h0"}}, "L:1")),
			msg: recv("bob", present("d", authM)), fx: []string{"diag schema-hash-mismatch"}},
		{name: "present mismatch marks the peer for the doc", setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: recv("bob", present("d", ephM)), fx: []string{"diag sync-mode-mismatch"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "interest from a mismatched peer: vacant, no data", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", present("d", ephM))),
			msg: recv("bob", interest("d", ptr("L:0"), F)), fx: []string{"to bob vacant(d)"}},
		{name: "offer from a mismatched peer: ignored", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", present("d", ephM))),
			msg: recv("bob", offer("d", "L:4", nil))},
		{name: "a matching present clears the mismatch", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", present("d", ephM))),
			msg: recv("bob", present("d", authM)), fx: []string{"to bob interest(d v=L:1 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "present with several entries handles each", setup: syncSeq(bob, ensure("a", authM, "L:1")),
			msg: recv("bob", &wire.Present{Docs: []wire.DocPresence{
				{DocID: "a", ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h1"},
				{DocID: "b", ReplicaType: plainRT, SyncMode: wire.Ephemeral, SchemaHash: "h1"},
			}}),
			fx: []string{"to bob interest(a v=L:1 r=false)", "ensure b from=bob"}},

		// interest
		{name: "interest collaborative: offer since their version", setup: syncSeq(bob, ensure("d", collabM, "v2")),
			msg: recv("bob", interest("d", ptr("v1"), F)), fx: []string{"offers bob d since=v1 r=false"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerSynced || st.LastKnownVersion != "v1" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "interest collaborative with reciprocate: offer + interest back, pending", setup: syncSeq(bob, ensure("d", collabM, "v2")),
			msg: recv("bob", interest("d", ptr("v1"), T)), fx: []string{"offers bob d since=v1 r=false", "to bob interest(d v=v2 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerPending || s.hasReconciled("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "interest authoritative: offer since, synced at their version", setup: syncSeq(bob, ensure("d", authM, "L:5")),
			msg: recv("bob", interest("d", ptr("kyneta.genesis:0"), F)), fx: []string{"offers bob d since=kyneta.genesis:0 r=false"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerSynced || st.LastKnownVersion != "kyneta.genesis:0" || !s.hasReconciled("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "interest authoritative with reciprocate: no interest back, pending", setup: syncSeq(bob, ensure("d", authM, "L:5")),
			msg: recv("bob", interest("d", ptr("L:5"), T)), fx: []string{"offers bob d since=L:5 r=false"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerPending {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "interest ephemeral: entirety offer, synced", setup: syncSeq(bob, ensure("d", ephM, "17")),
			msg: recv("bob", interest("d", ptr("12"), F)), fx: []string{"offers bob d since=- r=false"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerSynced {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "interest without version: entirety, synced at \"\"", setup: syncSeq(bob, ensure("d", authM, "L:5")),
			msg: recv("bob", interest("d", nil, nil)), fx: []string{"offers bob d since=- r=false"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerSynced || st.LastKnownVersion != "" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "interest for unknown doc: vacant (deviation)", setup: syncSeq(bob), msg: recv("bob", interest("d", nil, F)), fx: []string{"to bob vacant(d)"}},
		{name: "interest for deferred doc: vacant (deviation)", setup: syncSeq(bob, deferDoc("d", authM)), msg: recv("bob", interest("d", nil, F)), fx: []string{"to bob vacant(d)"}},
		{name: "interest denied by canShare: vacant (deviation)", share: denyPeerDoc("bob", "d"), setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: recv("bob", interest("d", ptr("L:0"), F)), fx: []string{"to bob vacant(d)"},
			check: func(t *testing.T, s *syncState) {
				if _, ok := stateOf(s, "bob", "d"); ok {
					t.Fatal("denied peer got a state")
				}
			}},
		{name: "interest from unknown sender: ignored", setup: syncSeq(ensure("d", authM, "L:1")), msg: recv("ghost", interest("d", nil, F))},
		{name: "interest while loading: parked", setup: syncSeq(bob, msgDocLoading{doc: "d"}), msg: recv("bob", interest("d", ptr("L:0"), F)),
			check: func(t *testing.T, s *syncState) {
				if l, _ := s.loading.Get("d"); len(l.parked) != 1 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "registration answers parked interests", setup: syncSeq(bob, msgDocLoading{doc: "d"}, recv("bob", interest("d", ptr("L:0"), F))),
			msg: ensure("d", authM, "L:2"), fx: []string{"to bob present(d)", "to bob interest(d v=L:2 r=false)", "offers bob d since=L:0 r=false"},
			check: func(t *testing.T, s *syncState) {
				if s.loading.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "registration checks what a peer presented while it loaded", setup: syncSeq(bob, msgDocLoading{doc: "d"}, recv("bob", present("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"})), recv("bob", interest("d", ptr("L:0"), F))),
			msg: ensure("d", authM, "L:2"), fx: []string{"diag schema-hash-mismatch", "to bob present(d)", "to bob interest(d v=L:2 r=false)", "to bob vacant(d)"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "registration checks the present a loading doc was classified from", setup: syncSeq(bob, msgDocLoading{doc: "d", by: &presented{peer: "bob", meta: DocMeta{ReplicaType: stateRT, SyncMode: wire.Authoritative, SchemaHash: "h1"}}}),
			msg: ensure("d", authM, "L:2"), fx: []string{"diag replica-type-mismatch", "to bob present(d)", "to bob interest(d v=L:2 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "registration checks the present the doc was classified from", setup: syncSeq(bob),
			msg: msgDocEnsure{doc: "d", by: &presented{peer: "bob", meta: DocMeta{ReplicaType: plainRT, SyncMode: wire.Ephemeral, SchemaHash: "h1"}}, mode: ModeReplicate, version: "L:0", meta: authM},
			fx:  []string{"diag sync-mode-mismatch", "to bob present(d)", "to bob interest(d v=L:0 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "registration: a presenter that agrees is not marked", setup: syncSeq(bob, msgDocLoading{doc: "d", by: &presented{peer: "bob", meta: authM}}),
			msg: ensure("d", authM, "L:2"), fx: []string{"to bob present(d)", "to bob interest(d v=L:2 r=false)"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.mismatched.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "deleting a loading doc answers parked interests vacant", setup: syncSeq(bob, msgDocLoading{doc: "d"}, recv("bob", interest("d", nil, F))),
			msg: msgDocDelete{doc: "d"}, fx: []string{"to bob vacant(d)"}},
		{name: "doc-loading on a known doc is a no-op", setup: syncSeq(ensure("d", authM, "L:1")), msg: msgDocLoading{doc: "d"}},

		// offer
		{name: "offer accepted: import", setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: recv("bob", offer("d", "L:4", nil)),
			fx: []string{"import d v=L:4 from=bob"}},
		{name: "offer refused by canAccept: no import, state unchanged", accept: func(string, wire.PeerIdentity) bool { return false },
			setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: recv("bob", offer("d", "L:4", nil))},
		{name: "offer with reciprocate: import + interest back", setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: recv("bob", offer("d", "L:4", T)),
			fx: []string{"import d v=L:4 from=bob", "to bob interest(d v=L:1 r=false)"}},
		{name: "offer refused with reciprocate: only interest back", accept: func(string, wire.PeerIdentity) bool { return false },
			setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: recv("bob", offer("d", "L:4", T)), fx: []string{"to bob interest(d v=L:1 r=false)"}},
		{name: "offer for unknown doc: ignored", setup: syncSeq(bob), msg: recv("bob", offer("d", "L:4", nil))},
		{name: "offer for deferred doc: ignored", setup: syncSeq(bob, deferDoc("d", authM)), msg: recv("bob", offer("d", "L:4", nil))},
		{name: "offer from unknown sender: ignored", setup: syncSeq(ensure("d", authM, "L:1")), msg: recv("ghost", offer("d", "L:4", nil))},

		// dismiss / vacant
		{name: "dismiss removes the peer's state, notifies, reports", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F)), msgSyncTick{}),
			msg: recv("bob", &wire.Dismiss{DocID: "d"}), fx: []string{"dismissed d by=bob"},
			check: func(t *testing.T, s *syncState) {
				if _, ok := stateOf(s, "bob", "d"); ok || !s.docs.Has("d") || !s.hasReconciled("d") || strings.Join(s.peerSync.Slice(), ",") != "d" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "dismiss of an unknown doc still reports", setup: syncSeq(bob), msg: recv("bob", &wire.Dismiss{DocID: "x"}), fx: []string{"dismissed x by=bob"},
			check: func(t *testing.T, s *syncState) {}},
		{name: "vacant sets state and latch, no dismissed", setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: recv("bob", &wire.Vacant{DocID: "d"}),
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerVacant || !s.hasReconciled("d") || !s.docs.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "vacant for unknown doc: ignored", setup: syncSeq(bob), msg: recv("bob", &wire.Vacant{DocID: "d"})},

		// local change / import
		{name: "local change: version, push since old version, advanced", setup: syncSeq(bob, carol, ensure("d", collabM, "v1"),
			recv("bob", interest("d", ptr("v0"), T)), recv("carol", interest("d", ptr("v1"), F))),
			msg: msgLocalChange{doc: "d", version: "v2"}, fx: []string{"offers bob,carol d since=v1 r=-"},
			check: func(t *testing.T, s *syncState) {
				if d, _ := s.docs.Get("d"); d.version != "v2" || strings.Join(s.advanced.Slice(), ",") != "d" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "local change ephemeral: push without since", setup: syncSeq(bob, ensure("d", ephM, "1"), recv("bob", interest("d", ptr("0"), F))),
			msg: msgLocalChange{doc: "d", version: "2"}, fx: []string{"offers bob d since=- r=-"},
			check: func(t *testing.T, s *syncState) {}},
		{name: "local change skips peers that never asked and vacant peers", setup: syncSeq(bob, carol, ensure("d", authM, "L:1"), recv("carol", &wire.Vacant{DocID: "d"})),
			msg: msgLocalChange{doc: "d", version: "L:2"},
			check: func(t *testing.T, s *syncState) {
				if d, _ := s.docs.Get("d"); d.version != "L:2" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "local change: canShare filters pushes", share: func(d string, p wire.PeerIdentity) bool { return p.PeerID != "carol" || d != "d" },
			setup: syncSeq(bob, carol, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F))),
			msg:   msgLocalChange{doc: "d", version: "L:2"}, fx: []string{"offers bob d since=L:1 r=-"}, check: func(t *testing.T, s *syncState) {}},
		{name: "local change of unknown doc: no-op", msg: msgLocalChange{doc: "d", version: "L:1"}},
		{name: "local change of deferred doc: no-op", setup: syncSeq(deferDoc("d", authM)), msg: msgLocalChange{doc: "d", version: "L:1"}},

		// a reconnected peer's kept states may be stale: no delta until it speaks again
		{name: "no push to a reconnected peer before its interest", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", ptr("L:1"), F)), msgPeerUnavailable{peer: "bob"}, bob),
			msg: msgLocalChange{doc: "d", version: "L:2"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerSynced {
					t.Fatal("the kept state was lost: " + dumpSync(s))
				}
			}},
		{name: "a reconnected peer's interest makes its state fresh again", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", ptr("L:1"), F)), msgPeerUnavailable{peer: "bob"}, bob, recv("bob", interest("d", ptr("L:1"), F)), msgSyncTick{}),
			msg: msgLocalChange{doc: "d", version: "L:2"}, fx: []string{"offers bob d since=L:1 r=-"}, check: func(t *testing.T, s *syncState) {}},
		{name: "a new path also waits for the peer to speak", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", ptr("L:1"), F)), msgPeerNewPath{identity: peerID("bob")}),
			msg: msgLocalChange{doc: "d", version: "L:2"}, check: func(t *testing.T, s *syncState) {}},

		// bursts: the first change of a doc is pushed at once, later ones wait for the tick
		{name: "a second change in the burst is held for the tick", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), msgLocalChange{doc: "d", version: "L:2"}),
			msg: msgLocalChange{doc: "d", version: "L:3"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.held.Has("d") || !s.holding.Has("bob") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "the tick sends held changes as one offer per doc and baseline", setup: syncSeq(bob, carol, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), recv("carol", interest("d", nil, F)),
			msgLocalChange{doc: "d", version: "L:2"}, msgLocalChange{doc: "d", version: "L:3"}, msgLocalChange{doc: "d", version: "L:4"}),
			msg: msgSyncTick{}, fx: []string{"offers bob,carol d since=L:2 r=-", "ready d", "advanced d", "docevents doc-created:d"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.held.Len() != 0 || s.holding.Len() != 0 || s.pushedNow.Len() != 0 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "after the tick the next change is pushed at once again", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), msgLocalChange{doc: "d", version: "L:2"}, msgSyncTick{}),
			msg: msgLocalChange{doc: "d", version: "L:3"}, fx: []string{"offers bob d since=L:2 r=-"}, check: func(t *testing.T, s *syncState) {}},
		{name: "the tick keeps a congested peer's held pushes", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), msgChannelPressure{peer: "bob", ch: 1, congested: true}, msgLocalChange{doc: "d", version: "L:2"}),
			msg: msgSyncTick{}, fx: []string{"ready d", "advanced d", "docevents doc-created:d"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.held.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},

		// channel pressure: pushes to a congested peer are held, then coalesced
		{name: "pressure of an unknown peer: no-op", msg: msgChannelPressure{peer: "ghost", ch: 1, congested: true}},
		{name: "pressure: a channel congests its peer", setup: syncSeq(bob), msg: msgChannelPressure{peer: "bob", ch: 1, congested: true},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.congested.Len() != 1 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "pressure: the same report twice is a no-op", setup: syncSeq(bob, msgChannelPressure{peer: "bob", ch: 1, congested: true}),
			msg: msgChannelPressure{peer: "bob", ch: 1, congested: true}},
		{name: "pressure: a drain without congestion is a no-op", setup: syncSeq(bob), msg: msgChannelPressure{peer: "bob", ch: 1}},
		{name: "local change to a congested peer: held, others pushed", setup: syncSeq(bob, carol, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), recv("carol", interest("d", nil, F)), msgChannelPressure{peer: "bob", ch: 1, congested: true}),
			msg: msgLocalChange{doc: "d", version: "L:2"}, fx: []string{"offers carol d since=L:1 r=-"},
			check: func(t *testing.T, s *syncState) {
				p, _ := s.peers.Get("bob")
				if h, ok := p.held.Get("d"); !ok || h.since == nil || *h.since != "L:1" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "a second held change keeps the first baseline", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), msgChannelPressure{peer: "bob", ch: 1, congested: true}, msgLocalChange{doc: "d", version: "L:2"}),
			msg: msgLocalChange{doc: "d", version: "L:3"},
			check: func(t *testing.T, s *syncState) {
				p, _ := s.peers.Get("bob")
				if h, _ := p.held.Get("d"); *h.since != "L:1" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "drain: one coalesced push per held doc from its first baseline", setup: syncSeq(bob, ensure("d", authM, "L:1"), ensure("e", ephM, "1"),
			recv("bob", interest("d", nil, F)), recv("bob", interest("e", nil, F)), msgChannelPressure{peer: "bob", ch: 1, congested: true},
			msgLocalChange{doc: "d", version: "L:2"}, msgLocalChange{doc: "d", version: "L:3"}, msgLocalChange{doc: "e", version: "2"}),
			msg: msgChannelPressure{peer: "bob", ch: 1}, fx: []string{"offers bob d since=L:1 r=-", "offers bob e since=- r=-"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.held.Len() != 0 || p.congested.Len() != 0 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "an interest from a congested peer: its state is kept, the answer waits", setup: syncSeq(bob, ensure("d", authM, "L:3"),
			msgChannelPressure{peer: "bob", ch: 1, congested: true}),
			msg: recv("bob", interest("d", ptr("L:1"), F)),
			check: func(t *testing.T, s *syncState) {
				p, _ := s.peers.Get("bob")
				if h, ok := p.held.Get("d"); !ok || !h.answer || *h.since != "L:1" {
					t.Fatal(dumpSync(s))
				}
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerSynced {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "drain: the held answer goes out from the peer's version", setup: syncSeq(bob, ensure("d", authM, "L:3"),
			msgChannelPressure{peer: "bob", ch: 1, congested: true}, recv("bob", interest("d", ptr("L:1"), F)), msgLocalChange{doc: "d", version: "L:4"}),
			msg: msgChannelPressure{peer: "bob", ch: 1}, fx: []string{"offers bob d since=L:1 r=false"}, check: func(t *testing.T, s *syncState) {}},
		{name: "drain: a held answer for a doc deleted meanwhile is vacant", setup: syncSeq(bob, ensure("d", authM, "L:3"),
			msgChannelPressure{peer: "bob", ch: 1, congested: true}, recv("bob", interest("d", ptr("L:1"), F)), msgDocDelete{doc: "d"}),
			msg: msgChannelPressure{peer: "bob", ch: 1}, fx: []string{"to bob vacant(d)"}, check: func(t *testing.T, s *syncState) {}},
		{name: "hold from the shell: a push kept for the drain", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F))),
			msg: msgHold{peer: "bob", doc: "d", since: ptr("L:1")},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); !p.held.Has("d") || !s.holding.Has("bob") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "hold from the shell: an answer replaces a held push", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F)),
			msgHold{peer: "bob", doc: "d", since: ptr("L:1")}),
			msg: msgHold{peer: "bob", doc: "d", since: ptr("L:0"), answer: true},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); func() bool { h, _ := p.held.Get("d"); return !h.answer || *h.since != "L:0" }() {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "hold from the shell: a push does not replace a held answer", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F)),
			msgHold{peer: "bob", doc: "d", since: ptr("L:0"), answer: true}),
			msg: msgHold{peer: "bob", doc: "d", since: ptr("L:1")}},
		{name: "hold for an unknown peer: no-op", msg: msgHold{peer: "ghost", doc: "d"}},
		{name: "drain of one channel while another is congested: still held", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), msgChannelPressure{peer: "bob", ch: 1, congested: true}, msgChannelPressure{peer: "bob", ch: 2, congested: true},
			msgLocalChange{doc: "d", version: "L:2"}),
			msg: msgChannelPressure{peer: "bob", ch: 1},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.held.Len() != 1 || p.congested.Len() != 1 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "drain skips a held doc the peer dismissed meanwhile", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F)),
			msgChannelPressure{peer: "bob", ch: 1, congested: true}, msgLocalChange{doc: "d", version: "L:2"}, recv("bob", &wire.Vacant{DocID: "d"})),
			msg: msgChannelPressure{peer: "bob", ch: 1}, check: func(t *testing.T, s *syncState) {}},
		{name: "drain skips a held doc destroyed meanwhile", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F)),
			msgChannelPressure{peer: "bob", ch: 1, congested: true}, msgLocalChange{doc: "d", version: "L:2"}, msgDocDelete{doc: "d"}),
			msg: msgChannelPressure{peer: "bob", ch: 1}, check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.held.Len() != 0 || p.congested.Len() != 0 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "a new path keeps the congestion and drops held pushes (the peer asks again)", setup: syncSeq(bob, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), msgChannelPressure{peer: "bob", ch: 1, congested: true}, msgLocalChange{doc: "d", version: "L:2"}),
			msg: msgPeerNewPath{identity: peerID("bob")}, fx: []string{"to bob present(d)"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); p.held.Len() != 0 || p.congested.Len() != 1 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "doc-imported: version, synced, relay to others since old", setup: syncSeq(bob, carol, ensure("d", authM, "L:1"),
			recv("bob", interest("d", nil, F)), recv("carol", interest("d", nil, F))),
			msg: msgDocImported{doc: "d", version: "L:3", from: "bob"}, fx: []string{"offers carol d since=L:1 r=-"},
			check: func(t *testing.T, s *syncState) {
				d, _ := s.docs.Get("d")
				st, _ := stateOf(s, "bob", "d")
				if d.version != "L:3" || st.Kind != PeerSynced || st.LastKnownVersion != "L:3" || !s.advanced.Has("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "doc-imported of unknown doc: no-op", setup: syncSeq(bob), msg: msgDocImported{doc: "d", version: "L:3", from: "bob"}},
		{name: "peer-synced sets synced + latch", setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: msgPeerSynced{doc: "d", version: "L:1", peer: "bob"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerSynced || !s.hasReconciled("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "peer-synced of unknown doc: no-op", setup: syncSeq(bob), msg: msgPeerSynced{doc: "d", version: "L:1", peer: "bob"}},

		// delete / dismiss / vacant declaration
		{name: "doc-delete: entry, latch and states gone, event, no wire message",
			setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F)), msgSyncTick{}),
			msg:   msgDocDelete{doc: "d", event: &DocChange{Type: DocRemoved, DocID: "d"}},
			check: func(t *testing.T, s *syncState) {
				if s.docs.Has("d") || s.hasReconciled("d") || s.docEvents.Len() != 1 {
					t.Fatal(dumpSync(s))
				}
				if _, ok := stateOf(s, "bob", "d"); ok {
					t.Fatal("state kept")
				}
			}},
		{name: "doc-dismiss broadcasts dismiss to canShare peers, clears latch", share: denyPeerDoc("carol", "d"),
			setup: syncSeq(bob, carol, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F))),
			msg:   msgDocDismiss{doc: "d", event: &DocChange{Type: DocRemoved, DocID: "d"}}, fx: []string{"to bob dismiss(d)"},
			check: func(t *testing.T, s *syncState) {
				if s.docs.Has("d") || s.hasReconciled("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "suspend (dismiss with doc-suspended) keeps the latch", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F))),
			msg: msgDocDismiss{doc: "d", event: &DocChange{Type: DocSuspended, DocID: "d"}}, fx: []string{"to bob dismiss(d)"},
			check: func(t *testing.T, s *syncState) {
				if s.docs.Has("d") || !s.hasReconciled("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "declare-vacant to known peer", setup: syncSeq(bob), msg: msgDeclareVacant{doc: "d", to: "bob"}, fx: []string{"to bob vacant(d)"}},
		{name: "declare-vacant to unknown peer: nothing", msg: msgDeclareVacant{doc: "d", to: "bob"}},

		// readiness latch
		{name: "latch survives synced -> pending", setup: syncSeq(bob, ensure("d", collabM, "v"), recv("bob", interest("d", ptr("v"), F))),
			msg: recv("bob", interest("d", ptr("v"), T)), fx: []string{"offers bob d since=v r=false", "to bob interest(d v=v r=false)"},
			check: func(t *testing.T, s *syncState) {
				if st, _ := stateOf(s, "bob", "d"); st.Kind != PeerPending || !s.hasReconciled("d") {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "latch survives peer departure", setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F))),
			msg: msgPeerDeparted{peer: "bob"},
			check: func(t *testing.T, s *syncState) {
				if !s.hasReconciled("d") {
					t.Fatal(dumpSync(s))
				}
			}},

		// tick
		{name: "tick emits ready, state-advanced, doc events in order and clears",
			setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", nil, F)), msgLocalChange{doc: "d", version: "L:2"}),
			msg:   msgSyncTick{}, fx: []string{"ready d", "advanced d", "docevents doc-created:d"},
			check: func(t *testing.T, s *syncState) {
				if s.peerSync.Len()+s.advanced.Len()+s.docEvents.Len() != 0 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "tick with nothing pending is a no-op", msg: msgSyncTick{}},
		{name: "doc-removed-all clears docs with one doc-removed each", setup: syncSeq(ensure("a", authM, "L:1"), deferDoc("b", authM), msgSyncTick{}),
			msg: msgDocRemovedAll{},
			check: func(t *testing.T, s *syncState) {
				if s.docs.Len() != 0 || s.docEvents.Len() != 2 {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "lifecycle messages reaching the sync program are ignored", setup: syncSeq(bob), msg: recv("bob", &wire.Depart{})},

		// pushes, new paths, acknowledgements
		{name: "pushed for an unknown doc: no-op", setup: syncSeq(bob), msg: msgPushed{doc: "d", version: "L:9", to: []string{"bob"}}},
		{name: "pushed: our version and the synced targets' move to what was carried",
			setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", ptr("L:1"), F))),
			msg:   msgPushed{doc: "d", version: "L:5", to: []string{"bob"}},
			check: func(t *testing.T, s *syncState) {
				d, _ := s.docs.Get("d")
				if st, _ := stateOf(s, "bob", "d"); d.version != "L:5" || st.LastKnownVersion != "L:5" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "a local change already carried by a push: nothing more",
			setup: syncSeq(bob, ensure("d", authM, "L:1"), recv("bob", interest("d", ptr("L:1"), F)), msgPushed{doc: "d", version: "L:5"}),
			msg:   msgLocalChange{doc: "d", version: "L:5"}},
		{name: "new path to a known peer: present again", setup: syncSeq(bob, ensure("d", authM, "L:1")),
			msg: msgPeerNewPath{identity: wire.PeerIdentity{PeerID: "bob"}}, fx: []string{"to bob present(d)"}},
		{name: "durable with nobody owed an acknowledgement: recorded, nothing sent", setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: msgDurable{doc: "d", version: "L:1"},
			check: func(t *testing.T, s *syncState) {
				if d, _ := s.docs.Get("d"); d.durable != "L:1" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "durable for an unknown doc: no-op", msg: msgDurable{doc: "d", version: "L:1"}},
		{name: "acked: recorded for the waiters", setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: msgAcked{doc: "d", version: "L:1", peer: "bob"},
			check: func(t *testing.T, s *syncState) {
				if p, _ := s.peers.Get("bob"); func() string { v, _ := p.acked.Get("d"); return v }() != "L:1" {
					t.Fatal(dumpSync(s))
				}
			}},
		{name: "offer from a peer denied CanShare: ignored (no import, no reply)", share: denyPeerDoc("bob", "d"),
			setup: syncSeq(bob, ensure("d", authM, "L:1")), msg: recv("bob", offer("d", "M:9", T))},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p := &syncProgram{identity: me, canShare: r.share, canAccept: r.accept}
			s, fx := p.Init()
			if len(fx) != 0 || s.docs.Len() != 0 {
				t.Fatal("init not empty")
			}
			for _, m := range r.setup {
				s, _ = p.Update(s, m)
			}
			before := dumpSync(s)
			n, fx := p.Update(s, r.msg)
			if after := dumpSync(s); after != before {
				t.Fatalf("input state mutated:\nbefore %s\nafter  %s", before, after)
			}
			if got := renderSyncFx(fx); strings.Join(got, "|") != strings.Join(r.fx, "|") {
				t.Fatalf("effects\n got  %q\n want %q", got, r.fx)
			}
			if len(r.fx) == 0 && r.check == nil && n != s {
				t.Fatalf("no-op returned a new state: %s", dumpSync(n))
			}
			if r.check != nil {
				r.check(t, n)
			}
		})
	}
}

func TestSyncMismatchDiagnosticFields(t *testing.T) {
	p := &syncProgram{identity: me}
	s, _ := p.Init()
	for _, m := range syncSeq(avail("bob"), ensure("d", authM, "L:1")) {
		s, _ = p.Update(s, m)
	}
	_, fx := p.Update(s, recv("bob", present("d", DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "zz"})))
	d := fx[0].(fxSyncDiagnostic).d
	if d.Reason != reasonSchemaHashMismatch || d.Severity != SeverityError || d.PeerID != "bob" || d.DocID != "d" || d.Local != "h1" || d.Remote != "zz" {
		t.Fatalf("%+v", d)
	}
}

// A peer holding many docs is announced in presents of at most
// presentBatch entries, all docs listed once.
func TestPresentsAreBatched(t *testing.T) {
	p := &syncProgram{identity: me}
	s, _ := p.Init()
	const docs = 2*presentBatch + 7
	for i := range docs {
		s, _ = p.Update(s, msgDocEnsure{doc: "d" + strconv.Itoa(i), mode: ModeInterpret, version: "v", meta: authM})
	}
	_, fx := p.Update(s, msgPeerAvailable{identity: wire.PeerIdentity{PeerID: "bob"}})
	seen := map[string]bool{}
	for _, f := range fx {
		pr := f.(fxSendToPeers).msg.(*wire.Present)
		if len(pr.Docs) > presentBatch {
			t.Fatalf("present with %d entries", len(pr.Docs))
		}
		for _, d := range pr.Docs {
			if seen[d.DocID] {
				t.Fatalf("%s announced twice", d.DocID)
			}
			seen[d.DocID] = true
		}
	}
	if len(fx) != 3 || len(seen) != docs {
		t.Fatalf("%d presents listing %d docs", len(fx), len(seen))
	}
}

// The per-principal quota: shared by the principal's peers, kept across
// departures and reconnects; the per-peer count survives reconnects too.
func TestSyncAnnouncedQuotaPerPrincipal(t *testing.T) {
	p := &syncProgram{identity: me, maxAnnounced: 3, maxPerPrincipal: 4}
	s, _ := p.Init()
	step := func(m syncMsg) []syncFx {
		var fx []syncFx
		s, fx = p.Update(s, m)
		return fx
	}
	presentDocs := func(from string, ids ...string) (ensured, vacants, quota int) {
		var docs []wire.DocPresence
		for _, id := range ids {
			docs = append(docs, wire.DocPresence{DocID: id, ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h1"})
		}
		for _, f := range step(recv(from, &wire.Present{Docs: docs})) {
			switch f := f.(type) {
			case fxEnsureDoc:
				ensured++
			case fxSendToPeers:
				if _, ok := f.msg.(*wire.Vacant); ok {
					vacants++
				}
			case fxSyncDiagnostic:
				if f.d.Reason == reasonQuota {
					quota++
				}
			}
		}
		return
	}
	step(msgPeerAvailable{identity: peerID("bob"), principal: "tenant-1"})
	step(msgPeerAvailable{identity: peerID("carol"), principal: "tenant-1"})
	step(msgPeerAvailable{identity: peerID("dave")}) // nobody authenticated

	if e, v, q := presentDocs("bob", "a", "b", "c", "d"); e != 3 || v != 1 || q != 1 {
		t.Fatalf("bob: ensured %d, vacant %d, quota %d; want the per-peer quota of 3", e, v, q)
	}
	// carol shares tenant-1's quota of 4: one more, then vacant.
	if e, v, q := presentDocs("carol", "e", "f"); e != 1 || v != 1 || q != 1 {
		t.Fatalf("carol: ensured %d, vacant %d, quota %d; want one left of the principal's 4", e, v, q)
	}
	// Departing and coming back resets neither count.
	step(msgPeerDeparted{peer: "carol"})
	step(msgPeerAvailable{identity: peerID("carol"), principal: "tenant-1"})
	if e, _, q := presentDocs("carol", "g"); e != 0 || q != 0 {
		t.Fatalf("carol after returning: ensured %d, quota diagnostics %d; want none (reported once)", e, q)
	}
	step(msgPeerUnavailable{peer: "bob"})
	step(msgPeerAvailable{identity: peerID("bob"), principal: "tenant-1"})
	if e, _, _ := presentDocs("bob", "h"); e != 0 {
		t.Fatal("bob's quota was reset by reconnecting")
	}
	// A peer without a principal is only under its own quota.
	if e, v, _ := presentDocs("dave", "i", "j", "k", "l"); e != 3 || v != 1 {
		t.Fatalf("dave: ensured %d, vacant %d; want the per-peer quota of 3", e, v)
	}
}

func TestPrincipalKey(t *testing.T) {
	rows := []struct {
		p    any
		want string
	}{
		{nil, ""},
		{"alice", "alice"},
		{stringer("bob"), "bob"},
		{42, "int:42"},
	}
	for _, r := range rows {
		if got := principalKey(r.p); got != r.want {
			t.Errorf("principalKey(%v) = %q, want %q", r.p, got, r.want)
		}
	}
}

type stringer string

func (s stringer) String() string { return string(s) }
