package apisurface

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/api.md from the current code")

// moduleRoot returns the directory of this module's go.mod and the module
// path it declares.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(rest), `"`)
				}
			}
			t.Fatalf("%s/go.mod declares no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// maxPublicIdents is the budget of exported top-level identifiers over
// the public packages (issue 19: coder/websocket, a model of a small API,
// has about 45 in one package).
const maxPublicIdents = 450

// TestAPIListing keeps docs/api.md equal to the code's exported surface and
// logs the identifier count of every package (go test -v shows them).
func TestAPIListing(t *testing.T) {
	root, module := moduleRoot(t)
	pkgs, err := Scan(root, module)
	if err != nil {
		t.Fatal(err)
	}
	var public, all int
	for _, p := range pkgs {
		t.Logf("%-55s %4d identifiers %4d methods %4d fields", p.ImportPath, p.Idents, p.Methods, p.Fields)
		all += p.Idents
		if !p.Internal {
			public += p.Idents
		}
	}
	t.Logf("public total: %d identifiers (with internal packages: %d)", public, all)
	if public > maxPublicIdents {
		t.Errorf("the public API has %d exported identifiers, above the budget of %d: make it smaller rather than raising the budget", public, maxPublicIdents)
	}

	got := Markdown(pkgs)
	path := filepath.Join(root, "docs", "api.md")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./internal/apisurface -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/api.md is stale: the exported API changed (first difference: %s); "+
			"review the change and run: go test ./internal/apisurface -update", firstDiff(want, got))
	}
}

// firstDiff names the first line where the committed file (old) and the
// generated one (cur) differ.
func firstDiff(old, cur []byte) string {
	a, b := strings.Split(string(old), "\n"), strings.Split(string(cur), "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}
		if i < len(b) {
			lb = b[i]
		}
		if la != lb {
			return "line " + itoa(i+1) + ": committed " + quote(la) + ", code " + quote(lb)
		}
	}
	return "none"
}

func quote(s string) string { return "\"" + s + "\"" }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

func TestScanFixture(t *testing.T) {
	pkgs, err := Scan(filepath.Join("testdata", "mod"), "example.com/mod")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		path                    string
		internal                bool
		idents, methods, fields int
	}
	var got []row
	for _, p := range pkgs {
		got = append(got, row{p.ImportPath, p.Internal, p.Idents, p.Methods, p.Fields})
	}
	want := []row{
		// A, B, C, V, New, T, I, F; methods T.Get and I.M; field T.Exported
		{"example.com/mod/lib", false, 8, 2, 1},
		{"example.com/mod/lib/internal/hidden", true, 1, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("packages %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("package %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	listing := strings.Join(pkgs[0].Listing, "\n")
	for _, s := range []string{"func New() *T", "    func (t *T) Get() int", "// contains filtered or unexported fields", "Exported int"} {
		if !strings.Contains(listing, s) {
			t.Errorf("listing lacks %q:\n%s", s, listing)
		}
	}
	for _, s := range []string{"secret", "unexported doc", "return"} {
		if strings.Contains(listing, s) {
			t.Errorf("listing shows %q:\n%s", s, listing)
		}
	}
}
