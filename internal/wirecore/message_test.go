package wirecore

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// wireFromTJSON builds a wireMessage from a vector's "wire" object without
// validation (the alias vectors use objects the decoder would reject).
func wireFromTJSON(t testing.TB, raw []byte) wireMessage {
	t.Helper()
	m, err := wireFromValue(parseTJSON(t, raw))
	if err != nil {
		t.Fatalf("vector wire object not representable: %v: %s", err, raw)
	}
	return m
}

// knownKeys lists the fields the reference's validator reads, per object.
var knownKeys = map[MsgType][]string{
	TypeEstablish: {"t", "id", "n", "y", "f", "pv"},
	TypeDepart:    {"t"},
	TypePresent:   {"t", "docs"},
	TypeInterest:  {"t", "doc", "dx", "v", "r"},
	TypeOffer:     {"t", "pk", "pe", "d", "v", "doc", "dx", "r", "ln"},
	TypeDismiss:   {"t", "doc", "dx"},
	TypeVacant:    {"t", "doc", "dx"},
}

var (
	entryKeys    = []string{"d", "a", "rt", "ms", "sh", "sa", "shx", "shs"}
	featuresKeys = []string{"a", "s", "d"}
)

// knownPart reduces a decoded message object from a vector to what a
// wireMessage keeps: known keys only, undefined values dropped, keys sorted.
func knownPart(t testing.TB, v any) orderedMap {
	t.Helper()
	m := v.(orderedMap)
	tv, _ := m.Get("t")
	ty, ok := smallUint(tv)
	if !ok {
		t.Fatalf("vector object without numeric t: %s", showValue(v))
	}
	out := filterKeys(m, knownKeys[MsgType(ty)])
	for i, e := range out {
		switch e.Key {
		case "f":
			out[i].Value = filterKeys(e.Value.(orderedMap), featuresKeys)
		case "docs":
			var docs []any
			for _, d := range e.Value.([]any) {
				docs = append(docs, filterKeys(d.(orderedMap), entryKeys))
			}
			out[i].Value = docs
		}
	}
	return out
}

func filterKeys(m orderedMap, keys []string) orderedMap {
	out := orderedMap{}
	for _, e := range m {
		k, ok := e.Key.(string)
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		if _, undef := e.Value.(jsUndefined); undef {
			continue
		}
		out = append(out, e)
	}
	return sortedMap(out)
}

// sortedMap orders map entries by key, recursively, for order-free compares.
func sortedMap(m orderedMap) orderedMap {
	out := slices.Clone(m)
	for i, e := range out {
		out[i].Value = sortedValue(e.Value)
	}
	slices.SortFunc(out, func(a, b mapEntry) int { return strings.Compare(showValue(a.Key), showValue(b.Key)) })
	return out
}

func sortedValue(v any) any {
	switch v := v.(type) {
	case orderedMap:
		return sortedMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = sortedValue(e)
		}
		return out
	}
	return v
}

// fataler is what test helpers need from *testing.T and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// messageValueOf is messageValue for tests.
func messageValueOf(t fataler, m wireMessage) orderedMap {
	t.Helper()
	v, err := messageValue(m)
	if err != nil {
		t.Fatalf("MessageValue: %v", err)
	}
	return v
}

func TestVectorsMessages(t *testing.T) {
	var file struct {
		Cases []struct {
			Name string          `json:"name"`
			Wire json.RawMessage `json:"wire"`
			CBOR string          `json:"cbor"`
			Text string          `json:"text"`
		} `json:"cases"`
		DecodeCases []struct {
			Name    string          `json:"name"`
			CBOR    string          `json:"cbor"`
			Decoded json.RawMessage `json:"decoded"`
		} `json:"decodeCases"`
		TextDecodeCases []struct {
			Name    string          `json:"name"`
			Text    string          `json:"text"`
			Decoded json.RawMessage `json:"decoded"`
		} `json:"textDecodeCases"`
	}
	loadVectors(t, "messages.json", &file)
	checkCount(t, "messages.cases", len(file.Cases))
	checkCount(t, "messages.decodeCases", len(file.DecodeCases))
	checkCount(t, "messages.textDecodeCases", len(file.TextDecodeCases))

	for _, c := range file.Cases {
		t.Run("messages/cases/"+c.Name, func(t *testing.T) {
			wireVal := parseTJSON(t, c.Wire)
			msg := wireFromTJSON(t, c.Wire)

			got, err := encodeMessage(msg)
			if err != nil {
				t.Fatalf("EncodeMessage: %v", err)
			}
			if hex.EncodeToString(got) != c.CBOR {
				t.Errorf("EncodeMessage = %x\nwant          %s", got, c.CBOR)
			}
			text, err := encodeTextMessage(msg)
			if err != nil {
				t.Fatalf("EncodeTextMessage: %v", err)
			}
			if text != c.Text {
				t.Errorf("EncodeTextMessage = %s\nwant              %s", text, c.Text)
			}

			// Both decoders return exactly the wire object, key order included.
			dec, err := decodeMessage(mustHex(t, c.CBOR))
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			if v := messageValueOf(t, dec); !valueEqual(v, wireVal) {
				t.Errorf("DecodeMessage = %s\nwant           %s", showValue(v), showValue(wireVal))
			}
			tdec, err := decodeTextMessage(c.Text)
			if err != nil {
				t.Fatalf("DecodeTextMessage: %v", err)
			}
			if v := messageValueOf(t, tdec); !valueEqual(v, wireVal) {
				t.Errorf("DecodeTextMessage = %s\nwant               %s", showValue(v), showValue(wireVal))
			}
		})
	}
	for _, c := range file.DecodeCases {
		t.Run("messages/decodeCases/"+c.Name, func(t *testing.T) {
			dec, err := decodeMessage(mustHex(t, c.CBOR))
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			want := knownPart(t, parseTJSON(t, c.Decoded))
			if got := sortedMap(messageValueOf(t, dec)); !valueEqual(got, want) {
				t.Errorf("DecodeMessage = %s\nwant           %s", showValue(got), showValue(want))
			}
		})
	}
	for _, c := range file.TextDecodeCases {
		t.Run("messages/textDecodeCases/"+c.Name, func(t *testing.T) {
			dec, err := decodeTextMessage(c.Text)
			if err != nil {
				t.Fatalf("DecodeTextMessage: %v", err)
			}
			want := knownPart(t, parseTJSON(t, c.Decoded))
			if got := sortedMap(messageValueOf(t, dec)); !valueEqual(got, want) {
				t.Errorf("DecodeTextMessage = %s\nwant               %s", showValue(got), showValue(want))
			}
		})
	}
}

