package line

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
)

// Any id parses or is refused; what parses builds the same id again.
func FuzzParseDocID(f *testing.F) {
	for _, s := range []string{"line:chat:alice→bob", "line:t:a→b→c", "line::a→b", "line:t:→b", "doc-1", "line:t:a:b→c", "line:t:a→"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		topic, from, to, ok := ParseDocID(id)
		if !ok {
			return
		}
		if topic == "" || from == "" || to == "" || strings.Contains(topic, ":") || strings.Contains(to, arrow) {
			t.Fatalf("ParseDocID(%q) = %q %q %q", id, topic, from, to)
		}
		if DocID(topic, from, to) != id {
			t.Fatalf("ParseDocID(%q) does not round-trip: %q", id, DocID(topic, from, to))
		}
	})
}

// A remote writer controls the inbox: any JSON decodes into a box or a
// reasonMalformed error, messages keep only usable seqs, and the decoded box
// holds no more payload bytes than the input.
func FuzzDecodeBox(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"seq":1,"payload":{"text":"a","n":0}}],"ackSeq":0,"ackLineage":"","nextSeq":2}`,
		`{"messages":[{"seq":1.5},{"seq":-1},{"seq":"2"},{"payload":1},3,{"seq":2}],"ackSeq":"x","ackLineage":5}`,
		`{"messages":{}}`, `[]`, `null`, `{}`, `{"messages":null,"nextSeq":1e308}`,
		`{"messages":[{"seq":9007199254740993}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBox(data)
		if err != nil {
			if !errors.Is(err, &kyneta.Error{Pkg: "line", Reason: reasonMalformed}) {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		total := 0
		for _, m := range b.Messages {
			if !validSeq(m.Seq) {
				t.Fatalf("unusable seq %v kept", m.Seq)
			}
			if !json.Valid(m.Payload) {
				t.Fatalf("payload %q is not JSON", m.Payload)
			}
			total += len(m.Payload)
		}
		if total > len(data) || len(b.Messages) > len(data) {
			t.Fatalf("%d payload bytes, %d messages from %d input bytes", total, len(b.Messages), len(data))
		}
		if b.Malformed > 0 && !bytes.Contains(data, []byte("messages")) {
			t.Fatal("malformed messages without a messages field")
		}
	})
}
