package wire

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// aliasErrorValue renders an *AliasError in the vectors' notation.
func aliasErrorValue(err error) Map {
	var ae *AliasError
	if !errors.As(err, &ae) {
		return Map{{"error", err.Error()}}
	}
	out := Map{{"code", string(ae.Code)}}
	switch ae.Code {
	case AliasUnknownDocAlias, AliasUnknownSchemaAlias:
		out = append(out, MapEntry{"alias", jsNumber(ae.Alias)})
	case AliasMissingDocID, AliasMissingSchemaHash:
		out = append(out, MapEntry{"reason", ae.Reason})
	case AliasDocIDTooLong, AliasSchemaHashTooLong:
		out = append(out, MapEntry{"message", ae.Reason})
	default:
		out = append(out, MapEntry{"value", ae.Value})
	}
	return out
}

// aliasStateValue renders a state in the vectors' notation, with map pairs
// sorted (the vectors list them in insertion order, which Go maps do not
// keep and which has no effect on behaviour).
func aliasStateValue(s AliasState) Map {
	pairs := func(n int, each func(yield func(k, v any))) []any {
		out := make([]any, 0, n)
		each(func(k, v any) { out = append(out, []any{k, v}) })
		return sortPairs(out)
	}
	features := func(f *Features) any {
		if f == nil {
			return nil
		}
		m := Map{}
		if f.Alias != nil {
			m = append(m, MapEntry{"alias", *f.Alias})
		}
		if f.Streamed != nil {
			m = append(m, MapEntry{"streamed", *f.Streamed})
		}
		if f.Datagram != nil {
			m = append(m, MapEntry{"datagram", *f.Datagram})
		}
		return m
	}
	return Map{
		{"outboundAliasByDoc", pairs(len(s.outDoc), func(y func(k, v any)) {
			for k, v := range s.outDoc {
				y(k, v)
			}
		})},
		{"outboundAliasBySchemaHash", pairs(len(s.outSchema), func(y func(k, v any)) {
			for k, v := range s.outSchema {
				y(k, v)
			}
		})},
		{"inboundDocByAlias", pairs(len(s.inDoc), func(y func(k, v any)) {
			for k, v := range s.inDoc {
				y(jsNumber(aliasKeyValue(k)), v)
			}
		})},
		{"inboundSchemaHashByAlias", pairs(len(s.inSchema), func(y func(k, v any)) {
			for k, v := range s.inSchema {
				y(jsNumber(aliasKeyValue(k)), v)
			}
		})},
		{"nextOutDocAlias", s.nextDoc},
		{"nextOutSchemaAlias", s.nextSchema},
		{"selfFeatures", features(s.self)},
		{"peerFeatures", features(s.peer)},
		{"mutualAlias", s.mutual},
	}
}

func aliasKeyValue(k aliasKey) float64 { return math.Float64frombits(uint64(k)) }

func sortPairs(ps []any) []any {
	slices.SortFunc(ps, func(a, b any) int { return strings.Compare(showValue(a), showValue(b)) })
	return ps
}

// normalizeStateVector sorts the pair lists of a state from a vector.
func normalizeStateVector(v any) Map {
	m := v.(Map)
	out := make(Map, len(m))
	for i, e := range m {
		if l, ok := e.Value.([]any); ok {
			e.Value = sortPairs(slices.Clone(l))
		}
		out[i] = e
	}
	return sortedMap(out)
}

type aliasStep struct {
	Dir    string          `json:"dir"`
	Msg    json.RawMessage `json:"msg"`
	Wire   json.RawMessage `json:"wire"`
	Result struct {
		OK  json.RawMessage `json:"ok"`
		Err json.RawMessage `json:"err"`
	} `json:"result"`
	CBOR  *string         `json:"cbor"`
	Text  *string         `json:"text"`
	State json.RawMessage `json:"state"`
}

type aliasScenario struct {
	Name  string      `json:"name"`
	Steps []aliasStep `json:"steps"`
}

func loadAliasScenarios(t *testing.T) []aliasScenario {
	var file struct {
		Scenarios []aliasScenario `json:"scenarios"`
	}
	loadVectors(t, "alias.json", &file)
	return file.Scenarios
}

