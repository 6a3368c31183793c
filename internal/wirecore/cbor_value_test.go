package wirecore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	"pgregory.net/rapid"
)

func TestVectorsCBORPrimitives(t *testing.T) {
	var file struct {
		Cases []struct {
			Name    string          `json:"name"`
			Value   json.RawMessage `json:"value"`
			CBOR    string          `json:"cbor"`
			Decoded json.RawMessage `json:"decoded"`
		} `json:"cases"`
		EncodeErrors []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
			Error struct {
				Class   string `json:"class"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"encodeErrors"`
	}
	loadVectors(t, "cbor_primitives.json", &file)
	checkCount(t, "cbor_primitives.cases", len(file.Cases))
	for _, c := range file.Cases {
		t.Run("cbor_primitives/cases/"+c.Name, func(t *testing.T) {
			value := parseTJSON(t, c.Value)
			want := mustHex(t, c.CBOR)
			got, err := encodeValue(value)
			if err != nil {
				t.Fatalf("EncodeValue(%s): %v", showValue(value), err)
			}
			if hex.EncodeToString(got) != c.CBOR {
				t.Errorf("EncodeValue(%s) = %x, want %s", showValue(value), got, c.CBOR)
			}
			dec, err := decodeValue(want)
			if err != nil {
				t.Fatalf("DecodeValue(%s): %v", c.CBOR, err)
			}
			if wantDec := parseTJSON(t, c.Decoded); !valueEqual(dec, wantDec) {
				t.Errorf("DecodeValue(%s) = %s, want %s", c.CBOR, showValue(dec), showValue(wantDec))
			}
		})
	}
	if len(file.EncodeErrors) == 0 {
		t.Fatal("cbor_primitives.encodeErrors is empty")
	}
	for _, c := range file.EncodeErrors {
		t.Run("cbor_primitives/encodeErrors/"+c.Name, func(t *testing.T) {
			value := parseTJSON(t, c.Value)
			got, err := encodeValue(value)
			if err == nil {
				t.Fatalf("EncodeValue(%s) = %x, want error %q", showValue(value), got, c.Error.Message)
			}
			if c.Error.Message == "CBOR number out of range" && !errors.Is(err, errNumberOutOfRange) {
				t.Errorf("error %v, want errNumberOutOfRange", err)
			}
		})
	}
}

func TestDecodeValueRules(t *testing.T) {
	negZero := math.Copysign(0, -1)
	big2p53 := new(big.Int).Lsh(big.NewInt(1), 53)
	for _, c := range []struct {
		name string
		hex  string
		want any // nil with wantErr
		err  bool
	}{
		{"uint8 form for 24", "1818", int64(24), false},
		{"uint8 form for 23", "1817", nil, true},
		{"uint16 form for 23", "190017", nil, true},
		{"uint32 form for 23", "1a00000017", nil, true},
		{"uint64 form for 23", "1b0000000000000017", nil, true},
		{"uint64 form for 24", "1b0000000000000018", int64(24), false},
		{"text length in uint8 form below 24", "780161", nil, true},
		{"2^53 is a bigint", "1b0020000000000000", big2p53, false},
		{"-(2^53-1) is safe", "3b001ffffffffffffe", int64(-maxSafeInteger), false},
		{"-2^53 is an unsafe number", "3b001fffffffffffff", -float64(1 << 53), false},
		{"-2^53-1 is a bigint", "3b0020000000000000", new(big.Int).Neg(new(big.Int).Add(big2p53, big.NewInt(1))), false},
		{"float16 +Inf", "f97c00", math.Inf(1), false},
		{"float16 -Inf", "f9fc00", math.Inf(-1), false},
		{"float16 NaN", "f97e00", math.NaN(), false},
		{"float16 other NaN", "f97e01", nil, true},
		{"float16 1.0", "f93c00", nil, true},
		{"float16 -0", "f98000", nil, true},
		{"integral float32 is an int", "fa41980000", int64(19), false},
		{"float32 -0 stays a float", "fa80000000", negZero, false},
		{"float64 1.5", "fb3ff8000000000000", 1.5, false},
		{"undefined", "f7", jsUndefined{}, false},
		{"simple 16", "f0", nil, true},
		{"simple 32", "f820", nil, true},
		{"tag", "c100", nil, true},
		{"indefinite array", "9f00ff", nil, true},
		{"reserved ai", "1c", nil, true},
		{"trailing byte", "0000", nil, true},
		{"empty", "", nil, true},
		{"truncated text", "6261", nil, true},
		{"number and string keys differ", "a2076161613761 62", orderedMap{{int64(7), "a"}, {"7", "b"}}, false},
		{"+0 and -0 keys collide", "a2fa0000000000fa8000000001", nil, true},
		{"NaN keys collide", "a2f97e0000fb7ff800000000000001", nil, true},
		{"bytes key", "a1417402", nil, true},
		{"bool key", "a1f500", nil, true},
		{"bigint key", "a11b002000000000000000", nil, true},
		{"BOM dropped, bad UTF-8 repaired", "65efbbbf61ff", "a\uFFFD", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeValue(mustHex(t, strings.ReplaceAll(c.hex, " ", "")))
			if c.err {
				var derr *kyneta.Error
				if !errors.As(err, &derr) || derr.Reason != reasonDecodeCBOR {
					t.Fatalf("DecodeValue = %s, %v; want *Error", showValue(got), err)
				}
				return
			}
			if err != nil || !valueEqual(got, c.want) {
				t.Fatalf("DecodeValue = %s, %v; want %s", showValue(got), err, showValue(c.want))
			}
		})
	}
}

