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

// TestAppendRefMatchesGenericEncoder: interests, dismisses and vacants
// written directly are the general encoder's bytes, by id and by alias,
// and what the direct path declines still encodes through the general one.
func TestAppendRefMatchesGenericEncoder(t *testing.T) {
	str := func(s string) *string { return &s }
	yes, no := true, false
	ids := []string{"", "doc", strings.Repeat("d", 23), strings.Repeat("d", 24), strings.Repeat("é", 200), "a\xffb"}
	aliases := []int64{0, 23, 24, 255, 256, 65535, 65536, 1 << 32, maxSafeInteger, maxSafeInteger + 1, -1}
	versions := []*string{nil, str(""), str("L:5"), str(strings.Repeat("v", 300)), str("\xc3")}
	recips := []*bool{nil, &yes, &no}
	generic := func(t MsgType, ref wireDocRef, v *string, r *bool) []byte {
		var m wireMessage
		switch t {
		case TypeInterest:
			m = &wireInterest{wireDocRef: ref, Version: v, Reciprocate: r}
		case TypeDismiss:
			m = &wireDismiss{ref}
		default:
			m = &wireVacant{ref}
		}
		b, err := encodeMessage(m)
		if err != nil {
			panic(err)
		}
		return b
	}
	n, fast := 0, 0
	check := func(typ MsgType, id string, alias int64, byAlias bool, v *string, r *bool) {
		t.Helper()
		n++
		ref := docByID(id)
		if byAlias {
			ref = docByAlias(float64(alias))
		}
		want := generic(typ, ref, v, r)
		for _, prefix := range []int{0, 14} {
			got, ok := appendRefMessage(prefix, typ, id, alias, byAlias, v, r)
			if !ok {
				if got != nil {
					t.Fatalf("declined but appended % x", got)
				}
				return
			}
			if !bytes.Equal(got[:prefix], make([]byte, prefix)) || !bytes.Equal(got[prefix:], want) {
				t.Fatalf("type %d id %q alias %d/%v v %v r %v prefix %d:\n got % x\nwant % x", typ, id, alias, byAlias, v, r, prefix, got, want)
			}
		}
		fast++
	}
	for _, typ := range []MsgType{TypeInterest, TypeDismiss, TypeVacant} {
		for _, id := range ids {
			for _, a := range aliases {
				for _, byAlias := range []bool{false, true} {
					if typ != TypeInterest {
						check(typ, id, a, byAlias, nil, nil)
						continue
					}
					for _, v := range versions {
						for _, r := range recips {
							check(typ, id, a, byAlias, v, r)
						}
					}
				}
			}
		}
	}
	if fast < n/2 {
		t.Fatalf("only %d of %d messages took the direct encoding", fast, n)
	}
}

// TestEncodeRefMessagesThroughAliasState: the connection's encoder names
// a document by alias exactly when the general path does, and allocates
// once for an interest.
func TestEncodeRefMessagesThroughAliasState(t *testing.T) {
	v, r := "L:1", true
	msgs := []ChannelMsg{
		&Interest{DocID: "d1", Version: &v, Reciprocate: &r}, &Interest{DocID: "unannounced"},
		&Dismiss{DocID: "d1"}, &Vacant{DocID: "d2"}, &Vacant{DocID: "bad\xff"},
	}
	for _, mutual := range []bool{false, true} {
		s := &AliasState{outDoc: map[string]int64{"d1": 3, "d2": 70000}, mutual: mutual}
		for _, m := range msgs {
			wm, err := aliasOutbound(s, m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := encodeMessage(wm)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.EncodeReserved(m, 6)
			if err != nil || !bytes.Equal(got, append(make([]byte, 6), want...)) {
				t.Fatalf("mutual %v %#v:\n got % x %v\nwant % x", mutual, m, got, err, want)
			}
		}
	}
	s := &AliasState{}
	in := &Interest{DocID: "doc-1", Version: &v}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := s.EncodeReserved(in, 6); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("%v allocations per interest, want 1", n)
	}
}

// An interest's optional fields go into its message as decoded, without
// a second copy.
func TestDecodeInterestAllocations(t *testing.T) {
	v, r := "L:1", true
	b, err := Encode(&Interest{DocID: "doc-1", Version: &v, Reciprocate: &r})
	if err != nil {
		t.Fatal(err)
	}
	s := &AliasState{}
	var m ChannelMsg
	n := testing.AllocsPerRun(100, func() {
		if m, err = s.Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	if in, ok := m.(*Interest); !ok || in.DocID != "doc-1" || *in.Version != v || !*in.Reciprocate {
		t.Fatalf("decoded %#v", m)
	}
	// The decoder's wire form, the id and the version (each a string and
	// its box), the flag and the message; copying the optional fields
	// again into the message made it 9.
	if n > 7 {
		t.Fatalf("%v allocations per decoded interest, want at most 7", n)
	}
}
