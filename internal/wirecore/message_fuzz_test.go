package wirecore

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ (taken from the golden
// vectors: encoder output, accepted oddities and rejected inputs).

// approxSize estimates the memory a decoded value holds, to check that
// decoding never allocates more than a bounded multiple of its input.
func approxSize(v any) int {
	const node = 48 // interface plus a small header
	switch v := v.(type) {
	case string:
		return node + len(v)
	case []byte:
		return node + len(v)
	case *big.Int:
		return node + len(v.Bits())*8
	case []any:
		n := node
		for _, e := range v {
			n += approxSize(e)
		}
		return n
	case orderedMap:
		n := node
		for _, e := range v {
			n += approxSize(e.Key) + approxSize(e.Value)
		}
		return n
	}
	return node
}

// sizeBound is the most a decoded value may hold for an input of n bytes:
// each one-byte item becomes one node, and a three-byte invalid UTF-8
// sequence can grow into three replacement characters (9 bytes).
func sizeBound(n int) int { return 64*n + 1024 }

func hasNonFinite(v any) bool {
	switch v := v.(type) {
	case float64:
		return math.IsNaN(v) || math.IsInf(v, 0)
	case []any:
		for _, e := range v {
			if hasNonFinite(e) {
				return true
			}
		}
	case orderedMap:
		for _, e := range v {
			if hasNonFinite(e.Value) {
				return true
			}
		}
	}
	return false
}

func hasBOMKey(v any) bool {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if hasBOMKey(e) {
				return true
			}
		}
	case orderedMap:
		for _, e := range v {
			if k, ok := e.Key.(string); ok && strings.HasPrefix(k, "\ufeff") || hasBOMKey(e.Value) {
				return true
			}
		}
	}
	return false
}

func checkDecodeErr(t *testing.T, err error) {
	t.Helper()
	var derr *kyneta.Error
	var verr *ValidationError
	if !errors.As(err, &derr) && !errors.As(err, &verr) {
		t.Fatalf("error of unexpected type %T: %v", err, err)
	}
}

// checkMessageRoundTrip re-encodes an accepted message in both forms and
// checks that it decodes to the same value.
func checkMessageRoundTrip(t *testing.T, m wireMessage) {
	t.Helper()
	want := jsNormalize(messageValueOf(t, m))
	b, err := encodeMessage(m)
	if err != nil {
		t.Fatalf("EncodeMessage: %v", err)
	}
	if direct, ok := directRefEncoding(m); ok && !bytes.Equal(direct, b) {
		t.Fatalf("direct encoding % x, general % x", direct, b)
	}
	m2, err := decodeMessage(b)
	if err != nil {
		t.Fatalf("re-decode of %x: %v", b, err)
	}
	if got := jsNormalize(messageValueOf(t, m2)); !valueEqual(got, want) {
		t.Fatalf("CBOR round trip %s, want %s", showValue(got), showValue(want))
	}
	s, err := encodeTextMessage(m)
	if err != nil {
		t.Fatalf("EncodeTextMessage: %v", err)
	}
	if hasNonFinite(want) {
		return // JSON writes NaN and ±Infinity as null, as JavaScript does
	}
	m3, err := decodeTextMessage(s)
	if err != nil {
		t.Fatalf("re-decode of %s: %v", s, err)
	}
	want = normalizeJS(messageValueOf(t, m), false) // JSON keeps a leading U+FEFF
	if got := normalizeJS(messageValueOf(t, m3), false); !valueEqual(got, want) {
		t.Fatalf("text round trip %s, want %s", showValue(got), showValue(want))
	}
}

func FuzzDecodeValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeValue(data)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		if n := approxSize(v); n > sizeBound(len(data)) {
			t.Fatalf("%d input bytes decoded to ~%d bytes", len(data), n)
		}
		b, err := encodeValue(v)
		if err != nil {
			t.Fatalf("EncodeValue of decoded %s: %v", showValue(v), err)
		}
		if hasBOMKey(v) {
			// Re-decoding drops a key's leading U+FEFF, which can make it
			// collide with another key: the reference behaves the same.
			return
		}
		v2, err := decodeValue(b)
		if want := jsNormalize(v); err != nil || !valueEqual(v2, want) {
			t.Fatalf("round trip of %s = %s, %v", showValue(want), showValue(v2), err)
		}
	})
}

