package exchange

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/kyneta-go/kyneta/machine"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

type machineTransition = machine.Transition[*coreState]

// obsVersion is the version of the observation protocol (ObsEvent.V), the
// reference's experimental version 1.
const obsVersion = 1

// ObsLayer is the layer an observation event belongs to.
type ObsLayer string

// Observation layers.
const (
	ObsWire       ObsLayer = "wire"       // frames (Kind "frame")
	ObsProtocol   ObsLayer = "protocol"   // messages in and out (Kind "message")
	ObsEngine     ObsLayer = "engine"     // program transitions (Kind "transition")
	ObsDirectory  ObsLayer = "directory"  // peers, documents, per-peer sync states (Kind "peer", "doc", "sync-state")
	ObsDoc        ObsLayer = "doc"        // document change sets (Kind "changeset")
	ObsDiagnostic ObsLayer = "diagnostic" // diagnostics (Kind "diagnostic")
)

// ObsOp is one operation of a change set, flattened for display.
type ObsOp struct {
	Type string `json:"type"`
	Path string `json:"path,omitempty"`
}

// ObsEvent is one event of the observation stream (Exchange.Observe): the
// reference's ObsEvent, for devtools, traces and tests. Every event has
// the envelope (V, Seq, T, PeerID, Layer, Kind); the other fields are set
// as the kind says. MarshalJSON writes the reference's JSON shape, so a
// stream can go to the reference's inspector unchanged.
type ObsEvent struct {
	V      int      // the observation protocol's version: 1, the reference's experimental one
	Seq    uint64   // per-exchange order of events, from 0
	T      int64    // wall clock, Unix milliseconds (display only)
	PeerID string   // the local peer
	Layer  ObsLayer //
	Kind   string   // see the layer constants

	// protocol ("message") and wire ("frame"): "in"/"out" or "send"/"receive".
	Dir string
	// protocol: the message type, the remote peer, the channel (always
	// set here; the reference sets it for lifecycle messages only), and
	// what the message names.
	MsgType   string
	Peer      string // also directory "peer" and "sync-state"
	ChannelID transport.ChannelID
	DocID     string // also directory "doc", "sync-state" and doc "changeset"
	Version   string
	Docs      []string // a present's documents

	// directory: the peer or document change, or the peer's sync state.
	Change string
	State  PeerSyncKind

	// doc: whether the change came from a peer or a store (true) or was
	// made locally, and its operations.
	Replay bool
	Ops    []ObsOp

	// engine: which program's state changed, and a summary of it.
	Program string
	Summary string

	// diagnostic.
	Diagnostic *Diagnostic

	// wire: the frame's sequence number, kind ("complete", "fragment"),
	// fragment position and size.
	FrameSeq  uint32
	FrameKind string
	Index     int
	Total     int
	Size      int
}

// MarshalJSON writes the event in the reference's shape: the envelope plus
// the fields of its kind.
func (e ObsEvent) MarshalJSON() ([]byte, error) {
	m := map[string]any{"v": e.V, "seq": e.Seq, "t": e.T, "peerId": e.PeerID, "layer": e.Layer, "kind": e.Kind}
	put := func(k string, v string) {
		if v != "" {
			m[k] = v
		}
	}
	switch e.Kind {
	case "message":
		m["dir"], m["msgType"] = e.Dir, e.MsgType
		put("peer", e.Peer)
		if e.ChannelID != 0 {
			m["channelId"] = e.ChannelID
		}
		put("docId", e.DocID)
		put("version", e.Version)
		if e.Docs != nil {
			m["docs"] = e.Docs
		}
	case "peer":
		m["change"], m["peer"] = e.Change, e.Peer
	case "doc":
		m["change"], m["docId"] = e.Change, e.DocID
	case "sync-state":
		m["docId"], m["peer"], m["state"] = e.DocID, e.Peer, e.State
	case "changeset":
		m["docId"], m["replay"], m["ops"] = e.DocID, e.Replay, e.Ops
	case "transition":
		m["program"], m["summary"] = e.Program, e.Summary
	case "diagnostic":
		if d := e.Diagnostic; d != nil {
			m["code"], m["severity"], m["message"] = d.Reason, d.Severity, d.Message
			put("peer", d.PeerID)
			put("docId", d.DocID)
			put("local", d.Local)
			put("remote", d.Remote)
		}
	case "frame":
		m["dir"], m["frameSeq"], m["frameKind"], m["size"] = e.Dir, e.FrameSeq, e.FrameKind, e.Size
		if e.Total > 0 {
			m["index"], m["total"] = e.Index, e.Total
		}
	}
	return json.Marshal(m)
}

// observers is the exchange's observation bus. It costs one atomic load
// per would-be event while nobody observes.
type observers struct {
	n      atomic.Int32
	mu     sync.Mutex
	seq    uint64
	sinks  []*obsSink
	stopTr func() // the engine-layer subscription, while anyone observes
}

type obsSink struct{ fn func(ObsEvent) }

func (o *observers) on() bool { return o.n.Load() > 0 }

// Observe calls sink with every observation event until cancel is called:
// messages in and out, frames, program transitions, peer, document and
// sync-state changes, change sets and diagnostics (the reference's
// observe). Sinks are called synchronously on whichever goroutine produced
// the event (a transport's reader or writer, the dispatcher), so they may
// run concurrently, out of Seq order; they must not block, and must not
// call the exchange. A panicking sink is ignored. With no sink the stream
// costs nothing.
func (ex *Exchange) Observe(sink func(ObsEvent)) (cancel func()) {
	o := &ex.obs
	s := &obsSink{fn: sink}
	o.mu.Lock()
	o.sinks = append(o.sinks, s)
	if o.n.Add(1) == 1 {
		o.stopTr = ex.runner.Subscribe(ex.observeTransition)
	}
	o.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			for i, x := range o.sinks {
				if x == s {
					o.sinks = append(o.sinks[:i:i], o.sinks[i+1:]...)
					break
				}
			}
			if o.n.Add(-1) == 0 && o.stopTr != nil {
				o.stopTr()
				o.stopTr = nil
			}
		})
	}
}

// publish stamps e and hands it to every sink.
func (ex *Exchange) publish(e ObsEvent) {
	o := &ex.obs
	o.mu.Lock()
	if len(o.sinks) == 0 {
		o.mu.Unlock()
		return
	}
	e.V, e.Seq, e.T, e.PeerID = obsVersion, o.seq, ex.clock.Now().UnixMilli(), ex.identity.PeerID
	o.seq++
	sinks := o.sinks
	o.mu.Unlock()
	for _, s := range sinks {
		func() {
			defer func() { _ = recover() }() // fire and forget, as the reference
			s.fn(e)
		}()
	}
}

func (ex *Exchange) observeMessage(out bool, ch transport.ChannelID, peer string, msg wire.ChannelMsg) {
	ex.publish(messageEvent(out, ch, peer, msg))
}

func (ex *Exchange) observeFrame(f transport.FrameTrace) {
	if ex.obs.on() {
		ex.publish(frameEvent(f))
	}
}

// observeTransition reports which programs a step changed (engine layer).
func (ex *Exchange) observeTransition(tr machineTransition) {
	for _, e := range transitionEvents(tr.From, tr.To) {
		ex.publish(e)
	}
}

func (ex *Exchange) observeSyncStates(docs []string) {
	for _, e := range syncStateEvents(ex.cs().sync, docs) {
		ex.publish(e)
	}
}
