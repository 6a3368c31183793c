package sqlrow

import (
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

func TestRoundTripAndRefusals(t *testing.T) {
	recs := []store.Record{
		store.MetaRecord(store.Meta{SchemaHash: "h"}),
		store.EntryRecord(replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{"x":"<&>"}`), Lineage: "L"}, "L:1"),
		store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.Binary}, "v2"),
	}
	for _, rec := range recs {
		r, err := FromRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := r.Record()
		if err != nil || back.Kind != rec.Kind || back.Version != rec.Version || string(back.Payload.Data) != string(rec.Payload.Data) || back.Payload.Lineage != rec.Payload.Lineage {
			t.Fatalf("%+v -> %+v -> %+v, %v", rec, r, back, err)
		}
	}
	bad := store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte{0xff}}, "v")
	if _, err := FromRecord(bad); kyneta.ReasonOf(err) != storeerr.InvalidRecord || kyneta.CodeOf(err) != kyneta.CodeInvalidArgument {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	for _, r := range []Row{
		{Kind: "entry", Payload: `{"kind":"since","encoding":"json","version":"v"}`},
		{Kind: "entry", Payload: `{"kind":"other","encoding":"json","version":"v","data":"1"}`},
		{Kind: "entry", Payload: `{not json`},
		{Kind: "nope"},
	} {
		if _, err := r.Record(); err == nil {
			t.Errorf("%+v decoded", r)
		}
	}
	if v, err := EntryVersion(`{"kind":"since","encoding":"binary","version":"v9"}`); err != nil || v != "v9" {
		t.Fatalf("EntryVersion = %q, %v", v, err)
	}
}
