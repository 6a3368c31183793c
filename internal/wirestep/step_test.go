package wirestep

import (
	"math"
	"testing"

	"github.com/kyneta-go/kyneta/wire"
)

func TestReassemblyEventWireError(t *testing.T) {
	e := EventError(wire.ReassemblyEvent{Type: wire.CodeTimeout, Seq: 4, PartialCount: 2})
	if e.Code != CodeReassemblyTimeout || e.Detail.(wire.ReassemblyEvent).Seq != 4 || e.Unwrap() != nil {
		t.Fatalf("%+v", e)
	}
	if e := EventError(wire.ReassemblyEvent{Type: wire.CodeEvicted, Seq: 5}); e.Code != CodeReassemblyEvicted {
		t.Fatalf("%+v", e)
	}
	if got := fragmentWireError(&wire.Error{Code: wire.CodeTooManyFragments, Msg: "70000 pieces needed, at most 65535 allowed"}); got.Code != CodeTooManyFragments {
		t.Fatalf("%+v", got)
	}
	if got := fragmentWireError(&wire.Error{Code: wire.CodeEmptyPayload}); got.Code != CodeEmptyPayload {
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
