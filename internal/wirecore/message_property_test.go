package wirecore

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	"pgregory.net/rapid"
)

// Generators for valid wire messages. Strings avoid a leading U+FEFF, which
// the reference's decoder drops (a documented quirk, tested elsewhere).

func genText(t *rapid.T, label string) string {
	return strings.TrimLeft(rapid.String().Draw(t, label), "\ufeff")
}

func genOptText(t *rapid.T, label string) *string {
	if rapid.Bool().Draw(t, label+"?") {
		return refOf(genText(t, label))
	}
	return nil
}

func genOptBool(t *rapid.T, label string) *bool {
	if rapid.Bool().Draw(t, label+"?") {
		return refOf(rapid.Bool().Draw(t, label))
	}
	return nil
}

// genNumber draws a JavaScript number; finite only when the text form must
// carry it (JSON has no NaN or Infinity).
func genNumber(t *rapid.T, label string, finite bool) float64 {
	if rapid.Bool().Draw(t, label+"-int") {
		return float64(rapid.Int64Range(-maxSafeInteger, maxSafeInteger).Draw(t, label))
	}
	f := rapid.Float64().Draw(t, label)
	if !finite && rapid.IntRange(0, 9).Draw(t, label+"-special") == 0 {
		f = rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}).Draw(t, label+"-s")
	}
	return f
}

func genOptNumber(t *rapid.T, label string, finite bool) *float64 {
	if rapid.Bool().Draw(t, label+"?") {
		return refOf(genNumber(t, label, finite))
	}
	return nil
}

func genDocRef(t *rapid.T, finite bool) wireDocRef {
	if rapid.Bool().Draw(t, "by-alias") {
		return docByAlias(genNumber(t, "dx", finite))
	}
	return docByID(genText(t, "doc"))
}

func genWireMessage(t *rapid.T, finite bool) wireMessage {
	switch rapid.IntRange(0, 6).Draw(t, "type") {
	case 0:
		m := &wireEstablish{
			PeerID:   genText(t, "id"),
			Name:     genOptText(t, "n"),
			PeerType: rapid.SampledFrom([]PeerType{PeerUser, PeerBot, PeerService}).Draw(t, "y"),
		}
		if rapid.Bool().Draw(t, "f?") {
			m.Features = &Features{Alias: genOptBool(t, "a"), Streamed: genOptBool(t, "s"), Datagram: genOptBool(t, "d")}
		}
		if rapid.Bool().Draw(t, "pv?") {
			m.ProtocolVersion = &ProtocolVersion{
				Major: rapid.Int64Range(1, maxSafeInteger).Draw(t, "major"),
				Minor: rapid.Int64Range(0, maxSafeInteger).Draw(t, "minor"),
			}
		}
		return m
	case 1:
		return &wireDepart{}
	case 2:
		m := &wirePresent{Docs: []wireDocEntry{}}
		for range rapid.IntRange(0, 3).Draw(t, "docs") {
			e := wireDocEntry{
				DocID:       genText(t, "d"),
				Alias:       genOptNumber(t, "a", finite),
				ReplicaType: wireReplicaType{Name: genText(t, "rt"), Major: genNumber(t, "major", finite), Minor: genNumber(t, "minor", finite)},
				SyncMode:    wireSyncMode(rapid.IntRange(0, 2).Draw(t, "ms")),
			}
			if rapid.Bool().Draw(t, "sh?") {
				e.SchemaHash = refOf(genText(t, "sh"))
				e.SchemaAlias = genOptNumber(t, "sa", finite)
			} else {
				e.SchemaAliasRef = refOf(genNumber(t, "shx", finite))
			}
			if rapid.Bool().Draw(t, "shs?") {
				e.SupportedHashes = rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return genText(t, "h") }), 0, 3).Draw(t, "shs")
			}
			m.Docs = append(m.Docs, e)
		}
		return m
	case 3:
		return &wireInterest{wireDocRef: genDocRef(t, finite), Version: genOptText(t, "v"), Reciprocate: genOptBool(t, "r")}
	case 4:
		m := &wireOffer{
			Kind:        wirePayloadKind(rapid.IntRange(0, 1).Draw(t, "pk")),
			Encoding:    wirePayloadEncoding(rapid.IntRange(0, 1).Draw(t, "pe")),
			DataIsText:  rapid.Bool().Draw(t, "text?"),
			Version:     genText(t, "v"),
			wireDocRef:  genDocRef(t, finite),
			Reciprocate: genOptBool(t, "r"),
			Lineage:     genOptText(t, "ln"),
		}
		if m.DataIsText {
			m.Data = []byte(genText(t, "d"))
		} else {
			m.Data = rapid.SliceOf(rapid.Byte()).Draw(t, "d")
		}
		return m
	case 5:
		return &wireDismiss{genDocRef(t, finite)}
	default:
		return &wireVacant{genDocRef(t, finite)}
	}
}

