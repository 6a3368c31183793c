package replica_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

// change builds a change from the reference's JSON for it.
func change(js string) replica.Change {
	v, err := replica.ParseValue([]byte(js))
	if err != nil {
		panic(err)
	}
	c, err := replica.NewChange(v.(*replica.Object))
	if err != nil {
		panic(err)
	}
	return c
}

// A writer commits transactions; a reader catches up with a since payload
// and ends at the same version and state.
func Example() {
	// Deterministic lineage for the example; production code passes no Rand.
	f := replica.NewPlainFactory(replica.PlainOptions{Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 8))})
	writer := f.CreateDocument()
	title := change(`{"type":"replace","value":"Groceries"}`)
	item := change(`{"type":"sequence","instructions":[{"insert":[{"done":false,"name":"milk"}]}]}`)
	_ = writer.Apply([]replica.Op{
		{Path: replica.Path{replica.Field("title")}, Change: title},
		{Path: replica.Path{replica.Field("items")}, Change: item},
	})
	_ = writer.Apply([]replica.Op{
		{Path: replica.Path{replica.Field("title")}, Change: change(`{"type":"text","instructions":[{"retain":9},{"insert":" 🛒"}]}`)},
	})

	reader := f.CreateDocument()
	delta, ok, _ := writer.ExportSince(reader.Version())
	fmt.Println(ok, delta.Kind, delta.Lineage)
	_ = reader.Merge(delta)

	state, _ := reader.JSON()
	fmt.Println(reader.Version())
	fmt.Println(string(state))
	// Output:
	// true since abababababababab
	// abababababababab:2
	// {"title":"Groceries 🛒","items":[{"done":false,"name":"milk"}]}
}

// Plain versions compare by projecting to version vectors: genesis is
// behind any real lineage, and two different lineages are concurrent.
func ExampleFactory_ParseVersion() {
	f := replica.NewPlainFactory(replica.PlainOptions{})
	a, _ := f.ParseVersion("kyneta.genesis:0")
	b, _ := f.ParseVersion("3f2a9c0d11e4b7a8:5")
	c, _ := f.ParseVersion("0000000000000001:2")
	ab, _ := a.Compare(b)
	bc, _ := b.Compare(c)
	fmt.Println(ab, bc)
	// Output: behind concurrent
}

// An LWW replica versions its state with the clock and always exports the
// whole state.
func ExampleNewLWWFactory() {
	now := time.UnixMilli(1_700_000_000_000)
	f := replica.NewLWWFactory(replica.LWWOptions{Now: func() time.Time { return now }})
	presence := f.CreateDocument()
	cursor := change(`{"type":"replace","value":{"col":14,"line":3}}`)
	_ = presence.Apply([]replica.Op{{Path: replica.Path{replica.Field("cursor")}, Change: cursor}})
	p, _, _ := presence.ExportSince(replica.NewTimestampVersion(0))
	fmt.Println(presence.Version(), p.Kind, string(p.Data))
	// Output: 1700000000000 entirety {"cursor":{"col":14,"line":3}}
}

// State documents merge field by field: concurrent writes to different
// fields both survive, and per field the later write wins.
func ExampleNewStateFactory() {
	clock := func(ms int64) func() time.Time { return func() time.Time { return time.UnixMilli(ms) } }
	alice := replica.NewStateFactory(replica.StateOptions{Now: clock(100)}).CreateDocument()
	bob := replica.NewStateFactory(replica.StateOptions{Now: clock(200)}).CreateDocument()
	a := change(`{"type":"map","set":{"alice":"online"}}`)
	b := change(`{"type":"map","set":{"bob":"away"}}`)
	_ = alice.Apply([]replica.Op{{Path: replica.Path{replica.Field("peers")}, Change: a}})
	_ = bob.Apply([]replica.Op{{Path: replica.Path{replica.Field("peers")}, Change: b}})

	fromBob, _ := bob.ExportEntirety()
	_ = alice.Merge(fromBob)
	state, _ := alice.JSON()
	fmt.Println(string(fromBob.Data))
	fmt.Println(string(state))
	// Output:
	// {"peers":{"bob":["away",200]}}
	// {"peers":{"alice":"online","bob":"away"}}
}

// An opaque relay stores CRDT updates it cannot read and replays them, one
// offer per stored update, to a late joiner.
func ExampleNewOpaqueFactory() {
	relay := replica.NewOpaqueFactory(wire.ReplicaType{Name: "loro", Major: 1}, replica.OpaqueOptions{}).CreateEmpty()
	// The exchange passes each offer's stamp and sender (StampedMerger).
	merge := relay.(replica.StampedMerger).MergeStamped
	_ = merge(replica.Payload{Kind: "entirety", Encoding: "binary", Data: []byte{0x6c, 0x01}}, "vA1", "peer-a")
	_ = merge(replica.Payload{Kind: "since", Encoding: "binary", Data: []byte{0x6c, 0x02}}, "vA2", "peer-a")
	_ = merge(replica.Payload{Kind: "since", Encoding: "binary", Data: []byte{0x6c, 0x02}}, "vB7", "peer-b") // duplicate

	parts, _ := relay.(replica.MultiExporter).ExportFor("") // a late joiner with no version
	for _, p := range parts {
		fmt.Println(p.Payload.Kind, p.Version, p.Payload.Data)
	}
	claim, _ := relay.(replica.PeerVersioner).VersionFor("peer-b")
	fmt.Println(len(parts), relay.Version(), claim)
	// Output:
	// since vA1 [108 1]
	// since vA2 [108 2]
	// 2 vA2 vB7
}

// Compaction: once every peer has confirmed a version, the history before
// it can go. A peer still behind it gets the entirety instead of a delta.
func ExampleReplica_Advance() {
	f := replica.NewPlainFactory(replica.PlainOptions{Rand: bytes.NewReader(bytes.Repeat([]byte{0xcd}, 8))})
	d := f.CreateDocument()
	history := d.(replica.HistoryReporter).History
	for range 1000 {
		_ = d.Apply([]replica.Op{{Path: replica.Path{replica.Field("n")}, Change: change(`{"type":"increment","amount":1}`)}})
	}
	fmt.Println("before:", history().Batches, "batches")

	confirmed := replica.NewPlainVersion(d.Version().Lineage(), 990) // the least version all peers confirmed
	if err := d.Advance(confirmed); err != nil {
		fmt.Println(err)
	}
	fmt.Println("after:", history().Batches, "batches, base", d.BaseVersion())

	_, ok, _ := d.ExportSince(replica.NewPlainVersion(d.Version().Lineage(), 500))
	fmt.Println("delta for a peer at 500:", ok)
	// Output:
	// before: 1000 batches
	// after: 10 batches, base cdcdcdcdcdcdcdcd:990
	// delta for a peer at 500: false
}
