package wire

import (
	"maps"
	"math"
	"strconv"
)

// The alias transformer turns ChannelMsg values into the compact WireMessage
// form and back, per connection. Document ids and schema hashes are long
// strings; a peer announces a small number for each ("a" for documents,
// "sa" for schemas) and, once both sides advertised features.alias, later
// messages use the number instead ("dx", "shx"). Announcing is always
// allowed; using only happens when aliasing is mutual.

// Identifier caps enforced on inbound messages.
const (
	MaxDocIDBytes      = 512 // UTF-8 bytes of a document id
	MaxSchemaHashBytes = 256 // UTF-8 bytes of a schema hash
)

// AliasErrorCode names an alias resolution failure. The values are the
// reference's codes, except AliasInvalidReplicaType, which only the Go side
// raises.
type AliasErrorCode string

// Alias error codes.
const (
	AliasUnknownDocAlias        AliasErrorCode = "unknown-doc-alias"
	AliasUnknownSchemaAlias     AliasErrorCode = "unknown-schema-alias"
	AliasMissingDocID           AliasErrorCode = "missing-doc-id"
	AliasMissingSchemaHash      AliasErrorCode = "missing-schema-hash"
	AliasDocIDTooLong           AliasErrorCode = "doc-id-too-long"
	AliasSchemaHashTooLong      AliasErrorCode = "schema-hash-too-long"
	AliasUnknownSyncMode        AliasErrorCode = "unknown-sync-mode"
	AliasUnknownPayloadKind     AliasErrorCode = "unknown-payload-kind"
	AliasUnknownPayloadEncoding AliasErrorCode = "unknown-payload-encoding"
	AliasUnknownMessageType     AliasErrorCode = "unknown-message-type"
	// AliasInvalidReplicaType: a present entry's replica version is not a
	// safe integer. The reference passes any number through; a ChannelMsg
	// holds integers.
	AliasInvalidReplicaType AliasErrorCode = "invalid-replica-type"
)

// AliasError is an alias resolution failure (the reference's
// AliasResolutionError). Which detail field is set depends on Code:
// Alias for unknown-doc-alias and unknown-schema-alias; Value for the
// unknown-* enum codes (an int64 or float64 number as received, or the
// offending string for outbound payload kinds and encodings); Reason for
// missing-doc-id, missing-schema-hash and the too-long codes.
type AliasError struct {
	Code   AliasErrorCode
	Alias  float64
	Value  any
	Reason string
}

func (e *AliasError) Error() string {
	s := "wire: alias resolution failed: " + string(e.Code)
	switch e.Code {
	case AliasUnknownDocAlias, AliasUnknownSchemaAlias:
		s += " " + string(appendJSNumber(nil, e.Alias))
	case AliasMissingDocID, AliasMissingSchemaHash, AliasDocIDTooLong, AliasSchemaHashTooLong:
		s += ": " + e.Reason
	default:
		switch v := e.Value.(type) {
		case string:
			s += " " + strconv.Quote(v)
		case int64:
			s += " " + strconv.FormatInt(v, 10)
		case float64:
			s += " " + string(appendJSNumber(nil, v))
		}
	}
	return s
}

// Is makes errors.Is(err, &AliasError{Code: c}) match any AliasError with
// code c.
func (e *AliasError) Is(target error) bool {
	t, ok := target.(*AliasError)
	return ok && t.Code == e.Code
}

// AliasOptions tunes the inbound checks of an [AliasState].
type AliasOptions struct {
	// SkipPresentDocIDCap leaves document ids in present entries unchecked,
	// exactly like the reference (which caps them only in interest, offer,
	// dismiss and vacant). By default the Go side caps them too.
	SkipPresentDocIDCap bool
}

// AliasState is the per-connection alias table. It is a value: the
// transformer functions return a new state and never modify the one they
// were given (maps are copied before they change), so a caller may keep old
// states. The zero value is the state of a fresh connection with default
// options, the same as [EmptyAliasState].
type AliasState struct {
	outDoc     map[string]int64    // docId -> alias this side assigned
	outSchema  map[string]int64    // schema hash -> alias this side assigned
	inDoc      map[aliasKey]string // alias the peer announced -> docId
	inSchema   map[aliasKey]string // alias the peer announced -> schema hash
	nextDoc    int64
	nextSchema int64
	self, peer *Features // from the last outbound / inbound establish
	mutual     bool
	opts       AliasOptions
}

