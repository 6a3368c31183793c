package wirecore

import (
	"math"
)

// wireMessage is a message in the compact wire form: short keys, integer
// enums, and document/schema aliases instead of full identifiers where the
// alias transformer chose them. It is one of [*wireEstablish],
// [*wireDepart], [*wirePresent], [*wireInterest], [*wireOffer],
// [*wireDismiss], [*wireVacant] or [*wireUnknown].
//
// Fields the reference validates only as "a number" (aliases and replica
// versions) are float64, the JavaScript number type: a peer may send 1.5 or
// -1 there and the reference accepts it. Optional fields are pointers (nil
// means absent); CBOR undefined decodes as absent.
type wireMessage interface {
	// WireType is the message's "t" discriminator.
	WireType() MsgType
	isWireMessage()
}

// wireEstablish is establish (t=1): keys id, n, y, f{a,s,d}, pv.
type wireEstablish struct {
	PeerID          string           // "id"
	Name            *string          // "n"
	PeerType        PeerType         // "y": user, bot or service
	Features        *Features        // "f": nil when absent; all-nil fields encode as {}
	ProtocolVersion *ProtocolVersion // "pv": nil when absent, which means (1, 0)
}

// wireDepart is depart (t=2); it has no fields.
type wireDepart struct{}

// wirePresent is present (t=16).
type wirePresent struct {
	Docs []wireDocEntry // "docs"
}

// wireDocEntry is one document of a present message. The reference writes
// its keys in the order d, a, rt, ms, sh, sa, shx, shs.
type wireDocEntry struct {
	DocID           string          // "d"
	Alias           *float64        // "a": doc alias announced by the sender
	ReplicaType     wireReplicaType // "rt"
	SyncMode        wireSyncMode    // "ms"
	SchemaHash      *string         // "sh": full schema hash
	SchemaAlias     *float64        // "sa": schema alias announced with sh
	SchemaAliasRef  *float64        // "shx": schema named by a previously announced alias
	SupportedHashes []string        // "shs": nil when absent
}

// wireReplicaType is the "rt" tuple [name, major, minor].
type wireReplicaType struct {
	Name  string
	Major float64
	Minor float64
}

// wireDocRef names a document either by id ("doc") or by an alias the
// receiver announced earlier ("dx"). A valid message sets exactly one.
type wireDocRef struct {
	Doc *string  // "doc"
	DX  *float64 // "dx"
}

// docByID returns a reference by full document id.
func docByID(id string) wireDocRef { return wireDocRef{Doc: &id} }

// docByAlias returns a reference by document alias.
func docByAlias(alias float64) wireDocRef { return wireDocRef{DX: &alias} }

// wireInterest is interest (t=17): keys doc|dx, v, r.
type wireInterest struct {
	wireDocRef
	Version     *string // "v"
	Reciprocate *bool   // "r"
}

// wireOffer is offer (t=18): keys pk, pe, d, v, doc|dx, r, ln.
type wireOffer struct {
	Kind     wirePayloadKind     // "pk"
	Encoding wirePayloadEncoding // "pe"
	// Data is "d". The reference carries it as a text string for JSON
	// payloads and a byte string for binary ones, but never checks that the
	// two agree, so the form is kept separately in DataIsText.
	Data       []byte
	DataIsText bool
	Version    string // "v"
	wireDocRef
	Reciprocate *bool   // "r"
	Lineage     *string // "ln"
}

// wireDismiss is dismiss (t=19): key doc|dx.
type wireDismiss struct{ wireDocRef }

// wireVacant is vacant (t=20): key doc|dx.
type wireVacant struct{ wireDocRef }

// wireUnknown is a wire object whose "t" is not one of the seven message
// types. The decoders never return it (validation rejects unknown types);
// it exists so that every input of the reference's alias transformer can be
// represented, and aliasInbound rejects it with unknown-message-type.
type wireUnknown struct{ T MsgType }

// wireSyncMode is the "ms" enum.
type wireSyncMode uint8

