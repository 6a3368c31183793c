package sse

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/kyneta-go/kyneta"
	"pgregory.net/rapid"
)

func readAll(r io.Reader, max int) ([]sseEvent, error) {
	er := newEventReader(r, max)
	var out []sseEvent
	for {
		ev, err := er.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, ev)
	}
}

func TestEventReader(t *testing.T) {
	msg := func(data string) sseEvent { return sseEvent{Type: eventMessage, Data: data} }
	for _, c := range []struct {
		name string
		in   string
		want []sseEvent
	}{
		{"one event", "data: hello\n\n", []sseEvent{msg("hello")}},
		{"no space after colon", "data:hello\n\n", []sseEvent{msg("hello")}},
		{"only one leading space is removed", "data:  two\n\n", []sseEvent{msg(" two")}},
		{"multi-line data", "data: a\ndata: b\n\n", []sseEvent{msg("a\nb")}},
		{"empty data line", "data\n\n", []sseEvent{msg("")}},
		{"CRLF", "data: a\r\ndata: b\r\n\r\n", []sseEvent{msg("a\nb")}},
		{"CR", "data: a\rdata: b\r\r", []sseEvent{msg("a\nb")}},
		{"comments and heartbeats", ": ok\n\n: heartbeat\n\ndata: x\n: mid\n\n", []sseEvent{msg("x")}},
		{"named event", "event: kyneta-close\ndata: {}\n\n", []sseEvent{{Type: eventClose, Data: "{}"}}},
		{"type resets after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", []sseEvent{{Type: "a", Data: "1"}, msg("2")}},
		{"type without data does not leak", "event: a\n\ndata: 2\n\n", []sseEvent{msg("2")}},
		{"id persists", "id: 7\ndata: 1\n\ndata: 2\n\n", []sseEvent{{Type: eventMessage, Data: "1", ID: "7"}, {Type: eventMessage, Data: "2", ID: "7"}}},
		{"id with NUL is ignored", "id: a\x00b\ndata: 1\n\n", []sseEvent{msg("1")}},
		{"retry and unknown fields", "retry: 10\nfoo: bar\ndata: 1\n\n", []sseEvent{msg("1")}},
		{"BOM", "\xEF\xBB\xBFdata: 1\n\n", []sseEvent{msg("1")}},
		{"incomplete event at EOF is dropped", "data: 1\n\ndata: 2\n", []sseEvent{msg("1")}},
		{"field name without colon", "data\ndata\n\n", []sseEvent{msg("\n")}},
		{"text frame", `data: ["2c",1,{"type":"depart"}]` + "\n\n", []sseEvent{msg(`["2c",1,{"type":"depart"}]`)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for name, r := range map[string]io.Reader{
				"whole":    strings.NewReader(c.in),
				"bytewise": iotest.OneByteReader(strings.NewReader(c.in)),
			} {
				got, err := readAll(r, 1<<10)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s: got %q, want %q", name, got, c.want)
				}
			}
		})
	}
}

func TestEventReaderLimits(t *testing.T) {
	long := "data: " + strings.Repeat("x", 100) + "\n\n"
	if _, err := readAll(strings.NewReader(long), 50); !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonEventTooLarge}) {
		t.Fatalf("long line: %v", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 5) + "\n"
	if _, err := readAll(strings.NewReader(many), 100); !errors.Is(err, &kyneta.Error{Pkg: "sse", Reason: reasonEventTooLarge}) {
		t.Fatalf("long event: %v", err)
	}
	if got, err := readAll(strings.NewReader(long), 200); err != nil || len(got) != 1 {
		t.Fatalf("within the limit: %v %v", got, err)
	}
	boom := errors.New("boom")
	if _, err := readAll(iotest.ErrReader(boom), 100); !errors.Is(err, boom) {
		t.Fatalf("read error: %v", err)
	}
}

// TestEventRoundTrip: whatever appendEvent frames, the reader returns
// unchanged (line breaks in data become "\n"), however the bytes arrive.
func TestEventRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type ev struct{ typ, data string }
		evs := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ev {
			return ev{
				typ:  rapid.SampledFrom([]string{"", eventMessage, eventStream, eventClose}).Draw(t, "type"),
				data: rapid.StringOf(rapid.SampledFrom([]rune{'a', ' ', ':', '\n', '\r', 'é', '"', '['})).Draw(t, "data"),
			}
		}), 0, 8).Draw(t, "events")
		var b []byte
		for i, e := range evs {
			if i%2 == 1 {
				b = append(b, ": heartbeat\n\n"...)
			}
			b = appendEvent(b, e.typ, e.data)
		}
		chunk := rapid.IntRange(1, 64).Draw(t, "chunk")
		got, err := readAll(&chunked{b: b, n: chunk}, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(evs) {
			t.Fatalf("%d events, want %d: %q", len(got), len(evs), b)
		}
		for i, e := range evs {
			want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(e.data)
			typ := e.typ
			if typ == "" {
				typ = eventMessage
			}
			if got[i].Type != typ || got[i].Data != want {
				t.Fatalf("event %d: got %q, want %q %q", i, got[i], typ, want)
			}
		}
	})
}

type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}

func TestCloseEvent(t *testing.T) {
	b := appendCloseEvent(nil, 1008, closeReasonRejected)
	if string(b) != "event: kyneta-close\ndata: {\"code\":1008,\"reason\":\"Connection rejected\"}\n\n" {
		t.Fatalf("close event %q", b)
	}
	for _, c := range []struct {
		in     string
		code   int
		reason string
	}{
		{`{"code":1001,"reason":"Server draining"}`, 1001, "Server draining"},
		{`{"code":4000}`, 4000, ""},
		{`not json`, 0, ""},
		{`{"code":-1}`, 0, ""},
		{`{"code":70000}`, 0, ""},
		{`{"code":"1001"}`, 0, ""},
	} {
		if code, reason := parseCloseEvent(c.in); code != c.code || reason != c.reason {
			t.Errorf("%s: got %d %q", c.in, code, reason)
		}
	}
}
