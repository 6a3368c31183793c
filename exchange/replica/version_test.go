package replica

import (
	"errors"
	"testing"

	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pv(t *testing.T, s string) PlainVersion {
	t.Helper()
	v, err := parsePlainVersion(s)
	if err != nil {
		t.Fatalf("ParsePlainVersion(%q): %v", s, err)
	}
	return v
}

func TestParsePlainVersion(t *testing.T) {
	good := []struct {
		in      string
		lineage string
		n       uint64
	}{
		{"kyneta.genesis:0", Genesis, 0},
		{"abcdef0123456789:42", "abcdef0123456789", 42},
		{"L:9007199254740991", "L", 9007199254740991},
		{":5", "", 5},
		{"x.y-z:007", "x.y-z", 7},
	}
	for _, g := range good {
		v, err := parsePlainVersion(g.in)
		if err != nil || v.Lineage() != g.lineage || v.Counter() != g.n {
			t.Errorf("ParsePlainVersion(%q) = %v, %v; want %s:%d", g.in, v, err, g.lineage, g.n)
		}
		// A parsed version is the made one: same serialized form (leading
		// zeros dropped), equal as a value and as a Version.
		made := NewPlainVersion(g.lineage, g.n)
		if v != made || Version(v) != Version(made) || v.String() != made.String() {
			t.Errorf("ParsePlainVersion(%q) = %#v, NewPlainVersion gives %#v", g.in, v, made)
		}
	}
	bad := []string{"", "L", "L:", "L:-1", "L:1.5", "L:1e3", "L: 1", "L:0x10", "a:b:1", "L:9007199254740992", "L:99999999999999999999"}
	for _, b := range bad {
		if _, err := parsePlainVersion(b); !errors.Is(err, errVersionParse) {
			t.Errorf("ParsePlainVersion(%q) = %v, want ErrVersionParse", b, err)
		}
	}
	if s := NewPlainVersion("L", 3).String(); s != "L:3" {
		t.Errorf("String = %q", s)
	}
}

func TestPlainVersionCompareMeet(t *testing.T) {
	cases := []struct {
		a, b string
		want Order
		meet string
	}{
		{"kyneta.genesis:0", "kyneta.genesis:0", Equal, "kyneta.genesis:0"},
		{"kyneta.genesis:7", "kyneta.genesis:3", Equal, "kyneta.genesis:0"}, // genesis is the empty vector
		{"kyneta.genesis:0", "L:1", Behind, "kyneta.genesis:0"},
		{"L:1", "kyneta.genesis:0", Ahead, "kyneta.genesis:0"},
		{"L:0", "kyneta.genesis:0", Equal, "kyneta.genesis:0"}, // zero entries count as absent
		{"L:2", "L:5", Behind, "L:2"},
		{"L:5", "L:2", Ahead, "L:2"},
		{"L:5", "L:5", Equal, "L:5"},
		{"L:3", "M:2", Concurrent, "kyneta.genesis:0"},
		{"L:3", "M:0", Ahead, "kyneta.genesis:0"},
		{"L:0", "M:0", Equal, "kyneta.genesis:0"},
	}
	for _, c := range cases {
		got, err := pv(t, c.a).Compare(pv(t, c.b))
		if err != nil || got != c.want {
			t.Errorf("%s vs %s = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
		m, err := pv(t, c.a).Meet(pv(t, c.b))
		if err != nil || m.String() != c.meet {
			t.Errorf("meet(%s, %s) = %v, %v; want %s", c.a, c.b, m, err, c.meet)
		}
	}
	// Pointers work too; other kinds are an error.
	p := pv(t, "L:1")
	if o, err := pv(t, "L:2").Compare(&p); err != nil || o != Ahead {
		t.Errorf("compare with pointer = %v, %v", o, err)
	}
	if _, err := p.Compare(NewTimestampVersion(1)); !errors.Is(err, errVersionMismatch) {
		t.Errorf("plain vs timestamp = %v", err)
	}
	if _, err := p.Meet(newStateVersion(1)); !errors.Is(err, errVersionMismatch) {
		t.Errorf("meet plain/state = %v", err)
	}
	if _, err := p.Compare(nil); !errors.Is(err, errVersionMismatch) {
		t.Errorf("compare with nil = %v", err)
	}
}

func TestTimestampAndStateVersions(t *testing.T) {
	for _, s := range []string{"0", "1712345678901", "1.5", "1e3"} {
		v, err := parseTimestampVersion(s)
		if err != nil {
			t.Errorf("ParseTimestampVersion(%q): %v", s, err)
		}
		if s == "1e3" && v.String() != "1000" {
			t.Errorf("1e3 serializes as %q", v.String())
		}
		if _, err := parseStateVersion(s); err != nil {
			t.Errorf("ParseStateVersion(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "-1", " 1", "0x10", "Infinity", "NaN", "1e999", "1_000", "+1", "1."} {
		if _, err := parseTimestampVersion(s); !errors.Is(err, errVersionParse) {
			t.Errorf("ParseTimestampVersion(%q) = %v", s, err)
		}
		if _, err := parseStateVersion(s); !errors.Is(err, errVersionParse) {
			t.Errorf("ParseStateVersion(%q) = %v", s, err)
		}
	}
	ts := []struct {
		a, b int64
		lww  Order
		st   Order
	}{
		{1, 2, Behind, Concurrent},
		{2, 1, Ahead, Concurrent},
		{5, 5, Equal, Equal},
		{0, 0, Equal, Equal},
	}
	for _, c := range ts {
		if o, err := NewTimestampVersion(c.a).Compare(NewTimestampVersion(c.b)); err != nil || o != c.lww {
			t.Errorf("timestamp %d vs %d = %v, %v", c.a, c.b, o, err)
		}
		if o, err := newStateVersion(c.a).Compare(newStateVersion(c.b)); err != nil || o != c.st {
			t.Errorf("state %d vs %d = %v, %v", c.a, c.b, o, err)
		}
		m, _ := NewTimestampVersion(c.a).Meet(NewTimestampVersion(c.b))
		if m.(TimestampVersion).Millis() != float64(min(c.a, c.b)) {
			t.Errorf("meet = %v", m)
		}
		m, _ = newStateVersion(c.a).Meet(newStateVersion(c.b))
		if m.(StateVersion).Millis() != float64(min(c.a, c.b)) {
			t.Errorf("state meet = %v", m)
		}
	}
	if NewTimestampVersion(12).Lineage() != Genesis || newStateVersion(12).Lineage() != Genesis {
		t.Error("timestamp lineages must be genesis")
	}
	if _, err := NewTimestampVersion(1).Compare(newStateVersion(1)); !errors.Is(err, errVersionMismatch) {
		t.Errorf("timestamp vs state = %v", err)
	}
	if _, err := newStateVersion(1).Compare(NewPlainVersion("L", 1)); !errors.Is(err, errVersionMismatch) {
		t.Errorf("state vs plain = %v", err)
	}
	if NewTimestampVersion(1712345678901).String() != "1712345678901" {
		t.Error("timestamp serialization")
	}
}

func TestOrderString(t *testing.T) {
	for o, s := range map[Order]string{Behind: "behind", Equal: "equal", Ahead: "ahead", Concurrent: "concurrent", 0: "unknown"} {
		if o.String() != s {
			t.Errorf("%d.String() = %q", o, o.String())
		}
	}
}

// The empty opaque stamp and the never-written state are below every other
// version, so a peer holding nothing never makes us wait for its offer.
func TestBottomVersions(t *testing.T) {
	o := newOpaqueVersion
	s := newStateVersion
	cases := []struct {
		a, b Version
		want Order
	}{
		{o(""), o(""), Equal},
		{o("x"), o(""), Ahead},
		{o(""), o("x"), Behind},
		{o("x"), o("y"), Concurrent},
		{s(0), s(0), Equal},
		{s(5), s(0), Ahead},
		{s(0), s(5), Behind},
		{s(5), s(6), Concurrent},
	}
	for _, c := range cases {
		if got, err := c.a.Compare(c.b); err != nil || got != c.want {
			t.Errorf("%s vs %s: %v %v, want %v", c.a, c.b, got, err, c.want)
		}
	}
}

// Dominates is a total order on diverged versions: the higher op counter
// wins, then the greater lineage; other kinds compare their serialized
// forms.
func TestDominates(t *testing.T) {
	p := NewPlainVersion
	for _, c := range []struct {
		a, b Version
		want bool
	}{
		{p("alice", 3), p("bob", 2), true},    // more ops win over the lineage
		{p("alice", 2), p("bob", 3), false},   //
		{p("bob", 2), p("alice", 2), true},    // same count: the greater lineage
		{p("alice", 2), p("bob", 2), false},   //
		{p("alice", 2), p("alice", 2), false}, // nothing dominates itself
		{StateVersion{ms: 2}, StateVersion{ms: 1}, true},
		{StateVersion{ms: 1}, StateVersion{ms: 2}, false},
		{StateVersion{ms: 10}, StateVersion{ms: 9}, false}, // the serialized forms compare as strings: "10" < "9"
	} {
		if got := Dominates(c.a, c.b); got != c.want {
			t.Errorf("Dominates(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// For two different plain versions exactly one dominates the other.
func TestDominatesIsTotalOnPlainVersions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lineage := rapid.SampledFrom([]string{Genesis, "a", "b", "peer-1"})
		a := NewPlainVersion(lineage.Draw(t, "la"), rapid.Uint64Range(0, 5).Draw(t, "na"))
		b := NewPlainVersion(lineage.Draw(t, "lb"), rapid.Uint64Range(0, 5).Draw(t, "nb"))
		ab, ba := Dominates(a, b), Dominates(b, a)
		if a == b && (ab || ba) {
			t.Fatalf("%v dominates itself", a)
		}
		if a != b && ab == ba {
			t.Fatalf("Dominates(%v, %v) = %v and Dominates(%v, %v) = %v: want exactly one", a, b, ab, b, a, ba)
		}
	})
}