// Sync modes on the wire.
const (
	wireCollaborative wireSyncMode = 0
	wireAuthoritative wireSyncMode = 1
	wireEphemeral     wireSyncMode = 2
)

// wirePayloadKind is the "pk" enum.
type wirePayloadKind uint8

// Payload kinds on the wire.
const (
	wireEntirety wirePayloadKind = 0
	wireSince    wirePayloadKind = 1
)

// wirePayloadEncoding is the "pe" enum.
type wirePayloadEncoding uint8

// Payload encodings on the wire.
const (
	wireJSON   wirePayloadEncoding = 0
	wireBinary wirePayloadEncoding = 1
)

func (*wireEstablish) WireType() MsgType { return TypeEstablish }
func (*wireDepart) WireType() MsgType    { return TypeDepart }
func (*wirePresent) WireType() MsgType   { return TypePresent }
func (*wireInterest) WireType() MsgType  { return TypeInterest }
func (*wireOffer) WireType() MsgType     { return TypeOffer }
func (*wireDismiss) WireType() MsgType   { return TypeDismiss }
func (*wireVacant) WireType() MsgType    { return TypeVacant }
func (m *wireUnknown) WireType() MsgType { return m.T }

func (*wireEstablish) isWireMessage() {}
func (*wireDepart) isWireMessage()    {}
func (*wirePresent) isWireMessage()   {}
func (*wireInterest) isWireMessage()  {}
func (*wireOffer) isWireMessage()     {}
func (*wireDismiss) isWireMessage()   {}
func (*wireVacant) isWireMessage()    {}
func (*wireUnknown) isWireMessage()   {}

// errNilMessage is returned when a nil message is encoded.
var errNilMessage = newError(reasonNilMessage, "", nil)

// encodeMessage encodes m as the CBOR map the reference writes: keys in the
// reference's order, absent fields omitted, numbers as in encodeValue
// (safe integers as the shortest integer, other numbers as float32 when
// exact, else float64). It only fails for a nil message.
func encodeMessage(m wireMessage) ([]byte, error) {
	if o, ok := m.(*wireOffer); ok && o != nil {
		if b, ok := appendOffer(0, o); ok {
			return b, nil
		}
	}
	if o, ok := m.(*wireOffer); ok && o != nil && o.DataIsText {
		// The text payload goes into the CBOR buffer straight from its
		// bytes, without a string copy of a possibly large payload.
		return encodeValue(offerValue(o, textBytes(o.Data)))
	}
	v, err := messageValue(m)
	if err != nil {
		return nil, err
	}
	return encodeValue(v)
}

// messageFromValue validates a decoded value and converts it.
func messageFromValue(v any) (wireMessage, error) {
	if verr := validateWireValue(v); verr != nil {
		return nil, verr
	}
	m, err := wireFromValue(v)
	if err != nil {
		// Unreachable: validation accepted the value.
		return nil, &ValidationError{Reason: err.Error()}
	}
	return m, nil
}

