package wirecore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta"
	"pgregory.net/rapid"
)

// textFrame converts a vector frame to a TextFrame.
func (v vecFrame) textFrame(t *testing.T) TextFrame {
	t.Helper()
	if v.Version != textVersion || v.Hash != nil {
		t.Fatalf("vector frame version %d hash %v: not a plain v2 text frame", v.Version, v.Hash)
	}
	f := TextFrame{Seq: v.Seq, Payload: v.Content.Payload}
	switch v.Content.Kind {
	case "complete":
		f.Kind = KindComplete
	case "fragment":
		f.Kind = KindFragment
		f.Index, f.Total, f.TotalSize = v.Content.Index, v.Content.Total, v.Content.TotalSize
	default:
		t.Fatalf("unknown frame kind %q", v.Content.Kind)
	}
	return f
}

func TestTextFrameVectors(t *testing.T) {
	var v struct {
		Constants struct {
			Version        int    `json:"TEXT_WIRE_VERSION"`
			CompletePrefix string `json:"completePrefix"`
			FragmentPrefix string `json:"fragmentPrefix"`
		} `json:"constants"`
		Cases []struct {
			Name  string   `json:"name"`
			Frame vecFrame `json:"frame"`
			Wire  string   `json:"wire"`
		} `json:"cases"`
		DecodeCases []struct {
			Name  string   `json:"name"`
			Wire  string   `json:"wire"`
			Frame vecFrame `json:"frame"`
		} `json:"decodeCases"`
	}
	loadVectors(t, "text_frames.json", &v)
	t.Run("text_frames/constants", func(t *testing.T) {
		if v.Constants.Version != textVersion || v.Constants.CompletePrefix != textCompletePrefix || v.Constants.FragmentPrefix != textFragmentPrefix {
			t.Fatalf("constants %+v", v.Constants)
		}
	})
	checkCount(t, "text_frames.cases", len(v.Cases))
	for _, c := range v.Cases {
		t.Run("text_frames/cases/"+c.Name, func(t *testing.T) {
			f := c.Frame.textFrame(t)
			if got := encodeTextFrame(f); got != c.Wire {
				t.Fatalf("encode:\n got %q\nwant %q", got, c.Wire)
			}
			got, err := DecodeTextFrame(c.Wire)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got != f {
				t.Fatalf("decode:\n got %+v\nwant %+v", got, f)
			}
		})
	}
	checkCount(t, "text_frames.decodeCases", len(v.DecodeCases))
	for _, c := range v.DecodeCases {
		t.Run("text_frames/decodeCases/"+c.Name, func(t *testing.T) {
			got, err := DecodeTextFrame(c.Wire)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want := c.Frame.textFrame(t); got != want {
				t.Fatalf("decode:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestInvalidTextFrameVectors(t *testing.T) {
	var v struct {
		TextFrame []struct {
			Name  string `json:"name"`
			Wire  string `json:"wire"`
			Error struct {
				Class string `json:"class"`
				Code  string `json:"code"`
			} `json:"error"`
		} `json:"textFrame"`
	}
	loadVectors(t, "invalid.json", &v)
	checkCount(t, "invalid.textFrame", len(v.TextFrame))
	for _, c := range v.TextFrame {
		t.Run("invalid/textFrame/"+c.Name, func(t *testing.T) {
			if c.Error.Class != "TextFrameDecodeError" {
				t.Fatalf("unexpected vector error class %q", c.Error.Class)
			}
			_, err := DecodeTextFrame(c.Wire)
			var te *kyneta.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v, want *Error", err)
			}
			if te.Reason != c.Error.Code {
				t.Fatalf("code %q, want %q (%v)", te.Reason, c.Error.Code, err)
			}
			if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: te.Reason}) {
				t.Fatal("errors.Is does not match the code")
			}
		})
	}
}

// canonicalPayload decodes ["2c",0,<payload>] and returns the payload as
// JSON.stringify(JSON.parse(payload)) would write it.
func canonicalPayload(t *testing.T, payload string) (string, error) {
	t.Helper()
	f, err := DecodeTextFrame(`["2c",0,` + payload + `]`)
	return f.Payload, err
}

func TestTextFramePayloadCanonicalForm(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{ "a" : [ 1 , 2 ] }`, `{"a":[1,2]}`},
		// Array-index keys come first, ascending; others keep insertion order.
		{`{"b":1,"2":2,"a":3,"1":4,"01":5,"4294967295":6,"4294967294":7}`, `{"1":4,"2":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}`},
		// A repeated key keeps its first position and its last value.
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`{"x":{"b":1,"0":[{"k":1,"k":2}]}}`, `{"x":{"0":[{"k":2}],"b":1}}`},
		// Numbers in JavaScript's shortest form.
		{`[1.0,1e2,-0,1e21,1e-7,123456789012345678901234,0.000001,1.5e300,1E400,-1e400,5e-324,1e-400]`,
			`[1,100,0,1e+21,1e-7,1.2345678901234569e+23,0.000001,1.5e+300,null,null,5e-324,0]`},
		// Escapes re-spelled; <>&, U+2028/9 and DEL stay literal.
		{`"\u0070\/\u0008\u000c\u001f\u2028<>&\u007f\"\\"`, "\"p/\\b\\f\\u001f\u2028<>&\u007f\\\"\\\\\""},
		// Surrogate pairs join; lone surrogates stay escaped (lowercase).
		{`"\uD83D\uDE00 \uDBFF \uDC00x \uD800\u0041"`, "\"\U0001F600 \\udbff \\udc00x \\ud800A\""},
		{`true`, `true`}, {` null `, `null`}, {`"str"`, `"str"`}, {`[]`, `[]`}, {`{}`, `{}`},
	}
	for _, c := range cases {
		got, err := canonicalPayload(t, c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestTextFrameRejectsWhatJSONParseRejects(t *testing.T) {
	bad := []string{
		`01`, `1.`, `.5`, `+1`, `-`, `1e`, `1e+`, `NaN`, `Infinity`, `[1,]`, `{"a":1,}`, `{a:1}`, `'x'`,
		`"\x"`, `"\u12"`, `"\u12G4"`, "\"a\tb\"", "\"a\nb\"", `"abc`, `[1 2]`, `{"a" 1}`, `{"a":}`, `tru`, `nul`,
		`[`, `{`, `]`, "\u00a0[]", "[]\u000b",
	}
	for _, p := range bad {
		_, err := canonicalPayload(t, p)
		if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonInvalidJSON}) {
			t.Errorf("%q: err %v, want invalid_json", p, err)
		}
	}
	deep := strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)
	if _, err := canonicalPayload(t, deep); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonInvalidJSON}) {
		t.Errorf("nesting deeper than the limit: err %v", err)
	}
	ok := strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1)
	if _, err := canonicalPayload(t, ok); err != nil {
		t.Errorf("nesting at the limit: err %v", err)
	}
}

