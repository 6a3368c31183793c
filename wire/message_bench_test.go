package wire

import (
	"encoding/json"
	"testing"
)

// benchOffer is an offer as the exchange sends it once aliasing is mutual:
// binary payload, alias reference, version and lineage.
func benchOffer(size int) *WireOffer {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return &WireOffer{
		Kind:       WireSince,
		Encoding:   WireBinary,
		Data:       data,
		Version:    "{\"peer-4f2a\":1234}",
		WireDocRef: DocByAlias(17),
		Lineage:    refOf("lin-9c1d7e"),
	}
}

var benchSizes = []struct {
	name string
	size int
}{{"64B", 64}, {"4KiB", 4096}}

// BenchmarkOfferEncode compares EncodeMessage and EncodeTextMessage with
// encoding/json marshalling the same Go struct.
func BenchmarkOfferEncode(b *testing.B) {
	for _, sz := range benchSizes {
		m := benchOffer(sz.size)
		b.Run(sz.name+"/cbor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeMessage(m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/text", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeTextMessage(m); err != nil {
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

// BenchmarkOfferDecode compares DecodeMessage and DecodeTextMessage with
// encoding/json unmarshalling the same Go struct.
func BenchmarkOfferDecode(b *testing.B) {
	for _, sz := range benchSizes {
		m := benchOffer(sz.size)
		cb, _ := EncodeMessage(m)
		text, _ := EncodeTextMessage(m)
		js, _ := json.Marshal(m)
		b.Run(sz.name+"/cbor", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(cb)))
			for b.Loop() {
				if _, err := DecodeMessage(cb); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/text", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := DecodeTextMessage(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(js)))
			for b.Loop() {
				var out WireOffer
				if err := json.Unmarshal(js, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
