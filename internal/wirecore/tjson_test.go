package wirecore

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// This file reads the vectors' "tjson" value notation (README, "Value
// conventions") into the package's value model, keeping object key order:
//
//	{"$bytes": hex}          []byte
//	{"$float": String(x)}    float64
//	{"$bigint": decimal}     *big.Int
//	{"$undefined": true}     jsUndefined{}
//	{"$map": [[k, v], ...]}  orderedMap (keys converted too)
//	{"$error": {name, msg}}  tjsonError
//	plain number             int64 (a safe integer)
//	plain object             orderedMap with string keys, in file order
//
// It is deliberately independent of the package's own JSON parser, so the
// vector tests do not grade that parser with itself.

// tjsonError is a JavaScript Error carried in a WireError detail.
type tjsonError struct {
	Name    string
	Message string
}

// parseTJSON decodes one tjson document.
func parseTJSON(t testing.TB, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := tjsonValue(dec)
	if err != nil {
		t.Fatalf("tjson: %v in %.200s", err, raw)
	}
	return v
}

func tjsonValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := tjsonValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		case '{':
			m := orderedMap{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := tjsonValue(dec)
				if err != nil {
					return nil, err
				}
				m = append(m, mapEntry{Key: kt.(string), Value: v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return tjsonTagged(m)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
			if i > maxSafeInteger || i < -maxSafeInteger {
				return nil, fmt.Errorf("plain number %s is not a safe integer", tok)
			}
			return i, nil
		}
		return nil, fmt.Errorf("plain number %s is not an integer", tok)
	case string, bool, nil:
		return tok, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

func tjsonTagged(m orderedMap) (any, error) {
	if len(m) != 1 {
		return m, nil
	}
	k := m[0].Key.(string)
	v := m[0].Value
	switch k {
	case "$bytes":
		b, err := hex.DecodeString(v.(string))
		if err != nil {
			return nil, err
		}
		return b, nil
	case "$float":
		f, err := strconv.ParseFloat(v.(string), 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			return nil, err
		}
		return f, nil
	case "$bigint":
		b, ok := new(big.Int).SetString(v.(string), 10)
		if !ok {
			return nil, fmt.Errorf("bad bigint %q", v)
		}
		return b, nil
	case "$undefined":
		return jsUndefined{}, nil
	case "$map":
		out := orderedMap{}
		for _, p := range v.([]any) {
			pair := p.([]any)
			out = append(out, mapEntry{Key: pair[0], Value: pair[1]})
		}
		return out, nil
	case "$error":
		e := v.(orderedMap)
		name, _ := e.Get("name")
		msg, _ := e.Get("message")
		return tjsonError{Name: name.(string), Message: msg.(string)}, nil
	}
	return m, nil
}

// valueEqual is exact equality in the value model: same types, ordered map
// entries, float64 compared by value with NaN equal to NaN and -0 distinct
// from +0 (the vectors tell them apart).
func valueEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case jsUndefined:
		_, ok := b.(jsUndefined)
		return ok
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case int64:
		bb, ok := b.(int64)
		return ok && a == bb
	case float64:
		bb, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(a) || math.IsNaN(bb) {
			return math.IsNaN(a) && math.IsNaN(bb)
		}
		return a == bb && math.Signbit(a) == math.Signbit(bb)
	case *big.Int:
		bb, ok := b.(*big.Int)
		return ok && a.Cmp(bb) == 0
	case string:
		bb, ok := b.(string)
		return ok && a == bb
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb)
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !valueEqual(a[i], bb[i]) {
				return false
			}
		}
		return true
	case orderedMap:
		bb, ok := b.(orderedMap)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !valueEqual(a[i].Key, bb[i].Key) || !valueEqual(a[i].Value, bb[i].Value) {
				return false
			}
		}
		return true
	case tjsonError:
		bb, ok := b.(tjsonError)
		return ok && a == bb
	}
	return false
}

// showValue renders a value in a diagnostic-like notation for test failures.
func showValue(v any) string {
	var sb strings.Builder
	writeShow(&sb, v)
	return sb.String()
}

func writeShow(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		sb.WriteString("null")
	case jsUndefined:
		sb.WriteString("undefined")
	case int64:
		sb.WriteString(strconv.FormatInt(v, 10))
	case float64:
		sb.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		sb.WriteString("_f")
	case *big.Int:
		sb.WriteString(v.String())
		sb.WriteString("n")
	case string:
		sb.WriteString(strconv.Quote(v))
	case []byte:
		sb.WriteString("h'" + hex.EncodeToString(v) + "'")
	case []any:
		sb.WriteString("[")
		for i, e := range v {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeShow(sb, e)
		}
		sb.WriteString("]")
	case orderedMap:
		sb.WriteString("{")
		for i, e := range v {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeShow(sb, e.Key)
			sb.WriteString(": ")
			writeShow(sb, e.Value)
		}
		sb.WriteString("}")
	default:
		fmt.Fprintf(sb, "%#v", v)
	}
}

