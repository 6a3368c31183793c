package wirecore

import (
	"math"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/internal/jsjson"
	"github.com/kyneta-go/kyneta/internal/rawbuf"
)

// appendOffer appends the CBOR encoding of an offer, byte for byte what
// encodeValue(offerValue(...)) writes, without building the value tree:
// offers carry the documents' data and are the most frequent message, and
// the tree cost five allocations per message on top of the encoding's one.
// The encoding follows prefix reserved bytes. It
// reports false, having allocated nothing, for what it leaves to the
// general encoder: strings that are not well-formed UTF-8 (which that
// encoder repairs) and document aliases that are not safe integers.
func appendOffer(prefix int, m *wireOffer) ([]byte, bool) {
	n, size, ok := offerShape(m, len(m.Data), !m.DataIsText || jsjson.ValidUTF8(m.Data))
	if !ok {
		return nil, false
	}
	// A key is at most 3 bytes with its head; a head, an integer or a
	// boolean at most 9. Every byte below is written before it is read,
	// so the buffer is not cleared first: for a large value that saves a
	// pass over it.
	b := rawbuf.Alloc(prefix + 9 + n*(3+9) + size)[:prefix]
	clear(b)
	b = appendOfferHead(b, m, n, len(m.Data))
	b = append(b, m.Data...)
	return appendOfferTail(b, m), true
}

// appendOfferSplit is appendOffer without the data: the encoding is
// pre ‖ m.Data ‖ post, so a large value can be written from where it is
// instead of being copied into the encoding.
func appendOfferSplit(m *wireOffer) (pre, post []byte, ok bool) {
	return appendOfferAround(m, Pieces{Body: m.Data}, !m.DataIsText || jsjson.ValidUTF8(m.Data))
}

// appendOfferAround is appendOfferSplit for data given as d rather than
// in m: the encoding is pre ‖ d.Body ‖ post, d.Head ending pre and d.Tail
// starting post. valid says the data is well-formed UTF-8 where it must
// be.
func appendOfferAround(m *wireOffer, d Pieces, valid bool) (pre, post []byte, ok bool) {
	n, size, ok := offerShape(m, d.Len(), valid)
	if !ok {
		return nil, nil, false
	}
	b := make([]byte, 0, 9+n*(3+9)+size-len(d.Body))
	b = appendOfferHead(b, m, n, d.Len())
	b = append(b, d.Head...)
	k := len(b)
	b = append(b, d.Tail...)
	b = appendOfferTail(b, m)
	return b[:k:k], b[k:], true
}

// offerShape counts an offer's keys and the bytes of its strings and
// dataLen bytes of data, and reports false for what appendOffer leaves to
// the general encoder; dataValid says the data is well-formed UTF-8 where
// it must be.
func offerShape(m *wireOffer, dataLen int, dataValid bool) (n, size int, ok bool) {
	if !dataValid || !utf8.ValidString(m.Version) {
		return 0, 0, false
	}
	n = 5 // t, pk, pe, d, v
	size = dataLen + len(m.Version)
	if m.Doc != nil {
		if !utf8.ValidString(*m.Doc) {
			return 0, 0, false
		}
		n++
		size += len(*m.Doc)
	}
	if m.DX != nil {
		if !isSafeInteger(*m.DX) {
			return 0, 0, false
		}
		n++
	}
	if m.Reciprocate != nil {
		n++
	}
	if m.Lineage != nil {
		if !utf8.ValidString(*m.Lineage) {
			return 0, 0, false
		}
		n++
		size += len(*m.Lineage)
	}
	return n, size, true
}

