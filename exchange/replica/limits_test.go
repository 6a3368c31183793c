package replica

import (
	"errors"
	"strings"
	"testing"
)

// TestLimitsRefuseBeforeWork: payloads over a limit are refused with
// "limit" and leave the replica exactly as it was.
func TestLimitsRefuseBeforeWork(t *testing.T) {
	limits := Limits{MaxPayloadBytes: 4 << 10, MaxOps: 10}
	pf := newPlainFactory(PlainOptions{Rand: &seqRand{}, Limits: limits})
	lf := newLWWFactory(LWWOptions{Limits: limits})
	ops := func(n int) []byte {
		var b strings.Builder
		b.WriteString("[[")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"path":[{"type":"field","field":"n"}],"change":{"type":"increment","amount":1}}`)
		}
		b.WriteString("]]")
		return []byte(b.String())
	}
	big := `{"t":"` + strings.Repeat("x", 5<<10) + `"}`
	for _, d := range []Document{pf.CreateDocument(), pf.NewPlain(false), lf.CreateDocument()} {
		if err := d.Apply([]Op{{Path: Path{Field("n")}, Change: incrementChange(1)}}); err != nil {
			t.Fatal(err)
		}
		ver, before := d.Version().String(), jsonOf(t, d)
		for _, c := range []struct {
			name string
			p    Payload
		}{
			{"too many ops", Payload{Kind: "since", Encoding: "json", Data: ops(11)}},
			{"too many bytes", Payload{Kind: "since", Encoding: "json", Data: ops(60)}},
			{"entirety too big", Payload{Kind: "entirety", Encoding: "json", Data: []byte(big)}},
		} {
			err := d.Merge(c.p)
			if !errors.Is(err, errLimit) {
				t.Fatalf("%T %s: %v", d, c.name, err)
			}
			if d.Version().String() != ver || jsonOf(t, d) != before {
				t.Fatalf("%T %s: refused payload changed the replica", d, c.name)
			}
		}
		if err := d.ResetFromEntirety(Payload{Kind: "entirety", Encoding: "json", Data: []byte(big)}, d.Version()); !errors.Is(err, errLimit) {
			t.Fatalf("%T reset: %v", d, err)
		}
		// At the limit is fine.
		if err := d.Merge(Payload{Kind: "since", Encoding: "json", Data: ops(10), Lineage: d.Version().Lineage()}); err != nil {
			t.Fatalf("%T at the limit: %v", d, err)
		}
	}
	// Negative disables a limit; zero takes the default.
	if l := (Limits{MaxOps: -1}).withDefaults(); l.MaxOps != -1 || l.MaxPayloadBytes != defaultMaxPayloadBytes {
		t.Fatalf("defaults: %+v", l)
	}
	d := newPlainFactory(PlainOptions{Rand: &seqRand{}, Limits: Limits{MaxOps: -1}}).CreateDocument()
	if err := d.Merge(Payload{Kind: "since", Encoding: "json", Data: ops(2000)}); err != nil {
		t.Fatal(err)
	}
}