// aliasKey is an alias number under JavaScript Map key equality
// (SameValueZero): -0 is 0 and every NaN is the same key.
type aliasKey uint64

func keyFor(f float64) aliasKey {
	switch {
	case f == 0:
		return 0
	case math.IsNaN(f):
		return aliasKey(0x7ff8000000000000)
	}
	return aliasKey(math.Float64bits(f))
}

// EmptyAliasState returns the state of a fresh connection with the default
// (strict) options: no aliases, both counters at 0, no features seen,
// aliasing not mutual.
func EmptyAliasState() AliasState { return AliasState{} }

// NewAliasState returns the state of a fresh connection with the given
// options.
func NewAliasState(opts AliasOptions) AliasState { return AliasState{opts: opts} }

// cloneMap copies m, returning an empty map for nil so it can be written.
func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return make(map[K]V)
	}
	return maps.Clone(m)
}

// MutualAlias reports whether both sides advertised features.alias, which
// is when outbound messages use dx and shx.
func (s AliasState) MutualAlias() bool { return s.mutual }

// SelfFeatures returns a copy of the features of the last outbound
// establish, or nil.
func (s AliasState) SelfFeatures() *Features { return cloneFeatures(s.self) }

// PeerFeatures returns a copy of the features of the last inbound establish,
// or nil.
func (s AliasState) PeerFeatures() *Features { return cloneFeatures(s.peer) }

// OutboundDocAlias returns the alias this side assigned to docID.
func (s AliasState) OutboundDocAlias(docID string) (int64, bool) {
	a, ok := s.outDoc[docID]
	return a, ok
}

// InboundDocID returns the document id the peer announced for alias.
func (s AliasState) InboundDocID(alias float64) (string, bool) {
	d, ok := s.inDoc[keyFor(alias)]
	return d, ok
}

func cloneFeatures(f *Features) *Features {
	if f == nil {
		return nil
	}
	c := &Features{}
	if f.Alias != nil {
		c.Alias = refOf(*f.Alias)
	}
	if f.Streamed != nil {
		c.Streamed = refOf(*f.Streamed)
	}
	if f.Datagram != nil {
		c.Datagram = refOf(*f.Datagram)
	}
	return c
}

func mutualAlias(self, peer *Features) bool {
	return self != nil && self.Alias != nil && *self.Alias &&
		peer != nil && peer.Alias != nil && *peer.Alias
}

// SyncModeToWire maps a sync mode to its wire value with the reference's
// collapse rule: serialized writers are authoritative (1); otherwise
// delta-capable delivery is collaborative (0); anything else is
// ephemeral (2). Modes other than the three named ones do not survive the
// wire.
func SyncModeToWire(m SyncMode) WireSyncMode {
	switch {
	case m.WriterModel == Serialized:
		return WireAuthoritative
	case m.Delivery == DeltaCapable:
		return WireCollaborative
	}
	return WireEphemeral
}

// SyncMode returns the named sync mode for a wire value.
func (m WireSyncMode) SyncMode() (SyncMode, bool) {
	switch m {
	case WireCollaborative:
		return Collaborative, true
	case WireAuthoritative:
		return Authoritative, true
	case WireEphemeral:
		return Ephemeral, true
	}
	return SyncMode{}, false
}

// cow tracks which maps a transformer call already copied, so one call
// copies each map at most once however many entries it adds.
type cow struct {
	s                                  AliasState
	outDoc, outSchema, inDoc, inSchema bool
}

func (c *cow) docAlias(docID string) int64 {
	if a, ok := c.s.outDoc[docID]; ok {
		return a
	}
	if !c.outDoc {
		c.s.outDoc, c.outDoc = cloneMap(c.s.outDoc), true
	}
	a := c.s.nextDoc
	c.s.outDoc[docID] = a
	c.s.nextDoc++
	return a
}

func (c *cow) schemaAlias(hash string) (alias int64, isNew bool) {
	if a, ok := c.s.outSchema[hash]; ok {
		return a, false
	}
	if !c.outSchema {
		c.s.outSchema, c.outSchema = cloneMap(c.s.outSchema), true
	}
	a := c.s.nextSchema
	c.s.outSchema[hash] = a
	c.s.nextSchema++
	return a, true
}

