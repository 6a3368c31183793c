package changes

import (
	"encoding/json"
	"testing"
)

// The changes encode as the reference's writers produce them.
func TestShapes(t *testing.T) {
	replace, _ := Replace(map[string]any{"a": 1})
	set, _ := MapSet("k", "v")
	ins, _ := SequenceInsert(2, 1, "x")
	ins0, _ := SequenceInsert(0, true)
	for _, c := range []struct {
		got  any
		want string
	}{
		{replace, `{"type":"replace","value":{"a":1}}`},
		{set, `{"type":"map","set":{"k":"v"}}`},
		{MapDelete("a", "b"), `{"type":"map","delete":["a","b"]}`},
		{ins, `{"type":"sequence","instructions":[{"retain":2},{"insert":[1,"x"]}]}`},
		{ins0, `{"type":"sequence","instructions":[{"insert":[true]}]}`},
		{SequenceDelete(1, 2), `{"type":"sequence","instructions":[{"retain":1},{"delete":2}]}`},
		{TextInsert(0, "hi"), `{"type":"text","instructions":[{"insert":"hi"}]}`},
		{TextDelete(3, 1), `{"type":"text","instructions":[{"retain":3},{"delete":1}]}`},
		{Increment(2), `{"type":"increment","amount":2}`},
	} {
		b, err := json.Marshal(c.got)
		if err != nil || string(b) != c.want {
			t.Errorf("got %s (%v), want %s", b, err, c.want)
		}
	}
	if _, err := Replace(make(chan int)); err == nil {
		t.Error("a channel was accepted")
	}
}
