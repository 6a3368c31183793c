package storekit

import (
	"bytes"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// PlainMeta is the meta record the suite writes.
var PlainMeta = store.Meta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: "00test"}

// MetaRecord returns PlainMeta with the schema hash replaced when hash is
// not "".
func MetaRecord(hash string) store.Record {
	m := PlainMeta
	if hash != "" {
		m.SchemaHash = hash
	}
	return store.MetaRecord(m)
}

// EntryRecord returns a JSON entry whose data names its version.
func EntryRecord(kind wire.PayloadKind, version string) store.Record {
	return store.EntryRecord(replica.Payload{Kind: kind, Encoding: wire.JSON, Data: []byte(`{"v":"` + version + `"}`)}, version)
}

// BinaryRecord returns a binary entry.
func BinaryRecord(kind wire.PayloadKind, version string, data []byte) store.Record {
	return store.EntryRecord(replica.Payload{Kind: kind, Encoding: wire.Binary, Data: data}, version)
}

// EqualRecords reports whether two records are the same, payload bytes
// compared by content.
func EqualRecords(a, b store.Record) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == store.KindMeta {
		return a.Meta == b.Meta
	}
	return a.Version == b.Version && a.Payload.Kind == b.Payload.Kind &&
		a.Payload.Encoding == b.Payload.Encoding && a.Payload.Lineage == b.Payload.Lineage &&
		bytes.Equal(a.Payload.Data, b.Payload.Data)
}
