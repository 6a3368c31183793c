package exchange

import (
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/wire"
)

func TestClassifyDocTable(t *testing.T) {
	rows := []struct {
		name string
		f    classFacts
		want classAction
		diag bool
	}{
		{"a registered type matches", classFacts{matched: true, resolution: resolveReject}, classInterpret, false},
		{"resolve: interpret", classFacts{resolution: resolveInterpret, typeUsable: true}, classInterpret, false},
		{"resolve: interpret an unusable type", classFacts{resolution: resolveInterpret}, classVacant, true},
		{"resolve: replicate", classFacts{resolution: resolveReplicate, hasFactory: true}, classReplicate, false},
		{"resolve: replicate without a factory", classFacts{resolution: resolveReplicate}, classVacant, true},
		{"resolve: defer", classFacts{resolution: resolveDefer}, classDefer, false},
		{"resolve: reject", classFacts{resolution: resolveReject, supported: true}, classVacant, false},
		{"no answer, supported type: defer", classFacts{supported: true}, classDefer, false},
		{"no answer, unsupported type: vacant", classFacts{}, classVacant, false},
	}
	for _, r := range rows {
		act, why := classifyDoc(r.f)
		if act != r.want || (why != "") != r.diag {
			t.Errorf("%s: got %d %q, want %d (diagnostic %v)", r.name, act, why, r.want, r.diag)
		}
	}
}

// TestClassifyAnnouncedTable: the facts gathered from the registered doc
// types and factories, and what each announcement becomes.
func TestClassifyAnnouncedTable(t *testing.T) {
	b := builtinFactories{
		plain: replica.NewPlainFactory(replica.PlainOptions{}),
		lww:   replica.NewLWWFactory(replica.LWWOptions{}),
		state: replica.NewStateFactory(replica.StateOptions{}),
	}
	loro := replica.NewOpaqueFactory(wire.ReplicaType{Name: "loro", Major: 1}, replica.OpaqueOptions{})
	todo := DocType{Name: "todo", Factory: b.plain, Mode: wire.Authoritative, SchemaHash: "h1", SupportedHashes: []string{"h0"}}
	types := []DocType{todo}
	bound := []replica.Bound{{Factory: b.plain, Mode: wire.Authoritative}}
	plainMeta := func(hash string) DocMeta {
		return DocMeta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: hash}
	}
	loroMeta := DocMeta{ReplicaType: loro.Type(), SyncMode: wire.Collaborative}
	interpret := func(t DocType) *Resolution { r := Interpret(t); return &r }
	resolved := func(r Resolution) *Resolution { return &r }
	rows := []struct {
		name     string
		meta     DocMeta
		bound    []replica.Bound
		res      *Resolution
		want     classAction
		wantType string          // classInterpret: the doc type's name
		factory  replica.Factory // classReplicate
		diag     bool
	}{
		{"own hash matches", plainMeta("h1"), bound, nil, classInterpret, "todo", nil, false},
		{"supported hash matches", plainMeta("h0"), bound, nil, classInterpret, "todo", nil, false},
		{"other hash, no answer: defer", plainMeta("h9"), bound, resolved(Resolution{}), classDefer, "", nil, false},
		{"other hash, resolve interprets", plainMeta("h9"), bound, interpret(DocType{Name: "any"}), classInterpret, "any", nil, false},
		{"resolve interprets a collaborative type without a factory", plainMeta("h9"), bound, interpret(DocType{Name: "bad", Mode: wire.Collaborative}), classVacant, "", nil, true},
		{"resolve replicates", plainMeta("h9"), bound, resolved(Replicate()), classReplicate, "", b.plain, false},
		{"resolve replicates an unknown type", loroMeta, bound, resolved(Replicate()), classVacant, "", nil, true},
		{"resolve replicates with a bound factory", loroMeta, []replica.Bound{{Factory: loro, Mode: wire.Collaborative}}, resolved(Replicate()), classReplicate, "", loro, false},
		{"unknown type, no answer: vacant", loroMeta, bound, resolved(Resolution{}), classVacant, "", nil, false},
		{"resolve rejects", plainMeta("h9"), bound, resolved(Reject()), classVacant, "", nil, false},
	}
	for _, r := range rows {
		c := classifyAnnounced(r.meta, types, r.bound, b, r.res)
		if c.act != r.want || (c.why != "") != r.diag {
			t.Errorf("%s: got %d %q, want %d (diagnostic %v)", r.name, c.act, c.why, r.want, r.diag)
			continue
		}
		if r.want == classInterpret && c.docType.Name != r.wantType {
			t.Errorf("%s: interprets as %q, want %q", r.name, c.docType.Name, r.wantType)
		}
		if r.want == classInterpret && c.docType.Factory == nil {
			t.Errorf("%s: interpreted doc type has no factory", r.name)
		}
		if r.want == classReplicate && c.factory != r.factory {
			t.Errorf("%s: factory %v, want %v", r.name, c.factory, r.factory)
		}
	}
}

// TestNormalizeDocTypeTable: the blanks a doc type gets filled and the
// types refused.
func TestNormalizeDocTypeTable(t *testing.T) {
	b := builtinFactories{
		plain: replica.NewPlainFactory(replica.PlainOptions{}),
		lww:   replica.NewLWWFactory(replica.LWWOptions{}),
		state: replica.NewStateFactory(replica.StateOptions{}),
	}
	long := strings.Repeat("h", maxSchemaHashBytes+1)
	rows := []struct {
		name    string
		in      DocType
		code    string
		factory replica.Factory
		mode    wire.SyncMode
	}{
		{"zero: authoritative plain", DocType{}, "", b.plain, wire.Authoritative},
		{"ephemeral: LWW", DocType{Mode: wire.Ephemeral}, "", b.lww, wire.Ephemeral},
		{"state marker: the exchange's state factory", StateDoc("h"), "", b.state, wire.Ephemeral},
		{"collaborative needs a factory", DocType{Mode: wire.Collaborative}, reasonInvalidDocType, nil, wire.Collaborative},
		{"a mode the wire lacks", DocType{Mode: wire.SyncMode{WriterModel: wirecore.Concurrent}}, reasonInvalidDocType, nil, wire.SyncMode{}},
		{"schema hash too long", DocType{SchemaHash: long}, reasonInvalidSchemaHash, nil, wire.Authoritative},
		{"supported hash too long", DocType{SupportedHashes: []string{long}}, reasonInvalidSchemaHash, nil, wire.Authoritative},
	}
	for _, r := range rows {
		got := r.in
		err := normalizeDocType(&got, b)
		if kyneta.ReasonOf(err) != r.code {
			t.Errorf("%s: error %v, want code %q", r.name, err, r.code)
			continue
		}
		if err == nil && (got.Factory != r.factory || got.Mode != r.mode) {
			t.Errorf("%s: factory %T mode %v", r.name, got.Factory, got.Mode)
		}
	}
}
