package wire

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
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
	case Map:
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
	case Map:
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
	case Map:
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
	var derr *DecodeError
	var verr *ValidationError
	if !errors.As(err, &derr) && !errors.As(err, &verr) {
		t.Fatalf("error of unexpected type %T: %v", err, err)
	}
}

// checkMessageRoundTrip re-encodes an accepted message in both forms and
// checks that it decodes to the same value.
func checkMessageRoundTrip(t *testing.T, m WireMessage) {
	t.Helper()
	want := jsNormalize(messageValueOf(t, m))
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatalf("EncodeMessage: %v", err)
	}
	m2, err := DecodeMessage(b)
	if err != nil {
		t.Fatalf("re-decode of %x: %v", b, err)
	}
	if got := jsNormalize(messageValueOf(t, m2)); !valueEqual(got, want) {
		t.Fatalf("CBOR round trip %s, want %s", showValue(got), showValue(want))
	}
	s, err := EncodeTextMessage(m)
	if err != nil {
		t.Fatalf("EncodeTextMessage: %v", err)
	}
	if hasNonFinite(want) {
		return // JSON writes NaN and ±Infinity as null, as JavaScript does
	}
	m3, err := DecodeTextMessage(s)
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
		v, err := DecodeValue(data)
		if err != nil {
			checkDecodeErr(t, err)
			return
		}
		if n := approxSize(v); n > sizeBound(len(data)) {
			t.Fatalf("%d input bytes decoded to ~%d bytes", len(data), n)
		}
		b, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("EncodeValue of decoded %s: %v", showValue(v), err)
		}
		if hasBOMKey(v) {
			// Re-decoding drops a key's leading U+FEFF, which can make it
			// collide with another key: the reference behaves the same.
			return
		}
		v2, err := DecodeValue(b)
		if want := jsNormalize(v); err != nil || !valueEqual(v2, want) {
			t.Fatalf("round trip of %s = %s, %v", showValue(want), showValue(v2), err)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
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
		m, err := DecodeTextMessage(text)
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
