package exchange

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

func docEvents(ex *Exchange) func() string {
	var mu sync.Mutex
	var log []string
	ex.SubscribeDocuments(func(e DocEvent) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range e.Changes {
			log = append(log, strings.TrimPrefix(string(c.Type), "doc-")+":"+c.DocID)
		}
		// The map is consistent with Has/Deferred at delivery time.
		for id, info := range ex.Documents() {
			if info.Mode == ModeDeferred && !slices.Contains(ex.Deferred(), id) && ex.Has(id) {
				panic("inconsistent documents feed")
			}
		}
	})
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		s := strings.Join(log, " ")
		log = nil
		return s
	}
}

func TestSupportedTypeIsDeferredThenPromotedByGet(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	events := docEvents(b)
	da := mustGet(t, a, "d", jsonDoc)
	update(t, da, func(tx *Tx) { tx.Set(P("x"), 1) })
	n.settle()
	if got := events(); got != "deferred:d" || !slices.Equal(b.Deferred(), []string{"d"}) {
		t.Fatalf("events %q deferred %v", got, b.Deferred())
	}
	if b.Documents()["d"].Mode != ModeDeferred {
		t.Fatal("documents feed mode")
	}
	// A deferred doc never requests data.
	db := mustGet(t, b, "d", jsonDoc)
	n.settle()
	if got := events(); got != "promoted:d" {
		t.Fatalf("events %q", got)
	}
	wantJSON(t, db, `{"x":1}`)
	if len(b.Deferred()) != 0 {
		t.Fatal("still deferred")
	}
}

func TestRegisterDocTypeAutoPromotes(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	da := mustGet(t, a, "d", jsonDoc)
	update(t, da, func(tx *Tx) { tx.Set(P("x"), 1) })
	n.settle()
	if err := b.RegisterDocType(jsonDoc); err != nil {
		t.Fatal(err)
	}
	n.settle()
	db := mustGet(t, b, "d", jsonDoc)
	wantJSON(t, db, `{"x":1}`)
	// Registered types are interpreted on announce, without deferring.
	events := docEvents(b)
	d2 := mustGet(t, a, "d2", jsonDoc)
	update(t, d2, func(tx *Tx) { tx.Set(P("y"), 2) })
	n.settle()
	if got := events(); got != "created:d2" {
		t.Fatalf("events %q", got)
	}
}

func TestUnsupportedTypeGetsVacantWithoutResolve(t *testing.T) {
	calls := 0
	n := newTestNet(t)
	// b only knows the ephemeral factory: plain/authoritative is not
	// supported, so with no resolve answer the announcer gets vacant.
	n.peer("b", func(o *Options) {
		o.Replicas = []replica.Bound{{Factory: replica.NewLWWFactory(replica.LWWOptions{}), Mode: wire.Ephemeral}}
	})
	a := n.peer("a")
	exotic := DocType{Name: "exotic", Factory: fakeFactory{}, Mode: wire.Collaborative, SchemaHash: "x"}
	da, err := a.Get("d", exotic)
	if err == nil {
		t.Fatalf("fake factory is not a document factory: %v", da)
	}
	if err := a.Replicate("d", &exotic); err != nil {
		t.Fatal(err)
	}
	n.settle()
	if n.exs["b"].Has("d") || calls != 0 {
		t.Fatal("unsupported doc held")
	}
	a.mu.Lock()
	st := peerStates(a.cs().sync, "d")["b"]
	a.mu.Unlock()
	if st.Kind != PeerVacant {
		t.Fatalf("a's view of b: %+v", st)
	}
}

func TestResolveInterpretAndDynamicDoc(t *testing.T) {
	n := newTestNet(t)
	b := n.peer("b", func(o *Options) {
		o.Policies = []Policy{{Resolve: func(r ResolveRequest) Resolution {
			if strings.HasPrefix(r.DocID, "presence/") {
				return Interpret(EphemeralDoc(r.Meta.SchemaHash))
			}
			return Resolution{}
		}}}
	})
	a := n.peer("a")
	pa := mustGet(t, a, "presence/room1", ephDoc)
	update(t, pa, func(tx *Tx) { tx.Set(P("here"), true) })
	n.settle()
	pb := mustGet(t, b, "presence/room1", ephDoc)
	wantJSON(t, pb, `{"here":true}`)
}

func TestSuspendResume(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	events := docEvents(a)
	da := mustGet(t, a, "d", jsonDoc)
	db := mustGet(t, b, "d", jsonDoc)
	update(t, da, func(tx *Tx) { tx.Set(P("n"), 1) })
	n.settle()
	events()
	if err := a.Suspend("d"); err != nil {
		t.Fatal(err)
	}
	n.settle()
	if got := events(); got != "suspended:d" || !a.Documents()["d"].Suspended {
		t.Fatalf("events %q", got)
	}
	// b forgot a's state for the doc (dismiss); a keeps its latch.
	if _, ok := db.PeerStates()["a"]; ok {
		t.Fatal("dismiss not applied at b")
	}
	if !da.Ready() {
		t.Fatal("suspend cleared readiness")
	}
	// Edits while suspended stay local until resume.
	update(t, da, func(tx *Tx) { tx.Set(P("n"), 2) })
	n.settle()
	wantJSON(t, db, `{"n":1}`)
	if err := a.Resume("d"); err != nil {
		t.Fatal(err)
	}
	n.settle()
	if got := events(); got != "resumed:d" {
		t.Fatalf("events %q", got)
	}
	wantJSON(t, db, `{"n":2}`)
}

