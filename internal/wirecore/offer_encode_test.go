package wirecore

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// genericOffer is the encoding of the general encoder (the value tree),
// which appendOffer must reproduce byte for byte.
func genericOffer(t *testing.T, o *wireOffer) []byte {
	t.Helper()
	var d any = o.Data
	if o.DataIsText {
		d = textBytes(o.Data)
	} else if o.Data == nil {
		d = []byte{}
	}
	b, err := encodeValue(offerValue(o, d))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendOfferMatchesGenericEncoder(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(f float64) *float64 { return &f }
	yes, no := true, false
	datas := [][]byte{nil, {}, []byte("{}"), []byte("x"), bytes.Repeat([]byte{0xab}, 23), bytes.Repeat([]byte{1}, 24),
		bytes.Repeat([]byte("é"), 200), bytes.Repeat([]byte{2}, 1<<16), []byte{0xff, 0xfe}}
	versions := []string{"", "1", strings.Repeat("v", 300), "\xff"}
	refs := []wireDocRef{{}, docByID("doc"), docByID(""), docByID(strings.Repeat("d", 70)), docByID("a\xffb"),
		docByAlias(0), docByAlias(math.Copysign(0, -1)), docByAlias(23), docByAlias(24), docByAlias(255), docByAlias(256),
		docByAlias(65535), docByAlias(65536), docByAlias(1 << 32), docByAlias(1<<53 - 1), docByAlias(-1), docByAlias(-25),
		docByAlias(1.5), docByAlias(math.NaN()), docByAlias(1 << 60), {Doc: str("both"), DX: num(3)}}
	recips := []*bool{nil, &yes, &no}
	lineages := []*string{nil, str(""), str("lineage"), str("\xc3")}
	kinds := []wirePayloadKind{0, 1, 23, 24, 255}
	n, fast := 0, 0
	for _, data := range datas {
		for _, text := range []bool{false, true} {
			for _, v := range versions {
				for _, ref := range refs {
					for i, r := range recips {
						for _, ln := range lineages {
							o := &wireOffer{Kind: kinds[n%len(kinds)], Encoding: wirePayloadEncoding(kinds[(n+i)%len(kinds)]),
								Data: data, DataIsText: text, Version: v, wireDocRef: ref, Reciprocate: r, Lineage: ln}
							n++
							want := genericOffer(t, o)
							got, ok := appendOffer(0, o)
							if !ok {
								if got != nil {
									t.Fatalf("%+v: declined but appended % x", o, got)
								}
								continue
							}
							fast++
							if !bytes.Equal(got, want) {
								t.Fatalf("%+v:\n got % x\nwant % x", o, got, want)
							}
							if enc, err := encodeMessage(o); err != nil || !bytes.Equal(enc, want) {
								t.Fatalf("%+v: encodeMessage % x, %v", o, enc, err)
							}
						}
					}
				}
			}
		}
	}
	if fast < n/4 {
		t.Fatalf("only %d of %d offers took the direct encoding", fast, n)
	}
}

func TestAppendOfferAllocatesOnce(t *testing.T) {
	o := &wireOffer{Kind: wireEntirety, Encoding: wireBinary, Data: bytes.Repeat([]byte{1}, 1024), Version: "1", wireDocRef: docByID("doc")}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := encodeMessage(o); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("%v allocations per offer, want 1", n)
	}
}
