package store_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// Two memory stores on the same data: what the first wrote, the second
// reads back, as after a restart.
func ExampleNewMemory() {
	ctx := context.Background()
	data := store.NewMemoryData()
	s := store.NewMemory(store.MemoryOptions{Data: data})
	meta := store.Meta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: "02abc"}
	_ = s.Append(ctx, "todo", store.MetaRecord(meta))
	_ = s.Append(ctx, "todo", store.EntryRecord(replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"items":[]}`)}, "kyneta.genesis:0"))
	_ = s.Close()

	restarted := store.NewMemory(store.MemoryOptions{Data: data})
	defer restarted.Close()
	recs, _ := restarted.LoadAll(ctx, "todo")
	for _, r := range recs {
		if r.Kind == store.KindMeta {
			fmt.Println(r.Kind, r.Meta.SchemaHash)
		} else {
			fmt.Println(r.Kind, r.Version, string(r.Payload.Data))
		}
	}
	err := restarted.Append(ctx, "other", store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[]`)}, "x:1"))
	fmt.Println(err)
	// Output:
	// meta 02abc
	// entry kyneta.genesis:0 {"items":[]}
	// store: entry-before-meta: doc 'other': first record must be meta, got entry
}

// A write whose result was lost is retried with the same base: it either
// lands once or reports that the first attempt already landed.
func ExampleMemory_AppendAfter() {
	ctx := context.Background()
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	meta := store.Meta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: "02abc"}
	entry := func(v string) store.Record {
		return store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[]`)}, v)
	}
	_ = s.Replace(ctx, "todo", []store.Record{store.MetaRecord(meta), entry("L:1")})

	confirmed := "L:1"
	batch := []store.Record{entry("L:2")}
	_ = s.AppendAfter(ctx, "todo", confirmed, batch) // landed, but say the caller saw an error
	err := s.AppendAfter(ctx, "todo", confirmed, batch)
	var he *store.HeadError
	if errors.As(err, &he) {
		confirmed = he.Head.Version
	}
	head, _ := s.Head(ctx, "todo")
	recs, _ := s.LoadAll(ctx, "todo")
	fmt.Println(confirmed, head.Version, len(recs))
	// Output: L:2 L:2 3
}
