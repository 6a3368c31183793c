package wirecore

import (
	"bytes"
	"testing"
)

// TestEncodeTextOfferWithoutStringCopy: a text offer encodes to the bytes
// of the generic value path, at every CBOR length form and for invalid
// UTF-8 (repaired the same way).
func TestEncodeTextOfferWithoutStringCopy(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536, 70_000} {
		for _, data := range [][]byte{bytes.Repeat([]byte("a"), n), append(bytes.Repeat([]byte("b"), n), 0xff, 'c')} {
			m := &wireOffer{wireDocRef: docByID("d"), Kind: wireSince, Encoding: wireJSON, Data: data, DataIsText: true, Version: "1"}
			got, err := encodeMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			v, err := messageValue(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := encodeValue(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("length %d: encodings differ", len(data))
			}
			back, err := decodeMessage(got)
			if err != nil {
				t.Fatal(err)
			}
			if o := back.(*wireOffer); !o.DataIsText || (len(data) == n && !bytes.Equal(o.Data, data)) {
				t.Fatalf("length %d: round trip %q", len(data), o.Data[:min(10, len(o.Data))])
			}
		}
	}
}
