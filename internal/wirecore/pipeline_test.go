package wirecore_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	wire "github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/internal/wirestep"
)

// checkWireError compares a *WireError with a vector WireError object
// {code, detail}: the code exactly, and the detail in the terms of its layer
// (alias error fields, collector error fields, validation reason, or the
// JavaScript error class of a decode failure).
func checkWireError(t *testing.T, got *wirestep.WireError, want any) {
	t.Helper()
	w, ok := want.(wire.OrderedMap)
	if !ok {
		t.Fatalf("vector error %s is not an object", wire.ShowValue(want))
	}
	code, _ := w.Get("code")
	if got == nil {
		t.Fatalf("no error, want %s", wire.ShowValue(want))
	}
	if got.Reason != code {
		t.Fatalf("error %v, want code %v (%s)", got, code, wire.ShowValue(want))
	}
	if !errors.Is(got, &kyneta.Error{Pkg: "wire", Reason: got.Reason}) {
		t.Fatal("errors.Is does not match the code")
	}
	detail, _ := w.Get("detail")
	d, _ := detail.(wire.OrderedMap)
	switch got.Reason {
	case wirestep.ReasonAliasResolutionFailed:
		if gv := wire.AliasErrorValue(got.Unwrap()); !wire.ValueEqual(wire.SortedValue(gv), wire.SortedValue(d)) {
			t.Fatalf("alias detail %s, want %s", wire.ShowValue(gv), wire.ShowValue(d))
		}
	case wirestep.ReasonReassemblyFailed:
		m := map[string]any{}
		for _, e := range d {
			if f, ok := e.Value.(int64); ok {
				m[e.Key.(string)] = float64(f)
			} else {
				m[e.Key.(string)] = e.Value
			}
		}
		wire.CheckReassemblyError(t, got.Unwrap(), m)
	case wirestep.ReasonInvalidWireMessage:
		var verr *wire.ValidationError
		reason, _ := d.Get("reason")
		if !errors.As(got, &verr) || verr.Reason != reason {
			t.Fatalf("validation detail %v, want reason %v", got.Detail, reason)
		}
	case wirestep.ReasonDecodeFailed:
		var derr *kyneta.Error
		je, ok := detail.(wire.TJSONError)
		if !ok {
			t.Fatalf("decode-failed detail %s is not a JavaScript error", wire.ShowValue(detail))
		}
		// The decoder's error is the detail (got's own classification
		// comes first in its chain).
		if cause, _ := got.Detail.(error); !errors.As(cause, &derr) || wire.JSErrorClass(derr.Reason) != je.Name {
			t.Fatalf("decode detail %v, want JavaScript %s", got.Detail, je.Name)
		}
	default:
		t.Fatalf("unexpected code %s in a vector", got.Reason)
	}
}

// endpoint is one side of a pipeline scenario.
type endpoint interface {
	send(t *testing.T, msg wire.ChannelMsg) ([]string, []*wirestep.WireError, []wirestep.FrameTrace, uint32)
	receive(t *testing.T, piece string) (wirestep.ReceiveOutput, bool)
}

type binaryEndpoint struct {
	st        wirestep.PipelineState[[]byte]
	threshold int
}

func (e *binaryEndpoint) send(t *testing.T, msg wire.ChannelMsg) ([]string, []*wirestep.WireError, []wirestep.FrameTrace, uint32) {
	var outs []wirestep.SendOutput[[]byte]
	e.st, outs = wirestep.SendStep(e.st, wirestep.BinaryCodec, e.threshold, msg)
	var pieces []string
	var errs []*wirestep.WireError
	var traces []wirestep.FrameTrace
	for _, o := range outs {
		if o.Err != nil {
			errs = append(errs, o.Err)
			pieces = append(pieces, "")
			continue
		}
		errs = append(errs, nil)
		pieces = append(pieces, hex.EncodeToString(o.Piece))
		traces = append(traces, o.Trace)
	}
	return pieces, errs, traces, e.st.NextSeq
}

