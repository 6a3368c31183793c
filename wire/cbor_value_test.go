package wire

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
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
			got, err := EncodeValue(value)
			if err != nil {
				t.Fatalf("EncodeValue(%s): %v", showValue(value), err)
			}
			if hex.EncodeToString(got) != c.CBOR {
				t.Errorf("EncodeValue(%s) = %x, want %s", showValue(value), got, c.CBOR)
			}
			dec, err := DecodeValue(want)
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
			got, err := EncodeValue(value)
			if err == nil {
				t.Fatalf("EncodeValue(%s) = %x, want error %q", showValue(value), got, c.Error.Message)
			}
			if c.Error.Message == "CBOR number out of range" && !errors.Is(err, ErrNumberOutOfRange) {
				t.Errorf("error %v, want ErrNumberOutOfRange", err)
			}
		})
	}
}
