package wirecore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta"
	"pgregory.net/rapid"
)

type fragResult struct {
	Kind        string   `json:"kind"`
	Frames      []string `json:"frames"`
	Total       int      `json:"total"`
	Max         int      `json:"max"`
	Count       int      `json:"count"`
	FirstFrames []string `json:"firstFrames"`
	LastFrame   string   `json:"lastFrame"`
}

// checkFragmentResult compares Fragment* output with a vector result.
func checkFragmentResult(t *testing.T, got []string, err error, want fragResult) {
	t.Helper()
	switch want.Kind {
	case "fragments":
		if err != nil {
			t.Fatalf("error %v, want fragments", err)
		}
		if want.Frames == nil {
			// Abbreviated vector: count, first two and last frame.
			if len(got) != want.Count || len(want.FirstFrames) > len(got) {
				t.Fatalf("%d frames, want %d", len(got), want.Count)
			}
			for i, f := range want.FirstFrames {
				if got[i] != f {
					t.Fatalf("frame %d:\n got %s\nwant %s", i, got[i], f)
				}
			}
			if got[len(got)-1] != want.LastFrame {
				t.Fatalf("last frame:\n got %s\nwant %s", got[len(got)-1], want.LastFrame)
			}
			return
		}
		if len(got) != len(want.Frames) {
			t.Fatalf("%d frames, want %d", len(got), len(want.Frames))
		}
		for i := range got {
			if got[i] != want.Frames[i] {
				t.Fatalf("frame %d:\n got %s\nwant %s", i, got[i], want.Frames[i])
			}
		}
	case "empty-payload":
		if !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonEmptyPayload}) {
			t.Fatalf("error %v, want empty-payload", err)
		}
	case "too-many-fragments":
		var fe *kyneta.Error
		if !errors.As(err, &fe) || fe.Reason != reasonTooManyFragments || fe.Detail != fmt.Sprintf("%d pieces needed, at most %d allowed", want.Total, want.Max) {
			t.Fatalf("error %#v, want too-many-fragments total %d max %d", err, want.Total, want.Max)
		}
	default:
		t.Fatalf("unknown result kind %q", want.Kind)
	}
}

func TestBinaryFragmentationVectors(t *testing.T) {
	var v struct {
		Max   int `json:"FRAGMENT_TOTAL_MAX"`
		Cases []struct {
			Name        string `json:"name"`
			Payload     string `json:"payload"`
			PayloadSpec *struct {
				FillByte string `json:"fillByte"`
				Length   int    `json:"length"`
			} `json:"payloadSpec"`
			Threshold int        `json:"threshold"`
			Seq       uint32     `json:"seq"`
			Result    fragResult `json:"result"`
		} `json:"cases"`
	}
	loadVectors(t, "binary_fragmentation.json", &v)
	if v.Max != MaxFragments {
		t.Fatalf("FRAGMENT_TOTAL_MAX %d, Go %d", v.Max, MaxFragments)
	}
	checkCount(t, "binary_fragmentation.cases", len(v.Cases))
	for _, c := range v.Cases {
		t.Run("binary_fragmentation/cases/"+c.Name, func(t *testing.T) {
			payload := mustHex(t, c.Payload)
			if c.PayloadSpec != nil {
				payload = bytes.Repeat(mustHex(t, c.PayloadSpec.FillByte), c.PayloadSpec.Length)
			}
			frames, err := FragmentBinary(payload, c.Threshold, c.Seq)
			got := make([]string, len(frames))
			for i, f := range frames {
				got[i] = hex.EncodeToString(f)
			}
			checkFragmentResult(t, got, err, c.Result)
		})
	}
}

