package exchange

import (
	"slices"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Table tests of the pure decisions the shell calls with replica values
// (the programs' own tables are in the *_program_test.go files).

func TestFurthestHeadTable(t *testing.T) {
	parse := replica.NewPlainFactory(replica.PlainOptions{}).ParseVersion
	v := func(c uint64) string { return replica.NewPlainVersion("L", c).String() }
	rows := []struct {
		name  string
		heads []headInfo
		want  int
	}{
		{"no stores", nil, -1},
		{"no store holds the doc", []headInfo{{}, {}}, -1},
		{"only a broken store holds it", []headInfo{{exists: true, version: v(3), broken: true}}, -1},
		{"the only holder", []headInfo{{}, {exists: true, version: v(2)}}, 1},
		{"the greatest head", []headInfo{{exists: true, version: v(2)}, {exists: true, version: v(5)}, {exists: true, version: v(4)}}, 1},
		{"ties keep the first", []headInfo{{exists: true, version: v(5)}, {exists: true, version: v(5)}}, 0},
		{"a broken store is skipped even when ahead", []headInfo{{exists: true, version: v(2)}, {exists: true, version: v(9), broken: true}}, 0},
		{"an unparseable later head is skipped", []headInfo{{exists: true, version: v(2)}, {exists: true, version: "garbage"}}, 0},
		{"an unparseable first head stays chosen", []headInfo{{exists: true, version: "garbage"}, {exists: true, version: v(7)}}, 0},
		{"another lineage cannot be ordered: first", []headInfo{{exists: true, version: v(2)}, {exists: true, version: replica.NewPlainVersion("M", 9).String()}}, 0},
	}
	for _, r := range rows {
		if got := furthestHead(r.heads, parse); got != r.want {
			t.Errorf("%s: got %d, want %d", r.name, got, r.want)
		}
	}
}

func TestStoreAppendsTable(t *testing.T) {
	rows := []struct {
		replace, deltaOK, want bool
	}{
		{false, true, true},   // a delta from the head: append
		{false, false, false}, // no delta from the head: rewrite
		{true, true, false},   // the program asked for a rewrite (compaction, head mismatch)
		{true, false, false},
	}
	for _, r := range rows {
		if got := storeAppends(r.replace, r.deltaOK); got != r.want {
			t.Errorf("storeAppends(replace=%v, deltaOK=%v) = %v, want %v", r.replace, r.deltaOK, got, r.want)
		}
	}
}

func TestAbsorbHowTable(t *testing.T) {
	rows := []struct {
		name                        string
		act                         importAction
		headless, joinState, stamps bool
		want                        absorbKind
	}{
		{"merge, plain", importMerge, false, false, false, absorbMerge},
		{"merge, LWW keeps the stamp", importMerge, false, false, true, absorbStamped},
		{"merge, headless state", importMerge, true, true, true, absorbStamped},
		{"adopt a lineage", importAdopt, false, false, false, absorbResetTo},
		{"adopt, headless", importAdopt, true, false, false, absorbResetTo},
		{"reset interpreted", importReset, false, false, false, absorbResetTo},
		{"reset interpreted state", importReset, false, true, true, absorbResetTo},
		{"reset headless: a fresh replica", importReset, true, false, false, absorbReplace},
		{"reset headless state: the join converges", importReset, true, true, true, absorbMerge},
	}
	for _, r := range rows {
		if got := absorbHow(r.act, r.headless, r.joinState, r.stamps); got != r.want {
			t.Errorf("%s: got %d, want %d", r.name, got, r.want)
		}
	}
}

func TestOwesAckTable(t *testing.T) {
	since := func(d string) replica.Payload {
		return replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(d)}
	}
	whole := replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{}`)}
	binary := replica.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{0}}
	rows := []struct {
		name        string
		p           replica.Payload
		reciprocate bool
		ack, owes   bool
	}{
		{"a write we already hold", since(`[[1]]`), false, false, true},
		{"an acknowledgement", since(`[]`), false, true, false},
		{"a request for an acknowledgement", since(`[]`), true, true, true},
		{"an entirety is never owed one", whole, true, false, false},
		{"a binary delta is a write", binary, false, false, true},
	}
	for _, r := range rows {
		if got := isAck(r.p); got != r.ack {
			t.Errorf("%s: isAck = %v, want %v", r.name, got, r.ack)
		}
		if got := owesAck(r.p, r.reciprocate); got != r.owes {
			t.Errorf("%s: owesAck = %v, want %v", r.name, got, r.owes)
		}
	}
}

func TestCompactTargetTable(t *testing.T) {
	v := replica.NewPlainVersion
	long := replica.History{Batches: compactBatches + 1}
	short := replica.History{Batches: 3, Bytes: 100}
	rows := []struct {
		name       string
		ours, base replica.Version
		hist       replica.History
		synced     []replica.Version
		force      bool
		want       replica.Version
	}{
		{"short history: not due", v("L", 50), v("L", 0), short, nil, false, nil},
		{"short history, forced: to ours", v("L", 50), v("L", 0), short, nil, true, v("L", 50)},
		{"long by bytes", v("L", 50), v("L", 0), replica.History{Bytes: compactBytes + 1}, nil, false, v("L", 50)},
		{"long, no synced peer: to ours", v("L", 50), v("L", 0), long, nil, false, v("L", 50)},
		{"the least synced version", v("L", 50), v("L", 0), long, []replica.Version{v("L", 40), v("L", 20)}, false, v("L", 20)},
		{"never at or before the base", v("L", 50), v("L", 20), long, []replica.Version{v("L", 20)}, false, nil},
		{"a peer on another lineage blocks it", v("L", 50), v("L", 0), long, []replica.Version{v("M", 40)}, false, nil},
	}
	for _, r := range rows {
		got, ok := compactTarget(r.ours, r.base, r.hist, r.synced, r.force)
		switch {
		case r.want == nil && ok:
			t.Errorf("%s: compacts to %s, want no compaction", r.name, got)
		case r.want != nil && (!ok || got.String() != r.want.String()):
			t.Errorf("%s: got %v (ok=%v), want %s", r.name, got, ok, r.want)
		}
	}
}

// peersState builds a sync state and a session state with the given peers:
// their per-doc states, and whether each has a live channel.
func peersState(t *testing.T, doc string, peers map[string]PeerDocState, connected ...string) (*syncState, *sessionState) {
	t.Helper()
	s := &syncState{}
	sess := &sessionState{channels: map[transport.ChannelID]*sessionChannel{}}
	for id, st := range peers {
		p := &syncPeer{identity: wire.PeerIdentity{PeerID: id}}
		if st.Kind != "" {
			p.states = p.states.Set(doc, st)
		}
		s.peers = s.peers.Set(id, p)
		sp := &sessionPeer{identity: p.identity}
		if slices.Contains(connected, id) {
			sp.channels = []transport.ChannelID{transport.ChannelID(len(id))}
		}
		sess.peers = sess.peers.Set(id, sp)
	}
	return s, sess
}

func TestSyncedVersions(t *testing.T) {
	parse := replica.NewPlainFactory(replica.PlainOptions{}).ParseVersion
	v := func(c uint64) string { return replica.NewPlainVersion("L", c).String() }
	s, _ := peersState(t, "d", map[string]PeerDocState{
		"synced":      {Kind: PeerSynced, LastKnownVersion: v(4)},
		"pending":     {Kind: PeerPending, LastKnownVersion: v(1)},
		"no version":  {Kind: PeerSynced},
		"unparseable": {Kind: PeerSynced, LastKnownVersion: "garbage"},
		"other doc":   {},
	})
	got := syncedVersions(s, "d", parse)
	if len(got) != 1 || got[0].String() != v(4) {
		t.Fatalf("syncedVersions = %v, want only the synced peer's %s", got, v(4))
	}
}

func TestAckTargets(t *testing.T) {
	s, sess := peersState(t, "d", map[string]PeerDocState{
		"a": {Kind: PeerSynced}, "b": {Kind: PeerSynced}, "asked": {Kind: PeerSynced},
		"offline": {Kind: PeerSynced}, "denied": {Kind: PeerSynced},
	}, "a", "b", "asked", "denied")
	canShare := func(doc string, p wire.PeerIdentity) bool { return p.PeerID != "denied" }
	got := ackTargets("d", map[string]bool{"asked": true}, s, sess, canShare)
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("ackTargets = %v, want [a b]: connected, shared and not asked yet", got)
	}
}

func TestPerPeerInterest(t *testing.T) {
	v := "stamp"
	in := &wire.Interest{DocID: "d", Version: &v, Reciprocate: ptr(true)}
	got := perPeerInterest(in, "theirs", true)
	if got.Version == nil || *got.Version != "theirs" || got.DocID != "d" || got.Reciprocate == nil || !*got.Reciprocate {
		t.Fatalf("with a backed version: %+v", got)
	}
	if got := perPeerInterest(in, "", false); got.Version != nil {
		t.Fatalf("without a backed version the version is omitted, got %q", *got.Version)
	}
	if in.Version != &v || *in.Version != "stamp" {
		t.Fatal("the shared interest was modified")
	}
}

func TestReplayHowTable(t *testing.T) {
	minted := replica.NewPlainVersion("L", 4)
	genesis := replica.NewPlainVersion(replica.Genesis, 2)
	rows := []struct {
		name                         string
		stamped, entirety, atCurrent bool
		stored                       replica.Version
		want                         replayKind
	}{
		{"a stamped replica keeps stamps", true, true, false, nil, replayStamped},
		{"a stamped delta", true, false, false, nil, replayStamped},
		{"a delta merges", false, false, false, nil, replayMerge},
		{"an entirety at the fresh version adds nothing", false, true, true, genesis, replaySkip},
		{"an entirety of a minted lineage resets to its version", false, true, false, minted, replayResetTo},
		{"an entirety of the genesis lineage merges", false, true, false, genesis, replayMerge},
	}
	for _, r := range rows {
		if got := replayHow(r.stamped, r.entirety, r.atCurrent, r.stored); got != r.want {
			t.Errorf("%s: got %d, want %d", r.name, got, r.want)
		}
	}
}