// runAliasStep applies one vector step to s and checks it. expectErr, when
// set, overrides an ok result of the reference (a deliberate Go deviation).
func runAliasStep(t *testing.T, s AliasState, st aliasStep, expectErr AliasErrorCode) AliasState {
	t.Helper()
	before := aliasStateValue(s)
	var (
		next   AliasState
		result any
		err    error
	)
	switch st.Dir {
	case "out":
		var w WireMessage
		next, w, err = AliasOutbound(s, channelMsgFromTJSON(t, st.Msg))
		if err == nil {
			result = messageValueOf(t, w)
			if st.CBOR != nil {
				if b, _ := EncodeMessage(w); hex.EncodeToString(b) != *st.CBOR {
					t.Errorf("cbor %x, want %s", b, *st.CBOR)
				}
			}
			if st.Text != nil {
				if s, _ := EncodeTextMessage(w); s != *st.Text {
					t.Errorf("text %s, want %s", s, *st.Text)
				}
			}
		}
	case "in":
		var m ChannelMsg
		next, m, err = AliasInbound(s, wireFromTJSON(t, st.Wire))
		if err == nil {
			result = sortedValue(channelMsgValue(m))
		}
	default:
		t.Fatalf("unknown step direction %q", st.Dir)
	}
	if !valueEqual(aliasStateValue(s), before) {
		t.Errorf("input state was modified: %s -> %s", showValue(before), showValue(aliasStateValue(s)))
	}
	switch {
	case expectErr != "":
		if !errors.Is(err, &AliasError{Code: expectErr}) {
			t.Errorf("got %v, want Go-side error %s", err, expectErr)
		}
	case st.Result.Err != nil:
		want := sortedMap(parseTJSON(t, st.Result.Err).(Map))
		if err == nil {
			t.Errorf("ok %s, want error %s", showValue(result), showValue(want))
		} else if got := sortedMap(aliasErrorValue(err)); !valueEqual(got, want) {
			t.Errorf("error %s, want %s", showValue(got), showValue(want))
		}
	default:
		want := parseTJSON(t, st.Result.OK)
		if st.Dir == "in" {
			want = sortedValue(want)
		}
		if err != nil {
			t.Errorf("error %v, want ok %s", err, showValue(want))
		} else if !valueEqual(result, want) {
			t.Errorf("result %s\nwant          %s", showValue(result), showValue(want))
		}
	}
	if want, got := normalizeStateVector(parseTJSON(t, st.State)), sortedMap(aliasStateValue(next)); !valueEqual(got, want) {
		t.Errorf("state %s\nwant         %s", showValue(got), showValue(want))
	}
	return next
}

func TestVectorsAlias(t *testing.T) {
	scenarios := loadAliasScenarios(t)
	checkCount(t, "alias.scenarios", len(scenarios))
	steps := 0
	for _, sc := range scenarios {
		steps += len(sc.Steps)
	}
	checkCount(t, "alias.steps", steps)
	for _, sc := range scenarios {
		t.Run("alias/scenarios/"+sc.Name, func(t *testing.T) {
			// The reference's behaviour: no cap on present doc ids.
			s := NewAliasState(AliasOptions{SkipPresentDocIDCap: true})
			for i, st := range sc.Steps {
				t.Run(fmt.Sprintf("%02d-%s", i, st.Dir), func(t *testing.T) {
					s = runAliasStep(t, s, st, "")
				})
			}
		})
	}
}

// TestAliasDefaultCapsPresentDocIDs replays the alias vectors with the
// default options: everything matches the reference except that a present
// entry with a doc id over MaxDocIDBytes fails with doc-id-too-long.
func TestAliasDefaultCapsPresentDocIDs(t *testing.T) {
	deviations := 0
	for _, sc := range loadAliasScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			s := EmptyAliasState()
			for i, st := range sc.Steps {
				var expect AliasErrorCode
				if st.Dir == "in" && st.Result.OK != nil {
					if p, ok := wireFromTJSON(t, st.Wire).(*WirePresent); ok {
						for _, d := range p.Docs {
							if len(d.DocID) > MaxDocIDBytes {
								expect = AliasDocIDTooLong
								deviations++
							}
						}
					}
				}
				t.Run(fmt.Sprintf("%02d-%s", i, st.Dir), func(t *testing.T) {
					s = runAliasStep(t, s, st, expect)
				})
			}
		})
	}
	if deviations == 0 {
		t.Error("no vector exercises the present doc-id cap")
	}
}