// mustHex decodes a hex string from a vector.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vector: %v", err)
	}
	return b
}

var countRow = regexp.MustCompile("^\\|\\s*`([a-z_]+\\.[A-Za-z]+)`\\s*\\|\\s*(\\d+)\\s*\\|")

// vectorCount returns the number of vectors the README's count table lists
// for a section such as "messages.cases", failing when it is not listed.
func vectorCount(t testing.TB, section string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(vectorDir(t), "README.md"))
	if err != nil {
		t.Fatalf("open README: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := countRow.FindStringSubmatch(sc.Text()); m != nil && m[1] == section {
			n, _ := strconv.Atoi(m[2])
			return n
		}
	}
	t.Fatalf("README count table has no row for %s", section)
	return 0
}

// checkCount fails unless a vector section holds at least as many cases as
// the README's count table promises.
func checkCount(t testing.TB, section string, got int) {
	t.Helper()
	if want := vectorCount(t, section); got < want {
		t.Fatalf("%s: file holds %d vectors, README lists %d", section, got, want)
	}
}

// channelMsgFromTJSON builds a ChannelMsg from the vectors' ChannelMsg
// notation (README, "ChannelMsg"), as used by alias.json and pipeline.json.
func channelMsgFromTJSON(t testing.TB, raw []byte) ChannelMsg {
	t.Helper()
	return channelMsgFromValue(t, parseTJSON(t, raw))
}

func channelMsgFromValue(t testing.TB, v any) ChannelMsg {
	t.Helper()
	m, ok := v.(orderedMap)
	if !ok {
		t.Fatalf("ChannelMsg is not an object: %s", showValue(v))
	}
	str := func(m orderedMap, k string) string {
		t.Helper()
		s, ok := m.Get(k)
		if !ok {
			t.Fatalf("ChannelMsg field %s missing in %s", k, showValue(m))
		}
		return s.(string)
	}
	optStr := func(m orderedMap, k string) *string {
		if s, ok := m.Get(k); ok {
			s := s.(string)
			return &s
		}
		return nil
	}
	optBool := func(m orderedMap, k string) *bool {
		if b, ok := m.Get(k); ok {
			b := b.(bool)
			return &b
		}
		return nil
	}
	num := func(v any) int64 {
		t.Helper()
		n, ok := v.(int64)
		if !ok {
			t.Fatalf("ChannelMsg number %s is not an integer", showValue(v))
		}
		return n
	}
	switch typ := str(m, "type"); typ {
	case "establish":
		id, _ := m.Get("identity")
		idm := id.(orderedMap)
		out := &Establish{Identity: PeerIdentity{
			PeerID: str(idm, "peerId"),
			Name:   optStr(idm, "name"),
			Type:   PeerType(str(idm, "type")),
		}}
		if f, ok := m.Get("features"); ok && f != nil {
			fm := f.(orderedMap)
			out.Features = &Features{Alias: optBool(fm, "alias"), Streamed: optBool(fm, "streamed"), Datagram: optBool(fm, "datagram")}
		}
		pv, _ := m.Get("protocolVersion")
		pvm := pv.(orderedMap)
		major, _ := pvm.Get("major")
		minor, _ := pvm.Get("minor")
		out.ProtocolVersion = ProtocolVersion{Major: num(major), Minor: num(minor)}
		return out
	case "depart":
		return &Depart{}
	case "present":
		dv, _ := m.Get("docs")
		out := &Present{Docs: []DocPresence{}}
		for _, d := range dv.([]any) {
			dm := d.(orderedMap)
			rtv, _ := dm.Get("replicaType")
			rt := rtv.([]any)
			smv, _ := dm.Get("syncMode")
			sm := smv.(orderedMap)
			p := DocPresence{
				DocID:       str(dm, "docId"),
				ReplicaType: ReplicaType{Name: rt[0].(string), Major: num(rt[1]), Minor: num(rt[2])},
				SyncMode: SyncMode{
					WriterModel: WriterModel(str(sm, "writerModel")),
					Delivery:    Delivery(str(sm, "delivery")),
					Durability:  Durability(str(sm, "durability")),
				},
				SchemaHash: str(dm, "schemaHash"),
			}
			if sh, ok := dm.Get("supportedHashes"); ok {
				p.SupportedHashes = []string{}
				for _, h := range sh.([]any) {
					p.SupportedHashes = append(p.SupportedHashes, h.(string))
				}
			}
			out.Docs = append(out.Docs, p)
		}
		return out
	case "interest":
		return &Interest{DocID: str(m, "docId"), Version: optStr(m, "version"), Reciprocate: optBool(m, "reciprocate")}
	case "offer":
		pv, _ := m.Get("payload")
		pm := pv.(orderedMap)
		out := &Offer{
			DocID: str(m, "docId"),
			Payload: Payload{
				Kind:     PayloadKind(str(pm, "kind")),
				Encoding: PayloadEncoding(str(pm, "encoding")),
				Lineage:  optStr(pm, "lineage"),
			},
			Version:     str(m, "version"),
			Reciprocate: optBool(m, "reciprocate"),
		}
		switch d, _ := pm.Get("data"); d := d.(type) {
		case string:
			out.Payload.Data = []byte(d)
		case []byte:
			out.Payload.Data = d
		default:
			t.Fatalf("offer data %s", showValue(d))
		}
		return out
	case "dismiss":
		return &Dismiss{DocID: str(m, "docId")}
	case "vacant":
		return &Vacant{DocID: str(m, "docId")}
	default:
		t.Fatalf("unknown ChannelMsg type %q", typ)
	}
	return nil
}