func TestShutdownEmitsSyntheticEvents(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	n.peer("b")
	mustGet(t, a, "d", jsonDoc)
	n.settle()
	docs := docEvents(a)
	peers, cancel := peerEvents(a)
	defer cancel()
	n.stop("a")
	if got := docs(); got != "removed:d" {
		t.Fatalf("doc events %q", got)
	}
	if got := peers(); got != "departed:b" {
		t.Fatalf("peer events %q", got)
	}
}

func TestProtocolMismatchDiagnostics(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	b := n.peer("b")
	da := mustGet(t, a, "d", jsonDoc)
	update(t, da, func(tx *Tx) { tx.Set(P("x"), 1) })
	n.settle()
	db := mustGet(t, b, "d", JSONDoc("other-hash"))
	n.settle()
	if len(n.diagnostics(reasonSchemaHashMismatch)) == 0 {
		t.Fatal("no schema-hash-mismatch diagnostic")
	}
	// b's interest went out before a saw b's metadata; a answers vacant
	// instead of sending data across the mismatch.
	wantJSON(t, db, `{}`)
	if st := da.PeerStates()["b"]; st.Kind == PeerSynced {
		t.Fatalf("a's view of b: %+v", st)
	}
	if st := db.PeerStates()["a"]; st.Kind == PeerSynced {
		t.Fatalf("b's view of a: %+v", st)
	}
	_ = wire.Authoritative
}

// fakeFactory is a replica factory the exchange cannot interpret.
type fakeFactory struct{}

func (fakeFactory) Type() wire.ReplicaType { return wire.ReplicaType{Name: "fake", Major: 1} }
func (fakeFactory) CreateEmpty() replica.Replica {
	return replica.NewLWWFactory(replica.LWWOptions{}).CreateEmpty()
}
func (fakeFactory) FromEntirety(p replica.Payload) (replica.Replica, error) {
	return replica.NewLWWFactory(replica.LWWOptions{}).FromEntirety(p)
}
func (fakeFactory) ParseVersion(s string) (replica.Version, error) {
	return replica.NewLWWFactory(replica.LWWOptions{}).ParseVersion(s)
}

// TestDocumentsFeedEventsAreOwned: every subscriber gets its own slice of
// changes, so one that edits its event cannot change what the next one
// sees.
func TestDocumentsFeedEventsAreOwned(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	var seen []string
	for range 3 {
		a.SubscribeDocuments(func(e DocEvent) {
			for _, c := range e.Changes {
				seen = append(seen, c.DocID)
			}
			clear(e.Changes)
		})
	}
	mustGet(t, a, "d", jsonDoc)
	n.settle()
	if len(seen) != 3 || slices.Contains(seen, "") {
		t.Fatalf("changes seen by the subscribers: %q", seen)
	}
}

// TestDocumentsFeedCostIsPerChange: an event costs what its changes do,
// not the number of documents held (a copy of the whole map per burst made
// a server with a line listener quadratic in arriving documents).
func TestDocumentsFeedCostIsPerChange(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	for i := range 2000 {
		mustGet(t, a, "d"+strconv.Itoa(i), jsonDoc)
	}
	n.settle()
	a.SubscribeDocuments(func(DocEvent) {})
	changes := []DocChange{{Type: DocCreated, DocID: "d0"}}
	if allocs := testing.AllocsPerRun(100, func() { a.emitDocEvents(changes) }); allocs > 3 {
		t.Fatalf("%v allocations per event with 2,000 documents held, want a few", allocs)
	}
}

// TestDocumentsFeedCostsNothingUnwatched: with no subscriber, a burst
// does not build the O(documents) snapshot.
func TestDocumentsFeedCostsNothingUnwatched(t *testing.T) {
	n := newTestNet(t)
	a := n.peer("a")
	for i := range 200 {
		mustGet(t, a, "d"+strconv.Itoa(i), jsonDoc)
	}
	n.settle()
	changes := []DocChange{{Type: DocCreated, DocID: "d0"}}
	if allocs := testing.AllocsPerRun(100, func() { a.emitDocEvents(changes) }); allocs != 0 {
		t.Fatalf("%v allocations per unwatched burst, want 0", allocs)
	}
}

// A doc type registered while a peer's doc is being classified still
// promotes that doc: its deferral lands in the core after the call's own
// scan, and a second scan on the dispatcher runs behind it.
func TestRegisterDocTypeDuringClassification(t *testing.T) {
	n := newTestNet(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a := n.peer("a", func(o *Options) {
		o.Policies = []Policy{{Name: "slow", Resolve: func(ResolveRequest) Resolution {
			once.Do(func() { close(entered) })
			<-release
			return Resolution{} // no answer: defer
		}}}
	})
	b := n.peer("b")
	db := mustGet(t, b, "d", jsonDoc)
	update(t, db, func(tx *Tx) { tx.Set(P("v"), 1) })
	<-entered // a is classifying d with the types it had
	if err := a.RegisterDocType(jsonDoc); err != nil {
		t.Fatal(err)
	}
	close(release)
	n.settle()
	if info := a.Documents()["d"]; info.Mode != ModeInterpret {
		t.Fatalf("d is held as %+v, want interpreted", info)
	}
	da, err := a.Get("d", jsonDoc)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, da, `{"v":1}`)
}
