package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/postgres"
	"github.com/kyneta-go/kyneta/wire"
)

func Example() {
	ctx := context.Background()
	// A schema of its own keeps the example's tables apart.
	pool, schema, done, err := exampleDatabase(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

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

// Two exchanges (two nodes, or two in one process) keep one state
// document in the same tables, each through its own Store made Shared.
// Neither sees the other's writes, yet the stream keeps both.
func ExampleStore_Shared() {
	ctx := context.Background()
	// A schema of its own keeps the example's tables apart.
	pool, schema, done, err := exampleDatabase(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// The replica types of the documents kept: the exchange's built-ins.
	bound := []replica.Bound{
		{Factory: replica.NewPlainFactory(replica.PlainOptions{}), Mode: wire.Authoritative},
		{Factory: replica.NewLWWFactory(replica.LWWOptions{}), Mode: wire.Ephemeral},
		{Factory: replica.NewStateFactory(replica.StateOptions{}), Mode: wire.Ephemeral},
	}
	node := func(id string) *exchange.Exchange {
		s, err := postgres.New(ctx, pool, postgres.Options{Tables: postgres.Tables{Schema: schema}})
		if err != nil {
			panic(err)
		}
		ex, err := exchange.New(exchange.Options{PeerID: id, Stores: []store.Store{s.Shared(bound...)}})
		if err != nil {
			panic(err)
		}
		return ex
	}
	write := func(ex *exchange.Exchange, key string) {
		d, _ := ex.Get("settings", exchange.StateDoc(""))
		_ = ex.Flush(ctx) // loaded from the store
		_ = d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P(key), true); return nil })
		_ = ex.Flush(ctx) // stored
	}
	n1, n2 := node("n1"), node("n2")
	write(n1, "dark")
	write(n2, "compact")
	write(n1, "beta")

	// A node started later loads every write.
	n3 := node("n3")
	d, _ := n3.Get("settings", exchange.StateDoc(""))
	_ = n3.Flush(ctx)
	var settings map[string]bool
	out, _ := d.JSON()
	_ = json.Unmarshal(out, &settings)
	fmt.Println(settings)
	for _, ex := range []*exchange.Exchange{n1, n2, n3} {
		_ = ex.Shutdown(ctx)
	}
	// Output: map[beta:true compact:true dark:true]
}

// exampleDatabase connects to the test database (KYNETA_TEST_POSTGRES, or
// the local default) and makes a fresh schema; done drops the schema and
// closes the pool.
func exampleDatabase(ctx context.Context) (pool *pgxpool.Pool, schema string, done func(), err error) {
	dsn := os.Getenv("KYNETA_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	if pool, err = pgxpool.New(ctx, dsn); err != nil {
		return nil, "", nil, err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema = "kyneta_example_" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		pool.Close()
		return nil, "", nil, err
	}
	return pool, schema, func() {
		_, _ = pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		pool.Close()
	}, nil
}