// channelMsgValue renders a ChannelMsg in the vectors' notation. Offer data
// is a string for the json encoding and bytes otherwise, as the reference
// senders produce it. Compare with sortedValue on both sides: the vectors
// list keys in JavaScript construction order.
func channelMsgValue(msg ChannelMsg) orderedMap {
	optStr := func(m orderedMap, k string, s *string) orderedMap {
		if s != nil {
			return append(m, mapEntry{k, *s})
		}
		return m
	}
	optBool := func(m orderedMap, k string, b *bool) orderedMap {
		if b != nil {
			return append(m, mapEntry{k, *b})
		}
		return m
	}
	switch m := msg.(type) {
	case *Establish:
		id := orderedMap{{"peerId", m.Identity.PeerID}}
		id = optStr(id, "name", m.Identity.Name)
		id = append(id, mapEntry{"type", string(m.Identity.Type)})
		out := orderedMap{{"type", "establish"}, {"identity", id}}
		if f := m.Features; f != nil {
			fm := orderedMap{}
			fm = optBool(fm, "alias", f.Alias)
			fm = optBool(fm, "streamed", f.Streamed)
			fm = optBool(fm, "datagram", f.Datagram)
			out = append(out, mapEntry{"features", fm})
		}
		return append(out, mapEntry{"protocolVersion", orderedMap{{"major", m.ProtocolVersion.Major}, {"minor", m.ProtocolVersion.Minor}}})
	case *Depart:
		return orderedMap{{"type", "depart"}}
	case *Present:
		docs := []any{}
		for _, d := range m.Docs {
			e := orderedMap{
				{"docId", d.DocID},
				{"replicaType", []any{d.ReplicaType.Name, d.ReplicaType.Major, d.ReplicaType.Minor}},
				{"syncMode", orderedMap{
					{"writerModel", string(d.SyncMode.WriterModel)},
					{"delivery", string(d.SyncMode.Delivery)},
					{"durability", string(d.SyncMode.Durability)},
				}},
				{"schemaHash", d.SchemaHash},
			}
			if d.SupportedHashes != nil {
				hs := []any{}
				for _, h := range d.SupportedHashes {
					hs = append(hs, h)
				}
				e = append(e, mapEntry{"supportedHashes", hs})
			}
			docs = append(docs, e)
		}
		return orderedMap{{"type", "present"}, {"docs", docs}}
	case *Interest:
		out := orderedMap{{"type", "interest"}, {"docId", m.DocID}}
		out = optStr(out, "version", m.Version)
		return optBool(out, "reciprocate", m.Reciprocate)
	case *Offer:
		var data any = m.Payload.Data
		if m.Payload.Encoding == JSON {
			data = string(m.Payload.Data)
		}
		p := orderedMap{{"kind", string(m.Payload.Kind)}, {"encoding", string(m.Payload.Encoding)}, {"data", data}}
		p = optStr(p, "lineage", m.Payload.Lineage)
		out := orderedMap{{"type", "offer"}, {"docId", m.DocID}, {"payload", p}, {"version", m.Version}}
		return optBool(out, "reciprocate", m.Reciprocate)
	case *Dismiss:
		return orderedMap{{"type", "dismiss"}, {"docId", m.DocID}}
	case *Vacant:
		return orderedMap{{"type", "vacant"}, {"docId", m.DocID}}
	}
	return orderedMap{{"type", fmt.Sprintf("%T", msg)}}
}