// vectorError is the "error" object of an invalid.json vector.
type vectorError struct {
	Class   string          `json:"class"`
	Reason  string          `json:"reason"`
	Path    json.RawMessage `json:"path"`
	Message string          `json:"message"`
}

// checkVectorError asserts that err matches the reference's error class and,
// for validation failures, its reason and path exactly.
func checkVectorError(t *testing.T, err error, want vectorError) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %s %q%q", want.Class, want.Reason, want.Message)
	}
	switch want.Class {
	case "WireValidationFailure":
		var verr *ValidationError
		if !errors.As(err, &verr) {
			t.Fatalf("error %v (%T), want *ValidationError %q", err, err, want.Reason)
		}
		if verr.Reason != want.Reason {
			t.Errorf("reason %q, want %q", verr.Reason, want.Reason)
		}
		var wantPath []any
		if len(want.Path) > 0 {
			wantPath = parseTJSON(t, want.Path).([]any)
		}
		var gotPath []any
		for _, p := range verr.Path {
			if i, ok := p.(int); ok {
				p = int64(i)
			}
			gotPath = append(gotPath, p)
		}
		if !valueEqual(gotPath, wantPath) && !(len(gotPath) == 0 && len(wantPath) == 0) {
			t.Errorf("path %s, want %s", showValue(gotPath), showValue(wantPath))
		}
	case "Error", "SyntaxError", "InvalidCharacterError":
		var derr *kyneta.Error
		if !errors.As(err, &derr) {
			t.Fatalf("error %v (%T), want *Error of class %s", err, err, want.Class)
		}
		if jsErrorClass(derr.Reason) != want.Class {
			t.Errorf("class %s (%v), want %s (%s)", jsErrorClass(derr.Reason), err, want.Class, want.Message)
		}
	default:
		t.Fatalf("unknown error class %q in vector", want.Class)
	}
}

func TestVectorsInvalidMessages(t *testing.T) {
	var file struct {
		WireMessage []struct {
			Name  string      `json:"name"`
			CBOR  string      `json:"cbor"`
			Error vectorError `json:"error"`
		} `json:"wireMessage"`
		TextMessage []struct {
			Name  string      `json:"name"`
			Text  string      `json:"text"`
			Error vectorError `json:"error"`
		} `json:"textMessage"`
	}
	loadVectors(t, "invalid.json", &file)
	checkCount(t, "invalid.wireMessage", len(file.WireMessage))
	checkCount(t, "invalid.textMessage", len(file.TextMessage))
	for _, c := range file.WireMessage {
		t.Run("invalid/wireMessage/"+c.Name, func(t *testing.T) {
			if strings.HasPrefix(c.Name, "cbor/") && c.Error.Class != "Error" {
				t.Fatalf("vector %s: class %s", c.Name, c.Error.Class)
			}
			m, err := decodeMessage(mustHex(t, c.CBOR))
			if err == nil {
				t.Fatalf("DecodeMessage accepted %s as %T", c.CBOR, m)
			}
			checkVectorError(t, err, c.Error)
		})
	}
	for _, c := range file.TextMessage {
		t.Run("invalid/textMessage/"+c.Name, func(t *testing.T) {
			m, err := decodeTextMessage(c.Text)
			if err == nil {
				t.Fatalf("DecodeTextMessage accepted %q as %T", c.Text, m)
			}
			checkVectorError(t, err, c.Error)
		})
	}
}
