package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/postgres"
	"github.com/kyneta-go/kyneta/wire"
)

func Example() {
	ctx := context.Background()
	dsn := os.Getenv("KYNETA_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	// A schema of its own keeps the example's tables apart.
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "kyneta_example_" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")

	opts := postgres.Options{Tables: postgres.Tables{Schema: schema}}
	s, err := postgres.New(ctx, pool, opts)
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

	// Another node (here: another store on the same tables) reads it.
	other, err := postgres.New(ctx, pool, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer other.Close()
	recs, _ := other.LoadAll(ctx, "config")
	fmt.Println(len(recs), recs[1].Version, string(recs[1].Payload.Data))
	// Output: 2 L:1 {"debug":true}
}