// appendOfferHead appends the offer's map head and fields up to the head
// of its data.
func appendOfferHead(b []byte, m *wireOffer, n, dataLen int) []byte {
	b = appendCBORHead(b, 5, uint64(n))
	b = append(b, 0x61, 't', byte(TypeOffer)) // TypeOffer < 24
	b = append(b, 0x62, 'p', 'k')
	b = appendCBORHead(b, 0, uint64(m.Kind))
	b = append(b, 0x62, 'p', 'e')
	b = appendCBORHead(b, 0, uint64(m.Encoding))
	b = append(b, 0x61, 'd')
	if m.DataIsText {
		b = appendCBORHead(b, 3, uint64(dataLen))
	} else {
		b = appendCBORHead(b, 2, uint64(dataLen))
	}
	return b
}

// appendOfferTail appends the fields after the data.
func appendOfferTail(b []byte, m *wireOffer) []byte {
	b = append(b, 0x61, 'v')
	b = appendCBORText(b, m.Version)
	if m.Doc != nil {
		b = append(b, 0x63, 'd', 'o', 'c')
		b = appendCBORText(b, *m.Doc)
	}
	if m.DX != nil {
		b = append(b, 0x62, 'd', 'x')
		b = appendCBORInt(b, int64(*m.DX)) // a safe integer, -0 included, is written as the integer
	}
	if m.Reciprocate != nil {
		b = appendCBORBool(append(b, 0x61, 'r'), *m.Reciprocate)
	}
	if m.Lineage != nil {
		b = append(b, 0x62, 'l', 'n')
		b = appendCBORText(b, *m.Lineage)
	}
	return b
}

// appendCBORText appends s, well-formed UTF-8, as a CBOR text string.
func appendCBORText(b []byte, s string) []byte {
	return append(appendCBORHead(b, 3, uint64(len(s))), s...)
}

// appendCBORInt appends i as a CBOR integer, shortest form.
func appendCBORInt(b []byte, i int64) []byte {
	if i >= 0 {
		return appendCBORHead(b, 0, uint64(i))
	}
	return appendCBORHead(b, 1, uint64(-1-i))
}

// appendCBORBool appends v as a CBOR simple value.
func appendCBORBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xf5)
	}
	return append(b, 0xf4)
}

// appendCBORHead appends a CBOR head with the shortest argument encoding.
func appendCBORHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// appendRefMessage encodes an interest, dismiss or vacant (t, doc|dx, v,
// r, the reference's key order) behind prefix zero bytes: the general
// encoder's bytes without its value tree, in one allocation. The document
// goes by alias when byAlias. ok is false, and nothing is allocated, for
// what it leaves to the general encoder (text that is not UTF-8, an alias
// that is not a safe integer).
func appendRefMessage(prefix int, t MsgType, docID string, alias int64, byAlias bool, version *string, recip *bool) ([]byte, bool) {
	n, size := 2, 0 // t, doc|dx
	if byAlias {
		if alias < 0 || alias > maxSafeInteger {
			return nil, false
		}
	} else {
		if !utf8.ValidString(docID) {
			return nil, false
		}
		size += len(docID)
	}
	if version != nil {
		if !utf8.ValidString(*version) {
			return nil, false
		}
		n++
		size += len(*version)
	}
	if recip != nil {
		n++
	}
	b := make([]byte, prefix, prefix+1+n*(3+9)+size)
	b = appendCBORHead(b, 5, uint64(n))
	b = append(b, 0x61, 't', byte(t)) // every message type is below 24
	if byAlias {
		b = appendCBORInt(append(b, 0x62, 'd', 'x'), alias)
	} else {
		b = append(b, 0x63, 'd', 'o', 'c')
		b = appendCBORText(b, docID)
	}
	if version != nil {
		b = append(b, 0x61, 'v')
		b = appendCBORText(b, *version)
	}
	if recip != nil {
		b = appendCBORBool(append(b, 0x61, 'r'), *recip)
	}
	return b, true
}

// appendRef is appendRefMessage with the document named as s names it
// (see [AliasState.outRef]).
func (s *AliasState) appendRef(prefix int, t MsgType, docID string, version *string, recip *bool) ([]byte, bool) {
	a, byAlias := s.outAlias(docID)
	return appendRefMessage(prefix, t, docID, a, byAlias, version, recip)
}
