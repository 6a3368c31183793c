package exchange

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/store"
	"pgregory.net/rapid"
)

func dumpStore(s *storeState) string {
	var b strings.Builder
	for _, id := range s.docs.Keys() {
		d, _ := s.docs.Get(id)
		fmt.Fprintf(&b, "%s[w=%v c=%s p=%s] ", id, d.writing, d.confirmed, d.pending)
		if d.deleting || d.deleteNext || d.reregister != nil {
			fmt.Fprintf(&b, "(del=%v next=%v rereg=%v) ", d.deleting, d.deleteNext, d.reregister != nil)
		}
	}
	return b.String()
}

func renderStoreFx(fx []storeFx) string {
	var out []string
	for _, f := range fx {
		switch f := f.(type) {
		case fxStoreAppend:
			out = append(out, fmt.Sprintf("append %s %d@%s", f.doc, len(f.records), f.version))
		case fxStoreDelete:
			out = append(out, "delete "+f.doc)
		case fxStoreError:
			out = append(out, "error "+f.doc)
		}
	}
	return strings.Join(out, "|")
}

func TestStoreProgramTable(t *testing.T) {
	rec := []store.Record{{Kind: store.KindEntry}}
	reg := stRegister{doc: "d", records: []store.Record{{Kind: store.KindMeta}, {Kind: store.KindEntry}}, version: "v1"}
	adv := stAdvanced{doc: "d", records: rec, version: "v2"}
	boom := errors.New("boom")
	// Phases a document can be in, built by messages.
	phases := map[string][]storeMsg{
		"absent":           nil,
		"registering":      {reg},
		"idle-unconfirmed": {reg, stWriteFailed{doc: "d", err: boom}},
		"idle":             {stHydrated{doc: "d", version: "v1"}},
		"writing-delta":    {stHydrated{doc: "d", version: "v1"}, adv},
		"delete-waiting":   {stHydrated{doc: "d", version: "v1"}, adv, stDestroy{doc: "d"}},
		"deleting":         {stHydrated{doc: "d", version: "v1"}, stDestroy{doc: "d"}},
		"deleting-rereg":   {stHydrated{doc: "d", version: "v1"}, stDestroy{doc: "d"}, reg},
	}
	type row struct {
		phase string
		msg   storeMsg
		fx    string
		after string // dumped state, "" = unchanged input returned
	}
	rows := []row{
		{"absent", reg, "append d 2@v1", "d[w=true c= p=v1] "},
		{"absent", stHydrated{doc: "d", version: "v1"}, "", "d[w=false c=v1 p=] "},
		{"absent", adv, "", ""},
		{"absent", stDestroy{doc: "d"}, "delete d", "d[w=true c= p=] (del=true next=false rereg=false) "},
		{"absent", stDeleteDone{doc: "d"}, "", ""},
		{"absent", stWriteSucceeded{doc: "d", version: "v1"}, "", ""},
		{"absent", stWriteFailed{doc: "d", err: boom}, "error d", ""},

		{"registering", reg, "", ""},
		{"registering", stHydrated{doc: "d", version: "v0"}, "", ""},
		{"registering", adv, "", ""}, // coalesced: re-triggered on completion
		{"registering", stDestroy{doc: "d"}, "", "d[w=true c= p=v1] (del=false next=true rereg=false) "}, // waits for the write
		{"registering", stDeleteDone{doc: "d"}, "", ""},
		{"registering", stWriteSucceeded{doc: "d", version: "v1"}, "", "d[w=false c=v1 p=] "},
		{"registering", stWriteFailed{doc: "d", err: boom}, "error d", "d[w=false c= p=] "},

		{"idle-unconfirmed", reg, "append d 2@v1", "d[w=true c= p=v1] "}, // retried registration
		{"idle-unconfirmed", stHydrated{doc: "d", version: "v0"}, "", ""},
		{"idle-unconfirmed", adv, "", ""}, // no base to compute a delta from
		{"idle-unconfirmed", stDestroy{doc: "d"}, "delete d", "d[w=true c= p=] (del=true next=false rereg=false) "},
		{"idle-unconfirmed", stDeleteDone{doc: "d"}, "", ""},
		{"idle-unconfirmed", stWriteSucceeded{doc: "d", version: "v1"}, "", ""},
		{"idle-unconfirmed", stWriteFailed{doc: "d", err: boom}, "error d", ""},

		{"idle", reg, "", ""},
		{"idle", stHydrated{doc: "d", version: "v9"}, "", ""},
		{"idle", adv, "append d 1@v2", "d[w=true c=v1 p=v2] "},
		{"idle", stAdvanced{doc: "d", records: rec, version: "v1"}, "", ""}, // already confirmed
		{"idle", stDestroy{doc: "d"}, "delete d", "d[w=true c= p=] (del=true next=false rereg=false) "},
		{"idle", stDeleteDone{doc: "d"}, "", ""},
		{"idle", stWriteSucceeded{doc: "d", version: "v2"}, "", ""},
		{"idle", stWriteFailed{doc: "d", err: boom}, "error d", ""},

		{"writing-delta", reg, "", ""},
		{"writing-delta", stHydrated{doc: "d", version: "v9"}, "", ""},
		{"writing-delta", stAdvanced{doc: "d", records: rec, version: "v3"}, "", ""},
		{"writing-delta", stDestroy{doc: "d"}, "", "d[w=true c=v1 p=v2] (del=false next=true rereg=false) "},
		{"writing-delta", stDeleteDone{doc: "d"}, "", ""},
		{"writing-delta", stWriteSucceeded{doc: "d", version: "v2"}, "", "d[w=false c=v2 p=] "},
		{"writing-delta", stWriteFailed{doc: "d", err: boom}, "error d", "d[w=false c=v1 p=] "}, // confirmed kept

		{"delete-waiting", reg, "", "d[w=true c=v1 p=v2] (del=false next=true rereg=true) "}, // waits for the delete
		{"delete-waiting", stHydrated{doc: "d", version: "v9"}, "", ""},
		{"delete-waiting", adv, "", ""},
		{"delete-waiting", stDestroy{doc: "d"}, "", "d[w=true c=v1 p=v2] (del=false next=true rereg=false) "},
		{"delete-waiting", stDeleteDone{doc: "d"}, "", ""},
		{"delete-waiting", stWriteSucceeded{doc: "d", version: "v2"}, "delete d", "d[w=true c= p=] (del=true next=false rereg=false) "},
		{"delete-waiting", stWriteFailed{doc: "d", err: boom}, "error d|delete d", "d[w=true c= p=] (del=true next=false rereg=false) "},

		{"deleting", reg, "", "d[w=true c= p=] (del=true next=false rereg=true) "},
		{"deleting", stHydrated{doc: "d", version: "v9"}, "", ""},
		{"deleting", adv, "", ""},
		{"deleting", stDestroy{doc: "d"}, "", ""},
		{"deleting", stDeleteDone{doc: "d"}, "", "same-empty"},
		{"deleting", stWriteSucceeded{doc: "d", version: "v2"}, "", ""},
		{"deleting", stWriteFailed{doc: "d", err: boom}, "error d", ""},

		{"deleting-rereg", stDeleteDone{doc: "d"}, "append d 2@v1", "d[w=true c= p=v1] "},
		{"deleting-rereg", stDestroy{doc: "d"}, "", "d[w=true c= p=] (del=true next=false rereg=false) "},
	}
	for _, r := range rows {
		t.Run(fmt.Sprintf("%s/%T", r.phase, r.msg), func(t *testing.T) {
			var p storeProgram
			s, _ := p.Init()
			for _, m := range phases[r.phase] {
				s, _ = p.Update(s, m)
			}
			before := dumpStore(s)
			n, fx := p.Update(s, r.msg)
			if dumpStore(s) != before {
				t.Fatal("input mutated")
			}
			if got := renderStoreFx(fx); got != r.fx {
				t.Fatalf("effects %q want %q", got, r.fx)
			}
			switch r.after {
			case "":
				if n != s {
					t.Fatalf("expected no change, got %s", dumpStore(n))
				}
			case "same-empty":
				if dumpStore(n) != "" {
					t.Fatalf("doc not forgotten: %s", dumpStore(n))
				}
			default:
				if got := dumpStore(n); got != r.after {
					t.Fatalf("state %q want %q", got, r.after)
				}
			}
		})
	}
}

func TestStoreProgramRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var p storeProgram
		s, _ := p.Init()
		inflight := map[string]string{} // doc -> version being written
		confirmed := map[string]string{}
		destroyed := map[string]bool{} // destroyed, delete not done yet
		docs := rapid.SampledFrom([]string{"a", "b"})
		versions := rapid.SampledFrom([]string{"v1", "v2", "v3"})
		t.Repeat(map[string]func(*rapid.T){
			"register": func(t *rapid.T) {
				step(t, p, &s, stRegister{doc: docs.Draw(t, "doc"), version: versions.Draw(t, "v")}, inflight, confirmed, destroyed)
			},
			"hydrated": func(t *rapid.T) {
				step(t, p, &s, stHydrated{doc: docs.Draw(t, "doc"), version: versions.Draw(t, "v")}, inflight, confirmed, destroyed)
			},
			"advanced": func(t *rapid.T) {
				step(t, p, &s, stAdvanced{doc: docs.Draw(t, "doc"), version: versions.Draw(t, "v")}, inflight, confirmed, destroyed)
			},
			"destroy": func(t *rapid.T) {
				step(t, p, &s, stDestroy{doc: docs.Draw(t, "doc")}, inflight, confirmed, destroyed)
			},
			"complete": func(t *rapid.T) {
				doc := docs.Draw(t, "doc")
				v, ok := inflight[doc]
				if !ok {
					t.Skip("nothing in flight")
				}
				if v == "<delete>" {
					step(t, p, &s, stDeleteDone{doc: doc}, inflight, confirmed, destroyed)
					return
				}
				if rapid.Bool().Draw(t, "ok") {
					step(t, p, &s, stWriteSucceeded{doc: doc, version: v}, inflight, confirmed, destroyed)
				} else {
					step(t, p, &s, stWriteFailed{doc: doc, err: errors.New("x")}, inflight, confirmed, destroyed)
				}
			},
		})
	})
}

