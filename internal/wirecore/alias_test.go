package wirecore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta"
	"pgregory.net/rapid"
)

// aliasErrorValue renders an *AliasError in the vectors' notation.
func aliasErrorValue(err error) orderedMap {
	var ae *AliasError
	if !errors.As(err, &ae) {
		return orderedMap{{"error", err.Error()}}
	}
	out := orderedMap{{"code", ae.Reason}}
	switch ae.Reason {
	case reasonUnknownDocAlias, reasonUnknownSchemaAlias:
		out = append(out, mapEntry{"alias", jsNumber(ae.Alias)})
	case reasonMissingDocID, reasonMissingSchemaHash:
		out = append(out, mapEntry{"reason", ae.Detail})
	case reasonDocIDTooLong, reasonSchemaHashTooLong:
		out = append(out, mapEntry{"message", ae.Detail})
	default:
		out = append(out, mapEntry{"value", ae.Value})
	}
	return out
}

// aliasStateValue renders a state in the vectors' notation, with map pairs
// sorted (the vectors list them in insertion order, which Go maps do not
// keep and which has no effect on behaviour).
func aliasStateValue(s *AliasState) orderedMap {
	pairs := func(n int, each func(yield func(k, v any))) []any {
		out := make([]any, 0, n)
		each(func(k, v any) { out = append(out, []any{k, v}) })
		return sortPairs(out)
	}
	features := func(f *Features) any {
		if f == nil {
			return nil
		}
		m := orderedMap{}
		if f.Alias != nil {
			m = append(m, mapEntry{"alias", *f.Alias})
		}
		if f.Streamed != nil {
			m = append(m, mapEntry{"streamed", *f.Streamed})
		}
		if f.Datagram != nil {
			m = append(m, mapEntry{"datagram", *f.Datagram})
		}
		return m
	}
	return orderedMap{
		{"outboundAliasByDoc", pairs(len(s.outDoc), func(y func(k, v any)) {
			for k, v := range s.outDoc {
				y(k, v)
			}
		})},
		{"outboundAliasBySchemaHash", pairs(len(s.outSchema), func(y func(k, v any)) {
			for k, v := range s.outSchema {
				y(k, v)
			}
		})},
		{"inboundDocByAlias", pairs(len(s.inDoc), func(y func(k, v any)) {
			for k, v := range s.inDoc {
				y(jsNumber(aliasKeyValue(k)), v)
			}
		})},
		{"inboundSchemaHashByAlias", pairs(len(s.inSchema), func(y func(k, v any)) {
			for k, v := range s.inSchema {
				y(jsNumber(aliasKeyValue(k)), v)
			}
		})},
		{"nextOutDocAlias", s.nextDoc},
		{"nextOutSchemaAlias", s.nextSchema},
		{"selfFeatures", features(s.self)},
		{"peerFeatures", features(s.peer)},
		{"mutualAlias", s.mutual},
	}
}

func aliasKeyValue(k aliasKey) float64 { return math.Float64frombits(uint64(k)) }

func sortPairs(ps []any) []any {
	slices.SortFunc(ps, func(a, b any) int { return strings.Compare(showValue(a), showValue(b)) })
	return ps
}

// normalizeStateVector sorts the pair lists of a state from a vector.
func normalizeStateVector(v any) orderedMap {
	m := v.(orderedMap)
	out := make(orderedMap, len(m))
	for i, e := range m {
		if l, ok := e.Value.([]any); ok {
			e.Value = sortPairs(slices.Clone(l))
		}
		out[i] = e
	}
	return sortedMap(out)
}

type aliasStep struct {
	Dir    string          `json:"dir"`
	Msg    json.RawMessage `json:"msg"`
	Wire   json.RawMessage `json:"wire"`
	Result struct {
		OK  json.RawMessage `json:"ok"`
		Err json.RawMessage `json:"err"`
	} `json:"result"`
	CBOR  *string         `json:"cbor"`
	Text  *string         `json:"text"`
	State json.RawMessage `json:"state"`
}

