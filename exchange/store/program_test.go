package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
	"pgregory.net/rapid"
)

var (
	pmeta   = store.Meta{ReplicaType: replica.PlainType, SyncMode: wire.Authoritative, SchemaHash: "h"}
	errBoom = errors.New("boom")
)

func pl(s string) replica.Payload {
	return replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(s)}
}

func ent(s string) replica.Payload {
	return replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(s)}
}

// deepCopy copies a model so tests can check the program left its input
// alone.
func deepCopy(m store.Model) store.Model {
	out := store.Model{Docs: map[string]store.Phase{}}
	for k, v := range m.Docs {
		v.Queued = append([]store.Queued(nil), v.Queued...)
		out.Docs[k] = v
	}
	return out
}

func TestStoreProgramTable(t *testing.T) {
	idle := store.Phase{Version: "v1"}
	writing := store.Phase{Writing: true, Version: "v1", PendingVersion: "v2"}
	queued := store.Phase{Writing: true, Version: "v1", PendingVersion: "v2",
		Queued: []store.Queued{{Kind: store.QueuedAppend, Payload: pl("d3"), NewVersion: "v3"},
			{Kind: store.QueuedReplace, Payload: ent("e4"), Meta: pmeta, NewVersion: "v4"}}}
	states := map[string]*store.Phase{"unknown": nil, "idle": &idle, "writing": &writing, "queued": &queued}

	type row struct {
		state string
		msg   store.Msg
		want  *store.Phase // nil: doc absent afterwards
		effs  []store.Effect
	}
	reg := store.Register{DocID: "d", Meta: pmeta, Entirety: ent("e0"), Version: "v0"}
	regPhase := &store.Phase{Writing: true, PendingVersion: "v0"}
	regEff := []store.Effect{store.PersistAppend{DocID: "d", Records: []store.Record{store.MetaRecord(pmeta), store.EntryRecord(ent("e0"), "v0")}}}
	adv := store.StateAdvanced{DocID: "d", Delta: pl("d9"), NewVersion: "v9"}
	cmp := store.Compact{DocID: "d", Meta: pmeta, Entirety: ent("e9"), NewVersion: "v9"}
	appendEff := func(p replica.Payload, v string) []store.Effect {
		return []store.Effect{store.PersistAppend{DocID: "d", Records: []store.Record{store.EntryRecord(p, v)}}}
	}
	replaceEff := func(p replica.Payload, v string) []store.Effect {
		return []store.Effect{store.PersistReplace{DocID: "d", Records: []store.Record{store.MetaRecord(pmeta), store.EntryRecord(p, v)}}}
	}
	withQueue := func(ph store.Phase, q ...store.Queued) *store.Phase {
		ph.Queued = append(append([]store.Queued(nil), ph.Queued...), q...)
		return &ph
	}
	qAdv := store.Queued{Kind: store.QueuedAppend, Payload: pl("d9"), NewVersion: "v9"}
	qCmp := store.Queued{Kind: store.QueuedReplace, Payload: ent("e9"), Meta: pmeta, NewVersion: "v9"}
	storeErr := store.StoreError{DocID: "d", Op: "write", Err: errBoom}

	rows := []row{
		// register: always (re)starts with meta + entirety.
		{"unknown", reg, regPhase, regEff},
		{"idle", reg, regPhase, regEff},
		{"writing", reg, regPhase, regEff},
		{"queued", reg, regPhase, regEff},
		// hydrated: idle at the loaded version.
		{"unknown", store.Hydrated{DocID: "d", Version: "h1"}, &store.Phase{Version: "h1"}, nil},
		{"idle", store.Hydrated{DocID: "d", Version: "h1"}, &store.Phase{Version: "h1"}, nil},
		{"writing", store.Hydrated{DocID: "d", Version: "h1"}, &store.Phase{Version: "h1"}, nil},
		{"queued", store.Hydrated{DocID: "d", Version: "h1"}, &store.Phase{Version: "h1"}, nil},
		// state-advanced: ignored for unknown docs, written when idle, queued when writing.
		{"unknown", adv, nil, nil},
		{"idle", adv, &store.Phase{Writing: true, Version: "v1", PendingVersion: "v9"}, appendEff(pl("d9"), "v9")},
		{"writing", adv, withQueue(writing, qAdv), nil},
		{"queued", adv, withQueue(queued, qAdv), nil},
		// compact: same shape with a replace.
		{"unknown", cmp, nil, nil},
		{"idle", cmp, &store.Phase{Writing: true, Version: "v1", PendingVersion: "v9"}, replaceEff(ent("e9"), "v9")},
		{"writing", cmp, withQueue(writing, qCmp), nil},
		{"queued", cmp, withQueue(queued, qCmp), nil},
		// destroy: forget and delete, whatever the phase.
		{"unknown", store.Destroy{DocID: "d"}, nil, []store.Effect{store.PersistDelete{DocID: "d"}}},
		{"idle", store.Destroy{DocID: "d"}, nil, []store.Effect{store.PersistDelete{DocID: "d"}}},
		{"writing", store.Destroy{DocID: "d"}, nil, []store.Effect{store.PersistDelete{DocID: "d"}}},
		{"queued", store.Destroy{DocID: "d"}, nil, []store.Effect{store.PersistDelete{DocID: "d"}}},
		// write-succeeded: confirm and run the next queued input.
		{"unknown", store.WriteSucceeded{DocID: "d", Version: "v2"}, nil, nil},
		{"idle", store.WriteSucceeded{DocID: "d", Version: "v2"}, &idle, nil},
		{"writing", store.WriteSucceeded{DocID: "d", Version: "v2"}, &store.Phase{Version: "v2"}, nil},
		{"queued", store.WriteSucceeded{DocID: "d", Version: "v2"},
			&store.Phase{Writing: true, Version: "v2", PendingVersion: "v3", Queued: queued.Queued[1:]}, appendEff(pl("d3"), "v3")},
		// write-failed: keep the old confirmed version, report, run the next queued input.
		{"unknown", store.WriteFailed{DocID: "d", Err: errBoom}, nil, nil},
		{"idle", store.WriteFailed{DocID: "d", Err: errBoom}, &idle, nil},
		{"writing", store.WriteFailed{DocID: "d", Err: errBoom}, &store.Phase{Version: "v1"}, []store.Effect{storeErr}},
		{"queued", store.WriteFailed{DocID: "d", Err: errBoom},
			&store.Phase{Writing: true, Version: "v1", PendingVersion: "v3", Queued: queued.Queued[1:]},
			append([]store.Effect{storeErr}, appendEff(pl("d3"), "v3")...)},
	}
	// Every state x message cell has a row.
	cells := map[string]bool{}
	for _, r := range rows {
		cells[r.state+"/"+fmt.Sprintf("%T", r.msg)] = true
	}
	if len(cells) != len(states)*7 {
		t.Fatalf("table covers %d cells, want %d", len(cells), len(states)*7)
	}

	var p store.Program
	for _, r := range rows {
		t.Run(fmt.Sprintf("%s/%T", r.state, r.msg), func(t *testing.T) {
			m, _ := p.Init()
			m.Docs["other"] = store.Phase{Version: "o1"}
			if ph := states[r.state]; ph != nil {
				m.Docs["d"] = *ph
			}
			before := deepCopy(m)
			got, effs := p.Update(m, r.msg)
			if !reflect.DeepEqual(m, before) {
				t.Fatalf("Update mutated its input: %+v, was %+v", m, before)
			}
			ph, ok := got.Docs["d"]
			switch {
			case r.want == nil && ok:
				t.Fatalf("doc present: %+v", ph)
			case r.want != nil && !ok:
				t.Fatal("doc absent")
			case r.want != nil && !reflect.DeepEqual(ph, *r.want):
				t.Fatalf("phase = %+v, want %+v", ph, *r.want)
			}
			if !reflect.DeepEqual(got.Docs["other"], store.Phase{Version: "o1"}) {
				t.Fatalf("other doc changed: %+v", got.Docs["other"])
			}
			if !reflect.DeepEqual(effs, r.effs) {
				t.Fatalf("effects = %+v, want %+v", effs, r.effs)
			}
		})
	}
}