func (c *cow) recordDoc(alias float64, docID string) {
	k := keyFor(alias)
	if cur, ok := c.s.inDoc[k]; ok && cur == docID {
		return
	}
	if !c.inDoc {
		c.s.inDoc, c.inDoc = cloneMap(c.s.inDoc), true
	}
	c.s.inDoc[k] = docID
}

func (c *cow) recordSchema(alias float64, hash string) {
	k := keyFor(alias)
	if cur, ok := c.s.inSchema[k]; ok && cur == hash {
		return
	}
	if !c.inSchema {
		c.s.inSchema, c.inSchema = cloneMap(c.s.inSchema), true
	}
	c.s.inSchema[k] = hash
}

// outRef names a document in an outbound message: by alias when this side
// assigned one and aliasing is mutual, by id otherwise.
func (s AliasState) outRef(docID string) WireDocRef {
	if a, ok := s.outDoc[docID]; ok && s.mutual {
		return DocByAlias(float64(a))
	}
	return DocByID(docID)
}

// AliasOutbound turns an outbound ChannelMsg into its wire form. An
// establish records this side's features (an empty peer type is sent as
// "user", and a zero protocol version as the default (1, 0), which is
// omitted); a present assigns aliases for
// new documents and schemas and always announces them (a on every entry, sa
// on a schema's first reference); later schema references and document
// references in interest, offer, dismiss and vacant use the alias only when
// aliasing is mutual. An offer with an unknown payload kind or encoding
// fails with an *AliasError and returns s unchanged. A nil message gives
// ErrNilMessage.
func AliasOutbound(s AliasState, msg ChannelMsg) (AliasState, WireMessage, error) {
	switch m := msg.(type) {
	case *Establish:
		if m == nil {
			break
		}
		s.self = cloneFeatures(m.Features)
		s.mutual = mutualAlias(s.self, s.peer)
		w := &WireEstablish{
			PeerID:   m.Identity.PeerID,
			PeerType: m.Identity.Type,
			Features: cloneFeatures(m.Features),
		}
		if w.PeerType == "" {
			w.PeerType = PeerUser // the exchange's default; "" fails the peer's validation
		}
		if m.Identity.Name != nil {
			w.Name = refOf(*m.Identity.Name)
		}
		if pv := m.ProtocolVersion; pv != DefaultProtocolVersion && pv != (ProtocolVersion{}) {
			w.ProtocolVersion = refOf(pv)
		}
		return s, w, nil
	case *Depart:
		if m == nil {
			break
		}
		return s, &WireDepart{}, nil
	case *Present:
		if m == nil {
			break
		}
		c := cow{s: s}
		docs := make([]WireDocEntry, len(m.Docs))
		for i, d := range m.Docs {
			e := &docs[i]
			e.DocID = d.DocID
			e.Alias = refOf(float64(c.docAlias(d.DocID)))
			e.ReplicaType = WireReplicaType{
				Name:  d.ReplicaType.Name,
				Major: float64(d.ReplicaType.Major),
				Minor: float64(d.ReplicaType.Minor),
			}
			e.SyncMode = SyncModeToWire(d.SyncMode)
			sa, isNew := c.schemaAlias(d.SchemaHash)
			if isNew || !c.s.mutual {
				e.SchemaHash = refOf(d.SchemaHash)
				if isNew {
					e.SchemaAlias = refOf(float64(sa))
				}
			} else {
				e.SchemaAliasRef = refOf(float64(sa))
			}
			if len(d.SupportedHashes) > 1 {
				e.SupportedHashes = append([]string(nil), d.SupportedHashes...)
			}
		}
		return c.s, &WirePresent{Docs: docs}, nil
	case *Interest:
		if m == nil {
			break
		}
		w := &WireInterest{WireDocRef: s.outRef(m.DocID)}
		if m.Version != nil {
			w.Version = refOf(*m.Version)
		}
		if m.Reciprocate != nil {
			w.Reciprocate = refOf(*m.Reciprocate)
		}
		return s, w, nil
	case *Offer:
		if m == nil {
			break
		}
		var pk WirePayloadKind
		switch m.Payload.Kind {
		case Entirety:
			pk = WireEntirety
		case Since:
			pk = WireSince
		default:
			return s, nil, &AliasError{Code: AliasUnknownPayloadKind, Value: string(m.Payload.Kind)}
		}
		var pe WirePayloadEncoding
		switch m.Payload.Encoding {
		case JSON:
			pe = WireJSON
		case Binary:
			pe = WireBinary
		default:
			return s, nil, &AliasError{Code: AliasUnknownPayloadEncoding, Value: string(m.Payload.Encoding)}
		}
		w := &WireOffer{
			Kind:       pk,
			Encoding:   pe,
			Data:       m.Payload.Data,
			DataIsText: pe == WireJSON,
			Version:    m.Version,
			WireDocRef: s.outRef(m.DocID),
		}
		if m.Reciprocate != nil {
			w.Reciprocate = refOf(*m.Reciprocate)
		}
		if m.Payload.Lineage != nil {
			w.Lineage = refOf(*m.Payload.Lineage)
		}
		return s, w, nil
	case *Dismiss:
		if m == nil {
			break
		}
		return s, &WireDismiss{s.outRef(m.DocID)}, nil
	case *Vacant:
		if m == nil {
			break
		}
		return s, &WireVacant{s.outRef(m.DocID)}, nil
	}
	return s, nil, ErrNilMessage
}