type aliasScenario struct {
	Name  string      `json:"name"`
	Steps []aliasStep `json:"steps"`
}

func loadAliasScenarios(t *testing.T) []aliasScenario {
	var file struct {
		Scenarios []aliasScenario `json:"scenarios"`
	}
	loadVectors(t, "alias.json", &file)
	return file.Scenarios
}

// cloneAliasState copies s deeply, for tests that replay a step.
func cloneAliasState(s *AliasState) *AliasState {
	c := *s
	c.outDoc, c.outSchema = maps.Clone(s.outDoc), maps.Clone(s.outSchema)
	c.inDoc, c.inSchema = maps.Clone(s.inDoc), maps.Clone(s.inSchema)
	return &c
}

// runAliasStep applies one vector step to s (in place) and checks it.
// expectErr, when set, overrides an ok result of the reference (a
// deliberate Go deviation); s then continues from the reference's state.
func runAliasStep(t *testing.T, s *AliasState, st aliasStep, expectErr string) {
	t.Helper()
	before := cloneAliasState(s)
	var (
		result any
		err    error
	)
	switch st.Dir {
	case "out":
		var w wireMessage
		w, err = aliasOutbound(s, channelMsgFromTJSON(t, st.Msg))
		if err == nil {
			result = messageValueOf(t, w)
			if st.CBOR != nil {
				if b, _ := encodeMessage(w); hex.EncodeToString(b) != *st.CBOR {
					t.Errorf("cbor %x, want %s", b, *st.CBOR)
				}
			}
			if st.Text != nil {
				if s, _ := encodeTextMessage(w); s != *st.Text {
					t.Errorf("text %s, want %s", s, *st.Text)
				}
			}
		}
	case "in":
		var m ChannelMsg
		m, err = aliasInbound(s, wireFromTJSON(t, st.Wire))
		if err == nil {
			result = sortedValue(channelMsgValue(m))
		}
	default:
		t.Fatalf("unknown step direction %q", st.Dir)
	}
	if expectErr != "" {
		if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: expectErr}) {
			t.Errorf("got %v, want Go-side error %s", err, expectErr)
		}
		// Carry on from the reference's state so later steps stay comparable.
		lax := before
		lax.opts.SkipPresentDocIDCap = true
		if _, err = aliasInbound(lax, wireFromTJSON(t, st.Wire)); err != nil {
			t.Fatalf("with the reference's rules: %v", err)
		}
		lax.opts = s.opts
		*s = *lax
	}
	switch {
	case expectErr != "":
	case st.Result.Err != nil:
		want := sortedMap(parseTJSON(t, st.Result.Err).(orderedMap))
		if err == nil {
			t.Errorf("ok %s, want error %s", showValue(result), showValue(want))
		} else if got := sortedMap(aliasErrorValue(err)); !valueEqual(got, want) {
			t.Errorf("error %s, want %s", showValue(got), showValue(want))
		}
	default:
		want := parseTJSON(t, st.Result.OK)
		if st.Dir == "in" {
			want = sortedValue(want)
		}
		if err != nil {
			t.Errorf("error %v, want ok %s", err, showValue(want))
		} else if !valueEqual(result, want) {
			t.Errorf("result %s\nwant          %s", showValue(result), showValue(want))
		}
	}
	if want, got := normalizeStateVector(parseTJSON(t, st.State)), sortedMap(aliasStateValue(s)); !valueEqual(got, want) {
		t.Errorf("state %s\nwant         %s", showValue(got), showValue(want))
	}
}

func TestVectorsAlias(t *testing.T) {
	scenarios := loadAliasScenarios(t)
	checkCount(t, "alias.scenarios", len(scenarios))
	steps := 0
	for _, sc := range scenarios {
		steps += len(sc.Steps)
	}
	checkCount(t, "alias.steps", steps)
	for _, sc := range scenarios {
		t.Run("alias/scenarios/"+sc.Name, func(t *testing.T) {
			// The reference's behaviour: no cap on present doc ids.
			s := NewAliasState(AliasOptions{SkipPresentDocIDCap: true})
			for i, st := range sc.Steps {
				t.Run(fmt.Sprintf("%02d-%s", i, st.Dir), func(t *testing.T) {
					runAliasStep(t, s, st, "")
				})
			}
		})
	}
}