func TestStoreProgramInit(t *testing.T) {
	m, effs := store.Program{}.Init()
	if len(m.Docs) != 0 || effs != nil || !store.AllIdle(m) {
		t.Fatalf("Init = %+v, %v", m, effs)
	}
}

func TestStoreProgramBaselineAndPending(t *testing.T) {
	var p store.Program
	m, _ := p.Init()
	if _, ok := store.Baseline(m, "d"); ok {
		t.Fatal("baseline for unknown doc")
	}
	m, _ = p.Update(m, store.Register{DocID: "d", Meta: pmeta, Entirety: ent("{}"), Version: "v0"})
	if v, ok := store.Baseline(m, "d"); !ok || v != "v0" {
		t.Fatalf("baseline while registering = %q %v, want v0", v, ok)
	}
	if !store.Pending(m, "d", "v0") || store.Pending(m, "d", "v1") {
		t.Fatal("Pending while registering")
	}
	// A write made during registration is queued behind it (§10.3 item 7).
	m, effs := p.Update(m, store.StateAdvanced{DocID: "d", Delta: pl("b1"), NewVersion: "v1"})
	if len(effs) != 0 {
		t.Fatalf("effects = %v", effs)
	}
	if v, _ := store.Baseline(m, "d"); v != "v1" || !store.Pending(m, "d", "v1") || store.AllIdle(m) {
		t.Fatalf("baseline = %q", v)
	}
	m, effs = p.Update(m, store.WriteSucceeded{DocID: "d", Version: "v0"})
	want := []store.Effect{store.PersistAppend{DocID: "d", Records: []store.Record{store.EntryRecord(pl("b1"), "v1")}}}
	if !reflect.DeepEqual(effs, want) {
		t.Fatalf("effects = %v", effs)
	}
	m, _ = p.Update(m, store.WriteSucceeded{DocID: "d", Version: "v1"})
	if v, _ := store.Baseline(m, "d"); v != "v1" || !store.AllIdle(m) || store.Pending(m, "d", "v1") {
		t.Fatalf("after writes: %+v", m)
	}
	// A failed registration leaves no baseline: the shell must register again.
	m, _ = p.Update(m, store.Register{DocID: "e", Meta: pmeta, Entirety: ent("{}"), Version: "w0"})
	m, _ = p.Update(m, store.WriteFailed{DocID: "e", Err: errBoom})
	if _, ok := store.Baseline(m, "e"); ok {
		t.Fatal("baseline after failed registration")
	}
}