func TestDecodeValueDuplicateKeyInLargeMap(t *testing.T) {
	m := orderedMap{}
	for i := range 40 {
		m = append(m, mapEntry{Key: fmt.Sprintf("k%d", i), Value: int64(i)})
	}
	ok, err := encodeValue(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeValue(ok); err != nil {
		t.Fatalf("distinct keys rejected: %v", err)
	}
	m = append(m, mapEntry{Key: "k3", Value: int64(0)})
	dup, _ := encodeValue(m)
	if _, err := decodeValue(dup); err == nil {
		t.Fatal("duplicate key after 40 entries accepted")
	}
}

func TestDecodeValueNestingLimit(t *testing.T) {
	nest := func(n int) []byte { return append(bytes.Repeat([]byte{0x81}, n-1), 0x80) }
	if _, err := decodeValue(nest(maxNesting)); err != nil {
		t.Fatalf("%d levels rejected: %v", maxNesting, err)
	}
	if _, err := decodeValue(nest(maxNesting + 1)); err == nil {
		t.Fatalf("%d levels accepted", maxNesting+1)
	}
}

func TestDecodeValueDoesNotAliasInput(t *testing.T) {
	in := mustHex(t, "43010203")
	v, err := decodeValue(in)
	if err != nil {
		t.Fatal(err)
	}
	in[1] = 0xff
	if !bytes.Equal(v.([]byte), []byte{1, 2, 3}) {
		t.Fatalf("decoded bytes changed with the input: %x", v)
	}
}

func TestEncodeValueRules(t *testing.T) {
	for _, c := range []struct {
		name string
		in   any
		want string
	}{
		{"-0 is the integer 0", math.Copysign(0, -1), "00"},
		{"integral float64", float64(24), "1818"},
		{"float32-exact", 1.5, "fa3fc00000"},
		{"needs float64", 0.1, "fb3fb999999999999a"},
		{"2^53 as a number", float64(1 << 53), "fa5a000000"},
		{"NaN", math.NaN(), "fa7fc00000"},
		{"float32 input", float32(0.5), "fa3f000000"},
		{"int64 beyond 2^53 stays an integer", int64(1) << 60, "1b1000000000000000"},
		{"uint64 max", uint64(math.MaxUint64), "1bffffffffffffffff"},
		{"int8", int8(-1), "20"},
		{"nil bytes", []byte(nil), "40"},
		{"nil array", []any(nil), "80"},
		{"nil map", orderedMap(nil), "a0"},
		{"undefined", jsUndefined{}, "f7"},
		{"invalid UTF-8 repaired", "a\xff", "6461efbfbd"},
		{"ordered map", orderedMap{{"b", 1}, {"a", int64(2)}, {int64(3), "c"}}, "a3616201616102036163"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := encodeValue(c.in)
			if err != nil || hex.EncodeToString(got) != c.want {
				t.Fatalf("EncodeValue = %x, %v; want %s", got, err, c.want)
			}
		})
	}
	for _, bad := range []any{map[string]any{}, struct{}{}, (*big.Int)(nil), []any{1, make(chan int)}} {
		if _, err := encodeValue(bad); !errors.Is(err, errUnsupportedValue) {
			t.Errorf("EncodeValue(%T) error %v, want errUnsupportedValue", bad, err)
		}
	}
	over := new(big.Int).Lsh(big.NewInt(1), 64)
	if _, err := encodeValue(over); !errors.Is(err, errNumberOutOfRange) {
		t.Errorf("EncodeValue(2^64) error %v", err)
	}
}

