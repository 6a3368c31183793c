package exchange

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/wire"
)

// Which doc types and factories hold a document, and what to do with a
// document a peer announced that we do not hold (§6.3): whether a
// registered doc type matches, what the resolve policies answered, and
// whether a factory can hold it.

type classAction uint8

const (
	classInterpret classAction = iota + 1 // interpret with the matched or resolved doc type
	classReplicate                        // hold it headless with the factory for its type
	classDefer                            // remember it without data
	classVacant                           // answer vacant
)

// classFacts are the inputs of the decision.
type classFacts struct {
	matched    bool           // a registered DocType matches (type, mode, hash)
	resolution resolutionKind // the resolve policies' answer (when nothing matched)
	typeUsable bool           // Interpret's doc type passed validation
	hasFactory bool           // a replica factory handles the announced type and mode
	supported  bool           // some factory or doc type knows the replica type at all
}

// classifyDoc decides; why explains a vacant that a diagnostic should
// report ("" when the vacant is the policy's own choice or the default).
func classifyDoc(f classFacts) (act classAction, why string) {
	if f.matched {
		return classInterpret, ""
	}
	switch f.resolution {
	case resolveInterpret:
		if !f.typeUsable {
			return classVacant, "resolve answered Interpret with an unusable doc type"
		}
		return classInterpret, ""
	case resolveReplicate:
		if !f.hasFactory {
			return classVacant, "resolve answered Replicate but no factory handles the doc's type and mode"
		}
		return classReplicate, ""
	case resolveDefer:
		return classDefer, ""
	case resolveReject:
		return classVacant, ""
	}
	// No answer: defer what we could hold later, refuse the rest.
	if f.supported {
		return classDefer, ""
	}
	return classVacant, ""
}

// classification is what a document a peer announced becomes, with the
// doc type or factory that holds it.
type classification struct {
	act     classAction
	docType DocType         // classInterpret
	factory replica.Factory // classReplicate
	why     string          // see classifyDoc
	typeErr error           // why a resolved doc type was unusable
}

// classifyAnnounced gathers the facts for classifyDoc from the registered
// doc types and factories; res is the resolve policies' answer, asked only
// when no doc type matched (nil otherwise).
func classifyAnnounced(m DocMeta, types []DocType, bound []replica.Bound, b builtinFactories, res *Resolution) classification {
	matched, ok := matchDocType(types, m)
	facts := classFacts{matched: ok}
	var c classification
	if !ok && res != nil {
		facts.resolution = res.kind
		c.docType = res.docType
	}
	if facts.resolution == resolveInterpret {
		c.typeErr = normalizeDocType(&c.docType, b)
		facts.typeUsable = c.typeErr == nil
	}
	c.factory = factoryFor(bound, m)
	facts.hasFactory = c.factory != nil
	facts.supported = supports(bound, types, m.ReplicaType)
	c.act, c.why = classifyDoc(facts)
	if ok {
		c.docType = matched
	}
	return c
}

// builtinFactories fill the blanks of a doc type: the exchange's own
// plain, LWW and state factories.
type builtinFactories struct{ plain, lww, state replica.Factory }

// normalizeDocType fills t's defaults (mode, built-in factory) and
// validates it.
func normalizeDocType(t *DocType, b builtinFactories) error {
	if t.Mode == (wire.SyncMode{}) {
		t.Mode = wire.Authoritative
	}
	if t.Mode != wire.Authoritative && t.Mode != wire.Collaborative && t.Mode != wire.Ephemeral {
		return newError(reasonInvalidDocType, "", fmt.Sprintf("sync mode %s is not one of the wire's three modes", modeString(t.Mode)), nil)
	}
	if len(t.SchemaHash) > maxSchemaHashBytes {
		return newError(reasonInvalidSchemaHash, "", fmt.Sprintf("schema hash longer than %d bytes", maxSchemaHashBytes), nil)
	}
	for _, h := range t.SupportedHashes {
		if len(h) > maxSchemaHashBytes {
			return newError(reasonInvalidSchemaHash, "", fmt.Sprintf("supported hash longer than %d bytes", maxSchemaHashBytes), nil)
		}
	}
	if _, ok := t.Factory.(stateMarker); ok {
		t.Factory = b.state
	}
	if t.Factory == nil {
		switch t.Mode {
		case wire.Authoritative:
			t.Factory = b.plain
		case wire.Ephemeral:
			t.Factory = b.lww
		default:
			return newError(reasonInvalidDocType, "", "a collaborative doc type needs a Factory", nil)
		}
	}
	return nil
}

