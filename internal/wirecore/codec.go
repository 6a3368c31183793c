package wirecore

// The public message codec: a ChannelMsg to bytes and back, as the first
// message on a fresh connection carries it. Connections keep an alias
// table across messages; these functions use a new, empty one per call.

import "math"

// Encode returns the CBOR form of msg (the payload of a binary frame), as
// the reference writes it on a fresh connection: document ids and schema
// hashes in full; a present announces aliases for its entries (a, sa), as
// every present does. It fails with reason "nil-message" for a nil message and
// with an *[AliasError] for an offer whose payload kind or encoding is not
// one of the constants.
func Encode(msg ChannelMsg) ([]byte, error) {
	return new(AliasState).Encode(msg)
}

// Decode decodes the CBOR form of one message with the reference's
// accept/reject rules. Input that is not CBOR, or beyond the decoder's
// limits, gives a *kyneta.Error (reason "limit", code
// kyneta.CodeResourceExhausted, for the latter); an invalid message a *[ValidationError]; a reference to an
// alias (dx, shx), which only a connection's alias table can resolve, or an
// identifier over its cap an *[AliasError].
func Decode(data []byte) (ChannelMsg, error) {
	return new(AliasState).Decode(data)
}

// EncodeText is [Encode] for the text (JSON) form used by SSE and HTTP
// transports: byte for byte the reference's JSON.stringify of the same
// compact message, byte strings as {"__bytes": base64}.
func EncodeText(msg ChannelMsg) (string, error) {
	return new(AliasState).EncodeText(msg)
}

// DecodeText is [Decode] for the text form: any JSON formatting and key
// order is accepted and unknown keys are ignored.
func DecodeText(text string) (ChannelMsg, error) {
	return new(AliasState).DecodeText(text)
}

// Encode is [Encode] on the connection that owns s: document ids and
// schema hashes the table has aliased go out as aliases, and new aliases
// are recorded in s. Errors are those of [Encode]; an *[AliasError] leaves
// the entries made before it in the table, as in the reference.
func (s *AliasState) Encode(msg ChannelMsg) ([]byte, error) {
	return s.EncodeReserved(msg, 0)
}

// EncodeReserved is [AliasState.Encode] behind reserve leading zero bytes,
// room for a frame header written in place (offers, interests, dismisses
// and vacants are encoded there directly; other messages are copied
// behind it).
func (s *AliasState) EncodeReserved(msg ChannelMsg, reserve int) ([]byte, error) {
	// No value is large enough to be split off: pre is the whole encoding.
	pre, _, _, err := s.EncodeSplit(msg, math.MaxInt, reserve)
	return pre, err
}

// EncodeSplit is [AliasState.EncodeReserved] for writers that fragment a
// large value without copying it: when msg is an offer with at least min
// bytes of data, the encoding is pre ‖ data ‖ post, data being the offer's
// own bytes (nothing reserved); otherwise pre is the whole encoding behind
// reserve zero bytes and data and post are nil.
func (s *AliasState) EncodeSplit(msg ChannelMsg, min, reserve int) (pre, data, post []byte, err error) {
	// The small sync messages are written directly too: they are most of
	// what a converging peer sends.
	var direct []byte
	switch m := msg.(type) {
	case *Interest:
		if m != nil {
			direct, _ = s.appendRef(reserve, TypeInterest, m.DocID, m.Version, m.Reciprocate)
		}
	case *Dismiss:
		if m != nil {
			direct, _ = s.appendRef(reserve, TypeDismiss, m.DocID, nil, nil)
		}
	case *Vacant:
		if m != nil {
			direct, _ = s.appendRef(reserve, TypeVacant, m.DocID, nil, nil)
		}
	}
	if direct != nil {
		return direct, nil, nil, nil
	}
	if m, ok := msg.(*Offer); ok && m != nil {
		var w wireOffer
		dx, byAlias, err := s.offerView(m, &w)
		if byAlias {
			w.DX = &dx
		}
		if err == nil {
			if len(w.Data) >= min {
				if pre, post, ok := appendOfferSplit(&w); ok {
					return pre, m.Payload.Data, post, nil
				}
			} else if b, ok := appendOffer(reserve, &w); ok {
				return b, nil, nil, nil
			}
		}
	}
	wm, err := aliasOutbound(s, msg)
	if err != nil {
		return nil, nil, nil, err
	}
	if o, ok := wm.(*wireOffer); ok && o != nil && len(o.Data) >= min {
		if pre, post, ok := appendOfferSplit(o); ok {
			return pre, o.Data, post, nil
		}
	}
	b, err := encodeReserved(wm, reserve)
	return b, nil, nil, err
}

func encodeReserved(wm wireMessage, reserve int) ([]byte, error) {
	if o, ok := wm.(*wireOffer); ok && o != nil {
		if b, ok := appendOffer(reserve, o); ok {
			return b, nil
		}
	}
	b, err := encodeMessage(wm)
	if err != nil || reserve == 0 {
		return b, err
	}
	return append(make([]byte, reserve, reserve+len(b)), b...), nil
}

// EncodeText is [AliasState.Encode] for the text (JSON) form.
func (s *AliasState) EncodeText(msg ChannelMsg) (string, error) {
	wm, err := aliasOutbound(s, msg)
	if err != nil {
		return "", err
	}
	return encodeTextMessage(wm)
}

// Decode is [Decode] on the connection that owns s: aliases the peer
// announced resolve through the table and new ones are recorded in it.
func (s *AliasState) Decode(data []byte) (ChannelMsg, error) { return s.decode(data, false) }

func (s *AliasState) decode(data []byte, owned bool) (ChannelMsg, error) {
	// An offer, the common message, is built on the stack and only its
	// ChannelMsg form is allocated.
	sink := offerSink{recentDoc: s.recentDoc}
	wm, isOffer, err := decodeMsg(data, owned, &sink)
	if err != nil {
		return nil, err
	}
	if !isOffer {
		return aliasInbound(s, wm)
	}
	var ref wireDocRef
	if sink.hasDoc {
		ref.Doc = &sink.doc
	}
	if sink.hasDX {
		ref.DX = &sink.dx
	}
	m, err := inboundOffer(s, &sink.w, ref)
	if err == nil {
		// A channel's offers mostly name the document of the one before.
		s.recentDoc = m.DocID
	}
	return m, err
}

// DecodeOwned is [AliasState.Decode] for a payload no one else holds (one
// the reassembler built): the message may share data's bytes instead of
// copying them, so data must not be changed afterwards.
func (s *AliasState) DecodeOwned(data []byte) (ChannelMsg, error) { return s.decode(data, true) }

// DecodeText is [AliasState.Decode] for the text (JSON) form.
func (s *AliasState) DecodeText(text string) (ChannelMsg, error) {
	wm, err := decodeTextMessage(text)
	if err != nil {
		return nil, err
	}
	return aliasInbound(s, wm)
}
