package exchange

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

func dumpStore(s *storeState) string {
	var b strings.Builder
	for _, id := range s.docs.Keys() {
		d, _ := s.docs.Get(id)
		fmt.Fprintf(&b, "%s@%s", id, d.version)
		if d.durable != "" {
			fmt.Fprintf(&b, " durable=%s", d.durable)
		}
		for i, sl := range d.slots {
			fmt.Fprintf(&b, " [%d", i)
			switch {
			case sl.known:
				fmt.Fprintf(&b, " c=%s", sl.confirmed)
			default:
				b.WriteString(" new")
			}
			if sl.writing {
				fmt.Fprintf(&b, " w=%s", sl.target)
			}
			if sl.attempts > 0 {
				fmt.Fprintf(&b, " fail=%d", sl.attempts)
			}
			if sl.waiting {
				b.WriteString(" wait")
			}
			if sl.broken {
				b.WriteString(" broken")
			}
			if sl.recompact {
				b.WriteString(" recompact")
			}
			b.WriteString("]")
		}
		if d.deleting || d.deleteNext || d.reregister != nil {
			fmt.Fprintf(&b, " (del=%v next=%v rereg=%v)", d.deleting, d.deleteNext, d.reregister != nil)
		}
		b.WriteString("; ")
	}
	return b.String()
}

func renderStoreFx(fx []storeFx) string {
	var out []string
	for _, f := range fx {
		switch f := f.(type) {
		case fxStoreWrite:
			if f.replace {
				out = append(out, fmt.Sprintf("replace %s/%d", f.doc, f.store))
			} else {
				out = append(out, fmt.Sprintf("append %s/%d after %s", f.doc, f.store, f.base))
			}
		case fxStoreRetry:
			out = append(out, fmt.Sprintf("retry %s/%d #%d", f.doc, f.store, f.attempt))
		case fxStoreDelete:
			out = append(out, "delete "+f.doc)
		case fxStoreError:
			out = append(out, fmt.Sprintf("error %s/%d", f.doc, f.store))
		case fxDurable:
			out = append(out, "durable "+f.doc+"@"+f.version)
		case fxDeleted:
			out = append(out, "deleted "+f.doc)
		}
	}
	return strings.Join(out, "|")
}