// meta is what a present says about documents of type t.
func (t DocType) meta() DocMeta {
	m := DocMeta{ReplicaType: t.Factory.Type(), SyncMode: t.Mode, SchemaHash: t.SchemaHash}
	if len(t.SupportedHashes) > 0 {
		m.SupportedHashes = slices.Clone(t.SupportedHashes)
		if !slices.Contains(m.SupportedHashes, t.SchemaHash) {
			m.SupportedHashes = append([]string{t.SchemaHash}, m.SupportedHashes...)
		}
	}
	return m
}

// sameDocType decides whether a second Get names the same doc type.
func sameDocType(a, b DocType) (same bool) {
	defer func() {
		if recover() != nil {
			same = false // non-comparable factory values
		}
	}()
	return a.Name == b.Name && a.Mode == b.Mode && a.SchemaHash == b.SchemaHash && (a.Schema == nil) == (b.Schema == nil) &&
		slices.Equal(a.SupportedHashes, b.SupportedHashes) && any(a.Factory) == any(b.Factory)
}

// defaultsValue turns a doc type's Defaults into a replica value.
func defaultsValue(v any) (any, error) {
	var data []byte
	switch d := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		data = d
	case []byte:
		data = d
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		data = b
	}
	return replica.ParseValue(data)
}

// matchDocType finds the registered doc type that interprets a document
// announced with m: same replica type and mode, and m's schema hash as its
// own or, failing that, as one it supports.
func matchDocType(types []DocType, m DocMeta) (DocType, bool) {
	fits := func(t DocType) bool {
		return replica.Compatible(t.Factory.Type(), m.ReplicaType) && t.Mode == m.SyncMode
	}
	for _, t := range types {
		if fits(t) && t.SchemaHash == m.SchemaHash {
			return t, true
		}
	}
	for _, t := range types {
		if fits(t) && slices.Contains(t.SupportedHashes, m.SchemaHash) {
			return t, true
		}
	}
	return DocType{}, false
}

// factoryFor finds the replica factory that holds a document announced
// with m headless.
func factoryFor(bound []replica.Bound, m DocMeta) replica.Factory {
	for _, b := range bound {
		if replica.Compatible(b.Factory.Type(), m.ReplicaType) && b.Mode == m.SyncMode {
			return b.Factory
		}
	}
	return nil
}

// supports reports whether some factory or doc type knows replica type rt
// at all (a document of it could be held later).
func supports(bound []replica.Bound, types []DocType, rt wire.ReplicaType) bool {
	for _, b := range bound {
		if replica.Compatible(b.Factory.Type(), rt) {
			return true
		}
	}
	for _, t := range types {
		if replica.Compatible(t.Factory.Type(), rt) {
			return true
		}
	}
	return false
}

// bidirectional reports whether both sides of a doc push to each other
// (concurrent writers with deltas); it drives interest.reciprocate.
func bidirectional(m wire.SyncMode) bool {
	return m.WriterModel == wirecore.Concurrent && m.Delivery == wirecore.DeltaCapable
}

// hashes returns the set of schema hashes a doc accepts.
func (m DocMeta) hashes() []string {
	if len(m.SupportedHashes) > 0 {
		return m.SupportedHashes
	}
	return []string{m.SchemaHash}
}
