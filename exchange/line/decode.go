package line

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The reference's doc id separator between sender and receiver (U+2192).
const arrow = "→"

// DocID returns the id of the document that carries topic's messages from
// peer from to peer to: "line:<topic>:<from>→<to>".
func DocID(topic, from, to string) string {
	return "line:" + topic + ":" + from + arrow + to
}

// ParseDocID splits a line document id into its parts; ok is false for any
// other id. It reads ids the way the reference does: the topic ends at the
// first ':' after the prefix, and the rest is "<from>→<to>" with exactly one
// arrow.
func ParseDocID(id string) (topic, from, to string, ok bool) {
	body, found := strings.CutPrefix(id, "line:")
	if !found {
		return "", "", "", false
	}
	topic, rest, found := strings.Cut(body, ":")
	if !found || topic == "" {
		return "", "", "", false
	}
	from, to, found = strings.Cut(rest, arrow)
	if !found || from == "" || to == "" || strings.Contains(to, arrow) {
		return "", "", "", false
	}
	return topic, from, to, true
}

// box is a decoded line document (either direction).
type box struct {
	Messages   []boxMsg
	AckSeq     float64
	AckLineage string
	NextSeq    float64
	// HasList: the document has a messages list (a document nobody wrote
	// has none).
	HasList bool
	// Malformed counts message entries that were skipped because they are
	// not objects or have no usable seq (only a remote writer produces
	// them: local sends are validated against the schema).
	Malformed int
}

type boxMsg struct {
	Seq     float64
	Payload json.RawMessage
}

// decodeBox reads a line document's JSON. Fields of the wrong type read as
// their zero, as a TypeScript reader of an absent field would see it;
// message entries that cannot be ordered are skipped and counted. Only a
// document that is not an object, or whose messages are not a list, is an
// error (reason "malformed"). Memory stays proportional to the input: payloads
// are slices of data, not copies.
func decodeBox(data []byte) (box, error) {
	var b box
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return b, newError(reasonMalformed, "", "", "line document is not an object", err)
	}
	if raw, ok := top["messages"]; ok && !isNull(raw) {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return b, newError(reasonMalformed, "", "", "messages is not a list", err)
		}
		b.HasList = true
		b.Messages = make([]boxMsg, 0, len(list))
		for _, item := range list {
			m, ok := decodeMsg(item)
			if !ok {
				b.Malformed++
				continue
			}
			b.Messages = append(b.Messages, m)
		}
	}
	b.AckSeq = number(top["ackSeq"])
	b.NextSeq = number(top["nextSeq"])
	if raw, ok := top["ackLineage"]; ok {
		_ = json.Unmarshal(raw, &b.AckLineage) // wrong type: stays ""
	}
	return b, nil
}

func decodeMsg(data []byte) (boxMsg, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return boxMsg{}, false
	}
	var seq float64
	if err := json.Unmarshal(obj["seq"], &seq); err != nil || !validSeq(seq) {
		return boxMsg{}, false
	}
	p := obj["payload"]
	if p == nil {
		p = json.RawMessage("null")
	}
	return boxMsg{Seq: seq, Payload: p}, true
}

// validSeq: a positive integer a JavaScript number holds exactly.
func validSeq(s float64) bool {
	return s >= 1 && s <= maxSeq && s == float64(int64(s))
}

func number(raw json.RawMessage) float64 {
	var f float64
	if raw == nil || json.Unmarshal(raw, &f) != nil {
		return 0
	}
	return f
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// lineageOf returns the lineage of a plain document's serialized version
// "<lineage>:<n>".
func lineageOf(version string) string {
	if i := strings.LastIndexByte(version, ':'); i >= 0 {
		return version[:i]
	}
	return version
}

func seqString(s float64) string { return fmt.Sprintf("%.0f", s) }
