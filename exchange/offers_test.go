package exchange

import (
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

func TestCountBatches(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		ok   bool
		name string
	}{
		{`[]`, 0, true, "empty"},
		{`[[]]`, 0, true, "one empty batch"},
		{`[[{"path":[],"change":{"type":"replace","value":1}}]]`, 1, true, "one"},
		{` [ [ {"a":"]\"["} ] , [ ], [1] ]`, 2, true, "strings with brackets, spaces"},
		{`{"a":1}`, 0, false, "object"},
		{`[[1]`, 0, false, "truncated"},
		{``, 0, false, "empty input"},
	}
	for _, c := range cases {
		n, ok := countBatches([]byte(c.in))
		if n != c.n || ok != c.ok {
			t.Errorf("%s: countBatches(%q) = %d,%v want %d,%v", c.name, c.in, n, ok, c.n, c.ok)
		}
	}
}

func TestPlainContiguous(t *testing.T) {
	v := replica.NewPlainVersion
	p := replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(`[[1],[2]]`)}
	cases := []struct {
		ours, in replica.Version
		want     bool
	}{
		{v("L", 3), v("L", 5), true},
		{v("L", 2), v("L", 5), false}, // a lost push
		{v("L", 4), v("L", 5), false}, // overlapping (duplicated old push)
		{v(replica.Genesis, 0), v("L", 2), true},
		{v(replica.Genesis, 0), v("L", 4), false},
		{v("M", 3), v("L", 5), true}, // lineage boundary: reset path decides
		{replica.NewTimestampVersion(1), replica.NewTimestampVersion(2), true},
	}
	for _, c := range cases {
		if got := plainContiguous(c.ours, c.in, p); got != c.want {
			t.Errorf("ours %s incoming %s: %v want %v", c.ours, c.in, got, c.want)
		}
	}
}
