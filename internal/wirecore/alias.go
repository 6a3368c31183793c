package wirecore

import (
	"math"
	"strconv"
)

// The alias transformer turns ChannelMsg values into the compact wireMessage
// form and back, per connection. Document ids and schema hashes are long
// strings; a peer announces a small number for each ("a" for documents,
// "sa" for schemas) and, once both sides advertised features.alias, later
// messages use the number instead ("dx", "shx"). Announcing is always
// allowed; using only happens when aliasing is mutual.

// Identifier caps enforced on inbound messages.
const (
	maxDocIDBytes      = 512 // UTF-8 bytes of a document id
	maxSchemaHashBytes = 256 // UTF-8 bytes of a schema hash
)

// Table caps applied when [AliasOptions] leave them at zero. The reference
// has neither; a peer could otherwise make one connection's tables, and
// one present, as large as its bandwidth allows. A 10,000-document client
// stays far below both.
const (
	// defaultMaxAliases caps the document aliases, and separately the
	// schema aliases, a peer may announce on one connection.
	defaultMaxAliases = 100_000
	// defaultMaxPresentDocs caps the entries of one inbound present.
	defaultMaxPresentDocs = 50_000
)

// AliasError is an alias resolution failure (the reference's
// AliasResolutionError). Which detail field is set depends on Reason:
// Alias for unknown-doc-alias and unknown-schema-alias; Value for the
// unknown-* enum reasons (an int64 or float64 number as received, or the
// offending string for outbound payload kinds and encodings); Detail for
// missing-doc-id, missing-schema-hash and the too-long reasons. It unwraps
// to its *kyneta.Error classification (Pkg "wire", the same Reason).
type AliasError struct {
	// Reason is the reference's code, e.g. "unknown-doc-alias".
	Reason string
	Alias  float64
	Value  any
	// Detail is the reference's reason text.
	Detail string
}

