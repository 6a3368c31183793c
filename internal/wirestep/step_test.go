package wirestep

import (
	"errors"
	"math"
	"testing"

	wire "github.com/kyneta-go/kyneta/internal/wirecore"
)

func TestReassemblyEventWireError(t *testing.T) {
	e := EventError(wire.ReassemblyEvent{Reason: "timeout", Seq: 4, PartialCount: 2})
	if e.Reason != ReasonReassemblyTimeout || e.Detail.(wire.ReassemblyEvent).Seq != 4 || errors.Unwrap(e.Unwrap()) != nil {
		t.Fatalf("%+v", e)
	}
	if e := EventError(wire.ReassemblyEvent{Reason: "evicted", Seq: 5}); e.Reason != ReasonReassemblyEvicted {
		t.Fatalf("%+v", e)
	}
	_, tooMany := wire.FragmentBinary(make([]byte, 70000), 1, 0)
	if got := fragmentWireError(tooMany); got.Reason != ReasonTooManyFragments || got.Detail != tooMany {
		t.Fatalf("%+v", got)
	}
	_, empty := wire.FragmentBinary(nil, 1, 0)
	if got := fragmentWireError(empty); got.Reason != ReasonEmptyPayload {
		t.Fatalf("%+v", got)
	}
	if got := fragmentWireError(errors.New("other")); got.Reason != ReasonFrameTooLarge {
		t.Fatalf("%+v", got)
	}
}

func TestToUint32(t *testing.T) {
	for in, want := range map[float64]uint32{0: 0, 1.5: 1, -1: math.MaxUint32, 4294967296: 0, 4294967297.9: 1, math.Inf(1): 0, math.NaN(): 0} {
		if got := toUint32(in); got != want {
			t.Errorf("toUint32(%v) = %d, want %d", in, got, want)
		}
	}
}
