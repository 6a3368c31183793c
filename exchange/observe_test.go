package exchange

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// recorder collects observation events.
type recorder struct {
	mu     sync.Mutex
	events []ObsEvent
}

func (r *recorder) sink(e ObsEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []ObsEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// has reports whether some event satisfies pred.
func (r *recorder) has(pred func(ObsEvent) bool) bool {
	return slices.ContainsFunc(r.all(), pred)
}

func TestObserveEveryLayer(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	var ra recorder
	cancel := a.Observe(ra.sink)
	b := n.peer("b")
	var rb recorder
	defer b.Observe(rb.sink)()
	da := mustGet(t, a, "d", jsonDoc)
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	update(t, da, func(tx *Tx) { tx.Set(P("title"), "x") })
	n.settle()
	wantJSON(t, db, `{"title":"x"}`)
	// A diagnostic: b presents a doc a holds with another schema hash.
	mustGet(t, a, "m", JSONDoc("h1"))
	mustGet(t, b, "m", JSONDoc("h2"))
	n.settle()

	checks := []struct {
		what string
		pred func(ObsEvent) bool
	}{
		{"an outbound offer of d to b", func(e ObsEvent) bool {
			return e.Layer == ObsProtocol && e.Dir == "out" && e.MsgType == "offer" && e.DocID == "d" && e.Peer == "b" && e.Version != ""
		}},
		{"an inbound present naming d", func(e ObsEvent) bool {
			return e.Layer == ObsProtocol && e.Dir == "in" && e.MsgType == "present" && slices.Contains(e.Docs, "d")
		}},
		{"an inbound establish on a channel", func(e ObsEvent) bool {
			return e.Layer == ObsProtocol && e.MsgType == "establish" && e.ChannelID != 0
		}},
		{"peer b established", func(e ObsEvent) bool {
			return e.Layer == ObsDirectory && e.Kind == "peer" && e.Peer == "b" && e.Change == string(PeerEstablished)
		}},
		{"doc d created", func(e ObsEvent) bool {
			return e.Layer == ObsDirectory && e.Kind == "doc" && e.DocID == "d" && e.Change == string(DocCreated)
		}},
		{"b synced for d", func(e ObsEvent) bool {
			return e.Layer == ObsDirectory && e.Kind == "sync-state" && e.DocID == "d" && e.Peer == "b" && e.State == PeerSynced
		}},
		{"the local change set of d", func(e ObsEvent) bool {
			return e.Layer == ObsDoc && e.DocID == "d" && !e.Replay && len(e.Ops) == 1 && e.Ops[0].Type == "replace" && e.Ops[0].Path != ""
		}},
		{"session and sync transitions", func(e ObsEvent) bool { return e.Layer == ObsEngine && e.Program == "session" }},
		{"a sync transition", func(e ObsEvent) bool { return e.Layer == ObsEngine && e.Program == "sync" }},
		{"the schema mismatch", func(e ObsEvent) bool {
			return e.Layer == ObsDiagnostic && e.Diagnostic != nil && e.Diagnostic.Reason == reasonSchemaHashMismatch
		}},
		{"frames", func(e ObsEvent) bool { return e.Layer == ObsWire && e.Kind == "frame" && e.Size > 0 }},
	}
	for _, c := range checks {
		if !ra.has(c.pred) {
			t.Errorf("a observed no event for %s", c.what)
		}
	}
	if !rb.has(func(e ObsEvent) bool { return e.Layer == ObsDoc && e.DocID == "d" && e.Replay }) {
		t.Error("b observed no remote (replay) change set of d")
	}

	// Envelope: version, local peer, unique sequence numbers from 0.
	evs := ra.all()
	seqs := map[uint64]bool{}
	for _, e := range evs {
		if e.V != obsVersion || e.PeerID != "a" || e.T == 0 || seqs[e.Seq] {
			t.Fatalf("bad envelope %+v", e)
		}
		seqs[e.Seq] = true
	}
	for i := range uint64(len(evs)) {
		if !seqs[i] {
			t.Fatalf("sequence %d missing among %d events", i, len(evs))
		}
	}

	// Cancel stops the stream.
	cancel()
	cancel() // idempotent
	count := len(ra.all())
	update(t, da, func(tx *Tx) { tx.Set(P("title"), "y") })
	n.settle()
	if got := len(ra.all()); got != count {
		t.Fatalf("%d events after cancel", got-count)
	}
}

// The JSON is the reference's ObsEvent shape.
func TestObsEventJSON(t *testing.T) {
	rows := []struct {
		e    ObsEvent
		want string
	}{
		{ObsEvent{V: 1, Seq: 3, T: 10, PeerID: "a", Layer: ObsProtocol, Kind: "message", Dir: "out", MsgType: "offer", Peer: "b", DocID: "d", Version: "L:1"},
			`{"dir":"out","docId":"d","kind":"message","layer":"protocol","msgType":"offer","peer":"b","peerId":"a","seq":3,"t":10,"v":1,"version":"L:1"}`},
		{ObsEvent{V: 1, PeerID: "a", Layer: ObsDirectory, Kind: "sync-state", DocID: "d", Peer: "b", State: PeerSynced},
			`{"docId":"d","kind":"sync-state","layer":"directory","peer":"b","peerId":"a","seq":0,"state":"synced","t":0,"v":1}`},
		{ObsEvent{V: 1, PeerID: "a", Layer: ObsDoc, Kind: "changeset", DocID: "d", Ops: []ObsOp{{Type: "replace", Path: "title"}}},
			`{"docId":"d","kind":"changeset","layer":"doc","ops":[{"type":"replace","path":"title"}],"peerId":"a","replay":false,"seq":0,"t":0,"v":1}`},
		{ObsEvent{V: 1, PeerID: "a", Layer: ObsWire, Kind: "frame", Dir: "send", FrameSeq: 7, FrameKind: "fragment", Index: 1, Total: 3, Size: 100},
			`{"dir":"send","frameKind":"fragment","frameSeq":7,"index":1,"kind":"frame","layer":"wire","peerId":"a","seq":0,"size":100,"t":0,"total":3,"v":1}`},
		{ObsEvent{V: 1, PeerID: "a", Layer: ObsDiagnostic, Kind: "diagnostic", Diagnostic: &Diagnostic{Reason: reasonSchemaHashMismatch, Severity: SeverityError, Message: "m", PeerID: "b", DocID: "d", Local: "h1", Remote: "h2"}},
			fmt.Sprintf(`{"code":%q,"docId":"d","kind":"diagnostic","layer":"diagnostic","local":"h1","message":"m","peer":"b","peerId":"a","remote":"h2","seq":0,"severity":"error","t":0,"v":1}`, reasonSchemaHashMismatch)},
	}
	for _, r := range rows {
		b, err := json.Marshal(r.e)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != r.want {
			t.Errorf("%s/%s:\n got  %s\n want %s", r.e.Layer, r.e.Kind, b, r.want)
		}
	}
}

// A panicking sink neither stops the others nor the exchange.
func TestObserveSinkPanicIsContained(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	defer a.Observe(func(ObsEvent) { panic("sink") })()
	var r recorder
	defer a.Observe(r.sink)()
	n.peer("b")
	d := mustGet(t, a, "d", jsonDoc)
	n.settle()
	update(t, d, func(tx *Tx) { tx.Set(P("n"), 1) })
	n.settle()
	if !r.has(func(e ObsEvent) bool { return e.Layer == ObsDoc }) {
		t.Fatal("the second sink saw nothing")
	}
}
