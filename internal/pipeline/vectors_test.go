package pipeline

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/wire"
)

// The reference's pipeline vectors (shared/testdata/wire/pipeline.json)
// pin what a sender emits and what the receiver decodes, step by step, for
// two endpoints. The binary scenarios run here through two real Pipelines:
// the exact bytes, seqs and decoded messages must match.

func vectorPath(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("KYNETA_WIRE_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "testdata", "wire")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("wire vectors not found in %s (the project keeps them in testdata/wire; KYNETA_WIRE_VECTORS overrides): %v", dir, err)
	}
	return p
}

type pipelineVectors struct {
	Scenarios []struct {
		Name      string          `json:"name"`
		Encoding  string          `json:"encoding"`
		Threshold json.RawMessage `json:"threshold"`
		StartSeq  map[string]uint32
		Steps     []struct {
			From    string          `json:"from"`
			Msg     json.RawMessage `json:"msg"`
			Seq     *uint32         `json:"seq"`
			Kind    *string         `json:"kind"`
			NextSeq uint32          `json:"nextSeqAfter"`
			Outputs []struct {
				OK  *string `json:"ok"`
				Err *struct {
					Code string `json:"code"`
				} `json:"err"`
			} `json:"outputs"`
			ReceiverResults []struct {
				Inputs []struct {
					OK  json.RawMessage `json:"ok"`
					Err json.RawMessage `json:"err"`
				} `json:"inputs"`
			} `json:"receiverResults"`
		} `json:"steps"`
	} `json:"scenarios"`
}

