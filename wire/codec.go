package wire

// The public message codec: a ChannelMsg to bytes and back, as the first
// message on a fresh connection carries it. Connections keep an alias
// table across messages; these functions use a new, empty one per call.

// Encode returns the CBOR form of msg (the payload of a binary frame), as
// the reference writes it on a fresh connection: document ids and schema
// hashes in full; a present announces aliases for its entries (a, sa), as
// every present does. It fails with ErrNilMessage for a nil message and
// with an *[AliasError] for an offer whose payload kind or encoding is not
// one of the constants.
func Encode(msg ChannelMsg) ([]byte, error) {
	wm, err := aliasOutbound(new(AliasState), msg)
	if err != nil {
		return nil, err
	}
	return encodeMessage(wm)
}

// Decode decodes the CBOR form of one message with the reference's
// accept/reject rules. Input that is not CBOR, or beyond the decoder's
// limits, gives a *[DecodeError] (errors.Is(err, [ErrDecodeLimit]) for the
// latter); an invalid message a *[ValidationError]; a reference to an
// alias (dx, shx), which only a connection's alias table can resolve, or an
// identifier over its cap an *[AliasError].
func Decode(data []byte) (ChannelMsg, error) {
	wm, err := decodeMessage(data)
	if err != nil {
		return nil, err
	}
	return aliasInbound(new(AliasState), wm)
}

// EncodeText is [Encode] for the text (JSON) form used by SSE and HTTP
// transports: byte for byte the reference's JSON.stringify of the same
// compact message, byte strings as {"__bytes": base64}.
func EncodeText(msg ChannelMsg) (string, error) {
	wm, err := aliasOutbound(new(AliasState), msg)
	if err != nil {
		return "", err
	}
	return encodeTextMessage(wm)
}

// DecodeText is [Decode] for the text form: any JSON formatting and key
// order is accepted and unknown keys are ignored.
func DecodeText(text string) (ChannelMsg, error) {
	wm, err := decodeTextMessage(text)
	if err != nil {
		return nil, err
	}
	return aliasInbound(new(AliasState), wm)
}
