package store_test

import (
	"context"
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
	// store: entry-before-meta (doc 'other'): first record must be meta, got entry
}