func (e *binaryEndpoint) receive(t *testing.T, piece string) (wirestep.ReceiveOutput, bool) {
	var out wirestep.ReceiveOutput
	var ok bool
	e.st, out, ok = wirestep.ReceiveStep(e.st, wirestep.BinaryCodec, wire.MustHex(t, piece))
	return out, ok
}

type textEndpoint struct {
	st        wirestep.PipelineState[string]
	threshold int
}

func (e *textEndpoint) send(t *testing.T, msg wire.ChannelMsg) ([]string, []*wirestep.WireError, []wirestep.FrameTrace, uint32) {
	var outs []wirestep.SendOutput[string]
	e.st, outs = wirestep.SendStep(e.st, wirestep.TextCodec, e.threshold, msg)
	var pieces []string
	var errs []*wirestep.WireError
	var traces []wirestep.FrameTrace
	for _, o := range outs {
		if o.Err != nil {
			errs = append(errs, o.Err)
			pieces = append(pieces, "")
			continue
		}
		errs = append(errs, nil)
		pieces = append(pieces, o.Piece)
		traces = append(traces, o.Trace)
	}
	return pieces, errs, traces, e.st.NextSeq
}

func (e *textEndpoint) receive(t *testing.T, piece string) (wirestep.ReceiveOutput, bool) {
	var out wirestep.ReceiveOutput
	var ok bool
	e.st, out, ok = wirestep.ReceiveStep(e.st, wirestep.TextCodec, piece)
	return out, ok
}

// pipelineReassembly is the reassembler the reference's pipeline vectors
// were produced with (README: timeout 10000, 32 frames, 50 MiB).
func pipelineReassembly() wire.ReassemblyConfig {
	return wire.ReassemblyConfig{
		Timeout: 10 * time.Second, MaxConcurrentFrames: 32, MaxTotalSize: 50 << 20,
		ReferenceSizeCheck: true, Clock: wire.NewRecordingClock(),
	}
}

func newEndpoint(t *testing.T, encoding string, threshold int, startSeq uint32) endpoint {
	switch encoding {
	case "binary":
		st := wirestep.NewPipelineState[[]byte](pipelineReassembly())
		st.NextSeq = startSeq
		return &binaryEndpoint{st: st, threshold: threshold}
	case "text":
		st := wirestep.NewPipelineState[string](pipelineReassembly())
		st.NextSeq = startSeq
		return &textEndpoint{st: st, threshold: threshold}
	}
	t.Fatalf("encoding %q", encoding)
	return nil
}

// vecInt reads a tjson number (int64, or a $float) as an int, mapping
// +Infinity to the largest int.
func vecInt(t *testing.T, v any) int {
	t.Helper()
	switch v := v.(type) {
	case int64:
		return int(v)
	case float64:
		if math.IsInf(v, 1) {
			return math.MaxInt
		}
		return int(v)
	}
	t.Fatalf("not a number: %s", wire.ShowValue(v))
	return 0
}

// checkReceived compares one delivered piece's result with a vector input
// list ([] while pending, or one {ok: ChannelMsg} / {err: WireError}) and
// optional trace {seq, kind}.
func checkReceived(t *testing.T, out wirestep.ReceiveOutput, ok bool, inputs []any, trace any) {
	t.Helper()
	if len(inputs) == 0 {
		if ok {
			t.Fatalf("got %+v, want pending", out)
		}
		return
	}
	if len(inputs) != 1 || !ok {
		t.Fatalf("ok %v, want %d inputs", ok, len(inputs))
	}
	in := inputs[0].(wire.OrderedMap)
	if want, isOK := in.Get("ok"); isOK {
		if out.Err != nil {
			t.Fatalf("error %v, want %s", out.Err, wire.ShowValue(want))
		}
		if got := wire.ChannelMsgValue(out.Msg); !wire.ValueEqual(wire.SortedValue(got), wire.SortedValue(want)) {
			t.Fatalf("message\n got %s\nwant %s", wire.ShowValue(got), wire.ShowValue(want))
		}
		if trace != nil {
			tr := trace.(wire.OrderedMap)
			seq, _ := tr.Get("seq")
			kind, _ := tr.Get("kind")
			if out.Trace.Dir != wirestep.TraceReceive || int64(out.Trace.Seq) != seq || out.Trace.Kind.String() != kind {
				t.Fatalf("trace %+v, want %s", out.Trace, wire.ShowValue(trace))
			}
		}
		return
	}
	want, _ := in.Get("err")
	checkWireError(t, out.Err, want)
}

