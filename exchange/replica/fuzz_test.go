package replica

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/wire"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"kyneta.genesis:0", "L:5", ":1", "1712345678901", "1.5e3", "", "a:b:c", "L:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var rerr *kyneta.Error
		if v, err := parsePlainVersion(s); err == nil {
			// A parsed plain version serializes to a string that parses back
			// to an equal version.
			again, err := parsePlainVersion(v.String())
			if err != nil {
				t.Fatalf("%q -> %q does not parse: %v", s, v.String(), err)
			}
			if o, _ := again.Compare(v); o != Equal || again.Lineage() != v.Lineage() || again.Counter() != v.Counter() {
				t.Fatalf("%q round trip gave %v", s, again)
			}
		} else if !errors.As(err, &rerr) || rerr.Reason != reasonVersionParse || rerr.Code != kyneta.CodeMalformed {
			t.Fatalf("untyped error %v", err)
		}
		for _, parse := range []func(string) (Version, error){
			func(s string) (Version, error) { return parseTimestampVersion(s) },
			func(s string) (Version, error) { return parseStateVersion(s) },
		} {
			v, err := parse(s)
			if err != nil {
				if !errors.As(err, &rerr) || rerr.Reason != reasonVersionParse || rerr.Code != kyneta.CodeMalformed {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			again, err := parse(v.String())
			if err != nil {
				t.Fatalf("%q -> %q does not parse: %v", s, v.String(), err)
			}
			if o, _ := again.Compare(v); o != Equal {
				t.Fatalf("%q round trip gave %v", s, again)
			}
		}
	})
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x\u00e9"],"1":2}`, `"\ud83d"`, `1e400`, `[`, `-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseValue(data)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		enc := encodeValue(v)
		v2, err := ParseValue(enc)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", enc, err)
		}
		if enc2 := encodeValue(v2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// allocated is the total the process has allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// allocBound is what a merge of n payload bytes may allocate: a fixed
// allowance for small payloads plus a small multiple of the payload
// (parsing, decoding ops and cloning their values into the state).
func allocBound(n int) uint64 { return 32<<10 + 32*uint64(n) }

// FuzzMerge merges arbitrary payloads into plain and LWW replicas (strict
// and headless). Merges must never panic, must fail with a typed error, and
// must leave a rejected strict replica untouched; after a successful merge
// every export works. Every merge allocates at most allocBound of its
// payload's size: no change may make the replica spend memory out of
// proportion to what it was sent.
func FuzzMerge(f *testing.F) {
	seeds := []struct {
		kind bool
		data string
	}{
		{true, `{"a":1,"b":{"c":[1,2]}}`},
		{false, `[[{"path":[{"type":"field","field":"t"}],"change":{"type":"text","instructions":[{"retain":1},{"insert":"😀"}]}}]]`},
		{false, `[[{"path":[],"change":{"type":"map","set":{"x":1},"delete":["y"]}}],[]]`},
		{false, `[[{"path":[{"type":"field","field":"l"},{"type":"index","index":2}],"change":{"type":"sequence","instructions":[{"insert":[1]},{"delete":1}]}}]]`},
		{false, `[[{"path":[{"type":"field","field":"tr"}],"change":{"type":"tree","instructions":[{"action":"create","target":"n","parent":null,"index":0}]}},{"path":[{"type":"field","field":"tr"},{"type":"entry","entry":"n"},{"type":"field","field":"x"}],"change":{"type":"increment","amount":1}}]]`},
		{false, `[[{"path":[{"type":"field","field":"r"}],"change":{"type":"richtext","instructions":[{"insert":"ab","marks":{"b":true}},{"format":1,"marks":{"b":null}}]}}]]`},
		{false, `[[{"path":[{"type":"field","field":"s"}],"change":{"type":"set-op","add":[1,{"a":1}],"remove":[2]}}]]`},
		// Second changes on the same values: the in-place richtext, set
		// and tree forms, and a path into a span turning one back.
		{false, `[[{"path":[{"type":"field","field":"r"}],"change":{"type":"richtext","instructions":[{"insert":"a😀bc"}]}}],[{"path":[{"type":"field","field":"r"}],"change":{"type":"richtext","instructions":[{"retain":2},{"format":2,"marks":{"b":true}},{"insert":"x"},{"delete":1}]}}],[{"path":[{"type":"field","field":"r"},{"type":"index","index":0},{"type":"field","field":"marks"}],"change":{"type":"map","set":{"i":1}}}]]`},
		{false, `[[{"path":[{"type":"field","field":"s"}],"change":{"type":"set-op","add":[1,2,{"a":1,"b":2}]}}],[{"path":[{"type":"field","field":"s"}],"change":{"type":"set-op","add":[{"b":2,"a":1},3],"remove":[1]}}]]`},
		{false, `[[{"path":[{"type":"field","field":"tr"}],"change":{"type":"tree","instructions":[{"action":"create","target":"n","parent":null,"index":0},{"action":"create","target":"m","parent":"n","index":0}]}}],[{"path":[{"type":"field","field":"tr"}],"change":{"type":"tree","instructions":[{"action":"move","target":"m","parent":null,"index":1},{"action":"delete","target":"n"}]}}]]`},
		{false, `[[{"path":[],"change":{"type":"unknown-kind"}}]]`},
		{true, `[]`},
	}
	for _, s := range seeds {
		f.Add(s.kind, []byte(s.data), "abc")
	}
	// A one-batch payload large enough for Merge to parse it from its own
	// copy, its string sharing that copy.
	f.Add(false, []byte(`[[{"path":[{"type":"field","field":"b"}],"change":{"type":"replace","value":"`+
		strings.Repeat("ab", shareMinPayload)+`"}}]]`), "abc")
	f.Fuzz(func(t *testing.T, entirety bool, data []byte, lineage string) {
		kind := wire.Since
		if entirety {
			kind = wire.Entirety
		}
		p := Payload{Kind: kind, Encoding: wire.JSON, Data: data, Lineage: lineage}
		pf := newPlainFactory(PlainOptions{Rand: &seqRand{}})
		lf := newLWWFactory(LWWOptions{})
		sf := newStateFactory(StateOptions{})
		for _, r := range []Replica{pf.CreateEmpty(), pf.CreateDocument(), lf.CreateEmpty(), lf.CreateDocument(), sf.CreateDocument(), newOpaqueFactory(wire.ReplicaType{Name: "yjs", Major: 1}, OpaqueOptions{}).CreateEmpty()} {
			if d, ok := r.(Document); ok {
				// Start from a non-empty state so merges touch existing data.
				if err := d.Apply([]Op{{Path: Path{Field("t")}, Change: textInsertChange(0, "x😀y")}}); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := r.ExportEntirety()
			ver := r.Version().String()
			alloc := allocated()
			err := r.Merge(p)
			if got := allocated() - alloc; got > allocBound(len(data)) {
				t.Fatalf("%T merge of %d B allocated %d B (bound %d B)", r, len(data), got, allocBound(len(data)))
			}
			if err != nil {
				var rerr *kyneta.Error
				if !errors.As(err, &rerr) {
					t.Fatalf("untyped error %v", err)
				}
				after, _ := r.ExportEntirety()
				if r.Version().String() != ver || !bytes.Equal(before.Data, after.Data) {
					t.Fatalf("rejected merge changed the replica (%v)", err)
				}
				continue
			}
			e, err := r.ExportEntirety()
			if _, opaque := r.(*opaqueReplica); opaque {
				if err != nil && !errors.Is(err, errUnsupported) {
					t.Fatalf("opaque entirety error %v", err)
				}
				if _, err := r.(*opaqueReplica).ExportFor(""); err != nil {
					t.Fatal(err)
				}
			} else if err == nil {
				if _, perr := ParseValue(e.Data); perr != nil {
					t.Fatalf("entirety is not JSON: %s", e.Data)
				}
			} else if !errors.Is(err, errUnmaterializable) {
				t.Fatalf("entirety error %v", err)
			}
			if _, _, err := r.ExportSince(r.BaseVersion()); err != nil && !errors.Is(err, errUnmaterializable) {
				t.Fatalf("since error %v", err)
			}
			if err := r.Advance(r.Version()); err != nil {
				t.Fatalf("advance: %v", err)
			}
		}
	})
}
