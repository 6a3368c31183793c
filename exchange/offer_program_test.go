package exchange

import (
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
)

func TestPlanOfferTable(t *testing.T) {
	parse := replica.NewPlainFactory(replica.PlainOptions{}).ParseVersion
	ours := replica.NewPlainVersion("L", 5)
	s := func(v string) *string { return &v }
	rows := []struct {
		name  string
		since *string
		push  bool
		multi bool
		want  offerAction
		from  string
	}{
		{"opaque log, interest: the whole log", s("AA=="), false, true, offerLog, ""},
		{"opaque log, push: after our previous version", s("v1"), true, true, offerLog, "v1"},
		{"opaque log, no baseline: the whole log", nil, false, true, offerLog, ""},
		{"no baseline: entirety", nil, false, false, offerEntirety, ""},
		{"empty baseline: entirety", s(""), false, false, offerEntirety, ""},
		{"unparseable baseline: nothing", s("garbage"), false, false, offerBadVersion, ""},
		{"peer ahead: nothing new from us", s("L:7"), false, false, offerSinceOurs, ""},
		{"peer equal: nothing new from us", s("L:5"), false, false, offerSinceOurs, ""},
		{"peer behind: the delta after its version", s("L:2"), false, false, offerSince, ""},
		{"peer on another lineage: the delta (the replica falls back to the entirety)", s("M:2"), false, false, offerSince, ""},
	}
	for _, r := range rows {
		p := planOffer(ours, r.since, r.push, r.multi, parse)
		if p.act != r.want || p.from != r.from {
			t.Errorf("%s: got %+v, want %d from %q", r.name, p, r.want, r.from)
		}
	}
}
