package reasons

import (
	"errors"
	"testing"

	"github.com/kyneta-go/kyneta"
)

func TestTable(t *testing.T) {
	tab := Table{Pkg: "p", Codes: map[string]kyneta.Code{"closed": kyneta.CodeUnavailable}}
	cause := errors.New("eof")
	err := tab.New("closed", "while reading", cause)
	if err.Code != kyneta.CodeUnavailable || err.Reason != "closed" || err.Pkg != "p" || err.Detail != "while reading" || err.Err != cause {
		t.Errorf("New = %+v", err)
	}
	if c := tab.Code("no-such-reason"); c != kyneta.CodeInternal {
		t.Errorf("unknown reason: code %q, want internal", c)
	}
}