// TestAliasDefaultCapsPresentDocIDs replays the alias vectors with the
// default options: everything matches the reference except that a present
// entry with a doc id over maxDocIDBytes fails with doc-id-too-long.
func TestAliasDefaultCapsPresentDocIDs(t *testing.T) {
	deviations := 0
	for _, sc := range loadAliasScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			s := new(AliasState)
			for i, st := range sc.Steps {
				var expect string
				if st.Dir == "in" && st.Result.OK != nil {
					if p, ok := wireFromTJSON(t, st.Wire).(*wirePresent); ok {
						for _, d := range p.Docs {
							if len(d.DocID) > maxDocIDBytes {
								expect = reasonDocIDTooLong
								deviations++
							}
						}
					}
				}
				t.Run(fmt.Sprintf("%02d-%s", i, st.Dir), func(t *testing.T) {
					runAliasStep(t, s, st, expect)
				})
			}
		})
	}
	if deviations == 0 {
		t.Error("no vector exercises the present doc-id cap")
	}
}

// genChannelMsg draws a ChannelMsg that a reference receiver accepts. Doc
// ids come from a small pool so that aliases get reused.
func genChannelMsg(t *rapid.T) ChannelMsg {
	docID := func() string {
		return rapid.SampledFrom([]string{"doc-a", "doc-b", "doc-c", "", "d/ü/😀", "x"}).Draw(t, "docId")
	}
	switch rapid.IntRange(0, 7).Draw(t, "type") {
	case 0:
		m := &Establish{
			Identity: PeerIdentity{
				PeerID: genText(t, "peerId"),
				Name:   genOptText(t, "name"),
				Type:   rapid.SampledFrom([]PeerType{PeerUser, PeerBot, PeerService}).Draw(t, "peerType"),
			},
			ProtocolVersion: ProtocolVersion{Major: rapid.Int64Range(1, 3).Draw(t, "major"), Minor: rapid.Int64Range(0, 2).Draw(t, "minor")},
		}
		if rapid.IntRange(0, 3).Draw(t, "features?") > 0 {
			m.Features = &Features{Alias: genOptBool(t, "alias"), Streamed: genOptBool(t, "streamed"), Datagram: genOptBool(t, "datagram")}
		}
		return m
	case 1:
		return &Depart{}
	case 2, 3:
		m := &Present{}
		axes := []SyncMode{Collaborative, Authoritative, Ephemeral, {Serialized, SnapshotOnly, Transient}, {Concurrent, DeltaCapable, Transient}}
		for range rapid.IntRange(0, 4).Draw(t, "docs") {
			m.Docs = append(m.Docs, DocPresence{
				DocID:           docID(),
				ReplicaType:     ReplicaType{Name: rapid.SampledFrom([]string{"plain", "loro"}).Draw(t, "rt"), Major: rapid.Int64Range(-maxSafeInteger, maxSafeInteger).Draw(t, "rtmaj"), Minor: rapid.Int64Range(0, 5).Draw(t, "rtmin")},
				SyncMode:        rapid.SampledFrom(axes).Draw(t, "syncMode"),
				SchemaHash:      rapid.SampledFrom([]string{"00aa", "00bb", "00cc"}).Draw(t, "schema"),
				SupportedHashes: rapid.SliceOfN(rapid.SampledFrom([]string{"00aa", "00bb", "00dd"}), 0, 3).Draw(t, "shs"),
			})
		}
		return m
	case 4:
		return &Interest{DocID: docID(), Version: genOptText(t, "version"), Reciprocate: genOptBool(t, "r")}
	case 5:
		m := &Offer{
			DocID:       docID(),
			Payload:     Payload{Kind: rapid.SampledFrom([]PayloadKind{Entirety, Since}).Draw(t, "kind"), Encoding: rapid.SampledFrom([]PayloadEncoding{JSON, Binary}).Draw(t, "enc"), Lineage: genOptText(t, "lineage")},
			Version:     genText(t, "version"),
			Reciprocate: genOptBool(t, "r"),
		}
		if m.Payload.Encoding == JSON {
			m.Payload.Data = []byte(genText(t, "json"))
		} else {
			m.Payload.Data = rapid.SliceOf(rapid.Byte()).Draw(t, "bin")
		}
		return m
	case 6:
		return &Dismiss{DocID: docID()}
	default:
		return &Vacant{DocID: docID()}
	}
}