// decodeMessageModel is the decoder decodeMessage replaced: the generic
// value model, then validation and conversion. decodeMessage must agree
// with it on every input within the decoder's caps.
func decodeMessageModel(data []byte) (wireMessage, error) {
	v, err := decodeValue(data)
	if err != nil {
		return nil, err
	}
	return messageFromValue(v)
}

// presentEntries counts the docs of a present (0 for other messages).
func presentEntries(m wireMessage) int {
	if p, ok := m.(*wirePresent); ok {
		return len(p.Docs)
	}
	return 0
}

// decodeAllocBound is the memory decodeMessage may allocate for an input of
// n bytes decoding to a message with the given present entries.
func decodeAllocBound(n, entries int) uint64 {
	return uint64(budgetPerByte*n+entries*entryAllowance) + allocSlack
}

// checkDecodeMessage checks decodeMessage on data against the model and
// the allocation bound, and returns its result.
func checkDecodeMessage(t fataler, data []byte) (wireMessage, error) {
	t.Helper()
	var m wireMessage
	var err error
	n := allocated(func() { m, err = decodeMessage(data) })
	if bound := decodeAllocBound(len(data), presentEntries(m)); n > bound {
		t.Fatalf("%d input bytes allocated %d bytes (bound %d)", len(data), n, bound)
	}
	if errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonDecodeLimit}) {
		var derr *kyneta.Error
		if !errors.As(err, &derr) || derr.Reason != reasonDecodeLimit {
			t.Fatalf("limit error %v is not an *Error with code %s", err, reasonDecodeLimit)
		}
		return nil, err
	}
	want, werr := decodeMessageModel(data)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("DecodeMessage: %v, %v; model: %v, %v", m, err, want, werr)
	case err != nil:
		var got, exp *ValidationError
		gotV, expV := errors.As(err, &got), errors.As(werr, &exp)
		if gotV != expV {
			t.Fatalf("error %v, model error %v", err, werr)
		}
		if gotV && (got.Reason != exp.Reason || showValue(got.Path) != showValue(exp.Path)) {
			t.Fatalf("validation %q at %v, model %q at %v", got.Reason, got.Path, exp.Reason, exp.Path)
		}
		var derr *kyneta.Error
		if !gotV && (!errors.As(err, &derr) || jsErrorClass(derr.Reason) != "Error") {
			t.Fatalf("error %v (%T)", err, err)
		}
	default:
		if g, w := messageValueOf(t, m), messageValueOf(t, want); !valueEqual(g, w) {
			t.Fatalf("decoded %s\nmodel   %s", showValue(g), showValue(w))
		}
	}
	return m, err
}

func FuzzDecodeMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := checkDecodeMessage(t, data)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		if n := approxSize(jsNormalize(messageValueOf(t, m))); n > sizeBound(len(data)) {
			t.Fatalf("%d input bytes decoded to ~%d bytes", len(data), n)
		}
		checkMessageRoundTrip(t, m)
	})
}

func FuzzDecodeTextMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		m, err := decodeTextMessage(text)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		if n := approxSize(messageValueOf(t, m)); n > sizeBound(len(text)) {
			t.Fatalf("%d input bytes decoded to ~%d bytes", len(text), n)
		}
		checkMessageRoundTrip(t, m)
	})
}

// directRefEncoding is appendRefMessage's encoding of an interest, dismiss
// or vacant that names its document one way (ok false otherwise, or when
// the direct path declines it).
func directRefEncoding(m wireMessage) ([]byte, bool) {
	var t MsgType
	var ref wireDocRef
	var v *string
	var r *bool
	switch m := m.(type) {
	case *wireInterest:
		t, ref, v, r = TypeInterest, m.wireDocRef, m.Version, m.Reciprocate
	case *wireDismiss:
		t, ref = TypeDismiss, m.wireDocRef
	case *wireVacant:
		t, ref = TypeVacant, m.wireDocRef
	default:
		return nil, false
	}
	switch {
	case ref.Doc != nil && ref.DX == nil:
		return appendRefMessage(0, t, *ref.Doc, 0, false, v, r)
	case ref.Doc == nil && ref.DX != nil && isSafeInteger(*ref.DX) && *ref.DX >= 0 && !math.Signbit(*ref.DX):
		return appendRefMessage(0, t, "", int64(*ref.DX), true, v, r)
	}
	return nil, false
}
