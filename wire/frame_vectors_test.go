package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// vectorCountRE matches a row of the README's "Counts in this set" table.
var vectorCountRE = regexp.MustCompile("^\\|\\s*`([a-z_]+\\.[A-Za-z]+)`\\s*\\|\\s*(\\d+)\\s*\\|")

// vectorCountFromREADME returns the number of vectors the vector set's
// README promises for a file.section key such as "binary_frames.cases".
// Reading the table from the set itself keeps the check valid for any set
// (shared or held-out) that follows the same format.
func vectorCountFromREADME(t *testing.T, key string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(vectorDir(t), "README.md"))
	if err != nil {
		t.Fatalf("open vector README: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := vectorCountRE.FindStringSubmatch(sc.Text())
		if m != nil && m[1] == key {
			n, err := strconv.Atoi(m[2])
			if err != nil {
				t.Fatalf("README count for %s: %v", key, err)
			}
			return n
		}
	}
	t.Fatalf("README has no count for %s", key)
	return 0
}

// requireVectorCount fails the test when a section holds fewer vectors than
// the README's count table says, so a truncated or misread file cannot pass
// silently.
func requireVectorCount(t *testing.T, key string, got int) {
	t.Helper()
	want := vectorCountFromREADME(t, key)
	if got < want {
		t.Fatalf("%s: %d vectors read, README promises %d", key, got, want)
	}
}

// unhex decodes a hex string from a vector file.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vector: %v", err)
	}
	return b
}

// vecFrame is a frame as the vector files describe it.
type vecFrame struct {
	Version int             `json:"version"`
	Seq     float64         `json:"seq"`
	Hash    *string         `json:"hash"`
	Content vecFrameContent `json:"content"`
}

type vecFrameContent struct {
	Kind      string  `json:"kind"`
	Index     float64 `json:"index"`
	Total     float64 `json:"total"`
	TotalSize float64 `json:"totalSize"`
	Payload   string  `json:"payload"`
}

// binaryFrame converts a vector frame to a Frame, checking the fields the
// Go type does not carry.
func (v vecFrame) binaryFrame(t *testing.T) Frame {
	t.Helper()
	if v.Version != Version || v.Hash != nil {
		t.Fatalf("vector frame version %d hash %v: not a plain v3 frame", v.Version, v.Hash)
	}
	f := Frame{Seq: uint32(v.Seq), Payload: unhex(t, v.Content.Payload)}
	switch v.Content.Kind {
	case "complete":
		f.Kind = KindComplete
	case "fragment":
		f.Kind = KindFragment
		f.Index = uint16(v.Content.Index)
		f.Total = uint16(v.Content.Total)
		f.TotalSize = uint32(v.Content.TotalSize)
	default:
		t.Fatalf("unknown frame kind %q", v.Content.Kind)
	}
	return f
}

func framesEqual(a, b Frame) bool {
	return a.Kind == b.Kind && a.Seq == b.Seq && a.Index == b.Index && a.Total == b.Total &&
		a.TotalSize == b.TotalSize && bytes.Equal(a.Payload, b.Payload)
}