// expectedDelivery is what the receiving side gets for msg: sync modes
// collapse to the named ones, and supported hashes travel only when there
// is more than one.
func expectedDelivery(msg ChannelMsg) ChannelMsg {
	p, ok := msg.(*Present)
	if !ok {
		return msg
	}
	out := &Present{Docs: make([]DocPresence, len(p.Docs))}
	for i, d := range p.Docs {
		d.SyncMode, _ = syncModeToWire(d.SyncMode).SyncMode()
		if len(d.SupportedHashes) <= 1 {
			d.SupportedHashes = nil
		}
		out.Docs[i] = d
	}
	return out
}

func checkAliasInvariants(t *rapid.T, name string, s *AliasState) {
	for label, m := range map[string]map[string]int64{"doc": s.outDoc, "schema": s.outSchema} {
		next := s.nextDoc
		if label == "schema" {
			next = s.nextSchema
		}
		if int64(len(m)) != next {
			t.Fatalf("%s: %d %s aliases but next is %d", name, len(m), label, next)
		}
		seen := map[int64]bool{}
		for _, a := range m {
			if a < 0 || a >= next || seen[a] {
				t.Fatalf("%s: %s alias %d duplicated or out of range", name, label, a)
			}
			seen[a] = true
		}
	}
	if s.mutual != mutualAlias(s.self, s.peer) {
		t.Fatalf("%s: mutual %v with self %v peer %v", name, s.mutual, s.self, s.peer)
	}
}

// TestAliasPeersAgree connects two alias states through the codecs and
// checks that every message arrives as sent, that outbound aliases stay a
// dense 0..n-1 numbering, and that each side's inbound tables, updated in
// place, mirror exactly what the other side announced.
func TestAliasPeersAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		states := [2]*AliasState{new(AliasState), new(AliasState)}
		for range rapid.IntRange(1, 40).Draw(t, "steps") {
			from := rapid.IntRange(0, 1).Draw(t, "from")
			to := 1 - from
			msg := genChannelMsg(t)

			w, err := aliasOutbound(states[from], msg)
			if err != nil {
				t.Fatalf("AliasOutbound(%s): %v", showValue(channelMsgValue(msg)), err)
			}
			if o, ok := msg.(*Offer); ok {
				checkOfferFastPaths(t, states[from], o, w)
			}
			var got wireMessage
			if rapid.Bool().Draw(t, "text") {
				s, err := encodeTextMessage(w)
				if err != nil {
					t.Fatal(err)
				}
				got, err = decodeTextMessage(s)
				if err != nil {
					t.Fatalf("DecodeTextMessage(%s): %v", s, err)
				}
			} else {
				b, err := encodeMessage(w)
				if err != nil {
					t.Fatal(err)
				}
				if got, err = decodeMessage(b); err != nil {
					t.Fatalf("DecodeMessage(%x): %v", b, err)
				}
				if _, ok := got.(*wireOffer); ok {
					// Decode builds an offer on its stack; it must deliver
					// what the general path does (an offer changes no state).
					fast, err := states[to].Decode(b)
					if err != nil {
						t.Fatalf("Decode(%x): %v", b, err)
					}
					slow, _ := aliasInbound(states[to], got)
					if !valueEqual(channelMsgValue(fast), channelMsgValue(slow)) {
						t.Fatalf("Decode %s\nwant   %s", showValue(channelMsgValue(fast)), showValue(channelMsgValue(slow)))
					}
				}
			}
			in, err := aliasInbound(states[to], got)
			if err != nil {
				t.Fatalf("AliasInbound(%s): %v", showValue(messageValueOf(t, got)), err)
			}
			if want := sortedValue(channelMsgValue(expectedDelivery(msg))); !valueEqual(sortedValue(channelMsgValue(in)), want) {
				t.Fatalf("delivered %s\nwant      %s", showValue(channelMsgValue(in)), showValue(want))
			}
			next, recv := states[from], states[to]
			checkAliasInvariants(t, "sender", next)
			checkAliasInvariants(t, "receiver", recv)
			for i := range states {
				checkMirror(t, states[i], states[1-i])
			}
			if next.mutual && recv.mutual {
				// Once aliasing is mutual, references to announced docs are aliases.
				if r, ok := w.(*wireDismiss); ok {
					if _, known := next.outDoc[msg.(*Dismiss).DocID]; known && r.DX == nil {
						t.Fatalf("mutual alias but dismiss by id: %s", showValue(messageValueOf(t, w)))
					}
				}
			}
		}
	})
}

