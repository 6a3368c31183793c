package transport

import (
	"errors"

	"github.com/kyneta-go/kyneta/wire"
)

// wireCodec is the message layer of a binary pipeline: the per-connection
// alias state plus the CBOR message codec of package wire.
type wireCodec struct {
	state wire.AliasState
}

func newMsgCodec() msgCodec { return &wireCodec{state: wire.EmptyAliasState()} }

func (c *wireCodec) encode(m wire.ChannelMsg) ([]byte, error) {
	st, wm, err := wire.AliasOutbound(c.state, m)
	c.state = st // kept even when the step fails, as in the reference
	if err != nil {
		if errors.Is(err, wire.ErrNilMessage) {
			return nil, &PipelineError{Code: CodeEncodeFailed, Err: err}
		}
		return nil, &PipelineError{Code: CodeAliasResolutionFailed, Err: err}
	}
	b, err := wire.EncodeMessage(wm)
	if err != nil {
		return nil, &PipelineError{Code: CodeEncodeFailed, Err: err}
	}
	return b, nil
}

func (c *wireCodec) decode(b []byte) (wire.ChannelMsg, error) {
	wm, err := wire.DecodeMessage(b)
	if err != nil {
		var verr *wire.ValidationError
		if errors.As(err, &verr) {
			return nil, &PipelineError{Code: CodeInvalidWireMessage, Detail: verr.Reason, Err: err}
		}
		return nil, &PipelineError{Code: CodeDecodeFailed, Err: err}
	}
	st, m, err := wire.AliasInbound(c.state, wm)
	c.state = st
	if err != nil {
		return nil, &PipelineError{Code: CodeAliasResolutionFailed, Err: err}
	}
	return m, nil
}

func (c *wireCodec) reset() { c.state = wire.EmptyAliasState() }
