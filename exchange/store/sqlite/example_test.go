package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/sqlite"
	"github.com/kyneta-go/kyneta/wire"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "kyneta-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sqlite.Open(ctx, filepath.Join(dir, "kyneta.db"), sqlite.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	meta := store.Meta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: "02example"}
	_ = s.Append(ctx, "config", store.MetaRecord(meta))
	_ = s.Append(ctx, "config", store.EntryRecord(replica.Payload{
		Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"debug":true}`),
	}, "L:1"))
	s.Close()

	// Reopen: the data survived.
	s, _ = sqlite.Open(ctx, filepath.Join(dir, "kyneta.db"), sqlite.Options{})
	defer s.Close()
	recs, _ := s.LoadAll(ctx, "config")
	fmt.Println(len(recs), recs[1].Version, string(recs[1].Payload.Data))
	// Output: 2 L:1 {"debug":true}
}