func TestPipelineVectors(t *testing.T) {
	raw, err := os.ReadFile(vectorPath(t, "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vec pipelineVectors
	if err := json.Unmarshal(raw, &vec); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, sc := range vec.Scenarios {
		if sc.Encoding != "binary" {
			continue // the Pipeline is binary; text frames are wire's own tests
		}
		ran++
		t.Run("pipeline/scenarios/"+sc.Name, func(t *testing.T) {
			threshold := 0 // "Infinity": never fragment
			_ = json.Unmarshal(sc.Threshold, &threshold)
			ends := map[string]*Pipeline{
				"A": New(Options{Threshold: threshold}),
				"B": New(Options{Threshold: threshold}),
			}
			for name, p := range ends {
				p.st.NextSeq = sc.StartSeq[name]
			}
			for i, st := range sc.Steps {
				from := ends[st.From]
				to := ends["B"]
				if st.From == "B" {
					to = ends["A"]
				}
				msg := vectorMsg(t, st.Msg)
				pieces, err := from.Send(msg)
				if from.st.NextSeq != st.NextSeq {
					t.Fatalf("step %d: next seq %d, want %d", i, from.st.NextSeq, st.NextSeq)
				}
				if len(st.Outputs) == 1 && st.Outputs[0].Err != nil {
					if kyneta.ReasonOf(err) != st.Outputs[0].Err.Code {
						t.Fatalf("step %d: error %v, want %s", i, err, st.Outputs[0].Err.Code)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if len(pieces) != len(st.Outputs) {
					t.Fatalf("step %d: %d pieces, want %d", i, len(pieces), len(st.Outputs))
				}
				for j, out := range st.Outputs {
					want, _ := hex.DecodeString(*out.OK)
					if !bytes.Equal(pieces[j], want) {
						t.Fatalf("step %d piece %d:\n got %x\nwant %x", i, j, pieces[j], want)
					}
					got, err := to.Receive(pieces[j])
					in := st.ReceiverResults[j].Inputs
					switch {
					case len(in) == 0:
						if got != nil || err != nil {
							t.Fatalf("step %d piece %d: want pending, got %v %v", i, j, got, err)
						}
					case in[0].OK != nil:
						if err != nil {
							t.Fatalf("step %d piece %d: %v", i, j, err)
						}
						if want := vectorMsg(t, in[0].OK); !reflect.DeepEqual(got, want) {
							t.Fatalf("step %d piece %d: got %#v want %#v", i, j, got, want)
						}
					default:
						if err == nil {
							t.Fatalf("step %d piece %d: want error %s", i, j, in[0].Err)
						}
					}
				}
			}
		})
	}
	if ran == 0 {
		t.Fatal("no binary pipeline scenarios")
	}
}

// vectorMsg converts a vector ChannelMsg (JSON with {"$bytes": hex}) to Go.
func vectorMsg(t *testing.T, raw json.RawMessage) wire.ChannelMsg {
	t.Helper()
	var v struct {
		Type     string
		Identity *struct {
			PeerID string `json:"peerId"`
			Name   *string
			Type   string
		}
		Features        *wire.Features
		ProtocolVersion *wire.ProtocolVersion `json:"protocolVersion"`
		Docs            []struct {
			DocID           string `json:"docId"`
			ReplicaType     []json.RawMessage
			SyncMode        struct{ WriterModel, Delivery, Durability string }
			SchemaHash      string
			SupportedHashes []string
		}
		DocID       string `json:"docId"`
		Version     *string
		Reciprocate *bool
		Payload     *struct {
			Kind, Encoding string
			Data           json.RawMessage
			Lineage        *string
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("vector message %s: %v", raw, err)
	}
	switch v.Type {
	case "establish":
		m := &wire.Establish{Identity: wire.PeerIdentity{PeerID: v.Identity.PeerID, Name: v.Identity.Name, Type: wire.PeerType(v.Identity.Type)}, Features: v.Features}
		if v.ProtocolVersion != nil {
			m.ProtocolVersion = *v.ProtocolVersion
		}
		return m
	case "depart":
		return &wire.Depart{}
	case "present":
		m := &wire.Present{Docs: []wire.DocPresence{}}
		for _, d := range v.Docs {
			var rt wire.ReplicaType
			_ = json.Unmarshal(d.ReplicaType[0], &rt.Name)
			_ = json.Unmarshal(d.ReplicaType[1], &rt.Major)
			_ = json.Unmarshal(d.ReplicaType[2], &rt.Minor)
			m.Docs = append(m.Docs, wire.DocPresence{
				DocID: d.DocID, ReplicaType: rt, SchemaHash: d.SchemaHash, SupportedHashes: d.SupportedHashes,
				SyncMode: wire.SyncMode{WriterModel: wirecore.WriterModel(d.SyncMode.WriterModel), Delivery: wirecore.Delivery(d.SyncMode.Delivery), Durability: wirecore.Durability(d.SyncMode.Durability)},
			})
		}
		return m
	case "interest":
		return &wire.Interest{DocID: v.DocID, Version: v.Version, Reciprocate: v.Reciprocate}
	case "offer":
		p := wire.Payload{Kind: wire.PayloadKind(v.Payload.Kind), Encoding: wire.PayloadEncoding(v.Payload.Encoding), Lineage: v.Payload.Lineage}
		var s string
		var b struct {
			Bytes string `json:"$bytes"`
		}
		if json.Unmarshal(v.Payload.Data, &s) == nil {
			p.Data = []byte(s)
		} else if json.Unmarshal(v.Payload.Data, &b) == nil {
			p.Data, _ = hex.DecodeString(b.Bytes)
		}
		m := &wire.Offer{DocID: v.DocID, Payload: p, Reciprocate: v.Reciprocate}
		if v.Version != nil {
			m.Version = *v.Version
		}
		return m
	case "dismiss":
		return &wire.Dismiss{DocID: v.DocID}
	case "vacant":
		return &wire.Vacant{DocID: v.DocID}
	}
	t.Fatalf("vector message type %q", v.Type)
	return nil
}

// TestPipelineInvalidVectors feeds the reference's rejected inputs to a
// fresh receiving pipeline: each piece must give the reference's outcome
// (pending, a message, or an error with the same pipeline code and, for
// reassembly failures, the same collector reason).
func TestPipelineInvalidVectors(t *testing.T) {
	raw, err := os.ReadFile(vectorPath(t, "invalid.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vec struct {
		PipelineReceive []struct {
			Encoding string
			Name     string
			Pieces   []json.RawMessage
			Results  [][]struct {
				OK  json.RawMessage `json:"ok"`
				Err *struct {
					Code   string `json:"code"`
					Detail struct {
						Type string `json:"type"`
					} `json:"detail"`
				} `json:"err"`
			}
		}
	}
	if err := json.Unmarshal(raw, &vec); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range vec.PipelineReceive {
		if c.Encoding != "binary" {
			continue
		}
		ran++
		t.Run("invalid/pipelineReceive/"+c.Name, func(t *testing.T) {
			rx := New(Options{})
			defer rx.Close()
			for i, rawPiece := range c.Pieces {
				var b struct {
					Bytes string `json:"$bytes"`
				}
				var s string
				if json.Unmarshal(rawPiece, &b) != nil || b.Bytes == "" {
					if err := json.Unmarshal(rawPiece, &s); err != nil {
						t.Fatalf("piece %d: %s", i, rawPiece)
					}
					b.Bytes = s
				}
				piece, err := hex.DecodeString(b.Bytes)
				if err != nil {
					t.Fatalf("piece %d: %v", i, err)
				}
				got, err := rx.Receive(piece)
				want := c.Results[i]
				switch {
				case len(want) == 0:
					if got != nil || err != nil {
						t.Fatalf("piece %d: want pending, got %v %v", i, got, err)
					}
				case want[0].Err != nil:
					var pe *Error
					if !errors.As(err, &pe) || pe.Reason != want[0].Err.Code {
						t.Fatalf("piece %d: got %v, want %s", i, err, want[0].Err.Code)
					}
					if pe.Reason == reasonReassemblyFailed && pe.Detail != want[0].Err.Detail.Type {
						t.Fatalf("piece %d: detail %q, want %q", i, pe.Detail, want[0].Err.Detail.Type)
					}
				default:
					if err != nil || !reflect.DeepEqual(got, vectorMsg(t, want[0].OK)) {
						t.Fatalf("piece %d: got %#v %v", i, got, err)
					}
				}
			}
		})
	}
	if ran == 0 {
		t.Fatal("no binary cases")
	}
}