// checkMirror: the receiver's inbound tables are the inverse of the
// sender's outbound ones (every announcement was delivered).
func checkMirror(t *rapid.T, sender, receiver *AliasState) {
	if len(receiver.inDoc) != len(sender.outDoc) || len(receiver.inSchema) != len(sender.outSchema) {
		t.Fatalf("receiver holds %d/%d aliases, sender announced %d/%d",
			len(receiver.inDoc), len(receiver.inSchema), len(sender.outDoc), len(sender.outSchema))
	}
	for id, a := range sender.outDoc {
		if got := receiver.inDoc[keyFor(float64(a))]; got != id {
			t.Fatalf("doc alias %d: receiver has %q, sender announced %q", a, got, id)
		}
	}
	for h, a := range sender.outSchema {
		if got := receiver.inSchema[keyFor(float64(a))]; got != h {
			t.Fatalf("schema alias %d: receiver has %q, sender announced %q", a, got, h)
		}
	}
}

func TestAliasErrorsAndEdges(t *testing.T) {
	s := new(AliasState)

	// Unknown payload kind and encoding leave the state alone.
	for _, p := range []Payload{{Kind: "snapshot", Encoding: JSON}, {Kind: Since, Encoding: "cbor"}} {
		before := aliasStateValue(s)
		w, err := aliasOutbound(s, &Offer{DocID: "d", Payload: p, Version: "1"})
		var ae *AliasError
		if !errors.As(err, &ae) || w != nil || !valueEqual(aliasStateValue(s), before) {
			t.Fatalf("offer %+v: %v %v", p, w, err)
		}
		if ae.Value != string(p.Kind) && ae.Value != string(p.Encoding) {
			t.Errorf("error value %v", ae.Value)
		}
	}

	// Nil messages.
	if _, err := aliasOutbound(s, nil); !errors.Is(err, errNilMessage) {
		t.Errorf("AliasOutbound(nil): %v", err)
	}
	if _, err := aliasOutbound(s, (*Offer)(nil)); !errors.Is(err, errNilMessage) {
		t.Errorf("AliasOutbound((*Offer)(nil)): %v", err)
	}
	if _, err := aliasInbound(s, nil); !errors.Is(err, errNilMessage) {
		t.Errorf("AliasInbound(nil): %v", err)
	}

	// Aliases are JavaScript Map keys: -0 is 0 and NaN finds NaN.
	present := &wirePresent{Docs: []wireDocEntry{
		{DocID: "zero", Alias: refOf(math.Copysign(0, -1)), ReplicaType: wireReplicaType{"plain", 1, 0}, SchemaHash: refOf("h")},
		{DocID: "nan", Alias: refOf(math.NaN()), ReplicaType: wireReplicaType{"plain", 1, 0}, SchemaHash: refOf("h")},
		{DocID: "frac", Alias: refOf(1.5), ReplicaType: wireReplicaType{"plain", 1, 0}, SchemaHash: refOf("h")},
	}}
	s2 := new(AliasState)
	_, err := aliasInbound(s2, present)
	if err != nil {
		t.Fatal(err)
	}
	for alias, want := range map[float64]string{0: "zero", math.NaN(): "nan", 1.5: "frac"} {
		m, err := aliasInbound(s2, &wireVacant{docByAlias(alias)})
		if err != nil || m.(*Vacant).DocID != want {
			t.Errorf("dx %v: %v %v, want %s", alias, m, err, want)
		}
	}
	if got, ok := s2.InboundDocID(0); !ok || got != "zero" {
		t.Errorf("InboundDocID(0) = %q %v", got, ok)
	}

	// A non-integral replica version cannot become a ReplicaType.
	_, err = aliasInbound(s, &wirePresent{Docs: []wireDocEntry{{DocID: "d", ReplicaType: wireReplicaType{"plain", 1.5, 0}, SchemaHash: refOf("h")}}})
	if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonInvalidReplicaType}) {
		t.Errorf("rt 1.5: %v", err)
	}

	// Doc id caps count UTF-8 bytes: 128 four-byte characters fit, one more byte does not.
	long := strings.Repeat("😀", 128)
	if _, err := aliasInbound(s, &wireDismiss{docByID(long)}); err != nil {
		t.Errorf("512-byte id rejected: %v", err)
	}
	if _, err := aliasInbound(s, &wireDismiss{docByID(long + "a")}); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonDocIDTooLong}) {
		t.Errorf("513-byte id: %v", err)
	}
	if _, err := aliasInbound(s, &wirePresent{Docs: []wireDocEntry{{DocID: long + "a", ReplicaType: wireReplicaType{"plain", 1, 0}, SchemaHash: refOf("h")}}}); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonDocIDTooLong}) {
		t.Errorf("513-byte present id with default options: %v", err)
	}
	lax := NewAliasState(AliasOptions{SkipPresentDocIDCap: true})
	if _, err := aliasInbound(lax, &wirePresent{Docs: []wireDocEntry{{DocID: long + "a", ReplicaType: wireReplicaType{"plain", 1, 0}, SchemaHash: refOf("h")}}}); err != nil {
		t.Errorf("513-byte present id with SkipPresentDocIDCap: %v", err)
	}

	// Features are copied: changing the caller's struct later has no effect.
	f := &Features{Alias: refOf(true)}
	s3 := new(AliasState)
	_, _ = aliasOutbound(s3, &Establish{Identity: PeerIdentity{PeerID: "p", Type: PeerUser}, Features: f, ProtocolVersion: DefaultProtocolVersion})
	*f.Alias = false
	if sf := s3.SelfFeatures(); sf == nil || sf.Alias == nil || !*sf.Alias {
		t.Errorf("self features changed with the caller's struct: %+v", sf)
	}

	// The zero state is a fresh connection.
	var zero AliasState
	w, err := aliasOutbound(&zero, &Present{Docs: []DocPresence{{DocID: "d", ReplicaType: ReplicaType{"plain", 1, 0}, SyncMode: Authoritative, SchemaHash: "h"}}})
	if err != nil || *w.(*wirePresent).Docs[0].Alias != 0 {
		t.Fatalf("present from zero state: %v %v", w, err)
	}
	if a, ok := zero.OutboundDocAlias("d"); !ok || a != 0 {
		t.Errorf("zero state: alias %d %v", a, ok)
	}
	var zeroIn AliasState
	if _, err := aliasInbound(&zeroIn, present); err != nil {
		t.Errorf("inbound present into zero state: %v", err)
	}

	// A Go zero-value establish still produces one the peer accepts.
	w, _ = aliasOutbound(new(AliasState), &Establish{Identity: PeerIdentity{PeerID: "p"}})
	if b, _ := encodeMessage(w); hex.EncodeToString(b) != "a3617401626964617061796475736572" {
		t.Errorf("zero establish encodes as %x", b)
	} else if _, err := decodeMessage(b); err != nil {
		t.Errorf("zero establish rejected: %v", err)
	}

	// Error text names the code and detail.
	if got := (&AliasError{Reason: reasonUnknownDocAlias, Alias: 4}).Error(); got != "wire: alias resolution failed: unknown-doc-alias 4" {
		t.Errorf("Error() = %q", got)
	}
}

