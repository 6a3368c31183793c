package sqlrow_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/internal/sqlrow"
	"github.com/kyneta-go/kyneta/wire"
)

func Example() {
	rec := store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: []byte{1, 2}}, "v2")
	r, _ := sqlrow.FromRecord(rec)
	fmt.Println(r.Kind, r.Payload, r.Blob)
	back, _ := r.Record()
	fmt.Println(back.Version, back.Payload.Data)
	// Output:
	// entry {"kind":"since","encoding":"binary","version":"v2"} [1 2]
	// v2 [1 2]
}