func (e *AliasError) Error() string {
	s := "wire: alias resolution failed: " + e.Reason
	switch e.Reason {
	case reasonUnknownDocAlias, reasonUnknownSchemaAlias:
		s += " " + string(appendJSNumber(nil, e.Alias))
	case reasonMissingDocID, reasonMissingSchemaHash, reasonDocIDTooLong, reasonSchemaHashTooLong,
		reasonTooManyAliases, reasonTooManyDocs:
		s += ": " + e.Detail
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

// Unwrap returns the error's classification.
func (e *AliasError) Unwrap() error { return newError(e.Reason, e.Detail, nil) }

// IsLimit reports whether the error is one of the Go side's resource caps
// (too many aliases, too many present entries) rather than a protocol
// fault, so a server can answer it with a limit close code.
func (e *AliasError) IsLimit() bool {
	return e.Reason == reasonTooManyAliases || e.Reason == reasonTooManyDocs
}

// AliasOptions tunes the inbound checks of an [AliasState].
type AliasOptions struct {
	// SkipPresentDocIDCap leaves document ids in present entries unchecked,
	// exactly like the reference (which caps them only in interest, offer,
	// dismiss and vacant). By default the Go side caps them too.
	SkipPresentDocIDCap bool
	// MaxAliases caps the distinct document aliases, and separately the
	// distinct schema aliases, the peer may announce; an announcement
	// beyond it fails with too-many-aliases. 0 means 100,000;
	// negative means no cap (the reference).
	MaxAliases int
	// MaxPresentDocs caps the entries of one inbound present; a longer
	// present fails with too-many-docs before any alias is recorded. 0
	// means 50,000; negative means no cap (the reference).
	MaxPresentDocs int
}

func (o AliasOptions) maxAliases() int {
	if o.MaxAliases == 0 {
		return defaultMaxAliases
	}
	return o.MaxAliases
}

func (o AliasOptions) maxPresentDocs() int {
	if o.MaxPresentDocs == 0 {
		return defaultMaxPresentDocs
	}
	return o.MaxPresentDocs
}

// AliasState is the per-connection alias table. Its Encode and Decode
// methods (and a transport's pipeline, which uses them) update it in
// place: its owner (one connection's pipeline) serializes the calls, and no message copies the tables, so announcing N
// documents costs O(N) however they are spread over messages. The zero
// value is the state of a fresh connection with default options. An
// AliasState must not be copied once used (the copy would share its maps)
// and is not safe for concurrent use.
type AliasState struct {
	outDoc     map[string]int64    // docId -> alias this side assigned
	outSchema  map[string]int64    // schema hash -> alias this side assigned
	inDoc      map[aliasKey]string // alias the peer announced -> docId
	recentDoc  string              // the doc id of the last offer decoded, shared by the next one naming it
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

// NewAliasState returns the state of a fresh connection with the given
// options: no aliases, both counters at 0, no features seen, aliasing not
// mutual.
func NewAliasState(opts AliasOptions) *AliasState { return &AliasState{opts: opts} }

// Reset returns s to a fresh connection's state, keeping its options.
func (s *AliasState) Reset() { *s = AliasState{opts: s.opts} }

// MutualAlias reports whether both sides advertised features.alias, which
// is when outbound messages use dx and shx.
func (s *AliasState) MutualAlias() bool { return s.mutual }

// SelfFeatures returns a copy of the features of the last outbound
// establish, or nil.
func (s *AliasState) SelfFeatures() *Features { return cloneFeatures(s.self) }

// PeerFeatures returns a copy of the features of the last inbound establish,
// or nil.
func (s *AliasState) PeerFeatures() *Features { return cloneFeatures(s.peer) }

// OutboundDocAlias returns the alias this side assigned to docID.
func (s *AliasState) OutboundDocAlias(docID string) (int64, bool) {
	a, ok := s.outDoc[docID]
	return a, ok
}

// InboundDocID returns the document id the peer announced for alias.
func (s *AliasState) InboundDocID(alias float64) (string, bool) {
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

// syncModeToWire maps a sync mode to its wire value with the reference's
// collapse rule: serialized writers are authoritative (1); otherwise
// delta-capable delivery is collaborative (0); anything else is
// ephemeral (2). Modes other than the three named ones do not survive the
// wire.
func syncModeToWire(m SyncMode) wireSyncMode {
	switch {
	case m.WriterModel == Serialized:
		return wireAuthoritative
	case m.Delivery == DeltaCapable:
		return wireCollaborative
	}
	return wireEphemeral
}

// SyncMode returns the named sync mode for a wire value.
func (m wireSyncMode) SyncMode() (SyncMode, bool) {
	switch m {
	case wireCollaborative:
		return Collaborative, true
	case wireAuthoritative:
		return Authoritative, true
	case wireEphemeral:
		return Ephemeral, true
	}
	return SyncMode{}, false
}

func (s *AliasState) docAlias(docID string) int64 {
	if a, ok := s.outDoc[docID]; ok {
		return a
	}
	if s.outDoc == nil {
		s.outDoc = make(map[string]int64)
	}
	a := s.nextDoc
	s.outDoc[docID] = a
	s.nextDoc++
	return a
}

func (s *AliasState) schemaAlias(hash string) (alias int64, isNew bool) {
	if a, ok := s.outSchema[hash]; ok {
		return a, false
	}
	if s.outSchema == nil {
		s.outSchema = make(map[string]int64)
	}
	a := s.nextSchema
	s.outSchema[hash] = a
	s.nextSchema++
	return a, true
}

// record stores an alias the peer announced in m (inDoc or inSchema),
// refusing a new key once the table holds max entries.
func record(m *map[aliasKey]string, max int, alias float64, value, what string) error {
	k := keyFor(alias)
	if cur, ok := (*m)[k]; ok {
		if cur != value {
			(*m)[k] = value
		}
		return nil
	}
	if max >= 0 && len(*m) >= max {
		return &AliasError{Reason: reasonTooManyAliases,
			Detail: "more than " + strconv.Itoa(max) + " " + what + " aliases announced"}
	}
	if *m == nil {
		*m = make(map[aliasKey]string)
	}
	(*m)[k] = value
	return nil
}

// outRef names a document in an outbound message: by alias when this side
// assigned one and aliasing is mutual, by id otherwise.
func (s *AliasState) outRef(docID string) wireDocRef {
	if a, ok := s.outAlias(docID); ok {
		return docByAlias(float64(a))
	}
	return docByID(docID)
}

// outAlias is the alias an outbound message names docID by, if any: one
// this side assigned, once aliasing is mutual.
func (s *AliasState) outAlias(docID string) (int64, bool) {
	a, ok := s.outDoc[docID]
	return a, ok && s.mutual
}

// offerView fills w with the wire form of the offer m for an encoding
// that is done before m changes: w points into m instead of copying its
// fields. When the document goes by alias, w.DX is left for the caller to
// point at alias (a pointer stored here would move the alias to the heap),
// so a caller that keeps w on its stack encodes an offer without
// allocating for it. An offer with an unknown payload kind or encoding
// fails with an *AliasError.
func (s *AliasState) offerView(m *Offer, w *wireOffer) (alias float64, byAlias bool, err error) {
	switch m.Payload.Kind {
	case Entirety:
		w.Kind = wireEntirety
	case Since:
		w.Kind = wireSince
	default:
		return 0, false, &AliasError{Reason: reasonUnknownPayloadKind, Value: string(m.Payload.Kind)}
	}
	switch m.Payload.Encoding {
	case JSON:
		w.Encoding, w.DataIsText = wireJSON, true
	case Binary:
		w.Encoding = wireBinary
	default:
		return 0, false, &AliasError{Reason: reasonUnknownPayloadEncoding, Value: string(m.Payload.Encoding)}
	}
	w.Data, w.Version = m.Payload.Data, m.Version
	w.Reciprocate, w.Lineage = m.Reciprocate, m.Payload.Lineage
	if a, found := s.outAlias(m.DocID); found {
		return float64(a), true, nil
	}
	w.Doc = &m.DocID
	return 0, false, nil
}

// aliasOutbound turns an outbound ChannelMsg into its wire form. An
// establish records this side's features (an empty peer type is sent as
// "user", and a zero protocol version as the default (1, 0), which is
// omitted); a present assigns aliases for
// new documents and schemas and always announces them (a on every entry, sa
// on a schema's first reference); later schema references and document
// references in interest, offer, dismiss and vacant use the alias only when
// aliasing is mutual. An offer with an unknown payload kind or encoding
// fails with an *AliasError and leaves s unchanged. A nil message gives
// errNilMessage. s is updated in place.
func aliasOutbound(s *AliasState, msg ChannelMsg) (wireMessage, error) {
	switch m := msg.(type) {
	case *Establish:
		if m == nil {
			break
		}
		s.self = cloneFeatures(m.Features)
		s.mutual = mutualAlias(s.self, s.peer)
		w := &wireEstablish{
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
		return w, nil
	case *Depart:
		if m == nil {
			break
		}
		return &wireDepart{}, nil
	case *Present:
		if m == nil {
			break
		}
		docs := make([]wireDocEntry, len(m.Docs))
		for i, d := range m.Docs {
			e := &docs[i]
			e.DocID = d.DocID
			e.Alias = refOf(float64(s.docAlias(d.DocID)))
			e.ReplicaType = wireReplicaType{
				Name:  d.ReplicaType.Name,
				Major: float64(d.ReplicaType.Major),
				Minor: float64(d.ReplicaType.Minor),
			}
			e.SyncMode = syncModeToWire(d.SyncMode)
			sa, isNew := s.schemaAlias(d.SchemaHash)
			if isNew || !s.mutual {
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
		return &wirePresent{Docs: docs}, nil
	case *Interest:
		if m == nil {
			break
		}
		w := &wireInterest{wireDocRef: s.outRef(m.DocID)}
		if m.Version != nil {
			w.Version = refOf(*m.Version)
		}
		if m.Reciprocate != nil {
			w.Reciprocate = refOf(*m.Reciprocate)
		}
		return w, nil
	case *Offer:
		if m == nil {
			break
		}
		w := new(wireOffer)
		alias, byAlias, err := s.offerView(m, w)
		if err != nil {
			return nil, err
		}
		if byAlias {
			w.DX = &alias
		}
		return w, nil
	case *Dismiss:
		if m == nil {
			break
		}
		return &wireDismiss{s.outRef(m.DocID)}, nil
	case *Vacant:
		if m == nil {
			break
		}
		return &wireVacant{s.outRef(m.DocID)}, nil
	}
	return nil, errNilMessage
}

// aliasInbound resolves an inbound wire message to a ChannelMsg. An
// establish records the peer's features; a present records the aliases the
// peer announces (a, sa) and resolves shx; document references resolve dx.
// Resolved document ids longer than maxDocIDBytes and schema hashes longer
// than maxSchemaHashBytes are rejected. Failures are *AliasError values;
// the returned state then is s, except for a present, which keeps the
// aliases recorded for the entries before the failing one (as the
// reference does). A present longer than MaxPresentDocs fails before it
// records anything; an alias beyond MaxAliases fails like any other entry.
// A nil message gives errNilMessage. s is updated in place. The result may
// share msg's optional fields: msg is a decoder's, used once.
func aliasInbound(s *AliasState, msg wireMessage) (ChannelMsg, error) {
	switch m := msg.(type) {
	case *wireEstablish:
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
		return out, nil
	case *wireDepart:
		if m == nil {
			break
		}
		return &Depart{}, nil
	case *wirePresent:
		if m == nil {
			break
		}
		return inboundPresent(s, m)
	case *wireInterest:
		if m == nil {
			break
		}
		id, err := s.resolve(m.wireDocRef)
		if err != nil {
			return nil, err
		}
		return &Interest{DocID: id, Version: m.Version, Reciprocate: m.Reciprocate}, nil
	case *wireOffer:
		if m == nil {
			break
		}
		return inboundOffer(s, m, m.wireDocRef)
	case *wireDismiss:
		if m == nil {
			break
		}
		id, err := s.resolve(m.wireDocRef)
		if err != nil {
			return nil, err
		}
		return &Dismiss{DocID: id}, nil
	case *wireVacant:
		if m == nil {
			break
		}
		id, err := s.resolve(m.wireDocRef)
		if err != nil {
			return nil, err
		}
		return &Vacant{DocID: id}, nil
	case *wireUnknown:
		if m == nil {
			break
		}
		return nil, &AliasError{Reason: reasonUnknownMessageType, Value: int64(m.T)}
	}
	return nil, errNilMessage
}

// inboundOffer is aliasInbound for an offer whose document reference is
// ref (m's own is ignored). It keeps nothing of m and ref but the data and
// strings, so both may live on the caller's stack.
func inboundOffer(s *AliasState, m *wireOffer, ref wireDocRef) (*Offer, error) {
	id, err := s.resolve(ref)
	if err != nil {
		return nil, err
	}
	var kind PayloadKind
	switch m.Kind {
	case wireEntirety:
		kind = Entirety
	case wireSince:
		kind = Since
	default:
		return nil, &AliasError{Reason: reasonUnknownPayloadKind, Value: int64(m.Kind)}
	}
	var enc PayloadEncoding
	switch m.Encoding {
	case wireJSON:
		enc = JSON
	case wireBinary:
		enc = Binary
	default:
		return nil, &AliasError{Reason: reasonUnknownPayloadEncoding, Value: int64(m.Encoding)}
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
	return out, nil
}

func inboundPresent(s *AliasState, m *wirePresent) (ChannelMsg, error) {
	if max := s.opts.maxPresentDocs(); max >= 0 && len(m.Docs) > max {
		return nil, &AliasError{Reason: reasonTooManyDocs,
			Detail: "present lists " + strconv.Itoa(len(m.Docs)) + " documents, at most " + strconv.Itoa(max) + " allowed"}
	}
	maxAliases := s.opts.maxAliases()
	docs := make([]DocPresence, len(m.Docs))
	for i := range m.Docs {
		d := &m.Docs[i]
		mode, ok := d.SyncMode.SyncMode()
		if !ok {
			return nil, &AliasError{Reason: reasonUnknownSyncMode, Value: int64(d.SyncMode)}
		}
		if d.Alias != nil {
			if err := record(&s.inDoc, maxAliases, *d.Alias, d.DocID, "document"); err != nil {
				return nil, err
			}
		}
		var hash string
		switch {
		case d.SchemaHash != nil:
			hash = *d.SchemaHash
			if d.SchemaAlias != nil {
				if err := record(&s.inSchema, maxAliases, *d.SchemaAlias, hash, "schema"); err != nil {
					return nil, err
				}
			}
		case d.SchemaAliasRef != nil:
			h, ok := s.inSchema[keyFor(*d.SchemaAliasRef)]
			if !ok {
				return nil, &AliasError{Reason: reasonUnknownSchemaAlias, Alias: *d.SchemaAliasRef}
			}
			hash = h
		default:
			return nil, &AliasError{Reason: reasonMissingSchemaHash, Detail: "Present doc entry has neither sh nor shx"}
		}
		if err := checkSchemaHash(hash); err != nil {
			return nil, err
		}
		// Checks below are the Go side's own (see AliasOptions and
		// reasonInvalidReplicaType); they run after the reference's.
		if !s.opts.SkipPresentDocIDCap {
			if err := checkDocID(d.DocID); err != nil {
				return nil, err
			}
		}
		if !isSafeInteger(d.ReplicaType.Major) || !isSafeInteger(d.ReplicaType.Minor) {
			return nil, &AliasError{Reason: reasonInvalidReplicaType, Value: jsNumber(d.ReplicaType.Major)}
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
	return &Present{Docs: docs}, nil
}

// resolve turns a wire document reference into a document id and checks
// its length.
func (s *AliasState) resolve(r wireDocRef) (string, error) {
	var id string
	switch {
	case r.Doc != nil && r.DX != nil:
		return "", &AliasError{Reason: reasonMissingDocID, Detail: "wire form must not carry both doc and dx"}
	case r.Doc != nil:
		id = *r.Doc
	case r.DX != nil:
		d, ok := s.inDoc[keyFor(*r.DX)]
		if !ok {
			return "", &AliasError{Reason: reasonUnknownDocAlias, Alias: *r.DX}
		}
		id = d
	default:
		return "", &AliasError{Reason: reasonMissingDocID, Detail: "wire form has neither doc nor dx"}
	}
	if err := checkDocID(id); err != nil {
		return "", err
	}
	return id, nil
}

func checkDocID(id string) error {
	if n := utf8Len(id); n > maxDocIDBytes {
		return &AliasError{Reason: reasonDocIDTooLong,
			Detail: "DocId exceeds " + strconv.Itoa(maxDocIDBytes) + " UTF-8 bytes (got " + strconv.Itoa(n) + ")"}
	}
	return nil
}

func checkSchemaHash(h string) error {
	if n := utf8Len(h); n > maxSchemaHashBytes {
		return &AliasError{Reason: reasonSchemaHashTooLong,
			Detail: "SchemaHash exceeds " + strconv.Itoa(maxSchemaHashBytes) + " UTF-8 bytes (got " + strconv.Itoa(n) + ")"}
	}
	return nil
}

// refOf returns a pointer to a copy of v.
func refOf[T any](v T) *T { return &v }
