package errdoc

import (
	"maps"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
)

func TestTableReadsOneSection(t *testing.T) {
	got, err := Table("testdata/errors.md", "alpha")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]kyneta.Code{"too-big": kyneta.CodeResourceExhausted, "bad": kyneta.CodeMalformed}
	if !maps.Equal(got, want) {
		t.Fatalf("alpha: got %v, want %v", got, want)
	}
	if _, err := Table("testdata/errors.md", "gamma"); err == nil {
		t.Fatal("a missing section was not reported")
	}
}

func TestDiff(t *testing.T) {
	docs := map[string]kyneta.Code{"a": kyneta.CodeMalformed, "b": kyneta.CodeUnavailable, "gone": kyneta.CodeInternal}
	code := map[string]kyneta.Code{"a": kyneta.CodeMalformed, "b": kyneta.CodeCanceled, "new": kyneta.CodeInternal}
	d := Diff(code, docs)
	for _, want := range []string{`"b" has code "canceled"`, `"new" (internal) is not in`, `lists reason "gone"`} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, `"a"`) {
		t.Errorf("diff reports the matching reason:\n%s", d)
	}
	if Diff(docs, docs) != "" {
		t.Error("identical tables differ")
	}
}

func TestTheProjectDocsParse(t *testing.T) {
	// The real file: found from the working directory, every section a
	// package test asks for must parse (spot-check one).
	if _, err := Table("", "machine"); err != nil {
		t.Fatal(err)
	}
}