// AliasInbound resolves an inbound wire message to a ChannelMsg. An
// establish records the peer's features; a present records the aliases the
// peer announces (a, sa) and resolves shx; document references resolve dx.
// Resolved document ids longer than MaxDocIDBytes and schema hashes longer
// than MaxSchemaHashBytes are rejected. Failures are *AliasError values;
// the returned state then is s, except for a present, which keeps the
// aliases recorded for the entries before the failing one (as the
// reference does). A nil message gives ErrNilMessage.
func AliasInbound(s AliasState, msg WireMessage) (AliasState, ChannelMsg, error) {
	switch m := msg.(type) {
	case *WireEstablish:
		if m == nil {
			break
		}
		features := cloneFeatures(m.Features)
		s.peer = cloneFeatures(features)
		s.mutual = mutualAlias(s.self, s.peer)
		out := &Establish{
			Identity:        PeerIdentity{PeerID: m.PeerID, Type: m.PeerType},
			Features:        features,
			ProtocolVersion: DefaultProtocolVersion,
		}
		if m.Name != nil {
			out.Identity.Name = refOf(*m.Name)
		}
		if m.ProtocolVersion != nil {
			out.ProtocolVersion = *m.ProtocolVersion
		}
		return s, out, nil
	case *WireDepart:
		if m == nil {
			break
		}
		return s, &Depart{}, nil
	case *WirePresent:
		if m == nil {
			break
		}
		return inboundPresent(s, m)
	case *WireInterest:
		if m == nil {
			break
		}
		id, err := s.resolve(m.WireDocRef)
		if err != nil {
			return s, nil, err
		}
		out := &Interest{DocID: id}
		if m.Version != nil {
			out.Version = refOf(*m.Version)
		}
		if m.Reciprocate != nil {
			out.Reciprocate = refOf(*m.Reciprocate)
		}
		return s, out, nil
	case *WireOffer:
		if m == nil {
			break
		}
		id, err := s.resolve(m.WireDocRef)
		if err != nil {
			return s, nil, err
		}
		var kind PayloadKind
		switch m.Kind {
		case WireEntirety:
			kind = Entirety
		case WireSince:
			kind = Since
		default:
			return s, nil, &AliasError{Code: AliasUnknownPayloadKind, Value: int64(m.Kind)}
		}
		var enc PayloadEncoding
		switch m.Encoding {
		case WireJSON:
			enc = JSON
		case WireBinary:
			enc = Binary
		default:
			return s, nil, &AliasError{Code: AliasUnknownPayloadEncoding, Value: int64(m.Encoding)}
		}
		out := &Offer{
			DocID:   id,
			Payload: Payload{Kind: kind, Encoding: enc, Data: m.Data},
			Version: m.Version,
		}
		if m.Lineage != nil {
			out.Payload.Lineage = refOf(*m.Lineage)
		}
		if m.Reciprocate != nil {
			out.Reciprocate = refOf(*m.Reciprocate)
		}
		return s, out, nil
	case *WireDismiss:
		if m == nil {
			break
		}
		id, err := s.resolve(m.WireDocRef)
		if err != nil {
			return s, nil, err
		}
		return s, &Dismiss{DocID: id}, nil
	case *WireVacant:
		if m == nil {
			break
		}
		id, err := s.resolve(m.WireDocRef)
		if err != nil {
			return s, nil, err
		}
		return s, &Vacant{DocID: id}, nil
	case *WireUnknown:
		if m == nil {
			break
		}
		return s, nil, &AliasError{Code: AliasUnknownMessageType, Value: int64(m.T)}
	}
	return s, nil, ErrNilMessage
}