func TestTextFrameInvalidUTF8IsRepaired(t *testing.T) {
	f, err := DecodeTextFrame("[\"2f\",1,0,1,1,\"a\xffb\"]")
	if err != nil {
		t.Fatal(err)
	}
	if f.Payload != "a\uFFFDb" {
		t.Fatalf("chunk %q", f.Payload)
	}
}

func TestTextFramePrefixUnits(t *testing.T) {
	// One astral character is two UTF-16 units: the length check passes and
	// the (surrogate) type character is rejected.
	for _, p := range []string{"\U0001F600", "é", "éc", "2\u00e7", "22c"} {
		_, err := DecodeTextFrame(`["` + p + `",1,{}]`)
		if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonInvalidPrefix}) {
			t.Errorf("prefix %q: err %v", p, err)
		}
	}
}

// jsonAlphabet draws strings that are often, but not always, JSON.
func jsonAlphabet() *rapid.Generator[string] {
	tokens := []string{"[", "]", "{", "}", ",", ":", " ", "\"", "a", "\\", "u", "0", "1", "9", "-", "+", ".", "e",
		"E", "true", "false", "null", "\"k\"", "\\u00e9", "\\ud83d", "\\ude00", "é", "\U0001F600", "\n", "\t", "x"}
	return rapid.Custom(func(t *rapid.T) string {
		parts := rapid.SliceOfN(rapid.SampledFrom(tokens), 0, 24).Draw(t, "tokens")
		return strings.Join(parts, "")
	})
}

