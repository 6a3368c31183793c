package wirecore

import (
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/internal/jsjson"
	"github.com/kyneta-go/kyneta/internal/rawbuf"
)

// Pieces is a payload's data held in three pieces, Head ‖ Body ‖ Tail,
// instead of one buffer. A replica whose last change holds a large string
// exports it this way: Body is the string's own memory and Head and Tail
// the text around it, so the value reaches the socket without being
// copied into a log entry first. The memory must never change.
type Pieces struct {
	Head, Body, Tail []byte
}

// Len returns the length of the data.
func (d Pieces) Len() int { return len(d.Head) + len(d.Body) + len(d.Tail) }

// Join returns the data in one new buffer.
func (d Pieces) Join() []byte {
	b := rawbuf.Alloc(d.Len())
	return append(append(append(b, d.Head...), d.Body...), d.Tail...)
}

// validText reports whether every piece is well-formed UTF-8 on its own
// (then so is the data; a character split between pieces reports false).
func (d Pieces) validText() bool {
	return utf8.Valid(d.Head) && jsjson.ValidUTF8(d.Body) && utf8.Valid(d.Tail)
}

// EncodeOfferPieces is [AliasState.EncodeSplit] for an offer whose payload
// data is d (m's own Payload.Data is ignored): when d holds at least min
// bytes, the encoding is pre ‖ d.Body ‖ post, written from where the body
// is; otherwise, or when the direct encoder cannot take the offer, the
// pieces are joined and the offer encoded as EncodeSplit would. The bytes
// are those of EncodeSplit for the joined data.
func (s *AliasState) EncodeOfferPieces(m *Offer, d Pieces, min, reserve int) (pre, data, post []byte, err error) {
	if d.Len() >= min && len(d.Body) > 0 {
		var w wireOffer
		dx, byAlias, err := s.offerView(m, &w)
		if byAlias {
			w.DX = &dx
		}
		if err == nil {
			if pre, post, ok := appendOfferAround(&w, d, !w.DataIsText || d.validText()); ok {
				return pre, d.Body, post, nil
			}
		}
	}
	joined := *m
	joined.Payload.Data = d.Join()
	return s.EncodeSplit(&joined, min, reserve)
}