// Two stores; every phase a doc can be in, built by messages, against
// every message kind (the cells with a different store index or doc are
// the same code paths).
func TestStoreProgramTable(t *testing.T) {
	boom := errors.New("boom")
	fresh := stLoaded{doc: "d", version: "v1", heads: []headInfo{{}, {}}}
	stored := stLoaded{doc: "d", version: "v1", heads: []headInfo{{exists: true, version: "v1"}, {exists: true, version: "v1"}}}
	ok0 := stWritten{doc: "d", store: 0, version: "v2", outcome: outcomeOK}
	ok1 := stWritten{doc: "d", store: 1, version: "v2", outcome: outcomeOK}
	fail0 := stWritten{doc: "d", store: 0, version: "v2", outcome: outcomeTransient, err: boom}
	phases := map[string][]storeMsg{
		"absent":         nil,
		"registering":    {fresh},
		"idle":           {stored},
		"writing":        {stored, stChanged{doc: "d", version: "v2"}},
		"half-written":   {stored, stChanged{doc: "d", version: "v2"}, ok0},
		"retrying":       {stored, stChanged{doc: "d", version: "v2"}, fail0, ok1},
		"broken":         {stLoaded{doc: "d", version: "v1", heads: []headInfo{{exists: true, version: "v1"}, {exists: true, version: "v0", broken: true}}}},
		"delete-wait":    {stored, stChanged{doc: "d", version: "v2"}, stDestroy{doc: "d"}},
		"deleting":       {stored, stDestroy{doc: "d"}},
		"deleting-rereg": {stored, stDestroy{doc: "d"}, fresh},
	}
	type row struct {
		phase string
		msg   storeMsg
		fx    string
		after string // dumped state; "" = the input state is returned
	}
	rows := []row{
		{"absent", fresh, "replace d/0|replace d/1", "d@v1 [0 new w=v1] [1 new w=v1]; "},
		{"absent", stored, "", "d@v1 durable=v1 [0 c=v1] [1 c=v1]; "},
		{"absent", stChanged{doc: "d", version: "v2"}, "", ""},
		{"absent", ok0, "", ""},
		{"absent", fail0, "error d/0", ""},
		{"absent", stRetry{doc: "d", store: 0}, "", ""},
		{"absent", stCompact{doc: "d"}, "", ""},
		{"idle", stCompact{doc: "d"}, "replace d/0|replace d/1", "d@v1 durable=v1 [0 new w=v1] [1 new w=v1]; "},
		{"writing", stCompact{doc: "d"}, "", "d@v2 durable=v1 [0 c=v1 w=v2 recompact] [1 c=v1 w=v2 recompact]; "},
		{"broken", stCompact{doc: "d"}, "replace d/0", "d@v1 [0 new w=v1] [1 c=v0 broken]; "},
		{"deleting", stCompact{doc: "d"}, "", ""},
		{"absent", stDestroy{doc: "d"}, "delete d", "d@ (del=true next=false rereg=false); "},
		{"absent", stDeleteDone{doc: "d"}, "", ""},

		{"registering", stored, "", ""},
		{"registering", stChanged{doc: "d", version: "v2"}, "", "d@v2 [0 new w=v1] [1 new w=v1]; "}, // written when the first completes
		{"registering", stWritten{doc: "d", store: 0, version: "v1", outcome: outcomeOK}, "", "d@v1 [0 c=v1] [1 new w=v1]; "},
		{"registering", stWritten{doc: "d", store: 0, version: "v1", outcome: outcomeTransient, err: boom}, "error d/0|retry d/0 #1", "d@v1 [0 new fail=1 wait] [1 new w=v1]; "},
		{"registering", stWritten{doc: "d", store: 0, version: "v1", outcome: outcomePermanent, err: boom}, "error d/0", "d@v1 [0 new broken] [1 new w=v1]; "},
		{"registering", stRetry{doc: "d", store: 0}, "", ""},
		{"registering", stDestroy{doc: "d"}, "", "d@v1 [0 new w=v1] [1 new w=v1] (del=false next=true rereg=false); "},
		{"registering", stDeleteDone{doc: "d"}, "", ""},

		{"idle", fresh, "", ""},
		{"idle", stChanged{doc: "d", version: "v2"}, "append d/0 after v1|append d/1 after v1", "d@v2 durable=v1 [0 c=v1 w=v2] [1 c=v1 w=v2]; "},
		{"idle", stChanged{doc: "d", version: "v1"}, "", ""},
		{"idle", ok0, "", ""}, // nothing in flight
		{"idle", stRetry{doc: "d", store: 0}, "", ""},
		{"idle", stDestroy{doc: "d"}, "delete d", "d@ (del=true next=false rereg=false); "},

		{"writing", stChanged{doc: "d", version: "v3"}, "", "d@v3 durable=v1 [0 c=v1 w=v2] [1 c=v1 w=v2]; "},
		{"writing", ok0, "", "d@v2 durable=v1 [0 c=v2] [1 c=v1 w=v2]; "},
		{"writing", fail0, "error d/0|retry d/0 #1", "d@v2 durable=v1 [0 c=v1 fail=1 wait] [1 c=v1 w=v2]; "},
		{"writing", stWritten{doc: "d", store: 0, version: "v2", outcome: outcomeHead, head: headInfo{exists: true, version: "v0"}},
			"append d/0 after v0", "d@v2 durable=v1 [0 c=v0 w=v2] [1 c=v1 w=v2]; "}, // recomputed from the real head
		{"writing", stWritten{doc: "d", store: 0, version: "v2", outcome: outcomeHead, head: headInfo{}},
			"replace d/0", "d@v2 durable=v1 [0 new w=v2] [1 c=v1 w=v2]; "},
		{"writing", stWritten{doc: "d", store: 0, version: "v2", outcome: outcomeHead, head: headInfo{exists: true, version: "v2"}},
			"", "d@v2 durable=v1 [0 c=v2] [1 c=v1 w=v2]; "}, // an unacknowledged write that landed
		{"writing", stDestroy{doc: "d"}, "", "d@v2 durable=v1 [0 c=v1 w=v2] [1 c=v1 w=v2] (del=false next=true rereg=false); "},

		{"half-written", ok1, "durable d@v2", "d@v2 durable=v2 [0 c=v2] [1 c=v2]; "},
		{"half-written", stChanged{doc: "d", version: "v3"}, "append d/0 after v2", "d@v3 durable=v1 [0 c=v2 w=v3] [1 c=v1 w=v2]; "},

		{"retrying", stRetry{doc: "d", store: 0}, "append d/0 after v1", "d@v2 durable=v1 [0 c=v1 w=v2 fail=1] [1 c=v2]; "},
		{"retrying", stRetry{doc: "d", store: 1}, "", ""},
		{"retrying", stChanged{doc: "d", version: "v3"}, "append d/1 after v2", "d@v3 durable=v1 [0 c=v1 fail=1 wait] [1 c=v2 w=v3]; "}, // the failing store waits for its timer

		{"broken", stChanged{doc: "d", version: "v2"}, "append d/0 after v1", "d@v2 [0 c=v1 w=v2] [1 c=v0 broken]; "},

		{"delete-wait", ok0, "", "d@v2 durable=v1 [0 c=v2] [1 c=v1 w=v2] (del=false next=true rereg=false); "},
		{"delete-wait", stChanged{doc: "d", version: "v3"}, "", ""},
		{"delete-wait", fresh, "", "d@v2 durable=v1 [0 c=v1 w=v2] [1 c=v1 w=v2] (del=false next=true rereg=true); "},

		{"deleting", stDestroy{doc: "d"}, "", ""},
		{"deleting", stChanged{doc: "d", version: "v3"}, "", ""},
		{"deleting", stDeleteDone{doc: "d"}, "deleted d", "same-empty"},
		{"deleting", fresh, "", "d@ (del=true next=false rereg=true); "},
		{"deleting-rereg", stDeleteDone{doc: "d"}, "deleted d|replace d/0|replace d/1", "d@v1 [0 new w=v1] [1 new w=v1]; "},
		{"deleting-rereg", stDestroy{doc: "d"}, "", "d@ (del=true next=false rereg=false); "},
	}
	p := storeProgram{stores: 2}
	for _, r := range rows {
		t.Run(fmt.Sprintf("%s/%T", r.phase, r.msg), func(t *testing.T) {
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
					t.Fatalf("state\n got  %q\n want %q", got, r.after)
				}
			}
		})
	}
}

