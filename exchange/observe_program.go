package exchange

import (
	"fmt"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// What the observation stream (Exchange.Observe) says about a message, a
// frame, a step of the core and the per-peer sync states: pure projections
// of protocol values, kept with the core so the purity check covers them.
// The shell stamps and publishes them.

func messageEvent(out bool, ch transport.ChannelID, peer string, msg wire.ChannelMsg) ObsEvent {
	e := ObsEvent{Layer: ObsProtocol, Kind: "message", Dir: "in", MsgType: msg.MsgType().String(), Peer: peer, ChannelID: ch}
	if out {
		e.Dir = "out"
	}
	switch m := msg.(type) {
	case *wire.Present:
		e.Docs = make([]string, len(m.Docs))
		for i, d := range m.Docs {
			e.Docs[i] = d.DocID
		}
	case *wire.Interest:
		e.DocID = m.DocID
		if m.Version != nil {
			e.Version = *m.Version
		}
	case *wire.Offer:
		e.DocID, e.Version = m.DocID, m.Version
	case *wire.Dismiss:
		e.DocID = m.DocID
	case *wire.Vacant:
		e.DocID = m.DocID
	}
	return e
}

func frameEvent(f transport.FrameTrace) ObsEvent {
	kind := "complete"
	if f.Kind == wire.KindFragment {
		kind = "fragment"
	}
	return ObsEvent{Layer: ObsWire, Kind: "frame", Dir: string(f.Dir), FrameSeq: f.Seq, FrameKind: kind, Index: f.Index, Total: f.Total, Size: f.Size}
}

// transitionEvents names the programs a step changed (engine layer).
func transitionEvents(from, to *coreState) []ObsEvent {
	if from == nil || to == nil {
		return nil
	}
	var out []ObsEvent
	if from.sess != to.sess {
		out = append(out, ObsEvent{Layer: ObsEngine, Kind: "transition", Program: "session",
			Summary: fmt.Sprintf("peers=%d channels=%d", to.sess.peers.Len(), len(to.sess.channels))})
	}
	if from.sync != to.sync {
		out = append(out, ObsEvent{Layer: ObsEngine, Kind: "transition", Program: "sync",
			Summary: fmt.Sprintf("docs=%d peers=%d", to.sync.docs.Len(), to.sync.peers.Len())})
	}
	if from.store != to.store {
		out = append(out, ObsEvent{Layer: ObsEngine, Kind: "transition", Program: "store",
			Summary: fmt.Sprintf("docs=%d", to.store.docs.Len())})
	}
	return out
}

func syncStateEvents(s *syncState, docs []string) []ObsEvent {
	var out []ObsEvent
	for _, doc := range docs {
		s.peers.Range(func(id string, p *syncPeer) bool {
			if st, ok := p.states.Get(doc); ok {
				out = append(out, ObsEvent{Layer: ObsDirectory, Kind: "sync-state", DocID: doc, Peer: id, State: st.Kind})
			}
			return true
		})
	}
	return out
}

func obsOps(c Change) []ObsOp {
	ops := make([]ObsOp, len(c.Ops))
	for i, op := range c.Ops {
		ops[i] = ObsOp{Type: op.Change.Type(), Path: op.Path.String()}
	}
	return ops
}
