package framestream

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// vectorDir is the project's copy of the reference's wire vectors, or
// $KYNETA_WIRE_VECTORS; the tests fail, never skip, without it.
func vectorDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KYNETA_WIRE_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "testdata", "wire")
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Fatalf("wire vectors not found in %s (the project keeps them in testdata/wire; KYNETA_WIRE_VECTORS overrides): %v", dir, err)
	}
	return dir
}

func loadVectors(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

var countRow = regexp.MustCompile("^\\|\\s*`([a-z_]+\\.[A-Za-z]+)`\\s*\\|\\s*(\\d+)\\s*\\|")

// checkCount fails when a vector file holds fewer vectors of a section than
// the README's count table lists.
func checkCount(t testing.TB, section string, got int) {
	t.Helper()
	f, err := os.Open(filepath.Join(vectorDir(t), "README.md"))
	if err != nil {
		t.Fatalf("open README: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := countRow.FindStringSubmatch(sc.Text()); m != nil && m[1] == section {
			if want, _ := strconv.Atoi(m[2]); got < want {
				t.Fatalf("%s: file holds %d vectors, README lists %d", section, got, want)
			}
			return
		}
	}
	t.Fatalf("README count table has no row for %s", section)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vector: %v", err)
	}
	return b
}

// allocSlack is what a fuzz input may allocate beyond its budget: the
// allocation counter is process-wide and the fuzz engine allocates too.
const allocSlack = 64 << 10

// allocated returns the bytes allocated while f runs, the minimum over
// three runs (see wire's fuzz tests for why). f must start from fresh state.
func allocated(f func()) uint64 {
	least := allocatedOnce(f)
	for range 2 {
		least = min(least, allocatedOnce(f))
	}
	return least
}

func allocatedOnce(f func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}