// TestStoreProgramRapid runs random changes, write outcomes, retries and
// destroys against two stores and checks: at most one write in flight per
// doc and store; a failed write never moves a store's head; a success sets
// it to what was written; a broken store is never written again; a store
// in backoff is written only after its retry; nothing is written for a doc
// between its destroy and its delete; and once writes stop failing and
// are all completed, every store holds the latest version and it is
// reported durable.
func TestStoreProgramRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := storeProgram{stores: 2}
		s, _ := p.Init()
		type key struct {
			doc   string
			store int
		}
		inflight := map[key]string{}
		deleting := map[string]bool{}
		durable := map[string]string{}
		docs := rapid.SampledFrom([]string{"a", "b"})
		counter := 0
		apply := func(t *rapid.T, m storeMsg) {
			before := dumpStore(s)
			n, fx := p.Update(s, m)
			if dumpStore(s) != before {
				t.Fatal("input mutated")
			}
			for _, f := range fx {
				switch f := f.(type) {
				case fxStoreWrite:
					k := key{f.doc, f.store}
					if _, busy := inflight[k]; busy {
						t.Fatalf("second write in flight for %v", k)
					}
					if deleting[f.doc] {
						t.Fatalf("write for %s while it is being deleted", f.doc)
					}
					d, _ := n.docs.Get(f.doc)
					if sl := d.slots[f.store]; sl.broken {
						t.Fatalf("write to a broken store %v", k)
					}
					inflight[k] = d.slots[f.store].target
				case fxStoreDelete:
					deleting[f.doc] = true
				case fxDurable:
					durable[f.doc] = f.version
				}
			}
			if w, ok := m.(stWritten); ok {
				if d, ok := n.docs.Get(w.doc); ok && !d.deleting && w.outcome == outcomeTransient {
					old, _ := s.docs.Get(w.doc)
					if d.slots[w.store].confirmed != old.slots[w.store].confirmed {
						t.Fatal("a failed write moved the head")
					}
				}
			}
			s = n
		}
		t.Repeat(map[string]func(*rapid.T){
			"load": func(t *rapid.T) {
				apply(t, stLoaded{doc: docs.Draw(t, "doc"), version: "v0", heads: []headInfo{{}, {exists: true, version: "v0"}}})
			},
			"change": func(t *rapid.T) {
				counter++
				apply(t, stChanged{doc: docs.Draw(t, "doc"), version: fmt.Sprint("v", counter)})
			},
			"complete": func(t *rapid.T) {
				k := key{docs.Draw(t, "doc"), rapid.IntRange(0, 1).Draw(t, "store")}
				v, ok := inflight[k]
				if !ok {
					t.Skip("nothing in flight")
				}
				delete(inflight, k)
				outcome := rapid.SampledFrom([]writeOutcome{outcomeOK, outcomeOK, outcomeTransient, outcomeHead}).Draw(t, "outcome")
				m := stWritten{doc: k.doc, store: k.store, version: v, outcome: outcome}
				if outcome == outcomeTransient {
					m.err = errors.New("disk full")
				}
				if outcome == outcomeHead {
					m.head = headInfo{exists: true, version: v} // it landed after all
				}
				apply(t, m)
			},
			"retry": func(t *rapid.T) {
				apply(t, stRetry{doc: docs.Draw(t, "doc"), store: rapid.IntRange(0, 1).Draw(t, "store")})
			},
			"destroy": func(t *rapid.T) {
				apply(t, stDestroy{doc: docs.Draw(t, "doc")})
			},
			"compact": func(t *rapid.T) {
				apply(t, stCompact{doc: docs.Draw(t, "doc")})
			},
			"delete done": func(t *rapid.T) {
				doc := docs.Draw(t, "doc")
				if !deleting[doc] {
					t.Skip("no delete")
				}
				delete(deleting, doc)
				apply(t, stDeleteDone{doc: doc})
			},
		})
		// Heal: complete everything successfully, fire every retry.
		for range 20 {
			for k, v := range inflight {
				delete(inflight, k)
				apply(t, stWritten{doc: k.doc, store: k.store, version: v, outcome: outcomeOK})
			}
			for _, doc := range []string{"a", "b"} {
				for i := range 2 {
					apply(t, stRetry{doc: doc, store: i})
				}
				if deleting[doc] {
					delete(deleting, doc)
					apply(t, stDeleteDone{doc: doc})
				}
			}
		}
		s.docs.Range(func(doc string, d *storeDocPhase) bool {
			for i, sl := range d.slots {
				if !sl.known || sl.confirmed != d.version || !sl.healthy() {
					t.Fatalf("after healing, store %d holds %s at %q (latest %q): %s", i, doc, sl.confirmed, d.version, dumpStore(s))
				}
			}
			if durable[doc] != d.version {
				t.Fatalf("doc %s durable %q, latest %q", doc, durable[doc], d.version)
			}
			return true
		})
		if n := s.unhealthy(); n != 0 {
			t.Fatalf("%d unhealthy after healing", n)
		}
	})
}