func TestSyncModeCollapse(t *testing.T) {
	for _, w := range []WriterModel{Serialized, Concurrent} {
		for _, d := range []Delivery{DeltaCapable, SnapshotOnly} {
			for _, u := range []Durability{Persistent, Transient} {
				got := syncModeToWire(SyncMode{w, d, u})
				want := wireEphemeral
				if w == Serialized {
					want = wireAuthoritative
				} else if d == DeltaCapable {
					want = wireCollaborative
				}
				if got != want {
					t.Errorf("SyncModeToWire(%s,%s,%s) = %d, want %d", w, d, u, got, want)
				}
			}
		}
	}
	for w, named := range map[wireSyncMode]SyncMode{0: Collaborative, 1: Authoritative, 2: Ephemeral} {
		if m, ok := w.SyncMode(); !ok || m != named || syncModeToWire(m) != w {
			t.Errorf("wire %d -> %v %v", w, m, ok)
		}
	}
	if _, ok := wireSyncMode(3).SyncMode(); ok {
		t.Error("wire 3 maps to a mode")
	}
}

func presentOf(n int, first int, alias bool) *wirePresent {
	p := &wirePresent{Docs: make([]wireDocEntry, n)}
	for i := range p.Docs {
		e := &p.Docs[i]
		e.DocID = fmt.Sprintf("doc-%d", first+i)
		if alias {
			e.Alias = refOf(float64(first + i))
		}
		e.ReplicaType = wireReplicaType{"plain", 1, 0}
		e.SchemaHash = refOf("h")
	}
	return p
}