func inboundPresent(s AliasState, m *WirePresent) (AliasState, ChannelMsg, error) {
	c := cow{s: s}
	docs := make([]DocPresence, len(m.Docs))
	for i := range m.Docs {
		d := &m.Docs[i]
		mode, ok := d.SyncMode.SyncMode()
		if !ok {
			return c.s, nil, &AliasError{Code: AliasUnknownSyncMode, Value: int64(d.SyncMode)}
		}
		if d.Alias != nil {
			c.recordDoc(*d.Alias, d.DocID)
		}
		var hash string
		switch {
		case d.SchemaHash != nil:
			hash = *d.SchemaHash
			if d.SchemaAlias != nil {
				c.recordSchema(*d.SchemaAlias, hash)
			}
		case d.SchemaAliasRef != nil:
			h, ok := c.s.inSchema[keyFor(*d.SchemaAliasRef)]
			if !ok {
				return c.s, nil, &AliasError{Code: AliasUnknownSchemaAlias, Alias: *d.SchemaAliasRef}
			}
			hash = h
		default:
			return c.s, nil, &AliasError{Code: AliasMissingSchemaHash, Reason: "Present doc entry has neither sh nor shx"}
		}
		if err := checkSchemaHash(hash); err != nil {
			return c.s, nil, err
		}
		// Checks below are the Go side's own (see AliasOptions and
		// AliasInvalidReplicaType); they run after the reference's.
		if !s.opts.SkipPresentDocIDCap {
			if err := checkDocID(d.DocID); err != nil {
				return c.s, nil, err
			}
		}
		if !isSafeInteger(d.ReplicaType.Major) || !isSafeInteger(d.ReplicaType.Minor) {
			return c.s, nil, &AliasError{Code: AliasInvalidReplicaType, Value: jsNumber(d.ReplicaType.Major)}
		}
		p := DocPresence{
			DocID: d.DocID,
			ReplicaType: ReplicaType{
				Name:  d.ReplicaType.Name,
				Major: int64(d.ReplicaType.Major),
				Minor: int64(d.ReplicaType.Minor),
			},
			SyncMode:   mode,
			SchemaHash: hash,
		}
		if d.SupportedHashes != nil {
			p.SupportedHashes = append([]string{}, d.SupportedHashes...)
		}
		docs[i] = p
	}
	return c.s, &Present{Docs: docs}, nil
}

// resolve turns a wire document reference into a document id and checks
// its length.
func (s AliasState) resolve(r WireDocRef) (string, error) {
	var id string
	switch {
	case r.Doc != nil && r.DX != nil:
		return "", &AliasError{Code: AliasMissingDocID, Reason: "wire form must not carry both doc and dx"}
	case r.Doc != nil:
		id = *r.Doc
	case r.DX != nil:
		d, ok := s.inDoc[keyFor(*r.DX)]
		if !ok {
			return "", &AliasError{Code: AliasUnknownDocAlias, Alias: *r.DX}
		}
		id = d
	default:
		return "", &AliasError{Code: AliasMissingDocID, Reason: "wire form has neither doc nor dx"}
	}
	if err := checkDocID(id); err != nil {
		return "", err
	}
	return id, nil
}

func checkDocID(id string) error {
	if n := utf8Len(id); n > MaxDocIDBytes {
		return &AliasError{Code: AliasDocIDTooLong,
			Reason: "DocId exceeds " + strconv.Itoa(MaxDocIDBytes) + " UTF-8 bytes (got " + strconv.Itoa(n) + ")"}
	}
	return nil
}

func checkSchemaHash(h string) error {
	if n := utf8Len(h); n > MaxSchemaHashBytes {
		return &AliasError{Code: AliasSchemaHashTooLong,
			Reason: "SchemaHash exceeds " + strconv.Itoa(MaxSchemaHashBytes) + " UTF-8 bytes (got " + strconv.Itoa(n) + ")"}
	}
	return nil
}

// refOf returns a pointer to a copy of v.
func refOf[T any](v T) *T { return &v }
