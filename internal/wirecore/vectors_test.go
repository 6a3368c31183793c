package wirecore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// vectorDir returns the golden vector directory made by the reference
// implementation. The project keeps its own copy in testdata/wire (the
// vectors are facts made by the reference, not code); KYNETA_WIRE_VECTORS
// points at another set in the same format. A missing set fails the test.
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

// readVectorFile reads one vector file as raw JSON.
func readVectorFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir(t), name))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	return b
}

// loadVectors decodes one vector file into v with encoding/json. Tests that
// need key order (CBOR maps, JSON texts) use the ordered tjson decoder instead.
func loadVectors(t testing.TB, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readVectorFile(t, name), v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}
