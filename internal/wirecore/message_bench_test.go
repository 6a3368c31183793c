package wirecore

import (
	"encoding/json"
	"testing"
)

// benchOffer is an offer as the exchange sends it once aliasing is mutual:
// binary payload, alias reference, version and lineage.
func benchOffer(size int) *wireOffer {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return &wireOffer{
		Kind:       wireSince,
		Encoding:   wireBinary,
		Data:       data,
		Version:    "{\"peer-4f2a\":1234}",
		wireDocRef: docByAlias(17),
		Lineage:    refOf("lin-9c1d7e"),
	}
}

var benchSizes = []struct {
	name string
	size int
}{{"64B", 64}, {"4KiB", 4096}}

// BenchmarkOfferEncode compares encodeMessage and encodeTextMessage with
// encoding/json marshalling the same Go struct.
func BenchmarkOfferEncode(b *testing.B) {
	for _, sz := range benchSizes {
		m := benchOffer(sz.size)
		b.Run(sz.name+"/cbor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeMessage(m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/text", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeTextMessage(m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOfferDecode compares decodeMessage and decodeTextMessage with
// encoding/json unmarshalling the same Go struct.
func BenchmarkOfferDecode(b *testing.B) {
	for _, sz := range benchSizes {
		m := benchOffer(sz.size)
		cb, _ := encodeMessage(m)
		text, _ := encodeTextMessage(m)
		js, _ := json.Marshal(m)
		b.Run(sz.name+"/cbor", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(cb)))
			for b.Loop() {
				if _, err := decodeMessage(cb); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/text", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := decodeTextMessage(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(js)))
			for b.Loop() {
				var out wireOffer
				if err := json.Unmarshal(js, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInterestEncode: an interest as a connection's encoder writes it
// (direct, behind a frame header's room) next to the general encoder's
// value tree for the same message, in the same run.
func BenchmarkInterestEncode(b *testing.B) {
	v, r := "{\"peer-4f2a\":1234}", false
	msg := &Interest{DocID: "doc-1", Version: &v, Reciprocate: &r}
	b.Run("direct", func(b *testing.B) {
		s := &AliasState{}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.EncodeReserved(msg, 6); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		s := &AliasState{}
		b.ReportAllocs()
		for b.Loop() {
			wm, err := aliasOutbound(s, msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := encodeReserved(wm, 6); err != nil {
				b.Fatal(err)
			}
		}
	})
}