func TestStoredMetaWinsTable(t *testing.T) {
	stored := store.Meta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h1"}
	rows := []struct {
		name       string
		classified bool
		mode       DocMode
		held       DocMeta
		adopt      bool
	}{
		{"classified headless, same metadata: nothing to do", true, ModeReplicate, authM, false},
		{"classified headless, other hash: the stored one", true, ModeReplicate, DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"}, true},
		{"classified headless, other replica type: the stored one", true, ModeReplicate, DocMeta{ReplicaType: stateRT, SyncMode: wire.Authoritative, SchemaHash: "h1"}, true},
		{"classified headless, other mode: the stored one", true, ModeReplicate, ephM, true},
		{"classified headless, minor version differs: same", true, ModeReplicate, DocMeta{ReplicaType: wire.ReplicaType{Name: "plain", Major: 1, Minor: 3}, SyncMode: wire.Authoritative, SchemaHash: "h1"}, false},
		{"named by the application (Replicate with a type): its type", false, ModeReplicate, DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"}, false},
		{"interpreted: the doc type's", true, ModeInterpret, DocMeta{ReplicaType: plainRT, SyncMode: wire.Authoritative, SchemaHash: "h2"}, false},
	}
	for _, r := range rows {
		got, adopt := storedMetaWins(r.classified, r.mode, r.held, stored)
		if adopt != r.adopt {
			t.Errorf("%s: adopt %v", r.name, adopt)
			continue
		}
		if adopt && (got.SchemaHash != stored.SchemaHash || got.ReplicaType != stored.ReplicaType || got.SyncMode != stored.SyncMode) {
			t.Errorf("%s: adopted %+v", r.name, got)
		}
		if !adopt && got.SchemaHash != r.held.SchemaHash {
			t.Errorf("%s: changed to %+v", r.name, got)
		}
	}
}