func TestPipelineVectors(t *testing.T) {
	file := wire.ParseTJSON(t, wire.ReadVectorFile(t, "pipeline.json")).(wire.OrderedMap)
	sv, _ := file.Get("scenarios")
	scenarios := sv.([]any)
	wire.CheckCount(t, "pipeline.scenarios", len(scenarios))
	steps := 0
	for _, s := range scenarios {
		sc := s.(wire.OrderedMap)
		get := func(k string) any { v, _ := sc.Get(k); return v }
		name := get("name").(string)
		encoding := get("encoding").(string)
		threshold := vecInt(t, get("threshold"))
		start := get("startSeq").(wire.OrderedMap)
		sa, _ := start.Get("A")
		sb, _ := start.Get("B")
		stepList := get("steps").([]any)
		steps += len(stepList)
		t.Run("pipeline/scenarios/"+name, func(t *testing.T) {
			ends := map[string]endpoint{
				"A": newEndpoint(t, encoding, threshold, uint32(vecInt(t, sa))),
				"B": newEndpoint(t, encoding, threshold, uint32(vecInt(t, sb))),
			}
			for i, raw := range stepList {
				step := raw.(wire.OrderedMap)
				sget := func(k string) any { v, _ := step.Get(k); return v }
				from := sget("from").(string)
				to := "B"
				if from == "B" {
					to = "A"
				}
				t.Run(fmt.Sprintf("step-%d", i), func(t *testing.T) {
					msg := wire.ChannelMsgFromValue(t, sget("msg"))
					pieces, errs, traces, next := ends[from].send(t, msg)
					if int64(next) != sget("nextSeqAfter") {
						t.Fatalf("nextSeq %d, want %s", next, wire.ShowValue(sget("nextSeqAfter")))
					}
					// The step's trace: seq and kind of what was emitted, or null.
					wantSeq, wantKind := sget("seq"), sget("kind")
					if wantSeq == nil {
						if len(traces) != 0 {
							t.Fatalf("traces %+v, want none", traces)
						}
					} else {
						if len(traces) == 0 {
							t.Fatalf("no trace, want seq %s", wire.ShowValue(wantSeq))
						}
						for _, tr := range traces {
							if int64(tr.Seq) != wantSeq || tr.Kind.String() != wantKind || tr.Dir != wirestep.TraceSend {
								t.Fatalf("trace %+v, want seq %s kind %s", tr, wire.ShowValue(wantSeq), wire.ShowValue(wantKind))
							}
						}
					}
					outputs := sget("outputs").([]any)
					if len(outputs) != len(pieces) {
						t.Fatalf("%d outputs, want %d", len(pieces), len(outputs))
					}
					var sent []string
					for j, o := range outputs {
						om := o.(wire.OrderedMap)
						if want, ok := om.Get("ok"); ok {
							if errs[j] != nil || pieces[j] != want {
								t.Fatalf("output %d: %q (err %v)\nwant %q", j, pieces[j], errs[j], want)
							}
							sent = append(sent, pieces[j])
							continue
						}
						want, _ := om.Get("err")
						checkWireError(t, errs[j], want)
					}
					results := sget("receiverResults").([]any)
					if len(results) != len(sent) {
						t.Fatalf("%d receiver results for %d pieces", len(results), len(sent))
					}
					for j, r := range results {
						rm := r.(wire.OrderedMap)
						inputs, _ := rm.Get("inputs")
						trace, _ := rm.Get("trace")
						out, ok := ends[to].receive(t, sent[j])
						checkReceived(t, out, ok, inputs.([]any), trace)
					}
				})
			}
		})
	}
	wire.CheckCount(t, "pipeline.steps", steps)
}