// TestTextFramePayloadGrammarMatchesEncodingJSON cross-checks the reader's
// accept/reject decision against encoding/json, which implements the same
// RFC 8259 grammar as JSON.parse for valid UTF-8, and checks that the
// canonical form is valid JSON and a fixed point.
func TestTextFramePayloadGrammarMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := jsonAlphabet().Draw(t, "payload")
		if !utf8.ValidString(p) {
			t.Skip("not UTF-8")
		}
		got, err := canonicalJSON(p)
		valid := json.Valid([]byte(p))
		if (err == nil) != valid {
			t.Fatalf("payload %q: err %v, encoding/json valid %v", p, err, valid)
		}
		if err != nil {
			return
		}
		if !json.Valid([]byte(got)) {
			t.Fatalf("canonical form %q of %q is not JSON", got, p)
		}
		again, err := canonicalJSON(got)
		if err != nil || again != got {
			t.Fatalf("canonical form not a fixed point: %q -> %q (%v)", got, again, err)
		}
	})
}

// canonicalJSON runs the frame decoder's JSON reader over one standalone
// JSON text and returns its JSON.stringify form.
func canonicalJSON(s string) (string, error) {
	r := jsonReader{s: s, emit: true}
	if _, _, _, err := r.value(false); err != nil {
		return "", err
	}
	r.ws()
	if r.i != len(s) {
		return "", errJSONSyntax
	}
	return string(r.out), nil
}

// TestTextFrameRoundTrip: encoded fragments decode to themselves.
func TestTextFrameRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := TextFrame{
			Kind:      KindFragment,
			Seq:       float64(rapid.Uint32().Draw(t, "seq")),
			Index:     float64(rapid.Uint16().Draw(t, "index")),
			Total:     float64(rapid.Uint16().Draw(t, "total")),
			TotalSize: float64(rapid.Uint32().Draw(t, "totalSize")),
			Payload:   rapid.String().Draw(t, "chunk"),
		}
		got, err := DecodeTextFrame(encodeTextFrame(f))
		if err != nil {
			t.Fatal(err)
		}
		want := f
		want.Payload = strings.ToValidUTF8(f.Payload, "\uFFFD")
		if got.Payload != want.Payload && utf8.ValidString(f.Payload) {
			t.Fatalf("got %+v want %+v", got, want)
		}
		got.Payload, want.Payload = "", ""
		if got != want {
			t.Fatalf("got %+v want %+v", got, want)
		}
	})
}

func TestTextFrameLargeObjects(t *testing.T) {
	var in, want strings.Builder
	in.WriteString("{")
	want.WriteString("{")
	for i := range 20 {
		if i > 0 {
			in.WriteString(",")
			want.WriteString(",")
		}
		k := string(rune('a' + i))
		in.WriteString(`"` + k + `":1`)
		want.WriteString(`"` + k + `":1`)
	}
	in.WriteString("}")
	want.WriteString("}")
	// More than 16 members, nothing to reorder.
	if got, err := canonicalJSON(in.String()); err != nil || got != want.String() {
		t.Fatalf("%q: %q %v", in.String(), got, err)
	}
	// More than 16 members with a repeated key at the end.
	dup := strings.TrimSuffix(in.String(), "}") + `,"a":2}`
	wantDup := strings.Replace(want.String(), `"a":1`, `"a":2`, 1)
	if got, err := canonicalJSON(dup); err != nil || got != wantDup {
		t.Fatalf("%q: %q %v", dup, got, err)
	}
	// Escapes that JSON.stringify writes in short form.
	if got, _ := canonicalJSON(`"\u000a\u000d\u0009\u0022\u005c"`); got != `"\n\r\t\"\\"` {
		t.Fatalf("short escapes: %s", got)
	}
}

func TestReassemblerReset(t *testing.T) {
	r := NewReassembler[string](ReassemblyConfig{Clock: newRecordingClock()})
	frames, _ := FragmentText("abcdef", 2, 1)
	if _, done, err := r.Receive(frames[0]); done || err != nil {
		t.Fatal(done, err)
	}
	r.Reset()
	if r.Len() != 0 || r.PendingSize() != 0 {
		t.Fatal("reset kept state")
	}
	for i, f := range frames {
		msg, done, err := r.Receive(f)
		if err != nil || done != (i == len(frames)-1) || (done && msg.Payload != "abcdef") {
			t.Fatalf("after reset, frame %d: %+v %v %v", i, msg, done, err)
		}
	}
}