// messageValue returns the compact object the reference serialises for m,
// as an orderedMap in the value model: the single source of both the CBOR
// and the text encoding.
func messageValue(m wireMessage) (orderedMap, error) {
	switch m := m.(type) {
	case *wireEstablish:
		if m == nil {
			break
		}
		out := make(orderedMap, 0, 6)
		out = append(out, mapEntry{"t", int64(TypeEstablish)}, mapEntry{"id", m.PeerID})
		if m.Name != nil {
			out = append(out, mapEntry{"n", *m.Name})
		}
		out = append(out, mapEntry{"y", string(m.PeerType)})
		if f := m.Features; f != nil {
			fm := make(orderedMap, 0, 3)
			if f.Alias != nil {
				fm = append(fm, mapEntry{"a", *f.Alias})
			}
			if f.Streamed != nil {
				fm = append(fm, mapEntry{"s", *f.Streamed})
			}
			if f.Datagram != nil {
				fm = append(fm, mapEntry{"d", *f.Datagram})
			}
			out = append(out, mapEntry{"f", fm})
		}
		if pv := m.ProtocolVersion; pv != nil {
			out = append(out, mapEntry{"pv", []any{pv.Major, pv.Minor}})
		}
		return out, nil
	case *wireDepart:
		if m == nil {
			break
		}
		return orderedMap{{"t", int64(TypeDepart)}}, nil
	case *wirePresent:
		if m == nil {
			break
		}
		docs := make([]any, len(m.Docs))
		for i := range m.Docs {
			docs[i] = docEntryValue(&m.Docs[i])
		}
		return orderedMap{{"t", int64(TypePresent)}, {"docs", docs}}, nil
	case *wireInterest:
		if m == nil {
			break
		}
		out := make(orderedMap, 0, 5)
		out = append(out, mapEntry{"t", int64(TypeInterest)})
		out = m.wireDocRef.appendTo(out)
		if m.Version != nil {
			out = append(out, mapEntry{"v", *m.Version})
		}
		if m.Reciprocate != nil {
			out = append(out, mapEntry{"r", *m.Reciprocate})
		}
		return out, nil
	case *wireOffer:
		if m == nil {
			break
		}
		var d any = m.Data
		if m.DataIsText {
			d = string(m.Data)
		} else if m.Data == nil {
			d = []byte{}
		}
		return offerValue(m, d), nil
	case *wireDismiss:
		if m == nil {
			break
		}
		return m.wireDocRef.appendTo(orderedMap{{"t", int64(TypeDismiss)}}), nil
	case *wireVacant:
		if m == nil {
			break
		}
		return m.wireDocRef.appendTo(orderedMap{{"t", int64(TypeVacant)}}), nil
	case *wireUnknown:
		if m == nil {
			break
		}
		return orderedMap{{"t", int64(m.T)}}, nil
	}
	return nil, errNilMessage
}

func (r wireDocRef) appendTo(out orderedMap) orderedMap {
	if r.Doc != nil {
		out = append(out, mapEntry{"doc", *r.Doc})
	}
	if r.DX != nil {
		out = append(out, mapEntry{"dx", jsNumber(*r.DX)})
	}
	return out
}

func docEntryValue(e *wireDocEntry) orderedMap {
	out := make(orderedMap, 0, 8)
	out = append(out, mapEntry{"d", e.DocID})
	if e.Alias != nil {
		out = append(out, mapEntry{"a", jsNumber(*e.Alias)})
	}
	out = append(out,
		mapEntry{"rt", []any{e.ReplicaType.Name, jsNumber(e.ReplicaType.Major), jsNumber(e.ReplicaType.Minor)}},
		mapEntry{"ms", int64(e.SyncMode)})
	if e.SchemaHash != nil {
		out = append(out, mapEntry{"sh", *e.SchemaHash})
	}
	if e.SchemaAlias != nil {
		out = append(out, mapEntry{"sa", jsNumber(*e.SchemaAlias)})
	}
	if e.SchemaAliasRef != nil {
		out = append(out, mapEntry{"shx", jsNumber(*e.SchemaAliasRef)})
	}
	if e.SupportedHashes != nil {
		shs := make([]any, len(e.SupportedHashes))
		for i, h := range e.SupportedHashes {
			shs[i] = h
		}
		out = append(out, mapEntry{"shs", shs})
	}
	return out
}

// field returns m[key], with a missing key and an undefined value both
// reported as absent, as the reference's "!== undefined" checks see them.
func field(m orderedMap, key string) (any, bool) {
	v, ok := m.Get(key)
	if !ok {
		return nil, false
	}
	if _, undef := v.(jsUndefined); undef {
		return nil, false
	}
	return v, true
}

// errShape is returned by wireFromValue for a value it cannot represent.
type errShape string

func (e errShape) Error() string { return "wire: cannot represent message: " + string(e) }