// step applies m and checks: at most one write or delete in flight per
// doc, a failure never moves the confirmed version, success confirms the
// pending one, and a destroyed doc is never written before its delete.
func step(t *rapid.T, p storeProgram, s **storeState, m storeMsg, inflight, confirmed map[string]string, destroyed map[string]bool) {
	before := dumpStore(*s)
	n, fx := p.Update(*s, m)
	if dumpStore(*s) != before {
		t.Fatal("input mutated")
	}
	switch m := m.(type) {
	case stDestroy:
		delete(confirmed, m.doc)
		destroyed[m.doc] = true
	case stDeleteDone:
		delete(inflight, m.doc)
		delete(destroyed, m.doc)
	case stWriteSucceeded:
		delete(inflight, m.doc)
		if !destroyed[m.doc] {
			confirmed[m.doc] = m.version
		}
	case stWriteFailed:
		delete(inflight, m.doc)
	case stHydrated:
		if d, ok := n.docs.Get(m.doc); ok && !d.writing && d.confirmed == m.version {
			confirmed[m.doc] = m.version
		}
	}
	for _, f := range fx {
		var doc, what string
		switch f := f.(type) {
		case fxStoreAppend:
			doc, what = f.doc, f.version
		case fxStoreDelete:
			doc, what = f.doc, "<delete>"
		default:
			continue
		}
		if _, busy := inflight[doc]; busy {
			t.Fatalf("%s while %s is in flight for %s", what, inflight[doc], doc)
		}
		inflight[doc] = what
	}
	for doc, v := range confirmed {
		if d, ok := n.docs.Get(doc); !ok || d.confirmed != v {
			t.Fatalf("doc %s confirmed %q, model %q", doc, d.confirmed, v)
		}
	}
	*s = n
}
