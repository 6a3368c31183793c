package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
)

// TestErrorClassification: the data-carrying errors unwrap to their
// classification, so CodeOf, ReasonOf and errors.Is see them.
func TestErrorClassification(t *testing.T) {
	cases := []struct {
		err    error
		code   kyneta.Code
		reason string
	}{
		{storeerr.New(storeerr.Closed, "", "", nil), kyneta.CodeUnavailable, "closed"},
		{fmt.Errorf("wrapped: %w", storeerr.New(storeerr.WriteFailed, "d", "", nil)), kyneta.CodeUnavailable, "write-failed"},
		{&CorruptError{DocID: "d", Reason: storeerr.SequenceGap}, kyneta.CodeDataLoss, "sequence-gap"},
		{fmt.Errorf("wrapped: %w", &HeadError{DocID: "d"}), kyneta.CodeFailedPrecondition, "head-mismatch"},
		{storeerr.Format(storeerr.MalformedVersion, "sqlite", "x", "1.0"), kyneta.CodeDataLoss, "malformed-version"},
	}
	for _, c := range cases {
		if got := kyneta.CodeOf(c.err); got != c.code {
			t.Errorf("CodeOf(%v) = %q, want %q", c.err, got, c.code)
		}
		if !errors.Is(c.err, &kyneta.Error{Pkg: "store", Reason: c.reason}) {
			t.Errorf("errors.Is(%v, reason %q) is false", c.err, c.reason)
		}
	}
}