// genValue draws a value-model tree whose keys stay distinct after decoding.
func genValue(t *rapid.T, depth int) any {
	kinds := 9
	if depth >= 3 {
		kinds = 7
	}
	switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
	case 0:
		return rapid.SampledFrom([]any{nil, jsUndefined{}, true, false}).Draw(t, "atom")
	case 1:
		return rapid.Int64Range(-maxSafeInteger, maxSafeInteger).Draw(t, "int")
	case 2:
		return math.Float64frombits(rapid.Uint64().Draw(t, "floatbits"))
	case 3:
		return rapid.Float64().Draw(t, "float")
	case 4:
		b := new(big.Int).SetUint64(rapid.Uint64().Draw(t, "bigabs"))
		if rapid.Bool().Draw(t, "neg") {
			b.Neg(b).Sub(b, big.NewInt(1))
		}
		return b
	case 5:
		return rapid.String().Draw(t, "string")
	case 6:
		return rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")
	case 7:
		n := rapid.IntRange(0, 4).Draw(t, "len")
		arr := make([]any, n)
		for i := range arr {
			arr[i] = genValue(t, depth+1)
		}
		return arr
	default:
		keys := rapid.SliceOfDistinct(rapid.OneOf(
			rapid.Just[any]("t"), rapid.Just[any]("doc"), rapid.Just[any](int64(7)), rapid.Just[any]("7"),
			rapid.Just[any](-1.5), rapid.Just[any](int64(-1)), rapid.Just[any]("")),
			func(k any) string { return showValue(k) }).Draw(t, "keys")
		m := orderedMap{}
		for _, k := range keys {
			m = append(m, mapEntry{Key: k, Value: genValue(t, depth+1)})
		}
		return m
	}
}

// jsNormalize is what a value becomes after a trip through CBOR: numbers
// that are safe integers (and -0) come back as int64, bigints within the
// safe range as int64, and a string loses a leading U+FEFF (the reference's
// TextDecoder takes it for a byte-order mark).
func jsNormalize(v any) any { return normalizeJS(v, true) }

// normalizeJS is jsNormalize with the byte-order-mark rule optional (JSON
// keeps a leading U+FEFF).
func normalizeJS(v any, stripBOM bool) any {
	switch v := v.(type) {
	case string:
		if stripBOM {
			return strings.TrimPrefix(v, "\ufeff")
		}
	case float64:
		if isSafeInteger(v) {
			return int64(v)
		}
	case *big.Int:
		if v.IsInt64() && v.Int64() <= maxSafeInteger && v.Int64() >= -maxSafeInteger {
			return v.Int64()
		}
		if v.IsInt64() && v.Int64() == -maxSafeInteger-1 {
			return -float64(1 << 53)
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizeJS(e, stripBOM)
		}
		return out
	case orderedMap:
		out := make(orderedMap, len(v))
		for i, e := range v {
			out[i] = mapEntry{Key: normalizeJS(e.Key, stripBOM), Value: normalizeJS(e.Value, stripBOM)}
		}
		return out
	}
	return v
}

func TestValueRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := genValue(t, 0)
		b, err := encodeValue(v)
		if err != nil {
			t.Fatalf("EncodeValue(%s): %v", showValue(v), err)
		}
		got, err := decodeValue(b)
		if err != nil {
			t.Fatalf("DecodeValue(%x) of %s: %v", b, showValue(v), err)
		}
		if want := jsNormalize(v); !valueEqual(got, want) {
			t.Fatalf("round trip of %s = %s, want %s", showValue(v), showValue(got), showValue(want))
		}
		// A decoded value re-encodes to a fixed point.
		again, err := encodeValue(got)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if back, err := decodeValue(again); err != nil || !valueEqual(back, got) {
			t.Fatalf("second round trip of %s = %s, %v", showValue(got), showValue(back), err)
		}
	})
}