// storeModel is the rapid test's reference of what must happen.
type storeSM struct {
	p        store.Program
	m        store.Model
	inflight map[string]store.Effect // the one write each doc has in flight
	queue    map[string][]string     // versions expected to start, in order
	version  map[string]string       // expected confirmed version
	next     int
}

func TestStoreProgramRapid(t *testing.T) {
	docs := []string{"a", "b"}
	rapid.Check(t, func(rt *rapid.T) {
		s := &storeSM{inflight: map[string]store.Effect{}, queue: map[string][]string{}, version: map[string]string{}}
		s.m, _ = s.p.Init()
		step := func(msg store.Msg) []store.Effect {
			before := deepCopy(s.m)
			prev := s.m
			m, effs := s.p.Update(s.m, msg)
			if !reflect.DeepEqual(prev, before) {
				rt.Fatalf("input mutated by %T", msg)
			}
			s.m = m
			return effs
		}
		// Each persist effect must be the next expected version, and only
		// when nothing is in flight for its doc.
		started := func(effs []store.Effect) {
			for _, e := range effs {
				var doc string
				var recs []store.Record
				switch e := e.(type) {
				case store.PersistAppend:
					doc, recs = e.DocID, e.Records
				case store.PersistReplace:
					doc, recs = e.DocID, e.Records
				default:
					continue
				}
				if _, busy := s.inflight[doc]; busy {
					rt.Fatalf("second write in flight for %s", doc)
				}
				v := recs[len(recs)-1].Version
				if q := s.queue[doc]; len(q) == 0 || q[0] != v {
					rt.Fatalf("doc %s started %s, expected queue %v", doc, v, q)
				}
				s.queue[doc] = s.queue[doc][1:]
				s.inflight[doc] = e
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"register": func(rt *rapid.T) {
				d := rapid.SampledFrom(docs).Draw(rt, "doc")
				if _, known := s.m.Docs[d]; known {
					rt.Skip("register only new docs")
				}
				s.next++
				v := fmt.Sprint("v", s.next)
				s.queue[d] = []string{v}
				s.version[d] = ""
				started(step(store.Register{DocID: d, Meta: pmeta, Entirety: ent("{}"), Version: v}))
			},
			"advance": func(rt *rapid.T) {
				d := rapid.SampledFrom(docs).Draw(rt, "doc")
				s.next++
				v := fmt.Sprint("v", s.next)
				var msg store.Msg = store.StateAdvanced{DocID: d, Delta: pl(v), NewVersion: v}
				if rapid.Bool().Draw(rt, "compact") {
					msg = store.Compact{DocID: d, Meta: pmeta, Entirety: ent(v), NewVersion: v}
				}
				if _, known := s.m.Docs[d]; known {
					s.queue[d] = append(s.queue[d], v)
				}
				started(step(msg))
			},
			"complete": func(rt *rapid.T) {
				d := rapid.SampledFrom(docs).Draw(rt, "doc")
				e, busy := s.inflight[d]
				if !busy {
					rt.Skip("nothing in flight")
				}
				delete(s.inflight, d)
				var recs []store.Record
				switch e := e.(type) {
				case store.PersistAppend:
					recs = e.Records
				case store.PersistReplace:
					recs = e.Records
				}
				v := recs[len(recs)-1].Version
				var effs []store.Effect
				if rapid.Bool().Draw(rt, "fail") {
					effs = step(store.WriteFailed{DocID: d, Err: errBoom})
					if len(effs) == 0 || !reflect.DeepEqual(effs[0], store.StoreError{DocID: d, Op: "write", Err: errBoom}) {
						rt.Fatalf("write-failed effects %v", effs)
					}
				} else {
					effs = step(store.WriteSucceeded{DocID: d, Version: v})
					s.version[d] = v
				}
				started(effs)
			},
			"destroy": func(rt *rapid.T) {
				d := rapid.SampledFrom(docs).Draw(rt, "doc")
				effs := step(store.Destroy{DocID: d})
				if !reflect.DeepEqual(effs, []store.Effect{store.PersistDelete{DocID: d}}) {
					rt.Fatalf("destroy effects %v", effs)
				}
				delete(s.inflight, d)
				delete(s.queue, d)
				delete(s.version, d)
			},
			"": func(rt *rapid.T) {
				for d, ph := range s.m.Docs {
					_, busy := s.inflight[d]
					if ph.Writing != busy {
						rt.Fatalf("doc %s writing=%v but in flight=%v", d, ph.Writing, busy)
					}
					if ph.Version != s.version[d] {
						rt.Fatalf("doc %s confirmed %q, want %q", d, ph.Version, s.version[d])
					}
					if len(ph.Queued) != len(s.queue[d]) {
						rt.Fatalf("doc %s queued %d, want %d", d, len(ph.Queued), len(s.queue[d]))
					}
					for i, q := range ph.Queued {
						if q.NewVersion != s.queue[d][i] {
							rt.Fatalf("doc %s queue order %v", d, ph.Queued)
						}
					}
				}
				if store.AllIdle(s.m) != (len(s.inflight) == 0) {
					rt.Fatal("AllIdle disagrees")
				}
			},
		})
	})
}