// TestAliasCaps: a present longer than MaxPresentDocs fails before it
// records anything; announcements beyond MaxAliases fail at the first new
// alias over the cap, keeping the ones before it (as any failing entry
// does); re-announcing a known alias never counts against the cap.
func TestAliasCaps(t *testing.T) {
	s := NewAliasState(AliasOptions{MaxAliases: 5, MaxPresentDocs: 4})
	if _, err := aliasInbound(s, presentOf(5, 0, true)); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonTooManyDocs}) {
		t.Fatalf("5-doc present with cap 4: %v", err)
	}
	if len(s.inDoc) != 0 {
		t.Fatalf("refused present recorded %d aliases", len(s.inDoc))
	}
	if _, err := aliasInbound(s, presentOf(4, 0, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := aliasInbound(s, presentOf(4, 0, true)); err != nil {
		t.Fatalf("re-announcing the same aliases: %v", err)
	}
	_, err := aliasInbound(s, presentOf(3, 4, true)) // doc-4 fits, doc-5 is the sixth alias
	var ae *AliasError
	if !errors.As(err, &ae) || ae.Reason != reasonTooManyAliases || !ae.IsLimit() {
		t.Fatalf("sixth alias: %v", err)
	}
	if len(s.inDoc) != 5 {
		t.Fatalf("%d aliases held, want the 5 before the failure", len(s.inDoc))
	}
	if id, ok := s.InboundDocID(4); !ok || id != "doc-4" {
		t.Fatalf("alias 4 -> %q %v", id, ok)
	}
	// A known alias may be re-pointed at another document at the cap.
	p := presentOf(1, 0, true)
	p.Docs[0].DocID = "renamed"
	if _, err := aliasInbound(s, p); err != nil {
		t.Fatalf("re-pointing alias 0 at the cap: %v", err)
	}
	// Schema aliases have their own cap.
	sch := NewAliasState(AliasOptions{MaxAliases: 2})
	for i := range 3 {
		p := presentOf(1, i, false)
		p.Docs[0].SchemaHash = refOf(fmt.Sprintf("h%d", i))
		p.Docs[0].SchemaAlias = refOf(float64(i))
		_, err := aliasInbound(sch, p)
		if (i < 2) != (err == nil) || (err != nil && !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonTooManyAliases})) {
			t.Fatalf("schema alias %d: %v", i, err)
		}
	}
	// Defaults apply to the zero value; negative caps are the reference's (none).
	var zero AliasState
	if _, err := aliasInbound(&zero, presentOf(defaultMaxPresentDocs+1, 0, false)); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonTooManyDocs}) {
		t.Fatalf("default present cap: %v", err)
	}
	lax := NewAliasState(AliasOptions{MaxAliases: -1, MaxPresentDocs: -1})
	if _, err := aliasInbound(lax, presentOf(defaultMaxPresentDocs+1, 0, true)); err != nil {
		t.Fatalf("no caps: %v", err)
	}
	if got := (&AliasError{Reason: reasonTooManyDocs, Detail: "x"}).Error(); got != "wire: alias resolution failed: too-many-docs: x" {
		t.Errorf("Error() = %q", got)
	}
}

