package transport

import (
	"maps"
	"testing"

	"github.com/kyneta-go/kyneta"

	"github.com/kyneta-go/kyneta/internal/errdoc"
	"github.com/kyneta-go/kyneta/internal/wirestep"
)

// docs/errors.md lists exactly the reasons this package returns, and those
// of the wire pipeline its transports share, each with its code.
func TestReasonsDocumented(t *testing.T) {
	docs, err := errdoc.Table("", "transport")
	if err != nil {
		t.Fatal(err)
	}
	code := maps.Clone(reasonCodes)
	for _, r := range []string{
		wirestep.ReasonAliasResolutionFailed, wirestep.ReasonDecodeFailed, wirestep.ReasonReassemblyFailed,
		wirestep.ReasonReassemblyTimeout, wirestep.ReasonReassemblyEvicted, wirestep.ReasonFrameTooLarge,
		wirestep.ReasonEmptyPayload, wirestep.ReasonTooManyFragments, wirestep.ReasonInvalidWireMessage,
		wirestep.ReasonEncodeFailed,
	} {
		code[r] = wirestep.CodeOf(r)
	}
	// The pipeline's closed error (internal/pipeline, whose own test checks
	// this code; it cannot be imported here).
	code["closed"] = kyneta.CodeUnavailable
	if d := errdoc.Diff(code, docs); d != "" {
		t.Error(d)
	}
}
