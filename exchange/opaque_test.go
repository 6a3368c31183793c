package exchange

import (
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

// An opaque relay forwards CRDT payloads it cannot interpret (Loro/Yjs
// from TS peers): each stored blob is replayed as its own offer, stamped
// with the version it arrived with.
func TestOpaqueRelayForwardsBlobs(t *testing.T) {
	loro := wire.ReplicaType{Name: "loro", Major: 1}
	opaque := replica.NewOpaqueFactory(loro, replica.OpaqueOptions{})
	crdt := DocType{Name: "crdt", Factory: opaque, Mode: wire.Collaborative, SchemaHash: "h-loro"}
	withOpaque := func(o *Options) {
		o.Replicas = []replica.Bound{{Factory: opaque, Mode: wire.Collaborative}}
	}
	relay := func(o *Options) {
		withOpaque(o)
		o.Policies = []Policy{relayPolicy()}
	}
	n := newTestNet(t)
	n.bridge.Partition("src", "dst")
	n.bridge.Partition("src", "late")
	n.bridge.Partition("dst", "late")
	hub := n.peer("hub", relay)
	src := n.peer("src", withOpaque)
	dst := n.peer("dst", withOpaque)
	for _, ex := range []*Exchange{src, dst} {
		if err := ex.Replicate("doc", &crdt); err != nil {
			t.Fatal(err)
		}
	}
	n.settle()
	// src "authors" two updates (as a TS Loro peer would send them).
	author := func(blob, stamp string) {
		src.dispatch(funcMsg(func() {
			rt := src.runtimeFor("doc")
			rt.mu.Lock()
			err := rt.rep.(replica.StampedMerger).MergeStamped(replica.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte(blob)}, stamp, "")
			rt.mu.Unlock()
			if err != nil {
				t.Error(err)
			}
			src.stepSync(msgLocalChange{doc: "doc", version: stamp})
		}))
		n.settle()
	}
	author("blob-1", "v1")
	author("blob-2", "v2")
	blobs := func(ex *Exchange) []string {
		rt := ex.runtimeFor("doc")
		if rt == nil {
			return nil
		}
		rt.mu.Lock()
		defer rt.mu.Unlock()
		var out []string
		for _, e := range opaqueParts(rt.rep) {
			out = append(out, string(e.Payload.Data))
		}
		return out
	}
	for name, ex := range map[string]*Exchange{"hub": hub, "dst": dst} {
		if got := blobs(ex); len(got) != 2 || got[0] != "blob-1" || got[1] != "blob-2" {
			t.Fatalf("%s holds %v", name, got)
		}
	}
	// A late joiner is served the whole log by the relay.
	late := n.peer("late", withOpaque)
	if err := late.Replicate("doc", &crdt); err != nil {
		t.Fatal(err)
	}
	n.settle()
	if got := blobs(late); len(got) != 2 {
		t.Fatalf("late joiner holds %v", got)
	}
}

// opaqueParts returns the payloads an opaque relay holds, in order, as it
// replays them to a peer without a version.
func opaqueParts(r replica.Replica) []replica.OfferPart {
	parts, err := r.(replica.MultiExporter).ExportFor("")
	if err != nil {
		panic(err)
	}
	return parts
}
