package errtext

import (
	"errors"
	"testing"
)

func TestJoin(t *testing.T) {
	cause := errors.New("disk full")
	rows := []struct {
		detail string
		cause  error
		want   string
	}{
		{"", nil, "store: closed"},
		{"while writing", nil, "store: closed: while writing"},
		{"", cause, "store: closed: disk full"},
		{"while writing", cause, "store: closed: while writing: disk full"},
	}
	for _, r := range rows {
		if got := Join("store: closed", r.detail, r.cause); got != r.want {
			t.Errorf("Join(%q, %v) = %q, want %q", r.detail, r.cause, got, r.want)
		}
	}
}
