package store_test

import (
	"encoding/json"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

var pmeta = store.Meta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: "h"}

func TestMetaJSONMatchesReference(t *testing.T) {
	b, err := json.Marshal(pmeta)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"replicaType":["plain",1,0],"syncMode":{"writerModel":"serialized","delivery":"delta-capable","durability":"persistent"},"schemaHash":"h"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var m store.Meta
	if err := json.Unmarshal([]byte(want), &m); err != nil || m != pmeta {
		t.Fatalf("decode = %+v, %v", m, err)
	}
	for _, bad := range []string{`{"replicaType":["plain",1]}`, `{"replicaType":[1,1,0]}`, `{"replicaType":["p","1",0]}`, `{"replicaType":["p",1,0.5]}`, `[]`, `{`} {
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

func FuzzMetaJSON(f *testing.F) {
	f.Add([]byte(`{"replicaType":["plain",1,0],"syncMode":{"writerModel":"serialized","delivery":"delta-capable","durability":"persistent"},"schemaHash":"h"}`))
	f.Add([]byte(`{"replicaType":["loro",1,2],"syncMode":{},"schemaHash":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m store.Meta
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var again store.Meta
		if err := json.Unmarshal(b, &again); err != nil || again != m {
			t.Fatalf("round trip %s -> %+v, %v", b, again, err)
		}
	})
}