// wireFromValue converts a message object to a wireMessage without the
// reference's validation: it only requires each present field to have a
// type the Go struct can hold. decodeMessage validates first; the alias
// vectors feed it objects the decoder would reject (t=99, ms=7).
func wireFromValue(v any) (wireMessage, error) {
	m, ok := v.(orderedMap)
	if !ok {
		return nil, errShape("not an object")
	}
	tv, _ := field(m, "t")
	t, ok := smallUint(tv)
	if !ok {
		return nil, errShape("t")
	}
	switch MsgType(t) {
	case TypeEstablish:
		out := &wireEstablish{}
		var err error
		if out.PeerID, err = reqString(m, "id"); err != nil {
			return nil, err
		}
		if out.Name, err = optString(m, "n"); err != nil {
			return nil, err
		}
		y, err := reqString(m, "y")
		if err != nil {
			return nil, err
		}
		out.PeerType = PeerType(y)
		if fv, ok := field(m, "f"); ok {
			fm, ok := fv.(orderedMap)
			if !ok {
				return nil, errShape("f")
			}
			f := &Features{}
			for _, k := range [...]struct {
				key string
				dst **bool
			}{{"a", &f.Alias}, {"s", &f.Streamed}, {"d", &f.Datagram}} {
				if bv, ok := field(fm, k.key); ok {
					b, ok := bv.(bool)
					if !ok {
						return nil, errShape("f." + k.key)
					}
					*k.dst = &b
				}
			}
			out.Features = f
		}
		if pvv, ok := field(m, "pv"); ok {
			arr, ok := pvv.([]any)
			if !ok || len(arr) != 2 {
				return nil, errShape("pv")
			}
			major, ok1 := safeInt(arr[0])
			minor, ok2 := safeInt(arr[1])
			if !ok1 || !ok2 {
				return nil, errShape("pv")
			}
			out.ProtocolVersion = &ProtocolVersion{Major: major, Minor: minor}
		}
		return out, nil
	case TypeDepart:
		return &wireDepart{}, nil
	case TypePresent:
		dv, _ := field(m, "docs")
		arr, ok := dv.([]any)
		if !ok {
			return nil, errShape("docs")
		}
		out := &wirePresent{Docs: make([]wireDocEntry, len(arr))}
		for i, ev := range arr {
			if err := docEntryFromValue(ev, &out.Docs[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case TypeInterest:
		out := &wireInterest{}
		var err error
		if out.wireDocRef, err = docRefFromValue(m); err != nil {
			return nil, err
		}
		if out.Version, err = optString(m, "v"); err != nil {
			return nil, err
		}
		if out.Reciprocate, err = optBool(m, "r"); err != nil {
			return nil, err
		}
		return out, nil
	case TypeOffer:
		out := &wireOffer{}
		var err error
		pk, ok1 := smallUintField(m, "pk")
		pe, ok2 := smallUintField(m, "pe")
		if !ok1 || !ok2 {
			return nil, errShape("pk/pe")
		}
		out.Kind, out.Encoding = wirePayloadKind(pk), wirePayloadEncoding(pe)
		switch d, _ := field(m, "d"); d := d.(type) {
		case string:
			out.Data, out.DataIsText = []byte(d), true
		case []byte:
			out.Data = d
		default:
			return nil, errShape("d")
		}
		if out.Version, err = reqString(m, "v"); err != nil {
			return nil, err
		}
		if out.wireDocRef, err = docRefFromValue(m); err != nil {
			return nil, err
		}
		if out.Reciprocate, err = optBool(m, "r"); err != nil {
			return nil, err
		}
		if out.Lineage, err = optString(m, "ln"); err != nil {
			return nil, err
		}
		return out, nil
	case TypeDismiss:
		ref, err := docRefFromValue(m)
		if err != nil {
			return nil, err
		}
		return &wireDismiss{ref}, nil
	case TypeVacant:
		ref, err := docRefFromValue(m)
		if err != nil {
			return nil, err
		}
		return &wireVacant{ref}, nil
	}
	return &wireUnknown{T: MsgType(t)}, nil
}

func docEntryFromValue(v any, e *wireDocEntry) error {
	m, ok := v.(orderedMap)
	if !ok {
		return errShape("docs entry")
	}
	var err error
	if e.DocID, err = reqString(m, "d"); err != nil {
		return err
	}
	if e.Alias, err = optNumber(m, "a"); err != nil {
		return err
	}
	rtv, _ := field(m, "rt")
	rt, ok := rtv.([]any)
	if !ok || len(rt) != 3 {
		return errShape("rt")
	}
	name, ok0 := rt[0].(string)
	major, ok1 := numberOf(rt[1])
	minor, ok2 := numberOf(rt[2])
	if !ok0 || !ok1 || !ok2 {
		return errShape("rt")
	}
	e.ReplicaType = wireReplicaType{Name: name, Major: major, Minor: minor}
	ms, ok := smallUintField(m, "ms")
	if !ok {
		return errShape("ms")
	}
	e.SyncMode = wireSyncMode(ms)
	if e.SchemaHash, err = optString(m, "sh"); err != nil {
		return err
	}
	if e.SchemaAlias, err = optNumber(m, "sa"); err != nil {
		return err
	}
	if e.SchemaAliasRef, err = optNumber(m, "shx"); err != nil {
		return err
	}
	if sv, ok := field(m, "shs"); ok {
		arr, ok := sv.([]any)
		if !ok {
			return errShape("shs")
		}
		e.SupportedHashes = make([]string, len(arr))
		for i, h := range arr {
			if e.SupportedHashes[i], ok = h.(string); !ok {
				return errShape("shs")
			}
		}
	}
	return nil
}

func docRefFromValue(m orderedMap) (wireDocRef, error) {
	var r wireDocRef
	var err error
	if r.Doc, err = optString(m, "doc"); err != nil {
		return r, err
	}
	r.DX, err = optNumber(m, "dx")
	return r, err
}

func reqString(m orderedMap, key string) (string, error) {
	v, _ := field(m, key)
	s, ok := v.(string)
	if !ok {
		return "", errShape(key)
	}
	return s, nil
}

func optString(m orderedMap, key string) (*string, error) {
	v, ok := field(m, key)
	if !ok {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, errShape(key)
	}
	return &s, nil
}

func optBool(m orderedMap, key string) (*bool, error) {
	v, ok := field(m, key)
	if !ok {
		return nil, nil
	}
	b, ok := v.(bool)
	if !ok {
		return nil, errShape(key)
	}
	return &b, nil
}

func optNumber(m orderedMap, key string) (*float64, error) {
	v, ok := field(m, key)
	if !ok {
		return nil, nil
	}
	f, ok := numberOf(v)
	if !ok {
		return nil, errShape(key)
	}
	return &f, nil
}

// safeInt returns v as an integer when it is a JavaScript safe integer
// (Number.isSafeInteger, which includes -0).
func safeInt(v any) (int64, bool) {
	f, ok := numberOf(v)
	if !ok || !isSafeInteger(f) {
		return 0, false
	}
	return int64(f), true
}

// smallUint returns a number that is an integer in [0, 255] (enums and the
// type discriminator).
func smallUint(v any) (uint8, bool) {
	f, ok := numberOf(v)
	if !ok || f != math.Trunc(f) || f < 0 || f > 255 {
		return 0, false
	}
	return uint8(f), true
}

func smallUintField(m orderedMap, key string) (uint8, bool) {
	v, _ := field(m, key)
	return smallUint(v)
}

// offerValue is the ordered map of an offer whose payload value is d.
func offerValue(m *wireOffer, d any) orderedMap {
	out := make(orderedMap, 0, 9)
	out = append(out,
		mapEntry{"t", int64(TypeOffer)},
		mapEntry{"pk", int64(m.Kind)},
		mapEntry{"pe", int64(m.Encoding)},
		mapEntry{"d", d},
		mapEntry{"v", m.Version})
	out = m.wireDocRef.appendTo(out)
	if m.Reciprocate != nil {
		out = append(out, mapEntry{"r", *m.Reciprocate})
	}
	if m.Lineage != nil {
		out = append(out, mapEntry{"ln", *m.Lineage})
	}
	return out
}

// textBytes is a CBOR text string held as bytes: the encoder writes it
// like a string (repaired to well-formed UTF-8 first if it is not), only
// without converting it to one.
type textBytes []byte