// BenchmarkAliasPresentOneByOne announces docs one present at a time, the
// way an exchange presents documents as they are created. The cost per
// document must not grow with the table: compare ns/op of the two sizes
// (a copy-on-write table made this O(N) per message, O(N²) in total).
func BenchmarkAliasPresentOneByOne(b *testing.B) {
	for _, n := range []int{1_000, 20_000} {
		msgs := make([]*Present, n)
		for i := range msgs {
			msgs[i] = &Present{Docs: []DocPresence{{DocID: fmt.Sprintf("doc-%d", i), ReplicaType: ReplicaType{"plain", 1, 0}, SyncMode: Authoritative, SchemaHash: "h"}}}
		}
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, in := new(AliasState), new(AliasState)
				for _, m := range msgs {
					w, err := aliasOutbound(out, m)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := aliasInbound(in, w); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/doc")
		})
	}
}

// checkOfferFastPaths: EncodeReserved and EncodeSplit, which encode an
// offer from a view of it on the stack, write the bytes of the general
// encoder for the wire form aliasOutbound built.
func checkOfferFastPaths(t *rapid.T, s *AliasState, o *Offer, w wireMessage) {
	want, err := encodeMessage(w)
	if err != nil {
		t.Fatal(err)
	}
	reserve := rapid.IntRange(0, 18).Draw(t, "reserve")
	got, err := s.EncodeReserved(o, reserve)
	if err != nil || len(got) < reserve || !bytes.Equal(got[reserve:], want) {
		t.Fatalf("EncodeReserved: %x, %v\nwant %x", got, err, want)
	}
	min := rapid.IntRange(0, len(o.Payload.Data)+1).Draw(t, "min")
	pre, data, post, err := s.EncodeSplit(o, min, reserve)
	if data == nil {
		pre = pre[reserve:]
	}
	if joined := append(append(bytes.Clone(pre), data...), post...); err != nil || !bytes.Equal(joined, want) {
		t.Fatalf("EncodeSplit(min %d): %x, %v\nwant %x", min, joined, err, want)
	}
	// The same data in pieces, cut anywhere (a cut inside a character
	// takes the joined path), encodes to the same bytes, and a split
	// encoding writes the body from where it is.
	wholeSplit := data != nil
	d := o.Payload.Data
	i := rapid.IntRange(0, len(d)).Draw(t, "head")
	j := rapid.IntRange(i, len(d)).Draw(t, "body end")
	bare := *o
	bare.Payload.Data = nil
	pre, data, post, err = s.EncodeOfferPieces(&bare, Pieces{Head: d[:i], Body: d[i:j], Tail: d[j:]}, min, reserve)
	validPieces := o.Payload.Encoding != JSON || utf8.Valid(d[:i]) && utf8.Valid(d[i:j]) && utf8.Valid(d[j:])
	if wholeSplit && j > i && validPieces && (len(data) != j-i || &data[0] != &d[i]) {
		t.Fatalf("EncodeOfferPieces(min %d): the split data is not the body", min)
	}
	if data == nil {
		pre = pre[reserve:]
	}
	if joined := append(append(bytes.Clone(pre), data...), post...); err != nil || !bytes.Equal(joined, want) {
		t.Fatalf("EncodeOfferPieces(min %d, cuts %d, %d): %x, %v\nwant %x", min, i, j, joined, err, want)
	}
}