func TestTextFragmentationVectors(t *testing.T) {
	var v struct {
		Cases []struct {
			Name              string     `json:"name"`
			Payload           string     `json:"payload"`
			PayloadCodepoints int        `json:"payloadCodepoints"`
			Threshold         int        `json:"threshold"`
			Seq               uint32     `json:"seq"`
			Result            fragResult `json:"result"`
		} `json:"cases"`
	}
	loadVectors(t, "text_fragmentation.json", &v)
	checkCount(t, "text_fragmentation.cases", len(v.Cases))
	for _, c := range v.Cases {
		t.Run("text_fragmentation/cases/"+c.Name, func(t *testing.T) {
			if n := utf8.RuneCountInString(c.Payload); n != c.PayloadCodepoints {
				t.Fatalf("payload has %d code points, vector says %d", n, c.PayloadCodepoints)
			}
			frames, err := FragmentText(c.Payload, c.Threshold, c.Seq)
			checkFragmentResult(t, frames, err, c.Result)
		})
	}
}

func TestFragmentInvalidThreshold(t *testing.T) {
	for _, thr := range []int{0, -1} {
		if _, err := FragmentBinary([]byte{1}, thr, 0); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonInvalidThreshold}) {
			t.Errorf("binary threshold %d: %v", thr, err)
		}
		if _, err := FragmentText("x", thr, 0); !errors.Is(err, &kyneta.Error{Pkg: "wire", Reason: reasonInvalidThreshold}) {
			t.Errorf("text threshold %d: %v", thr, err)
		}
	}
	// Text too-many-fragments counts code points, not bytes.
	_, err := FragmentText(strings.Repeat("é", MaxFragments+1), 1, 0)
	var fe *kyneta.Error
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Detail, fmt.Sprintf("%d pieces needed", MaxFragments+1)) {
		t.Fatalf("text too many: %v", err)
	}
}

// TestFragmentBinaryProperties: frames decode, carry the seq and metadata,
// and their chunks concatenate to the payload; frames do not overlap.
func TestFragmentBinaryProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		payload := rapid.SliceOfN(rapid.Byte(), 1, 300).Draw(t, "payload")
		thr := rapid.IntRange(1, 400).Draw(t, "threshold")
		seq := rapid.Uint32().Draw(t, "seq")
		frames, err := FragmentBinary(payload, thr, seq)
		if err != nil {
			t.Fatal(err)
		}
		var joined []byte
		for i, b := range frames {
			f, err := DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != KindFragment || f.Seq != seq || int(f.Index) != i || int(f.Total) != len(frames) || int(f.TotalSize) != len(payload) {
				t.Fatalf("frame %d: %+v", i, f)
			}
			if len(f.Payload) > thr || (i < len(frames)-1 && len(f.Payload) != thr) {
				t.Fatalf("frame %d chunk %d bytes, threshold %d", i, len(f.Payload), thr)
			}
			if cap(b) != len(b) {
				t.Fatalf("frame %d may be appended into its neighbour", i)
			}
			joined = append(joined, f.Payload...)
		}
		if !bytes.Equal(joined, payload) {
			t.Fatal("chunks do not rebuild the payload")
		}
	})
}

// TestFragmentTextProperties: chunks hold at most threshold code points,
// never split a character, and concatenate to the payload.
func TestFragmentTextProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		payload := rapid.StringN(1, 100, -1).Draw(t, "payload")
		thr := rapid.IntRange(1, 120).Draw(t, "threshold")
		frames, err := FragmentText(payload, thr, 7)
		if err != nil {
			t.Fatal(err)
		}
		var joined strings.Builder
		for i, s := range frames {
			f, err := DecodeTextFrame(s)
			if err != nil {
				t.Fatal(err)
			}
			n := utf8.RuneCountInString(f.Payload)
			if f.Kind != KindFragment || f.Seq != 7 || int(f.Index) != i || int(f.Total) != len(frames) ||
				int(f.TotalSize) != utf8.RuneCountInString(payload) || n > thr || (i < len(frames)-1 && n != thr) {
				t.Fatalf("frame %d: %+v (%d code points)", i, f, n)
			}
			joined.WriteString(f.Payload)
		}
		if joined.String() != payload {
			t.Fatalf("chunks rebuild %q, want %q", joined.String(), payload)
		}
	})
}