func TestPipelineReceiveInvalidVectors(t *testing.T) {
	var file struct {
		PipelineReceive []json.RawMessage `json:"pipelineReceive"`
	}
	wire.LoadVectors(t, "invalid.json", &file)
	wire.CheckCount(t, "invalid.pipelineReceive", len(file.PipelineReceive))
	for _, raw := range file.PipelineReceive {
		c := wire.ParseTJSON(t, raw).(wire.OrderedMap)
		get := func(k string) any { v, _ := c.Get(k); return v }
		t.Run("invalid/pipelineReceive/"+get("name").(string), func(t *testing.T) {
			e := newEndpoint(t, get("encoding").(string), 0, 1)
			results := get("results").([]any)
			for i, p := range get("pieces").([]any) {
				out, ok := e.receive(t, p.(string))
				checkReceived(t, out, ok, results[i].([]any), nil)
			}
		})
	}
}

func TestSendStepTracesAndSeq(t *testing.T) {
	st := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{Clock: wire.NewRecordingClock()})
	offer := &wire.Offer{DocID: "d", Version: "1", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.Binary, Data: make([]byte, 100)}}
	st, outs := wirestep.SendStep(st, wirestep.BinaryCodec, 40, offer)
	if st.NextSeq != 2 || len(outs) < 3 {
		t.Fatalf("next %d, %d outputs", st.NextSeq, len(outs))
	}
	for i, o := range outs {
		want := wirestep.FrameTrace{Dir: wirestep.TraceSend, Seq: 1, Kind: wire.KindFragment, Index: i, Total: len(outs), Size: len(o.Piece)}
		if o.Err != nil || o.Trace != want {
			t.Fatalf("output %d: trace %+v err %v, want %+v", i, o.Trace, o.Err, want)
		}
	}
	// A nil message is a Go-only encode failure and still consumes a seq.
	st, outs = wirestep.SendStep(st, wirestep.BinaryCodec, 0, nil)
	if st.NextSeq != 3 || len(outs) != 1 || !errors.Is(outs[0].Err, &kyneta.Error{Pkg: "wire", Reason: wirestep.ReasonEncodeFailed}) {
		t.Fatalf("nil message: next %d outputs %+v", st.NextSeq, outs)
	}
	// Seq wraps from 2^32-1 to 0.
	st.NextSeq = math.MaxUint32
	st, outs = wirestep.SendStep(st, wirestep.BinaryCodec, 0, &wire.Depart{})
	if st.NextSeq != 0 || outs[0].Trace.Seq != math.MaxUint32 || outs[0].Trace.Kind != wire.KindComplete || outs[0].Trace.Size != len(outs[0].Piece) {
		t.Fatalf("wrap: next %d trace %+v", st.NextSeq, outs[0].Trace)
	}
}

func TestReceiveStepGuards(t *testing.T) {
	// A zero state has no reassembler: an error, not a panic.
	_, out, ok := wirestep.ReceiveStep(wirestep.PipelineState[[]byte]{}, wirestep.BinaryCodec, []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	if !ok || !errors.Is(out.Err, &kyneta.Error{Pkg: "wire", Reason: wirestep.ReasonReassemblyFailed}) {
		t.Fatalf("%+v %v", out, ok)
	}
	st := wirestep.NewPipelineState[[]byte](wire.ReassemblyConfig{Clock: wire.NewRecordingClock()})
	st.Reassembler.Dispose()
	_, out, _ = wirestep.ReceiveStep(st, wirestep.BinaryCodec, []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	var re *wire.ReassemblyError
	if !errors.As(out.Err, &re) || re.Reason != "disposed" {
		t.Fatalf("after dispose: %v", out.Err)
	}
}