func TestMessageRoundTripCBOR(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genWireMessage(t, false)
		want := jsNormalize(messageValueOf(t, m))
		b, err := encodeMessage(m)
		if err != nil {
			t.Fatalf("EncodeMessage: %v", err)
		}
		// The encoding is the generic value codec applied to messageValue.
		if v, err := decodeValue(b); err != nil || !valueEqual(v, want) {
			t.Fatalf("encoded value %s, want %s (%v)", showValue(v), showValue(want), err)
		}
		got, err := decodeMessage(b)
		if err != nil {
			t.Fatalf("DecodeMessage(%x): %v", b, err)
		}
		if gv := jsNormalize(messageValueOf(t, got)); !valueEqual(gv, want) {
			t.Fatalf("round trip %s, want %s", showValue(gv), showValue(want))
		}
	})
}

func TestMessageRoundTripText(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genWireMessage(t, true)
		want := jsNormalize(messageValueOf(t, m))
		s, err := encodeTextMessage(m)
		if err != nil {
			t.Fatalf("EncodeTextMessage: %v", err)
		}
		got, err := decodeTextMessage(s)
		if err != nil {
			t.Fatalf("DecodeTextMessage(%s): %v", s, err)
		}
		if gv := jsNormalize(messageValueOf(t, got)); !valueEqual(gv, want) {
			t.Fatalf("round trip of %s: %s, want %s", s, showValue(gv), showValue(want))
		}
		again, _ := encodeTextMessage(got)
		if again != s {
			t.Fatalf("text not stable: %s then %s", s, again)
		}
	})
}

func TestEncodeNilMessage(t *testing.T) {
	for _, m := range []wireMessage{nil, (*wireOffer)(nil), (*wirePresent)(nil)} {
		if _, err := encodeMessage(m); !errors.Is(err, errNilMessage) {
			t.Errorf("EncodeMessage(%T) error %v", m, err)
		}
		if _, err := encodeTextMessage(m); !errors.Is(err, errNilMessage) {
			t.Errorf("EncodeTextMessage(%T) error %v", m, err)
		}
	}
}

func TestDecodeMessageErrorTypes(t *testing.T) {
	// A CBOR failure wraps the library's error.
	_, err := decodeMessage([]byte{0xbf, 0x61, 0x74, 0x02, 0xff})
	var derr *kyneta.Error
	if !errors.As(err, &derr) || derr.Reason != reasonDecodeCBOR || jsErrorClass(derr.Reason) != "Error" || errors.Unwrap(err) == nil {
		t.Fatalf("indefinite map: %v", err)
	}
	// Validation failures carry reason and path.
	_, err = decodeMessage(mustHex(t, "a261741064646f6373816178"))
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Reason != "docs entry must be an object" || len(verr.Path) != 2 || verr.Path[1] != 0 {
		t.Fatalf("bad entry: %#v", err)
	}
	if got := verr.Error(); got != "wire: invalid message: docs entry must be an object (at docs[0])" {
		t.Errorf("Error() = %q", got)
	}
	_, err = decodeTextMessage(`{"t":18,"pk":0,"pe":1,"d":{"__bytes":"!"},"v":"1","doc":"x"}`)
	if !errors.As(err, &derr) || derr.Reason != reasonDecodeBase64 || jsErrorClass(derr.Reason) != "InvalidCharacterError" {
		t.Fatalf("bad base64: %v", err)
	}
	_, err = decodeTextMessage(`{"t":2`)
	if !errors.As(err, &derr) || derr.Reason != reasonDecodeJSON || jsErrorClass(derr.Reason) != "SyntaxError" {
		t.Fatalf("bad JSON: %v", err)
	}
}

func TestTextMessageDetails(t *testing.T) {
	// Base64 errors win over validation failures, wherever the wrapper is.
	_, err := decodeTextMessage(`{"t":0,"zz":[{"__bytes":"!"}]}`)
	var derr *kyneta.Error
	if !errors.As(err, &derr) || derr.Reason != reasonDecodeBase64 {
		t.Fatalf("nested bad base64: %v", err)
	}
	// A wrapper turns a field into bytes, which then fails its type check.
	_, err = decodeTextMessage(`{"t":20,"doc":{"__bytes":"AQ=="}}`)
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Reason != "doc must be a string" {
		t.Fatalf("doc as bytes: %v", err)
	}
	// Repeated keys: the last value wins.
	m, err := decodeTextMessage(`{"t":19,"doc":"a","doc":"b"}`)
	if err != nil || *m.(*wireDismiss).Doc != "b" {
		t.Fatalf("repeated key: %v %v", m, err)
	}
	// Numbers are doubles: 2^53+1 parses as 2^53.
	m, err = decodeTextMessage(`{"t":19,"dx":9007199254740993}`)
	if err != nil || *m.(*wireDismiss).DX != 1<<53 {
		t.Fatalf("big dx: %v %v", m, err)
	}
	// Escapes the reference writes, and those it leaves alone.
	s, _ := encodeTextMessage(&wireVacant{docByID("<&>\u2028\b\f\x01\"\\")})
	if want := "{\"t\":20,\"doc\":\"<&>\u2028\\b\\f\\u0001\\\"\\\\\"}"; s != want {
		t.Fatalf("escaping: %s, want %s", s, want)
	}
	// Non-integral aliases print like JavaScript numbers.
	s, _ = encodeTextMessage(&wireDismiss{docByAlias(1.5e-7)})
	if s != `{"t":19,"dx":1.5e-7}` {
		t.Fatalf("float dx: %s", s)
	}
}
