package jsjson

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestShare: with Options.Share, string values of at least Share bytes
// without escapes point into the []byte text; shorter ones, escaped ones
// and keys do not; the parsed value is the same either way.
func TestShare(t *testing.T) {
	text := []byte(`{"long_key_that_is_long":["0123456789","01234",` +
		`"0123456789\n","0123456789abcdef"]}`)
	plain, err := Parse(text, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Parse(text, &Options{Share: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, plain) {
		t.Fatalf("shared parse differs: %#v / %#v", v, plain)
	}
	inText := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		base := uintptr(unsafe.Pointer(&text[0]))
		return p >= base && p < base+uintptr(len(text))
	}
	m := v.([]Member)[0]
	if inText(m.Key) {
		t.Error("key shares the text")
	}
	want := []bool{true, false, false, true}
	for i, x := range m.Value.([]any) {
		if got := inText(x.(string)); got != want[i] {
			t.Errorf("value %d (%q): shares the text %v, want %v", i, x, got, want[i])
		}
	}
}
